// backline_loadgen: a WebSocket load generator for `backline serve` and the echo baseline
// (bench/echo_server.cc). Loopback only; every run is bounded (connections, duration, rate).
//
//   backline_loadgen --port P [--protocol backline|echo] [--connections N] [--duration S]
//                    [--warmup S] [--rate R] [--messages FILE] [--server-pid PID] [--label L]
//                    [--check]   (exit 1 unless all connected, replies came, no errors)
//   backline_loadgen --port P --idle N [--hold S] [--server-pid PID]
//
// Closed loop (default): each connection sends a message and waits for its reply before it
// sends the next. Open loop (--rate R): R messages per second in total, spread round-robin
// over the connections whatever the replies do (latency is measured from the scheduled send
// time, so a server that falls behind shows it); at most --max-inflight unanswered messages
// per connection, past that a send is counted as an "overload" error and skipped.
//
// "The reply arrived": a server answers every frame with exactly one frame, in order. For
// Backline (--protocol backline) the first frame of a connection is its welcome, which is
// skipped, and a message is sent as {"type":"message","text":...}; an answer that is not a
// {"type":"reply"} counts as an error of kind "frame:<type or code>". The echo server gets
// the very same bytes and must send them back unchanged ("echo_mismatch" otherwise).
//
// Output: one JSON line on stdout (machine-readable) and one human line on stderr.
// With --server-pid: the server's CPU time (utime+stime from /proc/PID/stat, delta over the
// measured window), its peak resident memory (VmHWM) and, for --idle, its resident memory
// (VmRSS) before and after opening the idle connections.
//
// Threads: one (the io_context runs on the calling thread), so `taskset -c 1` pins it.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>  // Boost 1.74's asio uses std::exchange without including it
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/build_paths.h"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

// Hard bounds: a typo must not turn a benchmark into a flood.
constexpr int kMaxConnections = 60000;
constexpr double kMaxDuration = 3600;
constexpr double kMaxRate = 5e6;

struct Options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  std::string path = "/ws";
  std::string protocol = "backline";
  int connections = 1;
  double duration = 10;
  double warmup = 2;
  double rate = 0;  // 0: closed loop
  int max_inflight = 8;
  std::string messages_file;
  int server_pid = 0;
  std::string label;
  int idle = 0;  // >0: idle mode with this many connections
  double hold = 2;
  int connect_parallel = 256;
  bool check = false;  // exit 1 unless every connection came up, replies came and no errors
};

[[noreturn]] void Usage(const std::string& why) {
  std::cerr << "backline_loadgen: " << why
            << "\nusage: backline_loadgen --port P [--host 127.0.0.1] [--path /ws]\n"
               "         [--protocol backline|echo] [--connections N] [--duration S]\n"
               "         [--warmup S] [--rate R] [--max-inflight K] [--messages FILE]\n"
               "         [--server-pid PID] [--label L] [--check]\n"
               "       backline_loadgen --port P --idle N [--hold S] [--server-pid PID]\n";
  std::exit(2);
}

double Number(const std::string& flag, const std::string& v, double lo, double hi) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !(d >= lo && d <= hi)) {
    Usage(flag + " needs a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return d;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--host")
      o.host = value();
    else if (a == "--port")
      o.port = static_cast<unsigned short>(Number(a, value(), 1, 65535));
    else if (a == "--path")
      o.path = value();
    else if (a == "--protocol")
      o.protocol = value();
    else if (a == "--connections")
      o.connections = static_cast<int>(Number(a, value(), 1, kMaxConnections));
    else if (a == "--duration")
      o.duration = Number(a, value(), 0.1, kMaxDuration);
    else if (a == "--warmup")
      o.warmup = Number(a, value(), 0, kMaxDuration);
    else if (a == "--rate")
      o.rate = Number(a, value(), 0, kMaxRate);
    else if (a == "--max-inflight")
      o.max_inflight = static_cast<int>(Number(a, value(), 1, 1024));
    else if (a == "--messages")
      o.messages_file = value();
    else if (a == "--server-pid")
      o.server_pid = static_cast<int>(Number(a, value(), 1, 1 << 30));
    else if (a == "--label")
      o.label = value();
    else if (a == "--idle")
      o.idle = static_cast<int>(Number(a, value(), 1, kMaxConnections));
    else if (a == "--hold")
      o.hold = Number(a, value(), 0, kMaxDuration);
    else if (a == "--connect-parallel")
      o.connect_parallel = static_cast<int>(Number(a, value(), 1, 10000));
    else if (a == "--check")
      o.check = true;
    else
      Usage("unknown option '" + a + "'");
  }
  if (o.port == 0) Usage("--port is required");
  if (o.protocol != "backline" && o.protocol != "echo") Usage("--protocol is backline or echo");
  return o;
}

