#include "store/internal/sqlite_wal_vfs.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include <sqlite3.h>

#include "store/internal/sqlite.h"

namespace backline::store::sqlite {
namespace {

using engine::Status;
using engine::StatusOr;

// A WAL frame header: page number, database size after a commit (0 for other
// frames), salts and checksums; big-endian 32-bit integers.
constexpr int kFrameHeaderSize = 24;

// What SQLite sees of a file this VFS opened. For a WAL file `real` is the base
// VFS's file, which lives in the bytes after this struct; any other file is the
// base VFS's own, opened in place (no WalFile at all). SQLite allocates
// szOsFile bytes and constructs nothing, so every member is set in Open.
struct WalFile {
  sqlite3_file base;   // first: SQLite's pointer to us is a pointer to this
  sqlite3_file* real;  // the base VFS's file
  unsigned char* buf;  // gathered bytes, for offsets [start, start + len)
  sqlite3_int64 start;
  size_t len;
  size_t cap;
  bool commit_frame;  // the last write was the header of a commit frame
};

// The base VFS, per batching VFS (the sqlite3_vfs's pAppData).
struct Shim {
  sqlite3_vfs vfs;
  sqlite3_vfs* base;
  std::string name;
};

sqlite3_vfs* BaseOf(sqlite3_vfs* vfs) { return static_cast<Shim*>(vfs->pAppData)->base; }
WalFile* Wal(sqlite3_file* f) { return reinterpret_cast<WalFile*>(f); }
const sqlite3_io_methods* Real(WalFile* f) { return f->real->pMethods; }

// Writes the gathered bytes. The buffer is emptied whether or not the write
// succeeds: after a failure SQLite rolls back, and stale bytes written later
// could land over the frames of the next transaction.
//
// In pieces of at most kLargestWrite bytes: the largest write SQLite itself
// makes is one 64 KiB page, and the unix VFS cannot take a write of 128 KiB or
// more (it masks the length to 17 bits, and reports the short write as
// SQLITE_FULL).
int Flush(WalFile* f) {
  constexpr size_t kLargestWrite = size_t{64} << 10;
  int rc = SQLITE_OK;
  for (size_t done = 0; done < f->len && rc == SQLITE_OK; done += kLargestWrite) {
    const size_t n = std::min(kLargestWrite, f->len - done);
    rc = Real(f)->xWrite(f->real, f->buf + done, static_cast<int>(n),
                         f->start + static_cast<sqlite3_int64>(done));
  }
  f->len = 0;
  return rc;
}

bool Overlaps(const WalFile* f, sqlite3_int64 offset, int amount) {
  return f->len > 0 && offset < f->start + static_cast<sqlite3_int64>(f->len) &&
         offset + amount > f->start;
}

// --- The WAL file's methods ---------------------------------------------------

int WalClose(sqlite3_file* file) {
  WalFile* f = Wal(file);
  const int flushed = Flush(f);
  sqlite3_free(f->buf);
  f->buf = nullptr;
  f->cap = 0;
  const int closed = Real(f)->xClose(f->real);
  return flushed != SQLITE_OK ? flushed : closed;
}

int WalRead(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  WalFile* f = Wal(file);
  if (Overlaps(f, offset, amount)) {
    const int rc = Flush(f);
    if (rc != SQLITE_OK) return rc;
  }
  return Real(f)->xRead(f->real, out, amount, offset);
}

int WalWrite(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  WalFile* f = Wal(file);
  const size_t n = static_cast<size_t>(amount);
  const bool continues = f->len > 0 && offset == f->start + static_cast<sqlite3_int64>(f->len);
  if (f->len > 0 && (!continues || f->len + n > kWalBufferLimit)) {
    const int rc = Flush(f);
    if (rc != SQLITE_OK) return rc;
  }
  // Whether this write ends a commit: the page after a commit frame's header.
  const bool ends_commit = f->commit_frame;
  f->commit_frame = false;
  if (amount == kFrameHeaderSize) {
    const auto* h = static_cast<const unsigned char*>(data);
    f->commit_frame = (h[4] | h[5] | h[6] | h[7]) != 0;
  }
  if (n > kWalBufferLimit) {
    return Real(f)->xWrite(f->real, data, amount, offset);
  }
  if (f->len + n > f->cap) {
    const size_t cap = std::min(kWalBufferLimit, std::max<size_t>(f->len + n, f->cap * 2 + 4096));
    void* grown = sqlite3_realloc64(f->buf, cap);
    if (grown == nullptr) {
      // No memory to gather: write as SQLite asked.
      const int rc = Flush(f);
      if (rc != SQLITE_OK) return rc;
      return Real(f)->xWrite(f->real, data, amount, offset);
    }
    f->buf = static_cast<unsigned char*>(grown);
    f->cap = cap;
  }
  if (f->len == 0) f->start = offset;
  std::memcpy(f->buf + f->len, data, n);
  f->len += n;
  return ends_commit ? Flush(f) : SQLITE_OK;
}

int WalTruncate(sqlite3_file* file, sqlite3_int64 size) {
  WalFile* f = Wal(file);
  const int rc = Flush(f);
  if (rc != SQLITE_OK) return rc;
  return Real(f)->xTruncate(f->real, size);
}

int WalSync(sqlite3_file* file, int flags) {
  WalFile* f = Wal(file);
  const int rc = Flush(f);
  if (rc != SQLITE_OK) return rc;
  return Real(f)->xSync(f->real, flags);
}

int WalFileSize(sqlite3_file* file, sqlite3_int64* size) {
  WalFile* f = Wal(file);
  const int rc = Flush(f);
  if (rc != SQLITE_OK) return rc;
  return Real(f)->xFileSize(f->real, size);
}

int WalLock(sqlite3_file* file, int lock) {
  WalFile* f = Wal(file);
  return Real(f)->xLock(f->real, lock);
}

int WalUnlock(sqlite3_file* file, int lock) {
  WalFile* f = Wal(file);
  return Real(f)->xUnlock(f->real, lock);
}

int WalCheckReservedLock(sqlite3_file* file, int* out) {
  WalFile* f = Wal(file);
  return Real(f)->xCheckReservedLock(f->real, out);
}

int WalFileControl(sqlite3_file* file, int op, void* arg) {
  WalFile* f = Wal(file);
  const int rc = Flush(f);
  if (rc != SQLITE_OK) return rc;
  return Real(f)->xFileControl(f->real, op, arg);
}

int WalSectorSize(sqlite3_file* file) {
  WalFile* f = Wal(file);
  return Real(f)->xSectorSize(f->real);
}

int WalDeviceCharacteristics(sqlite3_file* file) {
  WalFile* f = Wal(file);
  return Real(f)->xDeviceCharacteristics(f->real);
}

// SQLite keeps the wal-index in the database file's shared memory, never the
// WAL file's; these only pass on what the base VFS would say.
int WalShmMap(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  WalFile* f = Wal(file);
  if (Real(f)->iVersion < 2) return SQLITE_IOERR_SHMMAP;
  return Real(f)->xShmMap(f->real, region, size, extend, out);
}

int WalShmLock(sqlite3_file* file, int offset, int n, int flags) {
  WalFile* f = Wal(file);
  if (Real(f)->iVersion < 2) return SQLITE_IOERR_SHMLOCK;
  return Real(f)->xShmLock(f->real, offset, n, flags);
}

void WalShmBarrier(sqlite3_file* file) {
  WalFile* f = Wal(file);
  if (Real(f)->iVersion >= 2) Real(f)->xShmBarrier(f->real);
}

int WalShmUnmap(sqlite3_file* file, int delete_flag) {
  WalFile* f = Wal(file);
  if (Real(f)->iVersion < 2) return SQLITE_OK;
  return Real(f)->xShmUnmap(f->real, delete_flag);
}

int WalFetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  WalFile* f = Wal(file);
  *out = nullptr;
  const int rc = Flush(f);
  if (rc != SQLITE_OK) return rc;
  if (Real(f)->iVersion < 3) return SQLITE_OK;  // no map: SQLite reads instead
  return Real(f)->xFetch(f->real, offset, amount, out);
}

int WalUnfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  WalFile* f = Wal(file);
  if (Real(f)->iVersion < 3) return SQLITE_OK;
  return Real(f)->xUnfetch(f->real, offset, page);
}

