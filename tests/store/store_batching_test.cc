// The store's batching contract (store/store.h), for both stores: AppendTurns queues turns at
// once and each keeps its own outcome; the after-callbacks hook runs after every pass of
// callbacks, so a caller that leaves the callbacks' work for later is woken once per pass.
// Also what both stores promise about a deleted session (its tombstone).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "store/memory_store.h"
#include "store/sqlite_store.h"
#include "store/store.h"

namespace backline::store {
namespace {

namespace fs = std::filesystem;
using engine::Status;

SessionRecord Session(const std::string& id, int64_t ms) {
  SessionRecord s;
  s.id = id;
  s.clinic = "c";
  s.state = "{}";
  s.created_ms = ms;
  s.updated_ms = ms;
  return s;
}

TurnRecord Turn(const std::string& session_id, int64_t seq) {
  TurnRecord t;
  t.session_id = session_id;
  t.seq = seq;
  t.user_text = "does massage help " + std::to_string(seq);
  t.reply_text = "reply " + std::to_string(seq);
  t.topic = "massage";
  t.urgency = "none";
  t.kind = "answer";
  t.received_ms = 1000 + seq;
  t.replied_ms = 1001 + seq;
  return t;
}

std::vector<TurnRecord> Recent(Store& store, const std::string& id) {
  std::promise<engine::StatusOr<std::vector<TurnRecord>>> p;
  store.RecentTurns(
      id, 100, [&p](engine::StatusOr<std::vector<TurnRecord>> r) { p.set_value(std::move(r)); });
  auto r = p.get_future().get();
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : std::vector<TurnRecord>{};
}

// What the hook saw: how often it ran, and how many callbacks had run by then.
struct HookLog {
  std::mutex mu;
  std::atomic<int> callbacks{0};
  std::vector<int> callbacks_at_hook;
  std::vector<std::thread::id> hook_threads;
  std::vector<std::thread::id> callback_threads;
};

class StoreBatchingTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      auto s = MemoryStore::Open();
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      store_ = std::move(s).value();
    } else {
      path_ =
          (fs::temp_directory_path() / ("backline-batching-" + std::to_string(::getpid()) + ".db"))
              .string();
      Remove();
      SqliteStore::Options options;
      options.max_batch = 256;
      options.max_batch_delay = std::chrono::milliseconds(0);
      auto s = SqliteStore::Open(path_, options);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      sqlite_ = s.value().get();
      store_ = std::move(s).value();
    }
    store_->SetAfterCallbacks([this]() {
      std::lock_guard<std::mutex> lock(log_.mu);
      log_.callbacks_at_hook.push_back(log_.callbacks.load());
      log_.hook_threads.push_back(std::this_thread::get_id());
    });
  }
  void TearDown() override {
    store_.reset();
    Remove();
  }
  void Remove() {
    if (path_.empty()) return;
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path_ + suffix, ec);
  }
  Store::Done Counting(std::vector<Status>* results, size_t i) {
    return [this, results, i](Status s) {
      {
        std::lock_guard<std::mutex> lock(log_.mu);
        (*results)[i] = std::move(s);
        log_.callback_threads.push_back(std::this_thread::get_id());
      }
      log_.callbacks.fetch_add(1);
    };
  }

  std::string path_;
  std::unique_ptr<Store> store_;
  SqliteStore* sqlite_ = nullptr;
  HookLog log_;
};

