#include "store/sqlite_store.h"

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/internal/sqlite.h"
#include "tests/support/spy_vfs.h"
#include "tests/support/temp_db_path.h"

namespace backline::store {
namespace {

namespace fs = std::filesystem;
using engine::Status;
using engine::StatusOr;
using ::testing::HasSubstr;
using ::testing::Not;

using testing_support::TempDbPath;

std::unique_ptr<SqliteStore> OpenOrDie(const std::string& path, SqliteStore::Options options = {}) {
  auto store = SqliteStore::Open(path, options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

SessionRecord Session(const std::string& id, const std::string& clinic, int64_t ms,
                      const std::string& state = "{}") {
  SessionRecord s;
  s.id = id;
  s.clinic = clinic;
  s.state = state;
  s.created_ms = ms;
  s.updated_ms = ms;
  return s;
}

TurnRecord Turn(const std::string& session_id, int64_t seq, int64_t ms, bool unanswered = false) {
  TurnRecord t;
  t.session_id = session_id;
  t.seq = seq;
  t.user_text = "my back hurts " + std::to_string(seq);
  t.reply_text = "reply " + std::to_string(seq);
  t.topic = "pain";
  t.urgency = "none";
  t.kind = unanswered ? "fallback" : "answer";
  t.entry_id = unanswered ? "" : "faq.pain";
  t.unanswered = unanswered;
  t.received_ms = ms;
  t.replied_ms = ms + 5;
  return t;
}

// Synchronous wrappers: start the op and wait for its callback.
Status Append(Store& store, TurnRecord turn, SessionRecord session) {
  std::promise<Status> p;
  store.AppendTurn(std::move(turn), std::move(session),
                   [&p](Status s) { p.set_value(std::move(s)); });
  return p.get_future().get();
}

Status Feedback(Store& store, const std::string& session_id, int64_t seq, int rating, int64_t ms) {
  FeedbackRecord f;
  f.session_id = session_id;
  f.seq = seq;
  f.rating = rating;
  f.comment = "thanks";
  f.created_ms = ms;
  std::promise<Status> p;
  store.AddFeedback(f, [&p](Status s) { p.set_value(std::move(s)); });
  return p.get_future().get();
}

Status Delete(Store& store, const std::string& id, int64_t tombstone_until_ms = 1'000'000) {
  std::promise<Status> p;
  store.DeleteSession(id, tombstone_until_ms, [&p](Status s) { p.set_value(std::move(s)); });
  return p.get_future().get();
}

StatusOr<int64_t> Purge(Store& store, const std::string& clinic, int64_t before_ms) {
  std::promise<StatusOr<int64_t>> p;
  store.Purge(clinic, before_ms, [&p](StatusOr<int64_t> n) { p.set_value(std::move(n)); });
  return p.get_future().get();
}

StatusOr<std::optional<SessionRecord>> Load(Store& store, const std::string& id,
                                            int64_t not_before_ms = 0) {
  std::promise<StatusOr<std::optional<SessionRecord>>> p;
  store.LoadSession(id, not_before_ms,
                    [&p](StatusOr<std::optional<SessionRecord>> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

StatusOr<std::vector<TurnRecord>> Recent(Store& store, const std::string& id, size_t limit) {
  std::promise<StatusOr<std::vector<TurnRecord>>> p;
  store.RecentTurns(id, limit,
                    [&p](StatusOr<std::vector<TurnRecord>> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

StatusOr<std::vector<UnansweredRecord>> ListUnanswered(Store& store, int64_t since_ms,
                                                       size_t limit) {
  std::promise<StatusOr<std::vector<UnansweredRecord>>> p;
  store.Unanswered(since_ms, limit,
                   [&p](StatusOr<std::vector<UnansweredRecord>> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

// Reads the file directly, with a connection of our own.
int64_t Count(const std::string& path, const std::string& sql) {
  auto db = sqlite::Database::Open(path, SQLITE_OPEN_READONLY);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return -1;
  auto n = db->QueryInt64(sql);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return n.ok() ? n.value() : -1;
}

std::string Text(const std::string& path, const std::string& sql) {
  auto db = sqlite::Database::Open(path, SQLITE_OPEN_READONLY);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return "<error>";
  auto text = db->QueryText(sql);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  return text.ok() ? text.value() : "<error>";
}

// Takes a database of this binary's schema back to schema 5 (before issue 22's tables).
constexpr const char* kBackToSchemaFive =
    "DROP TABLE deliveries; DROP TABLE events; DROP TABLE handoffs;";

std::vector<int64_t> Seqs(const std::vector<TurnRecord>& turns) {
  std::vector<int64_t> seqs;
  for (const auto& t : turns) seqs.push_back(t.seq);
  return seqs;
}

TEST(SqliteStoreTest, RoundTripsASessionAndItsTurns) {
  TempDbPath path;
  auto store = OpenOrDie(path.str());
  ASSERT_NE(store, nullptr);

  SessionRecord s = Session("s1", "north", 1000, R"({"node":"start"})");
  ASSERT_TRUE(Append(*store, Turn("s1", 1, 1000), s).ok());
  s.state = R"({"node":"pain.where"})";
  s.updated_ms = 2000;
  const TurnRecord t2 = Turn("s1", 2, 2000, /*unanswered=*/true);
  ASSERT_TRUE(Append(*store, t2, s).ok());

  auto loaded = Load(*store, "s1");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_TRUE(loaded.value().has_value());
  EXPECT_EQ(loaded.value()->id, "s1");
  EXPECT_EQ(loaded.value()->clinic, "north");
  EXPECT_EQ(loaded.value()->state, R"({"node":"pain.where"})");
  EXPECT_EQ(loaded.value()->created_ms, 1000);
  EXPECT_EQ(loaded.value()->updated_ms, 2000);

  auto turns = Recent(*store, "s1", 10);
  ASSERT_TRUE(turns.ok()) << turns.status().ToString();
  ASSERT_EQ(turns.value().size(), 2u);
  const TurnRecord& got = turns.value()[1];
  EXPECT_EQ(got.session_id, t2.session_id);
  EXPECT_EQ(got.seq, t2.seq);
  EXPECT_EQ(got.user_text, t2.user_text);
  EXPECT_EQ(got.reply_text, t2.reply_text);
  EXPECT_EQ(got.topic, t2.topic);
  EXPECT_EQ(got.urgency, t2.urgency);
  EXPECT_EQ(got.kind, t2.kind);
  EXPECT_EQ(got.entry_id, t2.entry_id);
  EXPECT_TRUE(got.unanswered);
  EXPECT_EQ(got.received_ms, t2.received_ms);
  EXPECT_EQ(got.replied_ms, t2.replied_ms);
  EXPECT_EQ(turns.value()[0].entry_id, "faq.pain");
  EXPECT_FALSE(turns.value()[0].unanswered);

  auto open = ListUnanswered(*store, 0, 10);
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  ASSERT_EQ(open.value().size(), 1u);
  EXPECT_EQ(open.value()[0].session_id, "s1");
  EXPECT_EQ(open.value()[0].seq, 2);
  EXPECT_EQ(open.value()[0].text, t2.user_text);
  EXPECT_EQ(open.value()[0].kind, "fallback");
  EXPECT_EQ(open.value()[0].created_ms, 2000);
  EXPECT_EQ(store->QueueDepth(), 0u);
}

// What patients typed is in these files: a new database, its WAL and its shared-memory index
// are readable by their owner only, whatever the umask (issue 24).
TEST(SqliteStoreTest, CreatesTheDatabaseAndItsWalOwnerOnly) {
  TempDbPath path;
  const mode_t old_umask = ::umask(022);
  auto store = OpenOrDie(path.str());
  ::umask(old_umask);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(Append(*store, Turn("s1", 1, 1000), Session("s1", "north", 1000, "{}")).ok());
  for (const char* suffix : {"", "-wal", "-shm"}) {
    struct stat st {};
    ASSERT_EQ(::stat((path.str() + suffix).c_str(), &st), 0) << suffix;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << path.str() << suffix;
  }
}

// A turn marked unanswered but not to be listed (a client past its daily quota) is stored as
// unanswered and left out of the curators' list.
TEST(SqliteStoreTest, AnUnansweredTurnNotToListIsStoredButNotListed) {
  TempDbPath path;
  auto store = OpenOrDie(path.str());
  ASSERT_NE(store, nullptr);
  TurnRecord t = Turn("s1", 1, 1000, /*unanswered=*/true);
  t.list_unanswered = false;
  ASSERT_TRUE(Append(*store, t, Session("s1", "north", 1000, "{}")).ok());
  ASSERT_TRUE(Append(*store, Turn("s1", 2, 2000, true), Session("s1", "north", 2000, "{}")).ok());
  auto turns = Recent(*store, "s1", 10);
  ASSERT_TRUE(turns.ok());
  ASSERT_EQ(turns.value().size(), 2u);
  EXPECT_TRUE(turns.value()[0].unanswered);
  auto open = ListUnanswered(*store, 0, 10);
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open.value().size(), 1u);
  EXPECT_EQ(open.value()[0].seq, 2);
}

TEST(SqliteStoreTest, WorksInMemory) {
  auto store = OpenOrDie(":memory:");
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(Append(*store, Turn("m", 1, 10), Session("m", "c", 10)).ok());
  auto loaded = Load(*store, "m");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_TRUE(loaded.value().has_value());
  auto turns = Recent(*store, "m", 5);
  ASSERT_TRUE(turns.ok());
  EXPECT_EQ(Seqs(turns.value()), std::vector<int64_t>{1});
}

TEST(SqliteStoreTest, CallbacksRunOnTheStoreThread) {
  TempDbPath path;
  auto store = OpenOrDie(path.str());
  ASSERT_NE(store, nullptr);
  std::promise<std::thread::id> write_thread, read_thread;
  store->AppendTurn(Turn("t", 1, 1), Session("t", "c", 1), [&](Status s) {
    EXPECT_TRUE(s.ok()) << s.ToString();
    write_thread.set_value(std::this_thread::get_id());
  });
  store->LoadSession("t", 0, [&](StatusOr<std::optional<SessionRecord>>) {
    read_thread.set_value(std::this_thread::get_id());
  });
  EXPECT_NE(write_thread.get_future().get(), std::this_thread::get_id());
  EXPECT_NE(read_thread.get_future().get(), std::this_thread::get_id());
}

TEST(SqliteStoreTest, GroupCommitSharesTransactions) {
  TempDbPath path;
  SqliteStore::Options options;
  options.max_batch = 256;
  options.max_batch_delay = std::chrono::milliseconds(2);
  auto store = OpenOrDie(path.str(), options);
  ASSERT_NE(store, nullptr);

  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string id = "g" + std::to_string(t);
      for (int i = 1; i <= kPerThread; ++i) {
        SessionRecord s = Session(id, "c", 100);
        s.updated_ms = 100 + i;
        store->AppendTurn(Turn(id, i, 100 + i), s,
                          [&](Status st) { (st.ok() ? ok : failed).fetch_add(1); });
      }
    });
  }
  for (auto& th : threads) th.join();
  store->Flush();

  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(store->QueueDepth(), 0u);
  EXPECT_EQ(Count(path.str(), "SELECT count(*) FROM turns"), kThreads * kPerThread);
  EXPECT_EQ(Count(path.str(), "SELECT count(*) FROM sessions"), kThreads);
  // 200 writes queued without waiting: a handful of groups, not 200 commits.
  EXPECT_GE(store->commits(), 1u);
  EXPECT_LT(store->commits(), 40u) << "commits: " << store->commits();
}

TEST(SqliteStoreTest, GroupsAreCappedAtMaxBatch) {
  TempDbPath path;
  SqliteStore::Options options;
  options.max_batch = 10;
  options.max_batch_delay = std::chrono::milliseconds(50);
  auto store = OpenOrDie(path.str(), options);
  ASSERT_NE(store, nullptr);
  std::atomic<int> ok{0};
  for (int i = 1; i <= 100; ++i) {
    store->AppendTurn(Turn("cap", i, i), Session("cap", "c", i),
                      [&](Status s) { ok += s.ok() ? 1 : 0; });
  }
  store->Flush();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_GE(store->commits(), 10u);
}

TEST(SqliteStoreTest, QueueDepthCountsWaitingWrites) {
  TempDbPath path;
  SqliteStore::Options options;
  options.max_batch = 100;
  options.max_batch_delay = std::chrono::seconds(30);  // gathers until 100
  auto store = OpenOrDie(path.str(), options);
  ASSERT_NE(store, nullptr);
  for (int i = 1; i <= 5; ++i) {
    store->AppendTurn(Turn("q", i, i), Session("q", "c", i), [](Status) {});
  }
  EXPECT_EQ(store->QueueDepth(), 5u);
  // The destructor does not wait for the delay: it commits at once.
}

TEST(SqliteStoreTest, UnknownSessionLoadsAsNullopt) {
  auto store = OpenOrDie(":memory:");
  ASSERT_NE(store, nullptr);
  auto loaded = Load(*store, "nobody");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_FALSE(loaded.value().has_value());
  auto turns = Recent(*store, "nobody", 10);
  ASSERT_TRUE(turns.ok());
  EXPECT_TRUE(turns.value().empty());
}

TEST(SqliteStoreTest, ExpiredSessionLoadsAsNullopt) {
  TempDbPath path;
  auto store = OpenOrDie(path.str());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(Append(*store, Turn("e", 1, 5000), Session("e", "c", 5000)).ok());
  auto fresh = Load(*store, "e", /*not_before_ms=*/5000);
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(fresh.value().has_value());
  auto expired = Load(*store, "e", /*not_before_ms=*/5001);
  ASSERT_TRUE(expired.ok()) << expired.status().ToString();
  EXPECT_FALSE(expired.value().has_value());
}

TEST(SqliteStoreTest, UpsertKeepsTheFirstCreatedMs) {
  auto store = OpenOrDie(":memory:");
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(Append(*store, Turn("u", 1, 1000), Session("u", "c", 1000)).ok());
  SessionRecord later = Session("u", "c", 9000, R"({"n":2})");  // created 9000
  ASSERT_TRUE(Append(*store, Turn("u", 2, 9000), later).ok());
  auto loaded = Load(*store, "u");
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(loaded.value().has_value());
  EXPECT_EQ(loaded.value()->created_ms, 1000);
  EXPECT_EQ(loaded.value()->updated_ms, 9000);
  EXPECT_EQ(loaded.value()->state, R"({"n":2})");
  // The upsert must not have deleted (cascaded) the first turn.
  auto turns = Recent(*store, "u", 10);
  ASSERT_TRUE(turns.ok());
  EXPECT_EQ(Seqs(turns.value()), (std::vector<int64_t>{1, 2}));
}

// A turn carries the state it left, so its session's row is rewritten only when the row is an
// hour old; loading, resuming and retention still see the last turn's state and time.
TEST(SqliteStoreTest, ASessionIsAsRecentAsItsLastTurn) {
  TempDbPath path;
  const std::string& p = path.str();
  auto store = OpenOrDie(p);
  ASSERT_NE(store, nullptr);
  constexpr int64_t kHour = 60 * 60 * 1000;
  ASSERT_TRUE(Append(*store, Turn("a", 1, 1000), Session("a", "c", 1000, R"({"n":1})")).ok());
  ASSERT_TRUE(Append(*store, Turn("a", 2, 2000), Session("a", "c", 2000, R"({"n":2})")).ok());
  // The row is as the first turn wrote it ...
  EXPECT_EQ(Count(p, "SELECT updated_ms FROM sessions WHERE id = 'a'"), 1000);
  EXPECT_EQ(Text(p, "SELECT state FROM sessions WHERE id = 'a'"), R"({"n":1})");
  // ... and the session is its last turn's.
  auto loaded = Load(*store, "a", /*not_before_ms=*/2000);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_TRUE(loaded.value().has_value()) << "active at 2000";
  EXPECT_EQ(loaded.value()->state, R"({"n":2})");
  EXPECT_EQ(loaded.value()->updated_ms, 2000);
  EXPECT_EQ(loaded.value()->created_ms, 1000);
  EXPECT_EQ(loaded.value()->clinic, "c");
  auto expired = Load(*store, "a", /*not_before_ms=*/2001);
  ASSERT_TRUE(expired.ok());
  EXPECT_FALSE(expired.value().has_value());
  // Retention keeps it while a turn is recent enough, whatever the row says.
  auto kept = Purge(*store, "c", 2000);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept.value(), 0);
  EXPECT_EQ(Count(p, "SELECT count(*) FROM turns WHERE session_id = 'a'"), 1) << "turn 1 went";
  loaded = Load(*store, "a");
  ASSERT_TRUE(loaded.ok() && loaded.value().has_value());
  EXPECT_EQ(loaded.value()->state, R"({"n":2})");

  // An hour after the row was written, a turn rewrites it.
  ASSERT_TRUE(
      Append(*store, Turn("a", 3, 1000 + kHour), Session("a", "c", 1000 + kHour, R"({"n":3})"))
          .ok());
  EXPECT_EQ(Count(p, "SELECT updated_ms FROM sessions WHERE id = 'a'"), 1000 + kHour);
  EXPECT_EQ(Text(p, "SELECT state FROM sessions WHERE id = 'a'"), R"({"n":3})");
  EXPECT_EQ(Count(p, "SELECT created_ms FROM sessions WHERE id = 'a'"), 1000);

  auto gone = Purge(*store, "c", 1001 + kHour);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone.value(), 1);
  EXPECT_EQ(Count(p, "SELECT count(*) FROM turns WHERE session_id = 'a'"), 0);
}

// The writer skips the session upsert for a row it remembers writing. A row that is gone
// all the same (its session deleted or purged here, or deleted by another connection, such as
// an operator's shell) must be written again by the session's next turn, and that turn kept.
TEST(SqliteStoreTest, ASessionWhoseRowWentIsWrittenAgainByItsNextTurn) {
  TempDbPath path;
  const std::string& p = path.str();
  auto store = OpenOrDie(p);
  ASSERT_NE(store, nullptr);
  for (const std::string id : {"deleted", "purged", "outside"}) {
    ASSERT_TRUE(Append(*store, Turn(id, 1, 1000), Session(id, "c", 1000)).ok()) << id;
    ASSERT_TRUE(Append(*store, Turn(id, 2, 2000), Session(id, "c", 2000)).ok()) << id;
  }
  // Its tombstone ends before the turns below (a deleted session's turns are refused while it
  // lasts: ADeletedSessionStaysDeletedAcrossAReopen).
  ASSERT_TRUE(Delete(*store, "deleted", /*tombstone_until_ms=*/2500).ok());
  auto purged = Purge(*store, "c", 3000);  // "outside" goes too: written again below
  ASSERT_TRUE(purged.ok()) << purged.status().ToString();
  EXPECT_EQ(purged.value(), 2);
  ASSERT_TRUE(Append(*store, Turn("outside", 1, 4000), Session("outside", "c", 4000)).ok());
  {
    auto other = sqlite::Database::Open(p, SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    ASSERT_TRUE(other->Exec("PRAGMA foreign_keys = ON").ok());
    ASSERT_TRUE(other->Exec("DELETE FROM sessions WHERE id = 'outside'").ok());
  }
  ASSERT_EQ(Count(p, "SELECT count(*) FROM sessions"), 0);

  for (const std::string id : {"deleted", "purged", "outside"}) {
    const Status s = Append(*store, Turn(id, 1, 5000), Session(id, "c", 5000, R"({"n":1})"));
    EXPECT_TRUE(s.ok()) << id << ": " << s.ToString();
    auto loaded = Load(*store, id);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    ASSERT_TRUE(loaded.value().has_value()) << id;
    EXPECT_EQ(loaded.value()->created_ms, 5000) << id;
    EXPECT_EQ(loaded.value()->state, R"({"n":1})") << id;
    auto turns = Recent(*store, id, 10);
    ASSERT_TRUE(turns.ok());
    EXPECT_EQ(Seqs(turns.value()), (std::vector<int64_t>{1})) << id;
  }
  EXPECT_EQ(Count(p, "SELECT count(*) FROM sessions"), 3);
}

// A database of schema 2 (the state only in the session's row) keeps its sessions: they load
// with the row's state until their next turn.
TEST(SqliteStoreTest, ASchemaTwoDatabaseIsMigrated) {
  TempDbPath path;
  const std::string& p = path.str();
  {
    auto store = OpenOrDie(p);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(Append(*store, Turn("m", 1, 1000), Session("m", "c", 1000)).ok());
  }
  {  // What schema 2 wrote: the turn had no state, the row the latest one.
    auto db = sqlite::Database::Open(p, SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE(db->Exec(std::string(kBackToSchemaFive) +
                         "ALTER TABLE turns DROP COLUMN state;"
                         "ALTER TABLE turns DROP COLUMN parts;"
                         "DROP TABLE deleted_sessions;"
                         "UPDATE sessions SET state = '{\"v\":2}', updated_ms = 1500;"
                         "PRAGMA user_version = 2;")
                    .ok());
  }
  auto store = OpenOrDie(p);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Count(p, "PRAGMA user_version"), SqliteStore::kSchemaVersion);
  EXPECT_EQ(Count(p, "SELECT count(*) FROM turns WHERE state IS NULL"), 1);
  auto loaded = Load(*store, "m", /*not_before_ms=*/1500);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_TRUE(loaded.value().has_value());
  EXPECT_EQ(loaded.value()->state, R"({"v":2})");
  EXPECT_EQ(loaded.value()->updated_ms, 1500);
  ASSERT_TRUE(Append(*store, Turn("m", 2, 1600), Session("m", "c", 1600, R"({"v":3})")).ok());
  loaded = Load(*store, "m");
  ASSERT_TRUE(loaded.ok() && loaded.value().has_value());
  EXPECT_EQ(loaded.value()->state, R"({"v":3})");
  EXPECT_EQ(loaded.value()->updated_ms, 1600);
  auto turns = Recent(*store, "m", 10);
  ASSERT_TRUE(turns.ok());
  EXPECT_EQ(Seqs(turns.value()), (std::vector<int64_t>{1, 2}));
}

TEST(SqliteStoreTest, RecentTurnsAreTheLastOnesOldestFirst) {
  TempDbPath path;
  auto store = OpenOrDie(path.str());
  ASSERT_NE(store, nullptr);
  for (int i = 1; i <= 7; ++i) {
    ASSERT_TRUE(Append(*store, Turn("r", i, i * 10), Session("r", "c", i * 10)).ok());
  }
  ASSERT_TRUE(Append(*store, Turn("other", 1, 1), Session("other", "c", 1)).ok());
  auto last3 = Recent(*store, "r", 3);
  ASSERT_TRUE(last3.ok()) << last3.status().ToString();
  EXPECT_EQ(Seqs(last3.value()), (std::vector<int64_t>{5, 6, 7}));
  auto all = Recent(*store, "r", 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Seqs(all.value()), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7}));
  auto none = Recent(*store, "r", 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none.value().empty());
}

TEST(SqliteStoreTest, UnansweredSinceAndLimit) {
  auto store = OpenOrDie(":memory:");
  ASSERT_NE(store, nullptr);
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(
        Append(*store, Turn("a", i, i * 100, /*unanswered=*/i % 2 == 1), Session("a", "c", i * 100))
            .ok());
  }
  auto since = ListUnanswered(*store, 200, 10);  // seq 3 and 5
  ASSERT_TRUE(since.ok()) << since.status().ToString();
  ASSERT_EQ(since.value().size(), 2u);
  EXPECT_EQ(since.value()[0].seq, 3);
  EXPECT_EQ(since.value()[1].seq, 5);
  auto limited = ListUnanswered(*store, 0, 1);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited.value().size(), 1u);
  EXPECT_EQ(limited.value()[0].seq, 1);
}

TEST(SqliteStoreTest, DeleteSessionCascades) {
  TempDbPath path;
  auto store = OpenOrDie(path.str());
  ASSERT_NE(store, nullptr);
  for (const std::string id : {"gone", "kept"}) {
    ASSERT_TRUE(Append(*store, Turn(id, 1, 10), Session(id, "c", 10)).ok());
    ASSERT_TRUE(Append(*store, Turn(id, 2, 20, true), Session(id, "c", 20)).ok());
    ASSERT_TRUE(Feedback(*store, id, 1, +1, 30).ok());
  }
  ASSERT_TRUE(Delete(*store, "gone").ok());
  EXPECT_TRUE(Delete(*store, "never-existed").ok());

  const std::string& p = path.str();
  EXPECT_EQ(Count(p, "SELECT count(*) FROM sessions WHERE id = 'gone'"), 0);
  EXPECT_EQ(Count(p, "SELECT count(*) FROM turns WHERE session_id = 'gone'"), 0);
  EXPECT_EQ(Count(p, "SELECT count(*) FROM feedback WHERE session_id = 'gone'"), 0);
  EXPECT_EQ(Count(p, "SELECT count(*) FROM unanswered WHERE session_id = 'gone'"), 0);
  EXPECT_EQ(Count(p, "SELECT count(*) FROM turns WHERE session_id = 'kept'"), 2);
  EXPECT_EQ(Count(p, "SELECT count(*) FROM feedback WHERE session_id = 'kept'"), 1);
  EXPECT_EQ(Count(p, "SELECT count(*) FROM unanswered WHERE session_id = 'kept'"), 1);
  auto loaded = Load(*store, "gone");
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded.value().has_value());
}

// A deleted session's id is kept only as a hash, and refuses turns until its tombstone ends,
// across a reopen (another process); Purge drops the tombstones that have ended.
TEST(SqliteStoreTest, ADeletedSessionStaysDeletedAcrossAReopen) {
  TempDbPath path;
  const std::string& p = path.str();
  const std::string id = "0123456789abcdef0123456789abcdef";
  {
    auto store = OpenOrDie(p);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(Append(*store, Turn(id, 1, 100), Session(id, "c", 100)).ok());
    ASSERT_TRUE(Delete(*store, id, /*tombstone_until_ms=*/5000).ok());
  }
  EXPECT_EQ(Count(p, "SELECT count(*) FROM deleted_sessions"), 1);
  EXPECT_EQ(
      Count(p, "SELECT count(*) FROM deleted_sessions WHERE instr(id_sha256, '" + id + "') > 0"), 0)
      << "the tombstone holds a hash, not the id";
  auto store = OpenOrDie(p);
  ASSERT_NE(store, nullptr);
  Status refused = Append(*store, Turn(id, 2, 200), Session(id, "c", 200));
  EXPECT_EQ(refused.code(), Status::Code::kNotFound) << refused.ToString();
  EXPECT_EQ(Count(p, "SELECT count(*) FROM sessions"), 0);
  EXPECT_EQ(Count(p, "SELECT count(*) FROM turns"), 0);
  auto loaded = Load(*store, id);
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded.value().has_value());

  // Purge before the tombstone ends keeps it; after, drops it (whatever the clinic).
  ASSERT_TRUE(Purge(*store, "another-clinic", 4000).ok());
  EXPECT_EQ(Count(p, "SELECT count(*) FROM deleted_sessions"), 1);
  ASSERT_TRUE(Purge(*store, "another-clinic", 6000).ok());
  EXPECT_EQ(Count(p, "SELECT count(*) FROM deleted_sessions"), 0);
  EXPECT_TRUE(Append(*store, Turn(id, 1, 7000), Session(id, "c", 7000)).ok());
}

// A database of schema 3 keeps every turn when it gains the tombstones.
TEST(SqliteStoreTest, ASchemaThreeDatabaseIsMigrated) {
  TempDbPath path;
  const std::string& p = path.str();
  {
    auto store = OpenOrDie(p);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(Append(*store, Turn("m", 1, 1000), Session("m", "c", 1000)).ok());
    ASSERT_TRUE(Append(*store, Turn("m", 2, 1100), Session("m", "c", 1100)).ok());
  }
  {  // Back to what schema 3 had.
    auto db = sqlite::Database::Open(p, SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE(db->Exec(std::string(kBackToSchemaFive) +
                         "ALTER TABLE turns DROP COLUMN parts; DROP TABLE deleted_sessions;"
                         "PRAGMA user_version = 3;")
                    .ok());
  }
  auto store = OpenOrDie(p);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Count(p, "PRAGMA user_version"), SqliteStore::kSchemaVersion);
  auto turns = Recent(*store, "m", 10);
  ASSERT_TRUE(turns.ok()) << turns.status().ToString();
  EXPECT_EQ(Seqs(turns.value()), (std::vector<int64_t>{1, 2}));
  ASSERT_TRUE(Delete(*store, "m").ok());
  EXPECT_EQ(Append(*store, Turn("m", 3, 1200), Session("m", "c", 1200)).code(),
            Status::Code::kNotFound);
}

// A turn's reply parts come back with it; a database of schema 4 keeps its turns, which come
// back with no parts, and its new turns keep theirs.
TEST(SqliteStoreTest, ReplyPartsAreKeptWithTheTurnAndASchemaFourDatabaseIsMigrated) {
  TempDbPath path;
  const std::string& p = path.str();
  const std::string parts = R"({"quick_replies":["yes","no"],"tell_them":"I have cancer"})";
  {
    auto store = OpenOrDie(p);
    ASSERT_NE(store, nullptr);
    TurnRecord t = Turn("m", 1, 1000);
    t.parts = parts;
    ASSERT_TRUE(Append(*store, t, Session("m", "c", 1000)).ok());
    auto turns = Recent(*store, "m", 10);
    ASSERT_TRUE(turns.ok() && turns.value().size() == 1u);
    EXPECT_EQ(turns.value()[0].parts, parts);
  }
  {  // Back to what schema 4 had.
    auto db = sqlite::Database::Open(p, SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE(db->Exec(std::string(kBackToSchemaFive) +
                         "ALTER TABLE turns DROP COLUMN parts; PRAGMA user_version = 4;")
                    .ok());
  }
  auto store = OpenOrDie(p);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Count(p, "PRAGMA user_version"), SqliteStore::kSchemaVersion);
  TurnRecord t = Turn("m", 2, 1100);
  t.parts = parts;
  ASSERT_TRUE(Append(*store, t, Session("m", "c", 1100)).ok());
  auto turns = Recent(*store, "m", 10);
  ASSERT_TRUE(turns.ok()) << turns.status().ToString();
  ASSERT_EQ(Seqs(turns.value()), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(turns.value()[0].parts, "");
  EXPECT_EQ(turns.value()[0].reply_text, "reply 1");
  EXPECT_EQ(turns.value()[1].parts, parts);
}

EventRecord HandoffEvent(const std::string& key, int64_t ms) {
  EventRecord e;
  e.key = key;
  e.clinic = "north";
  e.type = "callback_request";
  e.body = R"({"type":"callback_request"})";
  e.created_ms = ms;
  e.endpoints = {"main", "pager"};
  return e;
}

HandoffRecord HandoffItem(const std::string& reference, int64_t ms) {
  HandoffRecord h;
  h.reference = reference;
  h.clinic = "north";
  h.type = "callback";
  h.urgency = "none";
  h.consent = true;
  h.first_name = "Margaret";
  h.phone = "+447700900123";
  h.best_time = "mornings";
  h.created_ms = ms;
  return h;
}

StatusOr<std::vector<HandoffRecord>> Handoffs(Store& store, const std::string& clinic) {
  std::promise<StatusOr<std::vector<HandoffRecord>>> p;
  HandoffFilter f;
  f.clinic = clinic;
  store.Handoffs(f, [&p](StatusOr<std::vector<HandoffRecord>> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

StatusOr<std::vector<DeliveryRecord>> Due(Store& store, int64_t now_ms) {
  std::promise<StatusOr<std::vector<DeliveryRecord>>> p;
  store.DueDeliveries(now_ms, 100, 100,
                      [&p](StatusOr<std::vector<DeliveryRecord>> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

Status SetHandoffStatus(Store& store, int64_t id, const std::string& status, int64_t at_ms) {
  std::promise<Status> p;
  store.SetHandoffStatus("north", id, status, "nurse.kim", at_ms, {},
                         [&p](Status s) { p.set_value(std::move(s)); });
  return p.get_future().get();
}

// The outbox and the clinicians' page survive a restart: what was not delivered before is
// due after, with the same key, and ids are never handed out twice.
TEST(SqliteStoreTest, HandoffRecordsSurviveAReopen) {
  TempDbPath path;
  const std::string& p = path.str();
  int64_t item_id = 0;
  {
    auto store = OpenOrDie(p);
    ASSERT_NE(store, nullptr);
    TurnRecord t = Turn("s", 1, 1000);
    t.events.push_back(HandoffEvent("key-1", 1000));
    t.handoffs.push_back(HandoffItem("BL-1", 1000));
    ASSERT_TRUE(Append(*store, t, Session("s", "north", 1000)).ok());
    auto items = Handoffs(*store, "north");
    ASSERT_TRUE(items.ok() && items.value().size() == 1u);
    item_id = items.value()[0].id;
    ASSERT_TRUE(SetHandoffStatus(*store, item_id, "called_back", 2000).ok());
  }
  auto store = OpenOrDie(p);
  ASSERT_NE(store, nullptr);
  auto due = Due(*store, 1000);
  ASSERT_TRUE(due.ok()) << due.status().ToString();
  ASSERT_EQ(due.value().size(), 2u);
  EXPECT_EQ(due.value()[0].key, "key-1");
  EXPECT_EQ(due.value()[0].endpoint, "main");
  EXPECT_EQ(due.value()[1].endpoint, "pager");
  auto items = Handoffs(*store, "north");
  ASSERT_TRUE(items.ok() && items.value().size() == 1u);
  EXPECT_EQ(items.value()[0].id, item_id);
  EXPECT_EQ(items.value()[0].phone, "+447700900123");
  EXPECT_EQ(items.value()[0].status, "called_back");
  EXPECT_EQ(items.value()[0].status_by, "nurse.kim");
  EXPECT_EQ(items.value()[0].status_ms, 2000);

  // Deleted, then a new one: new ids (AUTOINCREMENT), and no delivery row is left behind.
  const int64_t event_id = due.value()[0].event_id;
  ASSERT_TRUE(Delete(*store, "s").ok());
  EXPECT_EQ(Count(p, "SELECT count(*) FROM deliveries"), 0);
  EXPECT_EQ(Count(p, "SELECT count(*) FROM handoffs"), 0);
  TurnRecord t = Turn("s2", 1, 3000);
  t.events.push_back(HandoffEvent("key-2", 3000));
  t.handoffs.push_back(HandoffItem("BL-2", 3000));
  ASSERT_TRUE(Append(*store, t, Session("s2", "north", 3000)).ok());
  due = Due(*store, 3000);
  ASSERT_TRUE(due.ok() && due.value().size() == 2u);
  EXPECT_GT(due.value()[0].event_id, event_id);
  items = Handoffs(*store, "north");
  ASSERT_TRUE(items.ok() && items.value().size() == 1u);
  EXPECT_GT(items.value()[0].id, item_id);
}

// A database of schema 5 keeps its conversations and gains the outbox and the clinicians'
// page, empty.
TEST(SqliteStoreTest, ASchemaFiveDatabaseIsMigrated) {
  TempDbPath path;
  const std::string& p = path.str();
  {
    auto store = OpenOrDie(p);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(Append(*store, Turn("m", 1, 1000), Session("m", "north", 1000)).ok());
    ASSERT_TRUE(Feedback(*store, "m", 1, -1, 1050).ok());
  }
  {  // Back to what schema 5 had.
    auto db = sqlite::Database::Open(p, SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE(db->Exec(std::string(kBackToSchemaFive) + "PRAGMA user_version = 5;").ok());
  }
  ASSERT_EQ(Count(p, "SELECT count(*) FROM sqlite_master WHERE name = 'events'"), 0);
  auto store = OpenOrDie(p);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Count(p, "PRAGMA user_version"), SqliteStore::kSchemaVersion);
  EXPECT_EQ(Count(p,
                  "SELECT count(*) FROM sqlite_master WHERE name IN "
                  "('events', 'deliveries', 'handoffs', 'deliveries_due', "
                  "'handoffs_by_clinic_created')"),
            5);
  auto turns = Recent(*store, "m", 10);
  ASSERT_TRUE(turns.ok()) << turns.status().ToString();
  EXPECT_EQ(Seqs(turns.value()), (std::vector<int64_t>{1}));
  EXPECT_EQ(Count(p, "SELECT count(*) FROM feedback"), 1);
  auto due = Due(*store, 5000);
  ASSERT_TRUE(due.ok() && due.value().empty());

  TurnRecord t = Turn("m", 2, 2000);
  t.events.push_back(HandoffEvent("key-m", 2000));
  t.handoffs.push_back(HandoffItem("BL-M", 2000));
  ASSERT_TRUE(Append(*store, t, Session("m", "north", 2000)).ok());
  due = Due(*store, 5000);
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(due.value().size(), 2u);
  auto items = Handoffs(*store, "north");
  ASSERT_TRUE(items.ok() && items.value().size() == 1u);
  EXPECT_EQ(items.value()[0].seq, 2);
}

// DueDeliveries walks deliveries_due in its order: no sort of the whole outbox per poll.
TEST(SqliteStoreTest, DueDeliveriesUseTheirIndex) {
  TempDbPath path;
  const std::string& p = path.str();
  { ASSERT_NE(OpenOrDie(p), nullptr); }
  auto db = sqlite::Database::Open(p, SQLITE_OPEN_READONLY);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto plan = db->Prepare(
      "EXPLAIN QUERY PLAN "
      "SELECT d.event_id FROM deliveries AS d JOIN events AS e ON e.id = d.event_id "
      "WHERE d.status = 'pending' AND d.next_attempt_ms <= 5 "
      "ORDER BY d.next_attempt_ms, d.event_id, d.endpoint");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  std::string details;
  for (;;) {
    auto row = plan.value().Step();
    ASSERT_TRUE(row.ok()) << row.status().ToString();
    if (!row.value()) break;
    details += plan.value().ColumnText(3) + "\n";
  }
  EXPECT_THAT(details, HasSubstr("deliveries_due"));
  EXPECT_THAT(details, Not(HasSubstr("TEMP B-TREE")));
}

TEST(SqliteStoreTest, PurgeByClinicAndTime) {
  TempDbPath path;
  auto store = OpenOrDie(path.str());
  ASSERT_NE(store, nullptr);
  // north/old: idle since 100, goes whole.
  ASSERT_TRUE(Append(*store, Turn("old", 1, 100, true), Session("old", "north", 100)).ok());
  // north/live: an old turn (purged with its feedback and unanswered entry)
  // and a new one (kept).
  ASSERT_TRUE(Append(*store, Turn("live", 1, 100, true), Session("live", "north", 100)).ok());
  ASSERT_TRUE(Feedback(*store, "live", 1, -1, 150).ok());
  SessionRecord live = Session("live", "north", 100);
  live.updated_ms = 5000;
  ASSERT_TRUE(Append(*store, Turn("live", 2, 5000, true), live).ok());
  ASSERT_TRUE(Feedback(*store, "live", 2, +1, 5001).ok());
  // south/old: another clinic, untouched.
  ASSERT_TRUE(Append(*store, Turn("south", 1, 100), Session("south", "south", 100)).ok());

  auto deleted = Purge(*store, "north", 1000);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(deleted.value(), 1);

  const std::string& p = path.str();
  EXPECT_EQ(Count(p, "SELECT count(*) FROM sessions WHERE id = 'old'"), 0);
  EXPECT_EQ(Count(p, "SELECT count(*) FROM turns WHERE session_id = 'old'"), 0);
  EXPECT_EQ(Text(p, "SELECT group_concat(seq) FROM turns WHERE session_id = 'live'"), "2");
  EXPECT_EQ(Text(p, "SELECT group_concat(seq) FROM feedback WHERE session_id = 'live'"), "2");
  EXPECT_EQ(Text(p, "SELECT group_concat(seq) FROM unanswered WHERE session_id = 'live'"), "2");
  EXPECT_EQ(Count(p, "SELECT count(*) FROM turns WHERE session_id = 'south'"), 1);

  auto again = Purge(*store, "north", 1000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), 0);
}

TEST(SqliteStoreTest, DuplicateSeqFailsAloneAndTheStoreGoesOn) {
  TempDbPath path;
  SqliteStore::Options options;
  options.max_batch = 3;  // the three writes below form exactly one group
  options.max_batch_delay = std::chrono::seconds(30);
  auto store = OpenOrDie(path.str(), options);
  ASSERT_NE(store, nullptr);

  std::promise<Status> first, dup, other;
  store->AppendTurn(Turn("d", 1, 10), Session("d", "c", 10), [&](Status s) { first.set_value(s); });
  store->AppendTurn(Turn("d", 1, 20), Session("d", "c", 20), [&](Status s) { dup.set_value(s); });
  store->AppendTurn(Turn("x", 1, 30), Session("x", "c", 30), [&](Status s) { other.set_value(s); });
  store->Flush();
  EXPECT_TRUE(first.get_future().get().ok());
  const Status d = dup.get_future().get();
  EXPECT_EQ(d.code(), Status::Code::kInvalidArgument) << d.ToString();
  EXPECT_THAT(d.message(), HasSubstr("UNIQUE constraint failed"));
  EXPECT_THAT(d.message(), HasSubstr("turns.seq"));
  EXPECT_THAT(d.message(), HasSubstr("SQLITE_CONSTRAINT"));
  EXPECT_THAT(d.message(), Not(HasSubstr("my back hurts")));  // no patient text
  EXPECT_TRUE(other.get_future().get().ok());
  EXPECT_EQ(store->commits(), 1u);

  // The failed turn's session update was rolled back with it.
  auto loaded = Load(*store, "d");
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(loaded.value().has_value());
  EXPECT_EQ(loaded.value()->updated_ms, 10);

  // Later writes still work.
  std::promise<Status> later;
  store->AppendTurn(Turn("d", 2, 40), Session("d", "c", 40), [&](Status s) { later.set_value(s); });
  store->Flush();
  EXPECT_TRUE(later.get_future().get().ok());
  EXPECT_EQ(Count(path.str(), "SELECT count(*) FROM turns"), 3);
}

// A group first runs without a savepoint per write; when one write fails, the group is rolled
// back and run again with savepoints. The writes before the failure must then be kept once,
// not twice: feedback rows have no unique key that would catch a second copy.
TEST(SqliteStoreTest, AFailedWriteDoesNotRepeatTheWritesBeforeIt) {
  TempDbPath path;
  SqliteStore::Options options;
  options.max_batch = 4;  // the four writes below form exactly one group
  options.max_batch_delay = std::chrono::seconds(30);
  auto store = OpenOrDie(path.str(), options);
  ASSERT_NE(store, nullptr);
  std::promise<Status> setup;
  store->AppendTurn(Turn("f", 1, 10), Session("f", "c", 10), [&](Status s) { setup.set_value(s); });
  store->Flush();
  ASSERT_TRUE(setup.get_future().get().ok());
  const uint64_t commits_before = store->commits();

  std::promise<Status> before, dup, after, turn;
  store->AddFeedback(FeedbackRecord{"f", 1, 1, "helpful", 20, {}},
                     [&](Status s) { before.set_value(s); });
  store->AppendTurn(Turn("f", 1, 30), Session("f", "c", 30), [&](Status s) { dup.set_value(s); });
  store->AddFeedback(FeedbackRecord{"f", 1, -1, "", 40, {}}, [&](Status s) { after.set_value(s); });
  store->AppendTurn(Turn("f", 2, 50), Session("f", "c", 50), [&](Status s) { turn.set_value(s); });
  store->Flush();
  EXPECT_TRUE(before.get_future().get().ok());
  EXPECT_EQ(dup.get_future().get().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(after.get_future().get().ok());
  EXPECT_TRUE(turn.get_future().get().ok());
  EXPECT_EQ(store->commits() - commits_before, 1u);
  EXPECT_EQ(Count(path.str(), "SELECT count(*) FROM feedback"), 2);
  EXPECT_EQ(Count(path.str(), "SELECT count(*) FROM turns"), 2);
  // The failed write's session update is not kept; the last good one is.
  auto loaded = Load(*store, "f");
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(loaded.value().has_value());
  EXPECT_EQ(loaded.value()->updated_ms, 50);
}

TEST(SqliteStoreTest, BadFeedbackAndMismatchedIdsFail) {
  auto store = OpenOrDie(":memory:");
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(Append(*store, Turn("f", 1, 10), Session("f", "c", 10)).ok());
  const Status unknown_turn = Feedback(*store, "f", 9, +1, 20);
  EXPECT_EQ(unknown_turn.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(unknown_turn.message(), HasSubstr("FOREIGN KEY"));
  const Status bad_rating = Feedback(*store, "f", 1, 5, 20);
  EXPECT_EQ(bad_rating.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(bad_rating.message(), HasSubstr("CHECK constraint failed"));
  const Status mismatch = Append(*store, Turn("f", 2, 30), Session("g", "c", 30));
  EXPECT_EQ(mismatch.code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Feedback(*store, "f", 1, -1, 40).ok());
}

TEST(SqliteStoreTest, ReopeningKeepsTheDataIntact) {
  TempDbPath path;
  {
    auto store = OpenOrDie(path.str());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(Append(*store, Turn("p", 1, 10), Session("p", "c", 10)).ok());
    ASSERT_TRUE(Append(*store, Turn("p", 2, 20, true), Session("p", "c", 20)).ok());
    ASSERT_TRUE(Feedback(*store, "p", 2, +1, 30).ok());
  }
  {
    auto store = OpenOrDie(path.str());
    ASSERT_NE(store, nullptr);
    auto loaded = Load(*store, "p");
    ASSERT_TRUE(loaded.ok());
    ASSERT_TRUE(loaded.value().has_value());
    EXPECT_EQ(loaded.value()->updated_ms, 20);
    auto turns = Recent(*store, "p", 10);
    ASSERT_TRUE(turns.ok());
    EXPECT_EQ(Seqs(turns.value()), (std::vector<int64_t>{1, 2}));
    ASSERT_TRUE(Append(*store, Turn("p", 3, 40), Session("p", "c", 40)).ok());
  }
  auto db = sqlite::Database::Open(path.str(), SQLITE_OPEN_READONLY);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto check = db->QueryText("PRAGMA integrity_check");
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_EQ(check.value(), "ok");
  auto fk = db->Prepare("PRAGMA foreign_key_check");
  ASSERT_TRUE(fk.ok());
  auto fk_row = fk->Step();
  ASSERT_TRUE(fk_row.ok());
  EXPECT_FALSE(fk_row.value()) << "foreign key violations";
  EXPECT_EQ(db->QueryInt64("PRAGMA user_version").value(), SqliteStore::kSchemaVersion);
  EXPECT_EQ(db->QueryText("PRAGMA journal_mode").value(), "wal");
  EXPECT_EQ(Count(path.str(), "SELECT count(*) FROM turns"), 3);
}

TEST(SqliteStoreTest, DestructorDrainsTheQueue) {
  TempDbPath path;
  std::atomic<int> called{0}, ok{0};
  constexpr int kWrites = 150;
  {
    SqliteStore::Options options;
    options.max_batch = 16;
    auto store = OpenOrDie(path.str(), options);
    ASSERT_NE(store, nullptr);
    for (int i = 1; i <= kWrites; ++i) {
      store->AppendTurn(Turn("z", i, i), Session("z", "c", i), [&](Status s) {
        ++called;
        ok += s.ok() ? 1 : 0;
      });
    }
    // No Flush: the destructor must commit all of it.
  }
  EXPECT_EQ(called.load(), kWrites);
  EXPECT_EQ(ok.load(), kWrites);
  auto store = OpenOrDie(path.str());
  ASSERT_NE(store, nullptr);
  auto turns = Recent(*store, "z", 1000);
  ASSERT_TRUE(turns.ok());
  EXPECT_EQ(turns.value().size(), static_cast<size_t>(kWrites));
}

TEST(SqliteStoreTest, ReadsDoNotWaitForABlockedWriter) {
  TempDbPath path;
  SqliteStore::Options options;
  options.busy_timeout_ms = 20000;
  auto store = OpenOrDie(path.str(), options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(Append(*store, Turn("w", 1, 10), Session("w", "c", 10)).ok());

  // Another connection takes the write lock, so the store's writer waits.
  auto other = sqlite::Database::Open(path.str(), SQLITE_OPEN_READWRITE);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  ASSERT_TRUE(other->Exec("BEGIN IMMEDIATE").ok());
  std::promise<Status> write;
  store->AppendTurn(Turn("w", 2, 20), Session("w", "c", 20), [&](Status s) { write.set_value(s); });
  auto write_done = write.get_future();

  std::promise<StatusOr<std::optional<SessionRecord>>> read;
  store->LoadSession(
      "w", 0, [&](StatusOr<std::optional<SessionRecord>> r) { read.set_value(std::move(r)); });
  auto read_done = read.get_future();
  ASSERT_EQ(read_done.wait_for(std::chrono::seconds(5)), std::future_status::ready)
      << "the read waited for the writer";
  auto loaded = read_done.get();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_TRUE(loaded.value().has_value());
  EXPECT_EQ(loaded.value()->updated_ms, 10);
  EXPECT_EQ(write_done.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);

  ASSERT_TRUE(other->Exec("ROLLBACK").ok());
  EXPECT_TRUE(write_done.get().ok());
}

TEST(SqliteStoreTest, BusyTransactionFailsTheGroupThenRecovers) {
  TempDbPath path;
  SqliteStore::Options options;
  options.busy_timeout_ms = 50;
  auto store = OpenOrDie(path.str(), options);
  ASSERT_NE(store, nullptr);
  auto other = sqlite::Database::Open(path.str(), SQLITE_OPEN_READWRITE);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(other->Exec("BEGIN IMMEDIATE").ok());
  const Status busy = Append(*store, Turn("b", 1, 10), Session("b", "c", 10));
  EXPECT_EQ(busy.code(), Status::Code::kUnavailable) << busy.ToString();
  EXPECT_THAT(busy.message(), HasSubstr("SQLITE_BUSY"));
  ASSERT_TRUE(other->Exec("ROLLBACK").ok());
  EXPECT_TRUE(Append(*store, Turn("b", 1, 10), Session("b", "c", 10)).ok());
}

TEST(SqliteStoreTest, RefusesANewerSchema) {
  TempDbPath path;
  {
    auto db = sqlite::Database::Open(path.str(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Exec("PRAGMA user_version = 99").ok());
  }
  auto store = SqliteStore::Open(path.str());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kDataError);
  EXPECT_THAT(store.status().message(), HasSubstr("99"));
}

TEST(SqliteStoreTest, OpenFailsWithAStatus) {
  auto store = SqliteStore::Open("/nonexistent-dir/backline/x.db");
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr("SQLITE_CANTOPEN"));
  SqliteStore::Options bad;
  bad.max_batch = 0;
  EXPECT_EQ(SqliteStore::Open(":memory:", bad).status().code(), Status::Code::kInvalidArgument);
  SqliteStore::Options no_checkpoints;
  no_checkpoints.checkpoint_frames = 0;
  EXPECT_EQ(SqliteStore::Open(":memory:", no_checkpoints).status().code(),
            Status::Code::kInvalidArgument);
}

// The store, not SQLite inside a COMMIT, checkpoints the WAL: the log is copied into the
// database and reused, so it stays short however much is written, and every turn is kept.
TEST(SqliteStoreTest, CheckpointsKeepTheWalShort) {
  TempDbPath path;
  SqliteStore::Options options;
  options.checkpoint_frames = 64;  // 256 KiB of 4 KiB pages
  auto store = OpenOrDie(path.str(), options);
  ASSERT_NE(store, nullptr);
  // About 6 MiB of turns, in groups of up to 20.
  const std::string long_reply(3000, 'r');
  std::atomic<int> ok{0};
  for (int i = 1; i <= 2000; ++i) {
    TurnRecord t = Turn("w" + std::to_string(i % 20), i / 20 + 1, i);
    t.reply_text = long_reply;
    store->AppendTurn(std::move(t), Session("w" + std::to_string(i % 20), "c", i),
                      [&](Status s) { ok += s.ok() ? 1 : 0; });
    if (i % 20 == 0) store->Flush();
  }
  store->Flush();
  EXPECT_EQ(ok.load(), 2000);
  EXPECT_GE(store->checkpoints(), 5u);
  std::error_code ec;
  const auto wal_bytes = fs::file_size(path.str() + "-wal", ec);
  ASSERT_FALSE(ec) << ec.message();
  // 64 frames, the groups committed while the checkpointer copied them, and one group's more
  // (SQLite reuses the log from its start after a checkpoint): 0.7-1.0 MiB here, against the
  // 6 MiB written. How many groups commit during a copy depends on the disk, so the bound is
  // half of what was written. Without checkpoints the WAL grows to 11 MiB.
  EXPECT_LT(wal_bytes, 3u << 20) << "the WAL grew to " << wal_bytes << " bytes";
  store.reset();
  EXPECT_EQ(Count(path.str(), "SELECT count(*) FROM turns"), 2000);
  EXPECT_EQ(Count(path.str(), "SELECT sum(length(reply_text)) FROM turns"), 2000 * 3000);
}

// A checkpoint copies the WAL and fsyncs the database file on a thread of its own. On this
// machine that took 10-16 ms, and the writer used to do it between two groups, so every turn
// queued meanwhile waited that long for its reply. Here the checkpointer's fsync is held up
// for as long as the test likes: turns must go on committing, and once it is let go, the
// checkpoint completes and nothing is lost.
// A VFS (SpyVfs) that holds every sync of the files opened with `which` among their flags
// (SQLITE_OPEN_MAIN_DB, SQLITE_OPEN_WAL) until Open(). Declare it before the store, and the
// OpenAtExit guard after it: the guard is then destroyed first, so that a failed assertion
// cannot leave a store thread stuck in a sync while the store waits for it to stop.
class SyncGate {
 public:
  SyncGate(const char* name, int which) : spy_(name) {
    spy_.on_sync = [this, which](int flags) {
      if ((flags & which) == 0) return SQLITE_OK;
      std::unique_lock<std::mutex> lock(mu_);
      ++held_;
      cv_.notify_all();
      cv_.wait(lock, [this] { return open_; });
      return SQLITE_OK;
    };
  }
  const char* name() const { return spy_.name(); }
  // True once a sync is waiting (or has waited) at the gate.
  bool WaitUntilHeld() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [this] { return held_ > 0; });
  }
  // Syncs that reached the gate so far.
  int held() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  struct OpenAtExit {
    SyncGate& gate;
    ~OpenAtExit() { gate.Open(); }
  };

 private:
  testing_support::SpyVfs spy_;
  std::mutex mu_;
  std::condition_variable cv_;
  int held_ = 0;       // guarded by mu_
  bool open_ = false;  // guarded by mu_
};

TEST(SqliteStoreTest, TurnsCommitWhileACheckpointWaitsForTheDisk) {
  SyncGate gate("checkpoint-gate", SQLITE_OPEN_MAIN_DB);
  TempDbPath path;
  SqliteStore::Options options;
  options.checkpoint_frames = 16;
  options.checkpoint_vfs = gate.name();
  int appended = 0;
  {
    auto store = OpenOrDie(path.str(), options);
    ASSERT_NE(store, nullptr);
    SyncGate::OpenAtExit open_at_exit{gate};

    const std::string long_reply(3000, 'r');  // about a page per turn
    // Appends n turns; false if their callbacks have not all run within 30 s. (The callbacks
    // share what they count with the caller, which may have given up on them.)
    auto append = [&](int n) {
      struct Pending {
        std::atomic<int> left;
        std::promise<void> done;
      };
      auto pending = std::make_shared<Pending>();
      pending->left = n;
      std::future<void> all_done = pending->done.get_future();
      for (int i = 0; i < n; ++i) {
        ++appended;
        TurnRecord t = Turn("g" + std::to_string(appended % 8), appended / 8 + 1, appended);
        t.reply_text = long_reply;
        store->AppendTurn(std::move(t), Session("g" + std::to_string(appended % 8), "c", 1),
                          [pending](Status s) {
                            EXPECT_TRUE(s.ok()) << s.ToString();
                            if (--pending->left == 0) pending->done.set_value();
                          });
      }
      return all_done.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
    };

    ASSERT_TRUE(append(40));  // past the 16 frames: the checkpointer is asked to copy
    ASSERT_TRUE(gate.WaitUntilHeld()) << "the checkpointer never synced the database file";
    // The checkpointer is stuck in its fsync. Groups still commit, one after another.
    for (int group = 0; group < 10; ++group) {
      ASSERT_TRUE(append(10)) << "a group waited for the checkpoint (group " << group << ")";
    }
    EXPECT_EQ(store->checkpoints(), 0u) << "no checkpoint can be complete yet";

    gate.Open();
    // The writer catches up after the first group that ends once the copy is done.
    for (int i = 0; i < 3000 && store->checkpoints() == 0; ++i) {
      ASSERT_TRUE(append(1));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_GE(store->checkpoints(), 1u);
  }
  EXPECT_EQ(Count(path.str(), "SELECT count(*) FROM turns"), appended);
  EXPECT_EQ(Count(path.str(), "SELECT sum(length(reply_text)) FROM turns"), appended * 3000);
}

// The writer commits without waiting for the disk; the syncer fsyncs the WAL and only then runs
// the callbacks. While that fsync is held up, later groups still commit (a reader sees them),
// and no callback runs: a turn is acknowledged only once it is on disk, and in queue order.
TEST(SqliteStoreTest, TurnsAreAcknowledgedOnlyOnceTheWalIsOnDisk) {
  SyncGate gate("wal-sync-gate", SQLITE_OPEN_WAL);
  TempDbPath path;
  SqliteStore::Options options;
  options.sync_vfs = gate.name();
  auto store = OpenOrDie(path.str(), options);
  ASSERT_NE(store, nullptr);
  SyncGate::OpenAtExit open_at_exit{gate};

  std::mutex acked_mu;
  std::vector<int64_t> acked;  // guarded by acked_mu
  auto append = [&](int64_t seq) {
    store->AppendTurn(Turn("a", seq, seq * 10), Session("a", "c", seq * 10), [&, seq](Status s) {
      EXPECT_TRUE(s.ok()) << s.ToString();
      std::lock_guard<std::mutex> lock(acked_mu);
      acked.push_back(seq);
    });
  };
  append(1);
  ASSERT_TRUE(gate.WaitUntilHeld()) << "the syncer never synced the WAL";
  append(2);
  append(3);
  // Both commit while the first fsync is held: another connection reads all three turns.
  int64_t stored = 0;
  for (int i = 0; i < 3000 && stored < 3; ++i) {
    stored = Count(path.str(), "SELECT count(*) FROM turns");
    if (stored < 3) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(stored, 3) << "a group waited for the fsync of the one before";
  {
    std::lock_guard<std::mutex> lock(acked_mu);
    EXPECT_TRUE(acked.empty()) << "acknowledged before the WAL was on disk";
  }

  EXPECT_EQ(gate.held(), 1) << "one fsync at a time";

  gate.Open();
  store->Flush();
  std::lock_guard<std::mutex> lock(acked_mu);
  EXPECT_EQ(acked, (std::vector<int64_t>{1, 2, 3}));
}

// When the WAL's fsync fails, the turns it was for are not acknowledged as stored, and no
// later write is taken (the disk can no longer be trusted with them); reads go on.
TEST(SqliteStoreTest, AFailedWalSyncFailsItsTurnsAndStopsTheWrites) {
  testing_support::SpyVfs spy("wal-sync-fails");
  spy.on_sync = [](int flags) {
    return (flags & SQLITE_OPEN_WAL) != 0 ? SQLITE_IOERR_FSYNC : SQLITE_OK;
  };
  TempDbPath path;
  SqliteStore::Options options;
  options.sync_vfs = spy.name();
  {
    auto store = OpenOrDie(path.str(), options);
    ASSERT_NE(store, nullptr);
    const Status first = Append(*store, Turn("f", 1, 10), Session("f", "c", 10));
    EXPECT_EQ(first.code(), Status::Code::kIOError) << first.ToString();
    EXPECT_THAT(first.message(), HasSubstr("could not be written to disk (fsync)"));
    EXPECT_THAT(first.message(), HasSubstr("SQLITE_IOERR"));
    EXPECT_THAT(first.message(), Not(HasSubstr("my back hurts")));

    const Status later = Append(*store, Turn("f", 2, 20), Session("f", "c", 20));
    EXPECT_EQ(later.code(), Status::Code::kIOError) << later.ToString();
    EXPECT_THAT(later.message(), HasSubstr("writes stop until the server restarts"));
    const Status feedback = Feedback(*store, "f", 1, +1, 30);
    EXPECT_EQ(feedback.code(), Status::Code::kIOError) << feedback.ToString();

    auto loaded = Load(*store, "f");
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  }
  EXPECT_EQ(Count(path.str(), "SELECT count(*) FROM turns WHERE seq = 2"), 0);
  EXPECT_EQ(Count(path.str(), "SELECT count(*) FROM feedback"), 0);
}

// A reader in another process that keeps a transaction open (an operator's sqlite3 shell, a
// backup) holds the WAL back: no checkpoint can copy past what it reads. Every group then
// starts another checkpoint round that copies nothing; those rounds must not each fsync the
// database file. Once the reader ends, checkpoints copy (and sync) again, and no turn is lost.
TEST(SqliteStoreTest, AReaderHoldingTheWalBackCostsNoSyncPerGroup) {
  testing_support::SpyVfs spy("checkpoint-syncs");
  std::atomic<int> database_syncs{0};
  spy.on_sync = [&](int flags) {
    if ((flags & SQLITE_OPEN_MAIN_DB) != 0) ++database_syncs;
    return SQLITE_OK;
  };
  TempDbPath path;
  SqliteStore::Options options;
  options.checkpoint_frames = 64;
  options.checkpoint_vfs = spy.name();
  int appended = 0;
  {
    auto store = OpenOrDie(path.str(), options);
    ASSERT_NE(store, nullptr);
    // The schema and one short turn: a few frames, far from a checkpoint, so that none is
    // under way when the reader begins.
    ++appended;
    ASSERT_TRUE(Append(*store, Turn("h1", 1, 1), Session("h1", "c", 1)).ok());
    const std::string long_reply(3000, 'r');  // about a page per turn
    auto append_group = [&] {
      for (int i = 0; i < 10; ++i) {
        ++appended;
        TurnRecord t = Turn("h" + std::to_string(appended % 4), appended / 4 + 2, appended);
        t.reply_text = long_reply;
        store->AppendTurn(std::move(t), Session("h" + std::to_string(appended % 4), "c", 1),
                          [](Status s) { EXPECT_TRUE(s.ok()) << s.ToString(); });
      }
      store->Flush();
    };

    sqlite3* reader = nullptr;
    ASSERT_EQ(sqlite3_open_v2(path.str().c_str(), &reader, SQLITE_OPEN_READONLY, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM turns;", nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(reader);
    const int syncs_before = database_syncs;
    for (int group = 0; group < 30; ++group) {
      append_group();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // let a round run
    }
    // About 12 frames a group: from the sixth group on, every group starts a round. Only the
    // first round, which copies up to the reader's snapshot, may sync.
    EXPECT_LE(database_syncs - syncs_before, 1)
        << "the checkpointer synced the database file for rounds that copied nothing";

    sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(reader);
    const int syncs_pinned = database_syncs;
    for (int i = 0; i < 3000 && database_syncs == syncs_pinned; ++i) {
      append_group();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_GT(database_syncs, syncs_pinned) << "no checkpoint copied after the reader ended";
  }
  EXPECT_EQ(Count(path.str(), "SELECT count(*) FROM turns"), appended);
}

// --- the RAII wrapper
// ---------------------------------------------------------

TEST(SqliteTest, LeaseResetsAndClearsBindings) {
  auto db = sqlite::Database::Open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  sqlite3_stmt* first = nullptr;
  {
    auto lease = db->Cached("SELECT ?1");
    ASSERT_TRUE(lease.ok()) << lease.status().ToString();
    first = lease.value()->get();
    ASSERT_TRUE(lease.value()->Bind(1, int64_t{42}).ok());
    auto row = lease.value()->Step();
    ASSERT_TRUE(row.ok() && row.value());
    EXPECT_EQ(lease.value()->ColumnInt64(0), 42);
  }  // released mid-result
  {
    auto lease = db->Cached("SELECT ?1");
    ASSERT_TRUE(lease.ok());
    EXPECT_EQ(lease.value()->get(), first);  // the cached statement again
    auto row = lease.value()->Step();        // runs from the start...
    ASSERT_TRUE(row.ok()) << row.status().ToString();
    ASSERT_TRUE(row.value());
    EXPECT_TRUE(lease.value()->ColumnIsNull(0));  // ...with no binding left
  }

  ASSERT_TRUE(db->Exec("CREATE TABLE t (x INTEGER); "
                       "INSERT INTO t VALUES (1), (2), (3);")
                  .ok());
  for (int round = 0; round < 2; ++round) {
    auto lease = db->Cached("SELECT x FROM t ORDER BY x");
    ASSERT_TRUE(lease.ok());
    auto row = lease.value()->Step();
    ASSERT_TRUE(row.ok() && row.value());
    EXPECT_EQ(lease.value()->ColumnInt64(0), 1) << "round " << round;
  }
}

// RunWith binds text in place, not copied: what it stores is the text as it was during the
// call, and no binding outlives the call (a later step would read freed memory).
TEST(SqliteTest, RunWithStoresTheTextAndKeepsNoBinding) {
  auto db = sqlite::Database::Open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE(db->Exec("CREATE TABLE t (a TEXT, b INTEGER, c TEXT)").ok());
  auto insert = db->Prepare("INSERT INTO t VALUES (?1, ?2, ?3)");
  ASSERT_TRUE(insert.ok()) << insert.status().ToString();
  {
    // Longer than any small-string buffer, and gone before the table is read.
    auto text = std::make_unique<std::string>(200, 'x');
    const Status s = insert->RunWith(*text, int64_t{7}, std::string_view("tail"));
    ASSERT_TRUE(s.ok()) << s.ToString();
    text->assign(200, 'y');
  }
  EXPECT_EQ(db->QueryText("SELECT a || c FROM t").value(), std::string(200, 'x') + "tail");
  EXPECT_EQ(db->QueryInt64("SELECT b FROM t").value(), 7);
  // Stepped again with nothing bound: every parameter is NULL, and the NOT NULL-free table
  // takes the row.
  ASSERT_TRUE(insert->Run().ok());
  EXPECT_EQ(
      db->QueryInt64("SELECT count(*) FROM t WHERE a IS NULL AND b IS NULL AND c IS NULL").value(),
      1);
  // A failing run clears its bindings too.
  ASSERT_TRUE(db->Exec("CREATE TABLE u (a TEXT NOT NULL, b INTEGER CHECK (b > 0))").ok());
  auto strict = db->Prepare("INSERT INTO u VALUES (?1, ?2)");
  ASSERT_TRUE(strict.ok());
  const Status bad = strict->RunWith(std::string("kept?"), int64_t{-1});
  EXPECT_EQ(bad.code(), Status::Code::kInvalidArgument) << bad.ToString();
  strict->Reset();
  const Status unbound = strict->Run();
  EXPECT_THAT(unbound.message(), HasSubstr("NOT NULL constraint failed: u.a"))
      << unbound.ToString();
  EXPECT_EQ(db->QueryInt64("SELECT count(*) FROM u").value(), 0);
}

TEST(SqliteTest, NestedLeasesOfOneStatementAreIndependent) {
  auto db = sqlite::Database::Open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  ASSERT_TRUE(db.ok());
  auto outer = db->Cached("SELECT ?1");
  auto inner = db->Cached("SELECT ?1");
  ASSERT_TRUE(outer.ok() && inner.ok());
  EXPECT_NE(outer.value()->get(), inner.value()->get());
  ASSERT_TRUE(outer.value()->BindAll(int64_t{1}).ok());
  ASSERT_TRUE(inner.value()->BindAll(int64_t{2}).ok());
  ASSERT_TRUE(outer.value()->Step().value());
  ASSERT_TRUE(inner.value()->Step().value());
  EXPECT_EQ(outer.value()->ColumnInt64(0), 1);
  EXPECT_EQ(inner.value()->ColumnInt64(0), 2);
}

TEST(SqliteTest, ErrorsCarryTheMessageAndExtendedCode) {
  auto missing = sqlite::Database::Open("/nonexistent-dir/x.db", SQLITE_OPEN_READWRITE);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("unable to open"));
  EXPECT_THAT(missing.status().message(), HasSubstr("SQLITE_CANTOPEN"));

  auto db = sqlite::Database::Open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  ASSERT_TRUE(db.ok());
  auto bad = db->Prepare("SELEKT 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kDataError);
  EXPECT_THAT(bad.status().message(), HasSubstr("syntax error"));

  ASSERT_TRUE(db->Exec("CREATE TABLE u (k TEXT PRIMARY KEY)").ok());
  auto insert = db->Cached("INSERT INTO u VALUES (?1)");
  ASSERT_TRUE(insert.ok());
  ASSERT_TRUE(insert.value()->BindAll("a").ok());
  ASSERT_TRUE(insert.value()->Run().ok());
  insert.value()->Reset();
  const Status dup = insert.value()->Run();
  EXPECT_EQ(dup.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(dup.message(), HasSubstr("UNIQUE constraint failed: u.k"));
  EXPECT_THAT(dup.message(),
              HasSubstr("extended code " + std::to_string(SQLITE_CONSTRAINT_PRIMARYKEY)));
}

}  // namespace
}  // namespace backline::store
