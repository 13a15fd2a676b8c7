// A log line for an event that can repeat without end (a page from a foreign origin retrying
// its connection every few seconds): the first occurrence is logged at once, later ones are
// counted and reported in one line at most once per interval. Server-private.
//
// Thread safety: Note() may be called from any thread.
#ifndef BACKLINE_SERVER_INTERNAL_THROTTLED_LOG_H_
#define BACKLINE_SERVER_INTERNAL_THROTTLED_LOG_H_

#include <cstdint>
#include <mutex>
#include <string>

namespace backline::server::internal {

class ThrottledLog {
 public:
  explicit ThrottledLog(int64_t interval_ms = 60'000) : interval_ms_(interval_ms) {}

  // Records one occurrence at `now_ms`. Returns true when a line should be logged now, with
  // `*suppressed` set to how many occurrences since the last logged line were not logged
  // (0 for the first one). Between lines it counts and returns false: the count is reported
  // by the first occurrence at least `interval_ms` after the last line.
  bool Note(int64_t now_ms, int64_t* suppressed) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (logged_ && now_ms - last_ms_ < interval_ms_) {
      ++suppressed_;
      return false;
    }
    *suppressed = suppressed_;
    suppressed_ = 0;
    last_ms_ = now_ms;
    logged_ = true;
    return true;
  }

 private:
  const int64_t interval_ms_;
  std::mutex mutex_;
  bool logged_ = false;
  int64_t last_ms_ = 0;
  int64_t suppressed_ = 0;
};

}  // namespace backline::server::internal

#endif  // BACKLINE_SERVER_INTERNAL_THROTTLED_LOG_H_