// --- The server process, from /proc ------------------------------------------------------

// utime+stime of the whole process (all threads), in microseconds; -1 when unreadable.
int64_t ProcessCpuMicros(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!pid || !std::getline(in, line)) return -1;
  // The command name (field 2) may hold spaces; fields are counted after its ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  int64_t utime = 0, stime = 0;
  for (int n = 3; rest >> field; ++n) {
    if (n == 14) utime = std::stoll(field);
    if (n == 15) {
      stime = std::stoll(field);
      const long hz = sysconf(_SC_CLK_TCK);
      return (utime + stime) * 1000000 / (hz > 0 ? hz : 100);
    }
  }
  return -1;
}

// A "VmXXX:   1234 kB" line of /proc/PID/status, in KiB; -1 when unreadable.
int64_t StatusKib(int pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (pid && std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::atoll(line.c_str() + key.size() + 1);
  }
  return -1;
}

// --- Latency histogram: log-linear, ~0.1% resolution, fixed size ----------------------------

class Histogram {
 public:
  void Add(int64_t ns) {
    if (ns < 0) ns = 0;
    ++count_;
    ++buckets_[Index(static_cast<uint64_t>(ns))];
  }
  int64_t count() const { return count_; }
  // The value (ns) at quantile q in [0, 1].
  double Quantile(double q) const {
    if (count_ == 0) return 0;
    const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * count_)));
    int64_t seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank) return Midpoint(i);
    }
    return Midpoint(buckets_.size() - 1);
  }

 private:
  static constexpr int kSub = 10;  // 1024 sub-buckets per power of two
  static constexpr size_t kLinear = size_t{2} << kSub;
  static constexpr size_t kSize = kLinear + (44 - kSub - 1) * (size_t{1} << kSub);
  static size_t Index(uint64_t v) {
    if (v < kLinear) return v;
    const int e = 63 - __builtin_clzll(v);  // >= kSub + 1
    const size_t i = kLinear + static_cast<size_t>(e - kSub - 1) * (1u << kSub) +
                     ((v >> (e - kSub)) & ((1u << kSub) - 1));
    return std::min(i, kSize - 1);
  }
  static double Midpoint(size_t i) {
    if (i < kLinear) return static_cast<double>(i);
    const size_t j = i - kLinear;
    const int e = static_cast<int>(j >> kSub) + kSub + 1;
    const double lo = std::ldexp(1.0, e) +
                      static_cast<double>(j & ((1u << kSub) - 1)) * std::ldexp(1.0, e - kSub);
    return lo + std::ldexp(1.0, e - kSub) / 2;
  }
  std::vector<int64_t> buckets_ = std::vector<int64_t>(kSize);
  int64_t count_ = 0;
};

// --- The run ----------------------------------------------------------------------------------

struct Run {
  Options opt;
  net::io_context ioc{1};
  tcp::endpoint endpoint;
  std::vector<std::string> frames;  // what is sent, already wrapped for the protocol
  Histogram latency;
  std::map<std::string, int64_t> errors;
  int64_t replies = 0;       // answered within the measured window
  int64_t sent = 0;          // sent within the measured window
  int64_t connected = 0;     // handshakes completed (and welcome read, for Backline)
  int64_t open = 0;          // connections open now
  int64_t closed_early = 0;  // connections lost before the end
  Clock::time_point measure_begin, measure_end;
  bool measuring = false;
  bool sending = false;   // past the connect phase and before the end
  bool finished = false;  // closing down
  int next_to_connect = 0;
  int connecting = 0;
  std::function<void()> on_all_connected;

