// The WAL-batching VFS (store/internal/sqlite_wal_vfs.h) over a spy VFS that counts, and on demand
// fails, the writes that reach a WAL file. A commit must reach the file in a few large writes,
// be readable by another connection as soon as it returns (whatever the synchronous setting),
// and a write that fails must fail its commit and leave the database whole.
#include "store/internal/sqlite_wal_vfs.h"

#include <atomic>
#include <cstring>
#include <string>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "tests/support/spy_vfs.h"
#include "tests/support/temp_db_path.h"

namespace backline::store::sqlite {
namespace {

// --- A spy VFS over the default one: counts WAL writes, can fail them --------------------------

struct Spy {
  static inline std::atomic<int> wal_writes{0};
  static inline std::atomic<long> wal_bytes{0};
  static inline std::atomic<int> largest_write{0};
  static inline std::atomic<bool> fail_wal_writes{false};
};

int OnWrite(int flags, int amount) {
  if ((flags & SQLITE_OPEN_WAL) == 0) return SQLITE_OK;
  if (Spy::fail_wal_writes) return SQLITE_IOERR_WRITE;
  ++Spy::wal_writes;
  Spy::wal_bytes += amount;
  int largest = Spy::largest_write;
  while (amount > largest && !Spy::largest_write.compare_exchange_weak(largest, amount)) {
  }
  return SQLITE_OK;
}

// Registers "spy" over the default VFS and the batching VFS "batching-over-spy" over "spy".
void RegisterVfsesOnce() {
  static testing_support::SpyVfs* const spy = [] {
    auto* vfs = new testing_support::SpyVfs("spy");  // lives as long as the process
    vfs->on_write = OnWrite;
    EXPECT_TRUE(RegisterWalBatchingVfs("batching-over-spy", "spy").ok());
    return vfs;
  }();
  (void)spy;
}

using testing_support::TempDbPath;

// A connection; the test fails (and the connection is null) if it cannot open.
class Conn {
 public:
  Conn(const std::string& path, const char* vfs,
       int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db_, flags, vfs), SQLITE_OK);
  }
  ~Conn() { sqlite3_close(db_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  int Exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  void MustExec(const std::string& sql) {
    ASSERT_EQ(Exec(sql), SQLITE_OK) << sql << ": " << Error();
  }
  std::string Text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out = "(prepare failed: " + std::string(sqlite3_errmsg(db_)) + ")";
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) {
        const unsigned char* t = sqlite3_column_text(stmt, 0);
        out = t != nullptr ? reinterpret_cast<const char*>(t) : "NULL";
      } else {
        out = "(step: " + std::string(sqlite3_errmsg(db_)) + ")";
      }
    }
    sqlite3_finalize(stmt);
    return out;
  }
  std::string Error() const { return sqlite3_errmsg(db_); }

 private:
  sqlite3* db_ = nullptr;
};

// Inserts rows first .. first + rows - 1, each a body of 1000 'x' and then its number.
std::string InsertRows(int first, int rows) {
  return "WITH RECURSIVE s(v) AS (SELECT " + std::to_string(first) +
         " UNION ALL SELECT v + 1 FROM s WHERE v < " + std::to_string(first + rows - 1) +
         ") INSERT INTO t (n, body) SELECT v, printf('%.1000c', 'x') || v FROM s";
}

// "count:sum(n):sum(length(body))" of rows 1 .. last, as the query in Summary gives it.
std::string Expected(int last) {
  long long sum = 0;
  long long length = 0;
  for (int n = 1; n <= last; ++n) {
    sum += n;
    length += 1000 + static_cast<long long>(std::to_string(n).size());
  }
  return std::to_string(last) + ":" + std::to_string(sum) + ":" + std::to_string(length);
}
constexpr const char* kSummary =
    "SELECT count(*) || ':' || sum(n) || ':' || sum(length(body)) FROM t";

void ResetSpy() {
  Spy::wal_writes = 0;
  Spy::wal_bytes = 0;
  Spy::largest_write = 0;
  Spy::fail_wal_writes = false;
}

void MakeTable(Conn& c, const std::string& synchronous) {
  c.MustExec("PRAGMA journal_mode = WAL");
  c.MustExec("PRAGMA synchronous = " + synchronous);
  c.MustExec("CREATE TABLE t (n INTEGER PRIMARY KEY, body TEXT NOT NULL)");
}

TEST(WalBatchingVfsTest, RegistersOnceUnderOneName) {
  engine::StatusOr<const char*> a = WalBatchingVfs();
  engine::StatusOr<const char*> b = WalBatchingVfs();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok());
  EXPECT_STREQ(a.value(), b.value());
  EXPECT_NE(sqlite3_vfs_find(a.value()), nullptr);
  EXPECT_NE(sqlite3_vfs_find(nullptr), sqlite3_vfs_find(a.value())) << "must not be the default";
  EXPECT_FALSE(RegisterWalBatchingVfs("x", "no-such-vfs").ok());
}

