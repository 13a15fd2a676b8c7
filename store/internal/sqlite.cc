#include "store/internal/sqlite.h"

#include <utility>

namespace backline::store::sqlite {
namespace {

using engine::Status;
using engine::StatusOr;

// The symbolic name of a primary result code, for messages a person can look
// up (sqlite3_errstr gives only the English text).
const char* PrimaryName(int rc) {
  switch (rc & 0xff) {
    case SQLITE_ERROR:
      return "SQLITE_ERROR";
    case SQLITE_INTERNAL:
      return "SQLITE_INTERNAL";
    case SQLITE_PERM:
      return "SQLITE_PERM";
    case SQLITE_ABORT:
      return "SQLITE_ABORT";
    case SQLITE_BUSY:
      return "SQLITE_BUSY";
    case SQLITE_LOCKED:
      return "SQLITE_LOCKED";
    case SQLITE_NOMEM:
      return "SQLITE_NOMEM";
    case SQLITE_READONLY:
      return "SQLITE_READONLY";
    case SQLITE_INTERRUPT:
      return "SQLITE_INTERRUPT";
    case SQLITE_IOERR:
      return "SQLITE_IOERR";
    case SQLITE_CORRUPT:
      return "SQLITE_CORRUPT";
    case SQLITE_NOTFOUND:
      return "SQLITE_NOTFOUND";
    case SQLITE_FULL:
      return "SQLITE_FULL";
    case SQLITE_CANTOPEN:
      return "SQLITE_CANTOPEN";
    case SQLITE_PROTOCOL:
      return "SQLITE_PROTOCOL";
    case SQLITE_SCHEMA:
      return "SQLITE_SCHEMA";
    case SQLITE_TOOBIG:
      return "SQLITE_TOOBIG";
    case SQLITE_CONSTRAINT:
      return "SQLITE_CONSTRAINT";
    case SQLITE_MISMATCH:
      return "SQLITE_MISMATCH";
    case SQLITE_MISUSE:
      return "SQLITE_MISUSE";
    case SQLITE_NOLFS:
      return "SQLITE_NOLFS";
    case SQLITE_AUTH:
      return "SQLITE_AUTH";
    case SQLITE_FORMAT:
      return "SQLITE_FORMAT";
    case SQLITE_RANGE:
      return "SQLITE_RANGE";
    case SQLITE_NOTADB:
      return "SQLITE_NOTADB";
    default:
      return "SQLITE_?";
  }
}

Status MakeStatus(int rc, std::string msg) {
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
      return Status::InvalidArgument(std::move(msg));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_INTERRUPT:
      return Status::Unavailable(std::move(msg));
    case SQLITE_ERROR:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
    case SQLITE_SCHEMA:
      return Status::DataError(std::move(msg));
    default:
      return Status::IOError(std::move(msg));
  }
}

}  // namespace

Status Error(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  if (!msg.empty()) msg += ": ";
  // sqlite3_errmsg describes the most recent failure on the connection, which
  // is the one that returned `rc` as long as the caller asks right away.
  msg +=
      (db != nullptr && sqlite3_errcode(db) != SQLITE_OK) ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += " (";
  msg += PrimaryName(rc);
  msg += ", extended code ";
  msg += std::to_string(rc);
  msg += ")";
  return MakeStatus(rc, std::move(msg));
}

Status WithContext(std::string_view what, const Status& s) {
  if (s.ok()) return s;
  std::string msg = std::string(what) + ": " + s.message();
  switch (s.code()) {
    case Status::Code::kOk:
      return s;
    case Status::Code::kInvalidArgument:
      return Status::InvalidArgument(std::move(msg));
    case Status::Code::kNotFound:
      return Status::NotFound(std::move(msg));
    case Status::Code::kDataError:
      return Status::DataError(std::move(msg));
    case Status::Code::kIOError:
      return Status::IOError(std::move(msg));
    case Status::Code::kUnavailable:
      return Status::Unavailable(std::move(msg));
  }
  return s;
}

int Initialize() {
  static const int rc = [] {
    // No memory statistics. With them SQLite takes a process-wide mutex around
    // every allocation and free to count it, and nothing here reads the
    // counts (sqlite3_memory_used, the soft heap limit). sqlite3_config works
    // only before SQLite initialises: if something in this process already
    // made it initialise (a VFS registered first), the statistics stay on and
    // nothing else changes.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return sqlite3_initialize();
  }();
  return rc;
}

// --- Statement ---------------------------------------------------------------

void Statement::Finalizer::operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }

Status Statement::Bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_.get(), index, value);
  if (rc != SQLITE_OK) return Error(sqlite3_db_handle(stmt_.get()), rc, "bind");
  return Status::Ok();
}

Status Statement::Bind(int index, std::string_view text) {
  return BindText(index, text, Text::kCopy);
}

Status Statement::BindText(int index, std::string_view text, Text how) {
  const int rc =
      sqlite3_bind_text64(stmt_.get(), index, text.data(), text.size(),
                          how == Text::kCopy ? SQLITE_TRANSIENT : SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK) return Error(sqlite3_db_handle(stmt_.get()), rc, "bind");
  return Status::Ok();
}

