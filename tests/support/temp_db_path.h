// A database path under the temp directory, unique per process and test, with the database and
// its -wal, -shm and -journal files removed before use and at the end.
#ifndef BACKLINE_TESTS_SUPPORT_TEMP_DB_PATH_H_
#define BACKLINE_TESTS_SUPPORT_TEMP_DB_PATH_H_

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>

#include <gtest/gtest.h>

namespace backline::testing_support {

class TempDbPath {
 public:
  TempDbPath() {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = (std::filesystem::temp_directory_path() /
             ("backline_store_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) +
              "_" + (info != nullptr ? info->name() : "test") + ".db"))
                .string();
    Remove();
  }
  ~TempDbPath() { Remove(); }
  TempDbPath(const TempDbPath&) = delete;
  TempDbPath& operator=(const TempDbPath&) = delete;
  const std::string& str() const { return path_; }

 private:
  void Remove() {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::filesystem::remove(path_ + suffix, ec);
    }
  }
  std::string path_;
};

}  // namespace backline::testing_support

#endif  // BACKLINE_TESTS_SUPPORT_TEMP_DB_PATH_H_
