// Status and StatusOr: how every Backline target reports failure at its public
// boundary.
//
// Modeled on leveldb/status.h: an OK status is cheap (no allocation), an error
// carries a code and a human-readable message. Exceptions never cross a
// target's API; code that calls a throwing library (nlohmann::json) catches at
// the boundary and returns a Status instead.
//
// Thread safety: a const Status may be read from several threads at once.
#ifndef BACKLINE_ENGINE_STATUS_H_
#define BACKLINE_ENGINE_STATUS_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backline::engine {

class Status {
 public:
  enum class Code { kOk, kInvalidArgument, kNotFound, kDataError, kIOError, kUnavailable };

  Status() = default;  // OK

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status DataError(std::string msg) { return {Code::kDataError, std::move(msg)}; }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "OK" or "<code name>: <message>".
  std::string ToString() const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

// Either a value or the error that prevented it. REQUIRES: value() only when
// ok().
template <typename T>
class StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design
  StatusOr(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

// Where a piece of curated content came from, for error messages a curator can
// act on.
struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown

  // "file:line:column", "file:line", or "file".
  std::string ToString() const;
};

// One problem found while loading or compiling content.
struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  SourceLocation where;
  std::string message;

  // "file:line:column: error: message".
  std::string ToString() const;
};

// Appends diagnostics to a list and remembers whether any was an error.
class DiagnosticSink {
 public:
  explicit DiagnosticSink(std::vector<Diagnostic>* out) : out_(out) {}
  void Error(SourceLocation where, std::string message) {
    out_->push_back(Diagnostic{Diagnostic::Severity::kError, std::move(where), std::move(message)});
    failed_ = true;
  }
  void Warning(SourceLocation where, std::string message) {
    out_->push_back(
        Diagnostic{Diagnostic::Severity::kWarning, std::move(where), std::move(message)});
  }
  bool failed() const { return failed_; }

 private:
  std::vector<Diagnostic>* out_;
  bool failed_ = false;
};

}  // namespace backline::engine

#endif  // BACKLINE_ENGINE_STATUS_H_
