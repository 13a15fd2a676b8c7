// A SQLite VFS for tests: every call goes to SQLite's default VFS, but a test can watch, fail
// or hold up the writes and syncs of the files opened through it (the database, its WAL, its
// journals), each told apart by the SQLITE_OPEN_* flags it was opened with.
//
//   SpyVfs spy("spy");                       // registered under that name, not as the default
//   spy.on_write = [](int flags, int amount) { return SQLITE_OK; };
//   sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "spy");
//
// A hook returns SQLITE_OK to let the call through, or the error code to fail it with. Set
// the hooks before any connection opens a file through the VFS; hooks run on the thread that
// uses the connection. REQUIRES: every connection opened through it is closed before it is
// destroyed.
#ifndef BACKLINE_TESTS_SUPPORT_SPY_VFS_H_
#define BACKLINE_TESTS_SUPPORT_SPY_VFS_H_

#include <functional>
#include <string>

#include <gtest/gtest.h>
#include <sqlite3.h>

namespace backline::testing_support {

class SpyVfs {
 public:
  // flags: those the file was opened with (SQLITE_OPEN_MAIN_DB, SQLITE_OPEN_WAL, ...).
  std::function<int(int flags, int amount)> on_write;
  std::function<int(int flags)> on_sync;

  explicit SpyVfs(std::string name) : name_(std::move(name)) {
    base_ = sqlite3_vfs_find(nullptr);
    vfs_ = *base_;
    vfs_.zName = name_.c_str();
    vfs_.pNext = nullptr;
    vfs_.pAppData = this;
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + base_->szOsFile;
    vfs_.xOpen = &SpyVfs::Open;
    EXPECT_EQ(sqlite3_vfs_register(&vfs_, 0), SQLITE_OK) << name_;
  }
  ~SpyVfs() { sqlite3_vfs_unregister(&vfs_); }
  SpyVfs(const SpyVfs&) = delete;
  SpyVfs& operator=(const SpyVfs&) = delete;

  const char* name() const { return name_.c_str(); }

 private:
  // Our file, followed in the same allocation by the base VFS's file.
  struct File {
    sqlite3_file base;
    SpyVfs* spy;
    int flags;
    sqlite3_file* real;
  };
  static File* Of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
  static sqlite3_file* Real(sqlite3_file* f) { return Of(f)->real; }

  static int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags,
                  int* out_flags) {
    auto* spy = static_cast<SpyVfs*>(vfs->pAppData);
    File* f = Of(file);
    f->base.pMethods = nullptr;
    f->spy = spy;
    f->flags = flags;
    f->real = reinterpret_cast<sqlite3_file*>(f + 1);
    const int rc = spy->base_->xOpen(spy->base_, name, f->real, flags, out_flags);
    if (f->real->pMethods == nullptr) return rc;  // nothing to close
    f->base.pMethods = MethodsFor(f->real->pMethods->iVersion);
    return rc;
  }

  // The same methods at the base file's version (1 to 3): a WAL file of a VFS without shared
  // memory must not claim to have any.
  static const sqlite3_io_methods* MethodsFor(int version) {
    static const sqlite3_io_methods* tables = [] {
      static sqlite3_io_methods t[3];
      for (int v = 1; v <= 3; ++v) {
        sqlite3_io_methods& m = t[v - 1];
        m.iVersion = v;
        m.xClose = [](sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); };
        m.xRead = [](sqlite3_file* f, void* p, int n, sqlite3_int64 o) {
          return Real(f)->pMethods->xRead(Real(f), p, n, o);
        };
        m.xWrite = [](sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
          if (const auto& hook = Of(f)->spy->on_write) {
            const int rc = hook(Of(f)->flags, n);
            if (rc != SQLITE_OK) return rc;
          }
          return Real(f)->pMethods->xWrite(Real(f), p, n, o);
        };
        m.xTruncate = [](sqlite3_file* f, sqlite3_int64 n) {
          return Real(f)->pMethods->xTruncate(Real(f), n);
        };
        m.xSync = [](sqlite3_file* f, int sync_flags) {
          if (const auto& hook = Of(f)->spy->on_sync) {
            const int rc = hook(Of(f)->flags);
            if (rc != SQLITE_OK) return rc;
          }
          return Real(f)->pMethods->xSync(Real(f), sync_flags);
        };
        m.xFileSize = [](sqlite3_file* f, sqlite3_int64* n) {
          return Real(f)->pMethods->xFileSize(Real(f), n);
        };
        m.xLock = [](sqlite3_file* f, int l) { return Real(f)->pMethods->xLock(Real(f), l); };
        m.xUnlock = [](sqlite3_file* f, int l) { return Real(f)->pMethods->xUnlock(Real(f), l); };
        m.xCheckReservedLock = [](sqlite3_file* f, int* r) {
          return Real(f)->pMethods->xCheckReservedLock(Real(f), r);
        };
        m.xFileControl = [](sqlite3_file* f, int op, void* a) {
          return Real(f)->pMethods->xFileControl(Real(f), op, a);
        };
        m.xSectorSize = [](sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); };
        m.xDeviceCharacteristics = [](sqlite3_file* f) {
          return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
        };
        if (v < 2) continue;
        m.xShmMap = [](sqlite3_file* f, int page, int size, int extend, void volatile** p) {
          return Real(f)->pMethods->xShmMap(Real(f), page, size, extend, p);
        };
        m.xShmLock = [](sqlite3_file* f, int offset, int n, int lock_flags) {
          return Real(f)->pMethods->xShmLock(Real(f), offset, n, lock_flags);
        };
        m.xShmBarrier = [](sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); };
        m.xShmUnmap = [](sqlite3_file* f, int del) {
          return Real(f)->pMethods->xShmUnmap(Real(f), del);
        };
        if (v < 3) continue;
        m.xFetch = [](sqlite3_file* f, sqlite3_int64 o, int n, void** p) {
          return Real(f)->pMethods->xFetch(Real(f), o, n, p);
        };
        m.xUnfetch = [](sqlite3_file* f, sqlite3_int64 o, void* p) {
          return Real(f)->pMethods->xUnfetch(Real(f), o, p);
        };
      }
      return t;
    }();
    return &tables[version < 1 ? 0 : version > 3 ? 2 : version - 1];
  }

  std::string name_;
  sqlite3_vfs* base_ = nullptr;
  sqlite3_vfs vfs_{};
};

}  // namespace backline::testing_support

#endif  // BACKLINE_TESTS_SUPPORT_SPY_VFS_H_