TEST(WalBatchingVfsTest, ACommitReachesTheWalInAFewLargeWrites) {
  RegisterVfsesOnce();
  // The same transaction without batching (the spy alone), then with it.
  int unbatched = 0;
  int batched = 0;
  long bytes_unbatched = 0;
  long bytes_batched = 0;
  for (const char* vfs : {"spy", "batching-over-spy"}) {
    TempDbPath path;
    Conn c(path.str(), vfs);
    MakeTable(c, "FULL");
    ResetSpy();
    c.MustExec(InsertRows(1, 100));
    (std::strcmp(vfs, "spy") == 0 ? unbatched : batched) = Spy::wal_writes;
    (std::strcmp(vfs, "spy") == 0 ? bytes_unbatched : bytes_batched) = Spy::wal_bytes;
    EXPECT_LE(Spy::largest_write, 64 * 1024) << vfs;
    EXPECT_EQ(c.Text("SELECT count(*) FROM t"), "100");
  }
  // About 30 pages of 4 KiB: a header and a page each without batching; 64 KiB writes with it.
  EXPECT_GE(unbatched, 50);
  EXPECT_EQ(bytes_batched, bytes_unbatched) << "the same bytes, in fewer writes";
  EXPECT_LE(batched, static_cast<int>(bytes_batched / (64 * 1024)) + 2);
}

// Every commit is in the file when it returns, so another connection (without the batching VFS)
// reads it at once -- also when SQLite does not sync the WAL at a commit (NORMAL, OFF), which
// is when only the commit frame's own write can get the bytes there.
TEST(WalBatchingVfsTest, EveryCommitIsReadableAtOnceWhateverTheSyncSetting) {
  RegisterVfsesOnce();
  for (const char* synchronous : {"FULL", "NORMAL", "OFF"}) {
    SCOPED_TRACE(synchronous);
    TempDbPath path;
    Conn writer(path.str(), "batching-over-spy");
    MakeTable(writer, synchronous);
    Conn reader(path.str(), nullptr, SQLITE_OPEN_READONLY);
    for (int i = 0; i < 20; ++i) {
      writer.MustExec(InsertRows(i * 7 + 1, 7));
      ASSERT_EQ(reader.Text(kSummary), Expected((i + 1) * 7)) << "after commit " << i;
    }
    EXPECT_EQ(reader.Text("PRAGMA integrity_check"), "ok");
  }
}

// Transactions larger than the buffer, pages that spill from a small cache before the commit
// (SQLite then rewrites frames in place), checkpoints that restart the log from its header.
TEST(WalBatchingVfsTest, LargeTransactionsSpillsAndRestartsKeepEveryRow) {
  RegisterVfsesOnce();
  TempDbPath path;
  {
    Conn writer(path.str(), "batching-over-spy");
    MakeTable(writer, "FULL");
    writer.MustExec("PRAGMA cache_size = 20");
    writer.MustExec("BEGIN");
    writer.MustExec(InsertRows(1, 3000));  // about 3 MiB, over kWalBufferLimit
    writer.MustExec("UPDATE t SET body = upper(body) WHERE n % 3 = 0");
    writer.MustExec("COMMIT");
    writer.MustExec("PRAGMA wal_checkpoint(TRUNCATE)");
    writer.MustExec(InsertRows(3001, 500));
    writer.MustExec("PRAGMA wal_checkpoint(RESTART)");
    writer.MustExec(InsertRows(3501, 500));
    Conn reader(path.str(), nullptr, SQLITE_OPEN_READONLY);
    EXPECT_EQ(reader.Text("SELECT count(*) FROM t WHERE body GLOB 'X*'"), "1000");
    EXPECT_EQ(reader.Text("SELECT count(*) FROM t WHERE n <= 3000 AND n % 3 = 0 AND "
                          "body GLOB 'x*'"),
              "0");
    EXPECT_EQ(reader.Text(kSummary), Expected(4000));
    EXPECT_EQ(reader.Text("PRAGMA integrity_check"), "ok");
  }
  // Closed and opened again: what the log held is in the database.
  Conn again(path.str(), nullptr);
  EXPECT_EQ(again.Text(kSummary), Expected(4000));
  EXPECT_EQ(again.Text("PRAGMA integrity_check"), "ok");
}

// A write that fails at the commit fails the commit: nothing of the transaction is kept or
// visible, the database stays whole, and the next transaction commits.
TEST(WalBatchingVfsTest, AFailedWriteFailsItsCommitAndLosesNothingElse) {
  RegisterVfsesOnce();
  TempDbPath path;
  Conn writer(path.str(), "batching-over-spy");
  MakeTable(writer, "FULL");
  writer.MustExec(InsertRows(1, 10));
  Conn reader(path.str(), nullptr, SQLITE_OPEN_READONLY);

  writer.MustExec("BEGIN");
  writer.MustExec(InsertRows(11, 10));
  Spy::fail_wal_writes = true;  // the frames are gathered; their write at COMMIT fails
  const int rc = writer.Exec("COMMIT");
  Spy::fail_wal_writes = false;
  EXPECT_NE(rc & 0xff, SQLITE_OK) << "the commit must fail";
  EXPECT_EQ(rc & 0xff, SQLITE_IOERR) << writer.Error();
  writer.Exec("ROLLBACK");  // in case SQLite left the transaction open (it may not have)

  EXPECT_EQ(reader.Text(kSummary), Expected(10));
  writer.MustExec(InsertRows(11, 5));
  EXPECT_EQ(reader.Text(kSummary), Expected(15));
  EXPECT_EQ(reader.Text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(writer.Text(kSummary), Expected(15));
}

}  // namespace
}  // namespace backline::store::sqlite