Status Statement::Bind(int index, std::nullptr_t) {
  const int rc = sqlite3_bind_null(stmt_.get(), index);
  if (rc != SQLITE_OK) return Error(sqlite3_db_handle(stmt_.get()), rc, "bind");
  return Status::Ok();
}

StatusOr<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error(sqlite3_db_handle(stmt_.get()), rc, "");
}

Status Statement::Run() {
  for (;;) {
    StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!row.value()) return Status::Ok();
  }
}

int64_t Statement::ColumnInt64(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

std::string Statement::ColumnText(int column) const {
  const auto* text = sqlite3_column_text(stmt_.get(), column);
  if (text == nullptr) return std::string();
  const int size = sqlite3_column_bytes(stmt_.get(), column);
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

bool Statement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

void Statement::Reset() { sqlite3_reset(stmt_.get()); }

void Statement::ClearBindings() { sqlite3_clear_bindings(stmt_.get()); }

// --- Database::Lease ---------------------------------------------------------

Database::Lease::Lease(Lease&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)),
      in_use_(std::exchange(other.in_use_, nullptr)),
      owned_(std::move(other.owned_)) {}

Database::Lease& Database::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    stmt_ = std::exchange(other.stmt_, nullptr);
    in_use_ = std::exchange(other.in_use_, nullptr);
    owned_ = std::move(other.owned_);
  }
  return *this;
}

Database::Lease::~Lease() { Release(); }

void Database::Lease::Release() {
  if (stmt_ == nullptr) return;
  stmt_->Reset();
  stmt_->ClearBindings();
  if (in_use_ != nullptr) *in_use_ = false;
  stmt_ = nullptr;
  in_use_ = nullptr;
  owned_.reset();
}

// --- Database ----------------------------------------------------------------

void Database::Closer::operator()(sqlite3* db) const { sqlite3_close(db); }

StatusOr<Database> Database::Open(const std::string& path, int flags, const char* vfs) {
  if (const int init = Initialize(); init != SQLITE_OK) {
    return Error(nullptr, init, "cannot initialise SQLite");
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, vfs);
  // sqlite3_open_v2 may hand back a handle even on failure; own it at once so
  // it is closed on every path.
  Database db(raw);
  if (rc != SQLITE_OK) {
    return Error(raw, rc, "cannot open database \"" + path + "\"");
  }
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    cache_.clear();  // finalise our statements before our handle closes
    db_ = std::move(other.db_);
    cache_ = std::move(other.cache_);
  }
  return *this;
}

Status Database::Exec(const std::string& sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);  // sqlite3_errmsg still has the same text
  if (rc != SQLITE_OK) return Error(db_.get(), rc, "");
  return Status::Ok();
}

StatusOr<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc =
      sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), 0, &raw, nullptr);
  Statement stmt(raw);
  if (rc != SQLITE_OK) {
    return Error(db_.get(), rc, "prepare \"" + std::string(sql) + "\"");
  }
  if (raw == nullptr) {
    return Status::InvalidArgument("prepare: no SQL statement in \"" + std::string(sql) + "\"");
  }
  return stmt;
}

StatusOr<Database::Lease> Database::Cached(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    Statement stmt(raw);
    if (rc != SQLITE_OK) {
      return Error(db_.get(), rc, "prepare \"" + std::string(sql) + "\"");
    }
    if (raw == nullptr) {
      return Status::InvalidArgument("prepare: no SQL statement in \"" + std::string(sql) + "\"");
    }
    it = cache_.emplace(std::string(sql), CacheEntry{std::move(stmt), false}).first;
  }
  CacheEntry& entry = it->second;
  if (entry.in_use) {
    StatusOr<Statement> one_off = Prepare(sql);
    if (!one_off.ok()) return one_off.status();
    auto owned = std::make_unique<Statement>(std::move(one_off).value());
    Statement* stmt = owned.get();
    return Lease(stmt, nullptr, std::move(owned));
  }
  entry.in_use = true;
  return Lease(&entry.stmt, &entry.in_use, nullptr);
}

StatusOr<std::string> Database::QueryText(const std::string& sql) {
  StatusOr<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!row.value()) return Status::NotFound("no row from \"" + sql + "\"");
  return stmt->ColumnText(0);
}

StatusOr<int64_t> Database::QueryInt64(const std::string& sql) {
  StatusOr<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!row.value()) return Status::NotFound("no row from \"" + sql + "\"");
  return stmt->ColumnInt64(0);
}

Status Database::SetBusyTimeout(int ms) {
  const int rc = sqlite3_busy_timeout(db_.get(), ms);
  if (rc != SQLITE_OK) return Error(db_.get(), rc, "busy_timeout");
  return Status::Ok();
}

int64_t Database::Changes() const { return sqlite3_changes64(db_.get()); }

bool Database::InTransaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }

}  // namespace backline::store::sqlite
