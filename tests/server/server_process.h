// `backline serve` as a child process, for tests that signal or kill the whole process
// (SIGTERM, SIGHUP, SIGKILL). The child's stderr is read by a thread so the test can wait for
// "listening on ..." and read the log.
//
// Thread safety: one test thread uses a ServerProcess; the reader thread is internal.
#ifndef BACKLINE_TESTS_SERVER_SERVER_PROCESS_H_
#define BACKLINE_TESTS_SERVER_SERVER_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace backline::server::e2e {

// `backline serve` in a child process with its stderr read by a thread.
class ServerProcess {
 public:
  // `binary serve args...`. `nofile`: the child's RLIMIT_NOFILE {soft, hard}, set between fork
  // and exec (what `prlimit --nofile` does), for tests that run it short of descriptors.
  ServerProcess(const std::string& binary, const std::vector<std::string>& args,
                std::optional<std::pair<rlim_t, rlim_t>> nofile = std::nullopt) {
    std::vector<std::string> all = {binary, "serve"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      if (nofile) {
        const rlimit rl{nofile->first, nofile->second};
        if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) ::_exit(126);
      }
      ::dup2(fds[1], STDERR_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    if (pid_ < 0) {
      ::close(fds[0]);
      return;
    }
    reader_ = std::thread([this, fd = fds[0]]() {
      char buf[4096];
      for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        std::lock_guard<std::mutex> lock(mu_);
        err_.append(buf, static_cast<size_t>(n));
        cv_.notify_all();
      }
      ::close(fd);
      std::lock_guard<std::mutex> lock(mu_);
      eof_ = true;
      cv_.notify_all();
    });
  }

  ~ServerProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      int status;
      ::waitpid(pid_, &status, 0);
    }
    if (reader_.joinable()) reader_.join();
  }

  bool started() const { return pid_ > 0; }

  // Waits for "listening on http://127.0.0.1:PORT"; returns the port, or 0.
  unsigned short WaitForPort(std::chrono::milliseconds timeout) {
    static const std::regex kListening(R"(listening on http://127\.0\.0\.1:(\d+))");
    std::unique_lock<std::mutex> lock(mu_);
    std::smatch m;
    cv_.wait_for(lock, timeout, [&]() { return eof_ || std::regex_search(err_, m, kListening); });
    if (!std::regex_search(err_, m, kListening)) return 0;
    return static_cast<unsigned short>(std::stoi(m[1].str()));
  }

  bool WaitForStderr(const std::string& needle, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&]() { return err_.find(needle) != std::string::npos; });
  }

  std::string Stderr() {
    std::lock_guard<std::mutex> lock(mu_);
    return err_;
  }

  void Signal(int sig) { ::kill(pid_, sig); }

  pid_t pid() const { return pid_; }

  // CPU time (user + system) the process has used so far, from /proc/PID/stat; -1 if unread.
  double CpuSeconds() const {
    FILE* f = std::fopen(("/proc/" + std::to_string(pid_) + "/stat").c_str(), "r");
    if (!f) return -1;
    char buf[1024];
    const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // Fields after the command name (in parentheses, which may hold spaces): utime is the
    // 14th field of the line, stime the 15th.
    const char* p = std::strrchr(buf, ')');
    if (!p) return -1;
    unsigned long utime = 0, stime = 0;
    if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) !=
        2) {
      return -1;
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }

  // The exit status (as from waitpid) once the process exited within `timeout`, else nullopt.
  std::optional<int> Wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        return status;
      }
      if (r < 0 || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string err_;
  bool eof_ = false;
};

}  // namespace backline::server::e2e

#endif  // BACKLINE_TESTS_SERVER_SERVER_PROCESS_H_