  void Error(const std::string& kind) { ++errors[kind]; }
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Run* run, int index)
      : run_(run), index_(index), ws_(run->ioc.get_executor()), next_message_(index) {}

  void Start() {
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(30));
    beast::get_lowest_layer(ws_).async_connect(
        run_->endpoint, beast::bind_front_handler(&Connection::OnConnect, shared_from_this()));
  }

  // Closed loop: send the next message. Open loop: one more message, scheduled at `when`.
  void Send(Clock::time_point when) {
    if (!ready_ || closing_) return;
    if (static_cast<int>(inflight_.size()) >= run_->opt.max_inflight) {
      if (run_->measuring) run_->Error("overload");
      return;
    }
    const std::string& frame = run_->frames[next_message_++ % run_->frames.size()];
    inflight_.push_back({when, &frame, run_->measuring && when >= run_->measure_begin});
    if (inflight_.back().counted) ++run_->sent;
    outbox_.push_back(&frame);
    if (!writing_) DoWrite();
  }
  bool idle() const { return ready_ && !closing_ && inflight_.empty(); }
  bool ready() const { return ready_ && !closing_; }

  void Close() {
    if (closing_ || !ready_) {
      beast::error_code ec;
      beast::get_lowest_layer(ws_).socket().close(ec);
      return;
    }
    closing_ = true;
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(5));
    ws_.async_close(websocket::close_code::normal,
                    [self = shared_from_this()](beast::error_code) {});
  }

 private:
  struct Pending {
    Clock::time_point sent;
    const std::string* frame;
    bool counted;
  };

  void OnConnect(beast::error_code ec) {
    if (ec) return ConnectFailed("connect");
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ec);
    ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, "backline_loadgen");
    }));
    ws_.async_handshake(run_->opt.host, run_->opt.path,
                        beast::bind_front_handler(&Connection::OnHandshake, shared_from_this()));
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) return ConnectFailed("handshake");
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t =
        websocket::stream_base::timeout::suggested(beast::role_type::client);
    ws_.set_option(t);
    ws_.text(true);
    ++run_->open;
    if (run_->opt.protocol == "echo") {
      Ready();
    } else {
      awaiting_welcome_ = true;
    }
    DoRead();
  }

  void ConnectFailed(const char* kind) {
    run_->Error(kind);
    run_->connecting--;
    ConnectMore(run_);
  }

  void Ready() {
    ready_ = true;
    ++run_->connected;
    run_->connecting--;
    ConnectMore(run_);
    if (run_->sending && run_->opt.rate == 0) Send(Clock::now());
  }

 public:
  static void ConnectMore(Run* run);

 private:
  void DoRead() {
    ws_.async_read(buffer_, beast::bind_front_handler(&Connection::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) return Lost(ec, "read");
    const auto now = Clock::now();
    const std::string_view got(static_cast<const char*>(buffer_.data().data()),
                               buffer_.data().size());
    if (awaiting_welcome_) {
      awaiting_welcome_ = false;
      if (!IsType(got, "welcome")) {
        run_->Error("no_welcome");
      }
      Ready();
    } else if (inflight_.empty()) {
      if (run_->measuring) run_->Error("unsolicited_frame");
    } else {
      const Pending p = inflight_.front();
      inflight_.pop_front();
      bool ok = true;
      if (run_->opt.protocol == "echo") {
        if (got != *p.frame) {
          ok = false;
          if (p.counted) run_->Error("echo_mismatch");
        }
      } else if (!IsType(got, "reply")) {
        ok = false;
        if (p.counted) run_->Error("frame:" + Describe(got));
      }
      if (ok && p.counted && now <= run_->measure_end) {
        ++run_->replies;
        run_->latency.Add(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - p.sent).count());
      }
      if (run_->sending && run_->opt.rate == 0 && inflight_.empty()) Send(now);
    }
    buffer_.consume(buffer_.size());
    DoRead();
  }

  static bool IsType(std::string_view frame, std::string_view type) {
    // Our own servers write "type" first; parse only when that shortcut does not hold.
    const std::string prefix = "{\"type\":\"" + std::string(type) + "\"";
    if (frame.substr(0, prefix.size()) == prefix) return true;
    json j = json::parse(frame, nullptr, false);
    return j.is_object() && j.value("type", "") == type;
  }

  static std::string Describe(std::string_view frame) {
    json j = json::parse(frame, nullptr, false);
    if (!j.is_object()) return "not_json";
    std::string type = j.value("type", "untyped");
    if (type == "error") type += ":" + j.value("code", "");
    return type;
  }

  void DoWrite() {
    writing_ = true;
    ws_.async_write(net::buffer(*outbox_.front()),
                    beast::bind_front_handler(&Connection::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) return Lost(ec, "write");
    outbox_.pop_front();
    if (!outbox_.empty()) DoWrite();
  }

  void Lost(beast::error_code ec, const char* what) {
    const bool was_ready = ready_ || awaiting_welcome_;
    if (was_ready) --run_->open;
    if (closing_ || run_->finished) return;
    if (awaiting_welcome_) {
      awaiting_welcome_ = false;
      run_->connecting--;
      ConnectMore(run_);
    }
    ready_ = false;
    ++run_->closed_early;
    std::string kind = std::string(what) + ":";
    if (ec == websocket::error::closed) {
      kind += "closed_by_server(" + std::to_string(ws_.reason().code) + ")";
    } else if (ec == beast::error::timeout) {
      kind += "timeout";
    } else {
      kind += ec.message();
    }
    run_->Error(kind);
  }

  Run* run_;
  int index_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<Pending> inflight_;
  std::deque<const std::string*> outbox_;
  size_t next_message_;
  bool ready_ = false;
  bool awaiting_welcome_ = false;
  bool writing_ = false;
  bool closing_ = false;
};

