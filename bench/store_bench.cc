// Store micro-benchmarks: what keeping a turn costs, apart from the network and the engine.
//
// A "group" here is what the server hands the store when its network thread has handled a
// burst of messages: kTurnsPerGroup turns of different conversations in one AppendTurns call
// (bench/run at 64 connections sees groups of about 30). The conversations take turns, so
// every group adds one turn to each of kTurnsPerGroup sessions out of kSessions, and the
// turns index grows as it does on a server that has been up for a while.
//
//   backline_store_bench [Google Benchmark flags]   time per turn, SQLite (a file in a
//                                                   temporary folder: WAL, synchronous=FULL,
//                                                   as `backline serve` opens it) and the
//                                                   in-memory store
//   backline_store_bench --groups=N[,WARMUP[,SESSIONS]]
//                                                   writes WARMUP groups (default 200), then
//                                                   N more, over SESSIONS conversations
//                                                   (default 64), into a fresh SQLite file, and
//                                                   prints per turn of those N: bytes written
//                                                   and write system calls (from
//                                                   /proc/self/io, so they are exact on any
//                                                   host), commits and wall time
// (bench/store_instructions.sh runs the second under callgrind for instructions per turn.)
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>

#include "store/memory_store.h"
#include "store/sqlite_store.h"
#include "store/store.h"

namespace {

using backline::engine::Status;
using backline::store::MemoryStore;
using backline::store::SessionRecord;
using backline::store::SqliteStore;
using backline::store::Store;
using backline::store::TurnRecord;

constexpr int kSessions = 64;  // the default
constexpr int kTurnsPerGroup = 32;

// Texts of the sizes the bench/run databases hold: a message of about 50 bytes, a reply of
// about 350, a session state of about 200 (its JSON).
const char* const kMessages[] = {
    "can my cancer be the reason my back hurts?",
    "is it safe to take ibuprofen while I'm on treatment?",
    "my bak hurts realy bad at nite",
    "I have no numbness in my legs, just an ache in my lower back",
    "thanks, that helps",
};
const std::string kReply =
    "Back pain is common during cancer treatment, and it has many causes: muscles that tire "
    "from less activity, the position you sleep in, some medicines, and sometimes the cancer "
    "itself. Your care team can help find the cause. Tell them where it hurts, when it "
    "started and what makes it better or worse. Call them at once if you notice new weakness "
    "in your legs or trouble with your bladder or bowels.";
const std::string kState =
    R"({"flow":"","step":"","slots":{},"turns":12,"last_topic":"pain-medicines",)"
    R"("last_entry":"ibuprofen-during-chemo","clarify":0,"escalated":false,"small_talk":1,)"
    R"("fallbacks":0,"asked":["pain-medicines","sleep-positions-pillows"]})";

// The writes of one group: one more turn for kTurnsPerGroup of the sessions.
class Workload {
 public:
  explicit Workload(int sessions = kSessions)
      : sessions_(sessions), seqs_(static_cast<size_t>(sessions), 0) {}

  std::vector<Store::TurnWrite> NextGroup(const Store::Done& done) {
    std::vector<Store::TurnWrite> group;
    group.reserve(kTurnsPerGroup);
    for (int i = 0; i < kTurnsPerGroup; ++i) {
      const int s = static_cast<int>(next_session_++ % static_cast<uint64_t>(sessions_));
      const int64_t seq = ++seqs_[static_cast<size_t>(s)];
      const int64_t now = 1'800'000'000'000 + static_cast<int64_t>(written_++);
      TurnRecord t;
      t.session_id = SessionId(s);
      t.seq = seq;
      t.user_text = kMessages[seq % std::size(kMessages)];
      t.reply_text = kReply;
      t.topic = "pain-medicines";
      t.urgency = "none";
      t.kind = "answer";
      t.entry_id = "ibuprofen-during-chemo";
      t.unanswered = seq % 10 == 0;  // about as often as the bench's messages
      t.received_ms = now;
      t.replied_ms = now;
      SessionRecord r;
      r.id = t.session_id;
      r.clinic = "default";
      r.state = kState;
      r.created_ms = now;
      r.updated_ms = now;
      group.push_back({std::move(t), std::move(r), done});
    }
    return group;
  }

 private:
  // UUID-shaped, 36 characters (the server's are 32 hex digits): keys spread over the index
  // as the server's are. The figures in bench/README.md were measured with these.
  static std::string SessionId(int s) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-8%03x-%012x",
                  static_cast<unsigned>(s) * 2654435761u, static_cast<unsigned>(s) * 40503u % 65536,
                  static_cast<unsigned>(s) % 4096, static_cast<unsigned>(s * 7) % 4096,
                  static_cast<unsigned>(s) * 97u);
    return buf;
  }

  int sessions_;
  uint64_t next_session_ = 0;
  uint64_t written_ = 0;
  std::vector<int64_t> seqs_;
};

// Counts finished turns; Wait blocks until `n` have finished, and fails on any error.
class Completions {
 public:
  Store::Done Callback() {
    return [this](Status s) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!s.ok() && first_error_.empty()) first_error_ = s.ToString();
      ++done_;
      cv_.notify_all();
    };
  }
  void Wait(uint64_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_ >= n; });
    if (!first_error_.empty()) {
      std::fprintf(stderr, "store_bench: a write failed: %s\n", first_error_.c_str());
      std::exit(1);
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t done_ = 0;
  std::string first_error_;
};

// A fresh folder for one database, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "backline-store-bench.XXXXXX");
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::perror("store_bench: mkdtemp");
      std::exit(1);
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Db() const { return (path_ / "bench.db").string(); }

 private:
  std::filesystem::path path_;
};

