// A thin RAII wrapper over the sqlite3 C API: Database owns a connection,
// Statement owns a prepared statement, and Database::Lease hands out a cached
// statement for one use.
//
// Errors: every failure is returned as an engine::Status whose message carries
// sqlite3_errmsg() and the extended result code, e.g.
//   "UNIQUE constraint failed: turns.session_id, turns.seq
//    (SQLITE_CONSTRAINT, extended code 2067)".
// The status code follows the kind of failure: constraint and binding errors
// are kInvalidArgument, SQLITE_BUSY/LOCKED kUnavailable, corruption and SQL
// errors kDataError, the rest kIOError. Messages never contain bound values,
// so patient text cannot leak through them.
//
// Ownership: Database and Statement are move-only. Statements (cached or not)
// must not outlive the Database they were prepared on.
//
// Thread safety: none. A Database and everything prepared on it belong to one
// thread at a time (connections are opened with SQLITE_OPEN_NOMUTEX by their
// users); hand a connection to another thread only with a happens-before edge
// (thread start, mutex).
#ifndef BACKLINE_STORE_INTERNAL_SQLITE_H_
#define BACKLINE_STORE_INTERNAL_SQLITE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <sqlite3.h>

#include "engine/status.h"

namespace backline::store::sqlite {

// Initialises SQLite for this process, once, before anything else touches it:
// Database::Open and the VFS registrations call it. Returns SQLite's result
// (SQLITE_OK, or the error of sqlite3_initialize).
int Initialize();

// The Status for result code `rc` on connection `db` (which may be null):
// "<what>: <sqlite3_errmsg> (SQLITE_X, extended code N)". `what` may be empty.
engine::Status Error(sqlite3* db, int rc, std::string_view what);

// `s` with "<what>: " put in front of its message (same code). OK stays OK.
engine::Status WithContext(std::string_view what, const engine::Status& s);

class Statement {
 public:
  Statement() = default;  // holds nothing; only assign to it
  Statement(Statement&&) noexcept = default;
  Statement& operator=(Statement&&) noexcept = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds parameter `index` (1-based). Text is copied (SQLITE_TRANSIENT).
  engine::Status Bind(int index, int64_t value);
  engine::Status Bind(int index, std::string_view text);
  engine::Status Bind(int index, std::nullptr_t);  // NULL

  // Binds the arguments to parameters 1, 2, 3 ... in order; stops at the
  // first failure. Text is copied, so the arguments may die before Step().
  template <typename... Args>
  engine::Status BindAll(const Args&... args) {
    return BindEach(Text::kCopy, args...);
  }

  // Binds the arguments as BindAll does, runs the statement to completion
  // and clears the bindings, on every path. Text is bound in place, not
  // copied (SQLITE_STATIC): the arguments outlive the call, and the bindings
  // are gone before they can die. For the store's per-turn writes, where the
  // copies were a tenth of each write's instructions.
  template <typename... Args>
  engine::Status RunWith(const Args&... args) {
    engine::Status status = BindEach(Text::kBorrow, args...);
    if (status.ok()) status = Run();
    ClearBindings();
    return status;
  }

  // Advances: true when a row is ready (read it with Column*), false when the
  // statement is done. After an error, Reset() before reusing the statement.
  engine::StatusOr<bool> Step();

  // Steps until done, ignoring any rows (INSERT, UPDATE, DELETE, PRAGMA x=y).
  engine::Status Run();

  // Columns of the current row, 0-based. REQUIRES: Step() returned true.
  int64_t ColumnInt64(int column) const;
  std::string ColumnText(int column) const;  // "" for NULL
  bool ColumnIsNull(int column) const;

  // Rewinds so the statement can run again; bindings are kept.
  void Reset();
  // Sets every parameter back to NULL.
  void ClearBindings();

  sqlite3_stmt* get() const { return stmt_.get(); }

 private:
  friend class Database;
  struct Finalizer {
    void operator()(sqlite3_stmt* stmt) const;
  };

  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}

  // Whether bound text is copied (SQLITE_TRANSIENT) or read in place until
  // the bindings are cleared (SQLITE_STATIC).
  enum class Text { kCopy, kBorrow };

  engine::Status BindText(int index, std::string_view text, Text how);

  template <typename... Args>
  engine::Status BindEach([[maybe_unused]] Text how, const Args&... args) {
    engine::Status status;
    int index = 0;
    ((status.ok() ? (status = BindOne(++index, args, how), 0) : 0), ...);
    return status;
  }