std::vector<std::shared_ptr<Connection>> g_connections;

void Connection::ConnectMore(Run* run) {
  while (run->next_to_connect < static_cast<int>(g_connections.size()) &&
         run->connecting < run->opt.connect_parallel) {
    ++run->connecting;
    g_connections[run->next_to_connect++]->Start();
  }
  if (run->connecting == 0 && run->next_to_connect == static_cast<int>(g_connections.size()) &&
      run->on_all_connected) {
    auto f = std::move(run->on_all_connected);
    run->on_all_connected = nullptr;
    net::post(run->ioc, f);
  }
}

std::vector<std::string> LoadMessages(const Options& o) {
  std::string path = o.messages_file;
  if (path.empty()) path = std::string(backline::build::kSourceDir) + "/bench/messages.txt";
  std::ifstream in(path);
  if (!in) Usage("cannot read the message list " + path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    out.push_back(json{{"type", "message"}, {"text", line}}.dump());
  }
  if (out.empty()) Usage(path + " holds no messages");
  return out;
}

bool IsLoopback(const net::ip::address& a) {
  if (a.is_v4()) return (a.to_v4().to_uint() >> 24) == 127;
  return a.is_loopback();
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

int RunLoad(Run& run) {
  const Options& o = run.opt;
  for (int i = 0; i < o.connections; ++i)
    g_connections.push_back(std::make_shared<Connection>(&run, i));

  net::steady_timer phase(run.ioc);
  net::steady_timer ticker(run.ioc);
  int64_t cpu_begin = -1, cpu_end = -1;
  uint64_t tick = 0;
  Clock::time_point open_loop_start;
  size_t rr = 0;

  std::function<void()> open_loop;
  open_loop = [&]() {
    // Sends every message due by now, then sleeps until the next one is due.
    const auto now = Clock::now();
    const double per = 1.0 / o.rate;
    while (run.sending) {
      const auto due = open_loop_start + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(per * tick));
      if (due > now) {
        ticker.expires_at(due);
        ticker.async_wait([&](beast::error_code ec) {
          if (!ec) open_loop();
        });
        return;
      }
      ++tick;
      for (size_t tries = 0; tries < g_connections.size(); ++tries) {
        auto& c = g_connections[rr++ % g_connections.size()];
        if (c->ready()) {
          c->Send(due);
          break;
        }
      }
    }
  };

  run.on_all_connected = [&]() {
    if (run.connected == 0) {
      run.finished = true;
      return;
    }
    run.sending = true;
    if (o.rate > 0) {
      open_loop_start = Clock::now();
      open_loop();
    } else {
      for (auto& c : g_connections) {
        if (c->idle()) c->Send(Clock::now());
      }
    }
    phase.expires_after(
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup)));
    phase.async_wait([&](beast::error_code) {
      run.measuring = true;
      run.measure_begin = Clock::now();
      run.measure_end = run.measure_begin + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(o.duration));
      cpu_begin = ProcessCpuMicros(o.server_pid);
      phase.expires_at(run.measure_end);
      phase.async_wait([&](beast::error_code) {
        cpu_end = ProcessCpuMicros(o.server_pid);
        run.sending = false;
        run.measuring = false;
        ticker.cancel();
        // Let the replies still in flight arrive (not counted), then close.
        phase.expires_after(std::chrono::milliseconds(200));
        phase.async_wait([&](beast::error_code) {
          run.finished = true;
          for (auto& c : g_connections) c->Close();
          phase.expires_after(std::chrono::seconds(3));
          phase.async_wait([&](beast::error_code) { run.ioc.stop(); });
        });
      });
    });
  };
  Connection::ConnectMore(&run);
  run.ioc.run();
  g_connections.clear();  // before the io_context their sockets belong to

  const double seconds = std::chrono::duration<double>(run.measure_end - run.measure_begin).count();
  const double rps = seconds > 0 ? static_cast<double>(run.replies) / seconds : 0;
  const double us = 1e-3;
  json out;
  out["label"] = o.label;
  out["mode"] = o.rate > 0 ? "open" : "closed";
  out["protocol"] = o.protocol;
  out["connections"] = o.connections;
  out["connected"] = run.connected;
  out["rate"] = o.rate;
  out["duration_s"] = seconds;
  out["replies"] = run.replies;
  out["sent"] = run.sent;
  out["replies_per_s"] = rps;
  out["p50_us"] = run.latency.Quantile(0.50) * us;
  out["p90_us"] = run.latency.Quantile(0.90) * us;
  out["p99_us"] = run.latency.Quantile(0.99) * us;
  out["p999_us"] = run.latency.Quantile(0.999) * us;
  int64_t error_total = 0;
  for (const auto& [k, v] : run.errors) error_total += v;
  if (run.connected < o.connections) {
    // Counted by kind already (connect/handshake/lost before welcome).
  }
  out["errors"] = error_total;
  out["errors_by_kind"] = run.errors;
  if (o.server_pid) {
    const int64_t cpu = (cpu_begin >= 0 && cpu_end >= 0) ? cpu_end - cpu_begin : -1;
    out["server_cpu_us"] = cpu;
    out["server_cpu_us_per_reply"] =
        (cpu >= 0 && run.replies > 0) ? static_cast<double>(cpu) / run.replies : -1.0;
    out["server_peak_rss_kib"] = StatusKib(o.server_pid, "VmHWM");
  }
  std::cout << out.dump() << std::endl;
  std::cerr << (o.label.empty() ? o.protocol : o.label) << ": " << o.connections << " conn, "
            << Fixed(rps, 0) << " replies/s, p50 " << Fixed(out["p50_us"].get<double>(), 1)
            << " us, p90 " << Fixed(out["p90_us"].get<double>(), 1) << " us, p99 "
            << Fixed(out["p99_us"].get<double>(), 1) << " us, p99.9 "
            << Fixed(out["p999_us"].get<double>(), 1) << " us, errors " << error_total;
  if (o.server_pid) {
    std::cerr << ", server CPU " << Fixed(out["server_cpu_us_per_reply"].get<double>(), 2)
              << " us/reply, peak RSS " << out["server_peak_rss_kib"].get<int64_t>() << " KiB";
  }
  std::cerr << std::endl;
  if (o.check && (error_total > 0 || run.replies == 0 || run.connected < o.connections)) return 1;
  return 0;
}