std::unique_ptr<Store> OpenSqlite(const TempDir& dir, bool batch_wal_writes = true) {
  SqliteStore::Options options;
  options.batch_wal_writes = batch_wal_writes;
  auto store = SqliteStore::Open(dir.Db(), options);
  if (!store.ok()) {
    std::fprintf(stderr, "store_bench: %s\n", store.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(store).value();
}

std::unique_ptr<Store> OpenMemory() {
  auto store = MemoryStore::Open();
  if (!store.ok()) {
    std::fprintf(stderr, "store_bench: %s\n", store.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(store).value();
}

// One group per iteration, waited for (the server waits for a group's commit before its
// replies go out); reported per turn.
void RunGroups(benchmark::State& state, Store& store) {
  Workload work;
  Completions completions;
  const Store::Done done = completions.Callback();
  uint64_t queued = 0;
  for (int i = 0; i < 50; ++i) {  // a few turns in every session before timing
    store.AppendTurns(work.NextGroup(done));
    queued += kTurnsPerGroup;
  }
  completions.Wait(queued);
  for (auto _ : state) {
    store.AppendTurns(work.NextGroup(done));
    queued += kTurnsPerGroup;
    completions.Wait(queued);
  }
  state.SetItemsProcessed(state.iterations() * kTurnsPerGroup);
  state.counters["us_per_turn"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kTurnsPerGroup),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert, benchmark::Counter::kIs1000);
}

void BM_SqliteGroupOf32Turns(benchmark::State& state) {
  TempDir dir;
  auto store = OpenSqlite(dir);
  RunGroups(state, *store);
}

// The same with every WAL frame written as SQLite hands it over (two writes per page): the
// baseline for store/internal/sqlite_wal_vfs.h, measured in the same run.
void BM_SqliteGroupOf32TurnsUnbatchedWal(benchmark::State& state) {
  TempDir dir;
  auto store = OpenSqlite(dir, /*batch_wal_writes=*/false);
  RunGroups(state, *store);
}

void BM_MemoryGroupOf32Turns(benchmark::State& state) {
  auto store = OpenMemory();
  RunGroups(state, *store);
}

BENCHMARK(BM_SqliteGroupOf32Turns)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SqliteGroupOf32TurnsUnbatchedWal)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MemoryGroupOf32Turns)->UseRealTime()->Unit(benchmark::kMicrosecond);

// /proc/self/io: bytes passed to write(2)-like calls, and how many such calls.
struct IoCounters {
  long long wchar = -1;
  long long syscw = -1;
};
IoCounters ReadIo() {
  IoCounters c;
  std::ifstream in("/proc/self/io");
  std::string key;
  long long value = 0;
  while (in >> key >> value) {
    if (key == "wchar:") c.wchar = value;
    if (key == "syscw:") c.syscw = value;
  }
  return c;
}

// The measured groups of --groups; for callgrind (--toggle-collect cannot follow the store's
// thread, so bench/store_instructions.sh compares two runs with different N instead).
int RunProfile(std::string_view spec) {
  long groups = std::atol(std::string(spec).c_str());
  long warmup = 200;
  long sessions = kSessions;
  if (const size_t comma = spec.find(','); comma != std::string_view::npos) {
    const std::string_view rest = spec.substr(comma + 1);
    warmup = std::atol(std::string(rest).c_str());
    if (const size_t second = rest.find(','); second != std::string_view::npos) {
      sessions = std::atol(std::string(rest.substr(second + 1)).c_str());
    }
  }
  if (groups <= 0 || warmup < 0 || sessions < kTurnsPerGroup || sessions > 1'000'000) {
    std::fprintf(stderr,
                 "usage: backline_store_bench --groups=N[,WARMUP[,SESSIONS]]  (N > 0, "
                 "%d <= SESSIONS <= 1000000)\n",
                 kTurnsPerGroup);
    return 2;
  }
  TempDir dir;
  auto store = OpenSqlite(dir);
  auto* sqlite = static_cast<SqliteStore*>(store.get());
  Workload work(static_cast<int>(sessions));
  Completions completions;
  const Store::Done done = completions.Callback();
  uint64_t queued = 0;
  auto run = [&](long n) {
    for (long g = 0; g < n; ++g) {
      store->AppendTurns(work.NextGroup(done));
      queued += kTurnsPerGroup;
      completions.Wait(queued);
    }
  };
  run(warmup);
  const IoCounters before = ReadIo();
  const uint64_t commits_before = sqlite->commits();
  const auto t0 = std::chrono::steady_clock::now();
  run(groups);
  const auto t1 = std::chrono::steady_clock::now();
  const IoCounters after = ReadIo();
  const double turns = static_cast<double>(groups) * kTurnsPerGroup;
  std::printf(
      "groups %ld of %d turns over %ld conversations (after %ld warm-up groups): %.0f "
      "measured turns\n",
      groups, kTurnsPerGroup, sessions, warmup, turns);
  std::printf("commits %llu\n",
              static_cast<unsigned long long>(sqlite->commits() - commits_before));
  if (before.wchar >= 0 && after.wchar >= 0) {
    std::printf("bytes written per turn %.0f\n", (after.wchar - before.wchar) / turns);
    std::printf("write calls per turn %.2f\n", (after.syscw - before.syscw) / turns);
  }
  std::printf("wall us per turn %.1f (not repeatable on a shared host)\n",
              std::chrono::duration<double, std::micro>(t1 - t0).count() / turns);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.rfind("--groups=", 0) == 0) return RunProfile(arg.substr(9));
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