constexpr sqlite3_io_methods kWalMethods = {
    3,
    WalClose,
    WalRead,
    WalWrite,
    WalTruncate,
    WalSync,
    WalFileSize,
    WalLock,
    WalUnlock,
    WalCheckReservedLock,
    WalFileControl,
    WalSectorSize,
    WalDeviceCharacteristics,
    WalShmMap,
    WalShmLock,
    WalShmBarrier,
    WalShmUnmap,
    WalFetch,
    WalUnfetch,
};

// --- The VFS ------------------------------------------------------------------

int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  sqlite3_vfs* base = BaseOf(vfs);
  if ((flags & SQLITE_OPEN_WAL) == 0) {
    // Anything but a WAL: the base VFS's own file, in place.
    return base->xOpen(base, name, file, flags, out_flags);
  }
  WalFile* f = Wal(file);
  f->base.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  f->buf = nullptr;
  f->start = 0;
  f->len = 0;
  f->cap = 0;
  f->commit_frame = false;
  const int rc = base->xOpen(base, name, f->real, flags, out_flags);
  if (f->real->pMethods == nullptr) return rc == SQLITE_OK ? SQLITE_CANTOPEN : rc;
  // Opened, even if with an error code: SQLite will close us.
  f->base.pMethods = &kWalMethods;
  return rc;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return BaseOf(vfs)->xDelete(BaseOf(vfs), name, sync_dir);
}
int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return BaseOf(vfs)->xAccess(BaseOf(vfs), name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return BaseOf(vfs)->xFullPathname(BaseOf(vfs), name, n, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) { return BaseOf(vfs)->xDlOpen(BaseOf(vfs), name); }
void DlError(sqlite3_vfs* vfs, int n, char* out) { BaseOf(vfs)->xDlError(BaseOf(vfs), n, out); }
void (*DlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return BaseOf(vfs)->xDlSym(BaseOf(vfs), handle, symbol);
}
void DlClose(sqlite3_vfs* vfs, void* handle) { BaseOf(vfs)->xDlClose(BaseOf(vfs), handle); }
int Randomness(sqlite3_vfs* vfs, int n, char* out) {
  return BaseOf(vfs)->xRandomness(BaseOf(vfs), n, out);
}
int Sleep(sqlite3_vfs* vfs, int micros) { return BaseOf(vfs)->xSleep(BaseOf(vfs), micros); }
int CurrentTime(sqlite3_vfs* vfs, double* out) {
  return BaseOf(vfs)->xCurrentTime(BaseOf(vfs), out);
}
int GetLastError(sqlite3_vfs* vfs, int n, char* out) {
  sqlite3_vfs* base = BaseOf(vfs);
  return base->xGetLastError != nullptr ? base->xGetLastError(base, n, out) : 0;
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  sqlite3_vfs* base = BaseOf(vfs);
  if (base->iVersion >= 2 && base->xCurrentTimeInt64 != nullptr) {
    return base->xCurrentTimeInt64(base, out);
  }
  double days = 0;
  const int rc = base->xCurrentTime(base, &days);
  *out = static_cast<sqlite3_int64>(days * 86400000.0);
  return rc;
}

Status Register(const char* name, sqlite3_vfs* base) {
  auto shim = std::make_unique<Shim>();
  shim->base = base;
  shim->name = name;
  sqlite3_vfs& v = shim->vfs;
  std::memset(&v, 0, sizeof v);
  // Version 2: the system-call overrides of version 3 are for SQLite's own
  // tests and stay with the base VFS.
  v.iVersion = 2;
  v.szOsFile = static_cast<int>(sizeof(WalFile)) + std::max(base->szOsFile, 0);
  v.mxPathname = base->mxPathname;
  v.zName = shim->name.c_str();
  v.pAppData = shim.get();
  v.xOpen = Open;
  v.xDelete = Delete;
  v.xAccess = Access;
  v.xFullPathname = FullPathname;
  v.xDlOpen = DlOpen;
  v.xDlError = DlError;
  v.xDlSym = DlSym;
  v.xDlClose = DlClose;
  v.xRandomness = Randomness;
  v.xSleep = Sleep;
  v.xCurrentTime = CurrentTime;
  v.xGetLastError = GetLastError;
  v.xCurrentTimeInt64 = CurrentTimeInt64;
  const int rc = sqlite3_vfs_register(&v, 0);
  if (rc != SQLITE_OK) {
    return Status::Unavailable(std::string("cannot register SQLite VFS \"") + name +
                               "\": " + sqlite3_errstr(rc));
  }
  // Registered VFSes are never unregistered: SQLite holds the pointer.
  shim.release();
  return Status::Ok();
}

// The base VFS's file sits right after WalFile. SQLite's own allocations are
// 8-byte aligned, and so is every sqlite3_file it asks a VFS to fill.
static_assert(sizeof(WalFile) % 8 == 0, "the base VFS's file after WalFile must stay aligned");

}  // namespace

StatusOr<const char*> WalBatchingVfs() {
  static const StatusOr<const char*> registered = []() -> StatusOr<const char*> {
    constexpr const char* kName = "backline-wal-batching";
    if (const int init = Initialize(); init != SQLITE_OK) {
      return Status::Unavailable(std::string("cannot initialise SQLite: ") + sqlite3_errstr(init));
    }
    sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
    if (base == nullptr) return Status::Unavailable("SQLite has no default VFS");
    const Status s = Register(kName, base);
    if (!s.ok()) return s;
    return kName;
  }();
  return registered;
}

Status RegisterWalBatchingVfs(const char* name, const char* base) {
  if (const int init = Initialize(); init != SQLITE_OK) {
    return Status::Unavailable(std::string("cannot initialise SQLite: ") + sqlite3_errstr(init));
  }
  sqlite3_vfs* b = sqlite3_vfs_find(base);
  if (b == nullptr) {
    return Status::NotFound(std::string("no SQLite VFS named \"") + base + "\"");
  }
  return Register(name, b);
}

}  // namespace backline::store::sqlite