int RunIdle(Run& run) {
  const Options& o = run.opt;
  const int64_t rss_before = StatusKib(o.server_pid, "VmRSS");
  for (int i = 0; i < o.idle; ++i) g_connections.push_back(std::make_shared<Connection>(&run, i));
  net::steady_timer phase(run.ioc);
  int64_t rss_after = -1, held = 0;
  const auto started = Clock::now();
  double connect_s = 0;
  run.on_all_connected = [&]() {
    connect_s = std::chrono::duration<double>(Clock::now() - started).count();
    // Let the server settle (its allocator, any deferred work), then measure and hold.
    phase.expires_after(std::chrono::seconds(1));
    phase.async_wait([&](beast::error_code) {
      rss_after = StatusKib(o.server_pid, "VmRSS");
      phase.expires_after(
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.hold)));
      phase.async_wait([&](beast::error_code) {
        held = run.open;
        run.finished = true;
        for (auto& c : g_connections) c->Close();
        phase.expires_after(std::chrono::seconds(5));
        phase.async_wait([&](beast::error_code) { run.ioc.stop(); });
      });
    });
  };
  Connection::ConnectMore(&run);
  run.ioc.run();
  g_connections.clear();  // before the io_context their sockets belong to

  int64_t error_total = 0;
  for (const auto& [k, v] : run.errors) error_total += v;
  const double per_conn = (rss_before >= 0 && rss_after >= 0 && run.connected > 0)
                              ? static_cast<double>(rss_after - rss_before) / run.connected
                              : -1;
  json out;
  out["label"] = o.label;
  out["mode"] = "idle";
  out["protocol"] = o.protocol;
  out["connections"] = o.idle;
  out["connected"] = run.connected;
  out["held"] = held;
  out["connect_s"] = connect_s;
  out["errors"] = error_total;
  out["errors_by_kind"] = run.errors;
  out["server_rss_before_kib"] = rss_before;
  out["server_rss_after_kib"] = rss_after;
  out["kib_per_connection"] = per_conn;
  out["server_peak_rss_kib"] = StatusKib(o.server_pid, "VmHWM");
  std::cout << out.dump() << std::endl;
  std::cerr << (o.label.empty() ? o.protocol : o.label) << ": " << run.connected << "/" << o.idle
            << " idle connections held " << held << ", server RSS " << rss_before << " -> "
            << rss_after << " KiB = " << Fixed(per_conn, 2) << " KiB per connection, errors "
            << error_total << std::endl;
  return error_total == 0 && held == o.idle ? 0 : 1;
}