TEST_P(StoreBatchingTest, AppendTurnsStoresEachTurnAndReportsEachOutcome) {
  // Turn 3 of "a" is there already: only that write fails, the others are kept.
  std::promise<Status> first;
  store_->AppendTurn(Turn("a", 3), Session("a", 1), [&first](Status s) { first.set_value(s); });
  ASSERT_TRUE(first.get_future().get().ok());
  store_->Flush();

  std::vector<Status> results(6, Status::Unavailable("callback not called"));
  std::vector<Store::TurnWrite> writes;
  for (int64_t seq : {1, 2, 3, 4}) {
    writes.push_back({Turn("a", seq), Session("a", 10 + seq), Counting(&results, seq - 1)});
  }
  writes.push_back({Turn("b", 1), Session("b", 20), Counting(&results, 4)});
  TurnRecord mismatched = Turn("c", 1);
  writes.push_back({mismatched, Session("not-c", 30), Counting(&results, 5)});
  store_->AppendTurns(std::move(writes));
  store_->Flush();

  EXPECT_TRUE(results[0].ok()) << results[0].ToString();
  EXPECT_TRUE(results[1].ok()) << results[1].ToString();
  EXPECT_EQ(results[2].code(), Status::Code::kInvalidArgument) << results[2].ToString();
  EXPECT_TRUE(results[3].ok()) << results[3].ToString();
  EXPECT_TRUE(results[4].ok()) << results[4].ToString();
  EXPECT_EQ(results[5].code(), Status::Code::kInvalidArgument) << results[5].ToString();

  std::vector<int64_t> seqs;
  for (const TurnRecord& t : Recent(*store_, "a")) seqs.push_back(t.seq);
  EXPECT_EQ(seqs, (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(Recent(*store_, "b").size(), 1u);
  EXPECT_TRUE(Recent(*store_, "c").empty());
  EXPECT_TRUE(Recent(*store_, "not-c").empty());
  EXPECT_EQ(store_->QueueDepth(), 0u);
}

TEST_P(StoreBatchingTest, TheHookRunsAfterEachPassOfCallbacksNotAfterEachCallback) {
  constexpr int kTurns = 50;
  std::vector<Status> results(kTurns, Status::Unavailable("callback not called"));
  std::vector<Store::TurnWrite> writes;
  for (int i = 0; i < kTurns; ++i) {
    writes.push_back({Turn("s" + std::to_string(i), 1), Session("s" + std::to_string(i), i),
                      Counting(&results, i)});
  }
  store_->AppendTurns(std::move(writes));
  store_->Flush();

  for (int i = 0; i < kTurns; ++i) {
    EXPECT_TRUE(results[i].ok()) << i << ": " << results[i].ToString();
  }
  std::lock_guard<std::mutex> lock(log_.mu);
  ASSERT_FALSE(log_.callbacks_at_hook.empty());
  // Queued at once, the 50 turns are taken in one pass: one group, one commit, one hook call.
  EXPECT_EQ(log_.callbacks_at_hook.size(), 1u);
  EXPECT_EQ(log_.callbacks_at_hook.back(), kTurns) << "the hook ran before every callback had";
  if (sqlite_ != nullptr) {
    EXPECT_EQ(sqlite_->commits(), 1u);
  }
  // On the store's thread: the one that ran the callbacks, not this one.
  EXPECT_EQ(log_.hook_threads.back(), log_.callback_threads.back());
  EXPECT_NE(log_.hook_threads.back(), std::this_thread::get_id());
}

TEST_P(StoreBatchingTest, ReadsAndSingleWritesAlsoEndTheirPassWithTheHook) {
  std::promise<Status> appended;
  store_->AppendTurn(Turn("r", 1), Session("r", 1),
                     [&appended](Status s) { appended.set_value(s); });
  ASSERT_TRUE(appended.get_future().get().ok());
  store_->Flush();
  int hooks_after_write;
  {
    std::lock_guard<std::mutex> lock(log_.mu);
    hooks_after_write = static_cast<int>(log_.callbacks_at_hook.size());
  }
  EXPECT_GE(hooks_after_write, 1);

  EXPECT_EQ(Recent(*store_, "r").size(), 1u);
  // The read's callback has run (Recent waited for it); its pass ends with the hook, which
  // may still be on its way.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(log_.mu);
      if (static_cast<int>(log_.callbacks_at_hook.size()) > hooks_after_write) break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no hook after the read";
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Both stores: a deleted session refuses its turns (kNotFound) while its tombstone lasts, even
// one queued in the same pass right behind the delete; other sessions are untouched.
TEST_P(StoreBatchingTest, ADeletedSessionRefusesItsTurnsUntilItsTombstoneEnds) {
  std::vector<Status> results(1);
  store_->AppendTurn(Turn("gone", 1), Session("gone", 1001), Counting(&results, 0));
  store_->Flush();
  ASSERT_TRUE(results[0].ok()) << results[0].ToString();

  std::vector<Status> after(3);
  store_->DeleteSession("gone", /*tombstone_until_ms=*/5000, Counting(&after, 0));
  std::vector<Store::TurnWrite> writes;
  writes.push_back({Turn("gone", 2), Session("gone", 1002), Counting(&after, 1)});
  writes.push_back({Turn("kept", 1), Session("kept", 1001), Counting(&after, 2)});
  store_->AppendTurns(std::move(writes));
  store_->Flush();
  EXPECT_TRUE(after[0].ok()) << after[0].ToString();
  EXPECT_EQ(after[1].code(), Status::Code::kNotFound) << after[1].ToString();
  EXPECT_TRUE(after[2].ok()) << after[2].ToString();
  EXPECT_TRUE(Recent(*store_, "gone").empty());
  EXPECT_EQ(Recent(*store_, "kept").size(), 1u);

  // Once the tombstone is purged, the id is like any unknown one.
  std::promise<engine::StatusOr<int64_t>> purged;
  store_->Purge("c", 6000, [&](engine::StatusOr<int64_t> n) { purged.set_value(std::move(n)); });
  ASSERT_TRUE(purged.get_future().get().ok());
  std::vector<Status> later(1);
  TurnRecord t = Turn("gone", 1);
  t.received_ms = 7000;
  store_->AppendTurn(t, Session("gone", 7000), Counting(&later, 0));
  store_->Flush();
  EXPECT_TRUE(later[0].ok()) << later[0].ToString();
}

TEST_P(StoreBatchingTest, ATurnKeepsItsReplyParts) {
  std::vector<Status> results(2);
  TurnRecord with = Turn("p", 1);
  with.parts = R"({"sources":[{"title":"t","url":"https://example.org/"}]})";
  store_->AppendTurn(with, Session("p", 1001), Counting(&results, 0));
  store_->AppendTurn(Turn("p", 2), Session("p", 1002), Counting(&results, 1));
  store_->Flush();
  ASSERT_TRUE(results[0].ok() && results[1].ok());
  const std::vector<TurnRecord> turns = Recent(*store_, "p");
  ASSERT_EQ(turns.size(), 2u);
  EXPECT_EQ(turns[0].parts, with.parts);
  EXPECT_EQ(turns[1].parts, "");
}

TEST_P(StoreBatchingTest, AnEmptyAppendTurnsIsHarmless) {
  store_->AppendTurns({});
  store_->Flush();
  EXPECT_EQ(store_->QueueDepth(), 0u);
  EXPECT_TRUE(Recent(*store_, "nobody").empty());
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreBatchingTest, ::testing::Values("memory", "sqlite"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

}  // namespace
}  // namespace backline::store