  engine::Status BindOne(int index, int64_t v, Text) { return Bind(index, v); }
  engine::Status BindOne(int index, int v, Text) { return Bind(index, static_cast<int64_t>(v)); }
  engine::Status BindOne(int index, bool v, Text) { return Bind(index, static_cast<int64_t>(v)); }
  engine::Status BindOne(int index, std::string_view v, Text how) {
    return BindText(index, v, how);
  }
  engine::Status BindOne(int index, const std::string& v, Text how) {
    return BindText(index, std::string_view(v), how);
  }
  engine::Status BindOne(int index, const char* v, Text how) {
    return BindText(index, std::string_view(v), how);
  }
  engine::Status BindOne(int index, std::nullptr_t, Text) { return Bind(index, nullptr); }

  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
};

class Database {
 public:
  // A cached statement, lent for one use. When the lease ends the statement is
  // reset and its bindings cleared, so the next user finds it clean.
  // REQUIRES: the lease ends before the Database is destroyed or moved from.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    Statement& operator*() const { return *stmt_; }
    Statement* operator->() const { return stmt_; }

   private:
    friend class Database;
    Lease(Statement* stmt, bool* in_use, std::unique_ptr<Statement> owned)
        : stmt_(stmt), in_use_(in_use), owned_(std::move(owned)) {}
    void Release();

    Statement* stmt_ = nullptr;
    bool* in_use_ = nullptr;            // the cache entry's flag, if cached
    std::unique_ptr<Statement> owned_;  // a one-off, when the entry was busy
  };

  // Opens (or creates, with SQLITE_OPEN_CREATE in `flags`) the database at
  // `path` (":memory:" for a private in-memory one) with sqlite3_open_v2 and
  // turns on extended result codes. `vfs` names a registered SQLite VFS
  // (nullptr: the default one). On failure nothing stays open.
  static engine::StatusOr<Database> Open(const std::string& path, int flags,
                                         const char* vfs = nullptr);

  Database(Database&&) noexcept = default;
  Database& operator=(Database&& other) noexcept;  // finalises, then closes
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database() = default;  // finalises cached statements, then closes

  // Runs one or more SQL statements that return no rows needed by the caller
  // (sqlite3_exec). Use only for fixed SQL, never with patient text.
  engine::Status Exec(const std::string& sql);

  // Prepares a statement that the caller owns (not cached).
  engine::StatusOr<Statement> Prepare(std::string_view sql);

  // The cached statement for `sql`, prepared with SQLITE_PREPARE_PERSISTENT on
  // first use. If that statement is already lent out (re-entrant use), the
  // lease gets a fresh one-off statement instead.
  engine::StatusOr<Lease> Cached(std::string_view sql);

  // Runs one statement that returns a single text value, e.g.
  // "PRAGMA journal_mode=WAL" or "PRAGMA integrity_check" (first row only).
  engine::StatusOr<std::string> QueryText(const std::string& sql);
  // Same for an integer value ("PRAGMA user_version").
  engine::StatusOr<int64_t> QueryInt64(const std::string& sql);

  // How long a statement waits for another connection's lock before it fails
  // with SQLITE_BUSY.
  engine::Status SetBusyTimeout(int ms);

  // Rows changed by the last INSERT/UPDATE/DELETE (not counting cascades).
  int64_t Changes() const;
  // True between BEGIN and COMMIT/ROLLBACK. SQLite may roll a transaction
  // back by itself after some errors (SQLITE_FULL, SQLITE_IOERR, ...).
  bool InTransaction() const;

  sqlite3* get() const { return db_.get(); }

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  struct CacheEntry {
    Statement stmt;
    bool in_use = false;
  };
  // Lets the cache be searched with a string_view (no allocation per lookup).
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view sql) const { return std::hash<std::string_view>()(sql); }
  };

  explicit Database(sqlite3* db) : db_(db) {}

  std::unique_ptr<sqlite3, Closer> db_;
  // Declared after db_ so that it is destroyed first: sqlite3_close() fails
  // with SQLITE_BUSY while statements are unfinalised. Entries are node-based,
  // so leases keep valid pointers when the map grows or the Database moves.
  std::unordered_map<std::string, CacheEntry, SqlHash, std::equal_to<>> cache_;
};

}  // namespace backline::store::sqlite

#endif  // BACKLINE_STORE_INTERNAL_SQLITE_H_