double Median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// --summarize FILE: the table bench/run prints, from the JSON lines of its runs (this
// program's output plus {"mode":"ready","label":L,"ms":T} lines written by the script).
int Summarize(const std::string& path) {
  std::ifstream in(path);
  if (!in) Usage("cannot read " + path);
  std::vector<json> rows;
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (j.is_object()) rows.push_back(std::move(j));
  }
  // Groups in first-seen order: (label, connections) for load runs.
  std::vector<std::pair<std::string, int>> groups;
  for (const json& r : rows) {
    if (r.value("mode", "") != "closed" && r.value("mode", "") != "open") continue;
    std::pair<std::string, int> g{r.value("label", ""), r.value("connections", 0)};
    if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
  }
  std::stable_sort(groups.begin(), groups.end(),
                   [](const auto& a, const auto& b) { return a.second < b.second; });
  auto med = [&](const std::string& label, int conns, const char* key) {
    std::vector<double> v;
    for (const json& r : rows) {
      if (r.value("label", "") == label && r.value("connections", 0) == conns &&
          (r.value("mode", "") == "closed" || r.value("mode", "") == "open") && r.contains(key)) {
        v.push_back(r[key].get<double>());
      }
    }
    return std::make_pair(Median(v), v.size());
  };
  char buf[512];
  std::printf("%-16s %6s %5s %10s %9s %9s %9s %9s %7s %10s %9s\n", "server", "conns", "runs",
              "replies/s", "p50 us", "p90 us", "p99 us", "p99.9 us", "errors", "CPU us/rep",
              "peak MiB");
  for (const auto& [label, conns] : groups) {
    const auto [rps, n] = med(label, conns, "replies_per_s");
    std::snprintf(buf, sizeof buf,
                  "%-16s %6d %5zu %10.0f %9.1f %9.1f %9.1f %9.1f %7.0f %10.2f %9.1f", label.c_str(),
                  conns, n, rps, med(label, conns, "p50_us").first,
                  med(label, conns, "p90_us").first, med(label, conns, "p99_us").first,
                  med(label, conns, "p999_us").first, med(label, conns, "errors").first,
                  med(label, conns, "server_cpu_us_per_reply").first,
                  med(label, conns, "server_peak_rss_kib").first / 1024);
    std::printf("%s\n", buf);
  }
  // Idle memory and start-up.
  std::vector<std::string> labels;
  for (const json& r : rows) {
    const std::string l = r.value("label", "");
    const std::string m = r.value("mode", "");
    if ((m == "idle" || m == "ready") &&
        std::find(labels.begin(), labels.end(), l) == labels.end()) {
      labels.push_back(l);
    }
  }
  for (const std::string& l : labels) {
    std::vector<double> kib, ms, errs, held, conns;
    for (const json& r : rows) {
      if (r.value("label", "") != l) continue;
      if (r.value("mode", "") == "idle") {
        kib.push_back(r.value("kib_per_connection", -1.0));
        errs.push_back(r.value("errors", 0.0));
        held.push_back(r.value("held", 0.0));
        conns.push_back(r.value("connections", 0.0));
      }
      if (r.value("mode", "") == "ready") ms.push_back(r.value("ms", -1.0));
    }
    if (!kib.empty()) {
      std::printf(
          "%-16s idle: %.0f connections, %.0f held, %.0f errors, %.2f KiB per idle connection\n",
          l.c_str(), Median(conns), Median(held), Median(errs), Median(kib));
    }
    if (!ms.empty()) {
      std::printf("%-16s start to ready: %.1f ms (median of %zu starts)\n", l.c_str(), Median(ms),
                  ms.size());
    }
  }
  const double echo_p99 = med("echo", 64, "p99_us").first;
  const double backline_p99 = med("backline", 64, "p99_us").first;
  if (echo_p99 > 0 && backline_p99 >= 0) {
    std::printf("ratio p99 backline/echo at 64 connections: %.2f\n", backline_p99 / echo_p99);
  }
  const double memory = med("backline-memory", 64, "replies_per_s").first;
  const double echo = med("echo", 64, "replies_per_s").first;
  if (echo > 0 && memory >= 0) {
    std::printf("ratio replies/s backline-memory/echo at 64 connections: %.2f\n", memory / echo);
  }
  const double backline = med("backline", 64, "replies_per_s").first;
  if (echo > 0 && backline >= 0) {
    std::printf("ratio replies/s backline/echo at 64 connections: %.2f\n", backline / echo);
  } else {
    std::printf("ratio replies/s backline/echo at 64 connections: n/a\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--summarize") return Summarize(argv[2]);
  Run run;
  run.opt = ParseArgs(argc, argv);
  const Options& o = run.opt;
  boost::system::error_code ec;
  const auto address = net::ip::make_address(o.host, ec);
  if (ec) Usage("--host must be an IP address (loopback), not '" + o.host + "'");
  if (!IsLoopback(address)) Usage("refusing " + o.host + ": only loopback addresses are allowed");
  run.endpoint = tcp::endpoint(address, o.port);
  if (o.idle > 0) {
    if (!o.server_pid) Usage("--idle needs --server-pid (it reports the server's memory)");
    return RunIdle(run);
  }
  run.frames = LoadMessages(o);
  const int rc = RunLoad(run);
  return rc;
}
