// Handing over to the clinic (issue 22), for both stores: webhook events and clinicians' page
// items are written in the same transaction as their turn, feedback or status change; the
// outbox hands out due deliveries and records each attempt; a deleted or purged conversation
// takes its items (phone numbers) and its events (undelivered ones too) with it.
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "store/memory_store.h"
#include "store/sqlite_store.h"
#include "store/store.h"

namespace backline::store {
namespace {

namespace fs = std::filesystem;
using engine::Status;
using engine::StatusOr;

constexpr int64_t kLater = 1'000'000'000;  // a `now` after every delivery is due

SessionRecord Session(const std::string& id, const std::string& clinic, int64_t ms) {
  SessionRecord s;
  s.id = id;
  s.clinic = clinic;
  s.state = "{}";
  s.created_ms = ms;
  s.updated_ms = ms;
  return s;
}

TurnRecord Turn(const std::string& session_id, int64_t seq, int64_t ms) {
  TurnRecord t;
  t.session_id = session_id;
  t.seq = seq;
  t.user_text = "my husband cannot feel his legs";
  t.reply_text = "call 999 now";
  t.topic = "red-flags";
  t.urgency = "emergency";
  t.kind = "escalation";
  t.received_ms = ms;
  t.replied_ms = ms + 1;
  return t;
}

EventRecord Event(const std::string& key, const std::string& clinic, int64_t ms,
                  std::vector<std::string> endpoints = {"main"}) {
  EventRecord e;
  e.key = key;
  e.clinic = clinic;
  e.session_id = "ignored: the store sets it";
  e.type = "escalation";
  e.body = R"({"type":"escalation","key":")" + key + R"("})";
  e.created_ms = ms;
  e.endpoints = std::move(endpoints);
  return e;
}

HandoffRecord Item(const std::string& reference, const std::string& clinic, int64_t ms) {
  HandoffRecord h;
  h.reference = reference;
  h.clinic = clinic;
  h.session_id = "ignored";
  h.seq = 99;
  h.type = "callback";
  h.urgency = "urgent";
  h.red_flag_kind = "U3";
  h.consent = true;
  h.first_name = "Margaret";
  h.phone = "+447700900123";
  h.best_time = "after 6pm";
  h.created_ms = ms;
  return h;
}

class StoreHandoffTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      auto s = MemoryStore::Open();
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      store_ = std::move(s).value();
    } else {
      path_ = (fs::temp_directory_path() /
               ("backline-handoff-" + std::to_string(::getpid()) + "-" + CurrentTestName() + ".db"))
                  .string();
      Remove();
      auto s = SqliteStore::Open(path_);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      store_ = std::move(s).value();
    }
  }
  void TearDown() override {
    store_.reset();
    Remove();
  }
  static std::string CurrentTestName() {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    return name;
  }
  void Remove() {
    if (path_.empty()) return;
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path_ + suffix, ec);
  }

  // Synchronous wrappers.
  Status Append(TurnRecord t, SessionRecord s) {
    std::promise<Status> p;
    store_->AppendTurn(std::move(t), std::move(s), [&p](Status st) { p.set_value(st); });
    return p.get_future().get();
  }
  Status AddFeedback(FeedbackRecord f) {
    std::promise<Status> p;
    store_->AddFeedback(std::move(f), [&p](Status st) { p.set_value(st); });
    return p.get_future().get();
  }
  Status Delete(const std::string& id) {
    std::promise<Status> p;
    store_->DeleteSession(id, kLater, [&p](Status st) { p.set_value(st); });
    return p.get_future().get();
  }
  StatusOr<int64_t> Purge(const std::string& clinic, int64_t before_ms) {
    std::promise<StatusOr<int64_t>> p;
    store_->Purge(clinic, before_ms, [&p](StatusOr<int64_t> n) { p.set_value(std::move(n)); });
    return p.get_future().get();
  }
  StatusOr<std::vector<DeliveryRecord>> Due(int64_t now_ms, size_t limit = 100,
                                            size_t per_endpoint = 100) {
    std::promise<StatusOr<std::vector<DeliveryRecord>>> p;
    store_->DueDeliveries(
        now_ms, limit, per_endpoint,
        [&p](StatusOr<std::vector<DeliveryRecord>> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  // The keys of the due deliveries, "key@endpoint", in order.
  std::vector<std::string> DueKeys(int64_t now_ms, size_t limit = 100, size_t per_endpoint = 100) {
    auto due = Due(now_ms, limit, per_endpoint);
    EXPECT_TRUE(due.ok()) << due.status().ToString();
    std::vector<std::string> keys;
    if (due.ok()) {
      for (const DeliveryRecord& d : due.value()) keys.push_back(d.key + "@" + d.endpoint);
    }
    return keys;
  }
  Status Update(DeliveryRecord d) {
    std::promise<Status> p;
    store_->UpdateDelivery(std::move(d), [&p](Status st) { p.set_value(st); });
    return p.get_future().get();
  }
  OutboxStats Outbox() {
    std::promise<StatusOr<OutboxStats>> p;
    store_->Outbox([&p](StatusOr<OutboxStats> r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : OutboxStats{-1, -1, -1};
  }
  StatusOr<std::vector<DeliveryRecord>> Failed(const std::string& clinic, size_t limit = 100) {
    std::promise<StatusOr<std::vector<DeliveryRecord>>> p;
    store_->FailedDeliveries(clinic, limit, [&p](StatusOr<std::vector<DeliveryRecord>> r) {
      p.set_value(std::move(r));
    });
    return p.get_future().get();
  }
  StatusOr<std::vector<HandoffRecord>> Items(HandoffFilter f) {
    std::promise<StatusOr<std::vector<HandoffRecord>>> p;
    store_->Handoffs(std::move(f),
                     [&p](StatusOr<std::vector<HandoffRecord>> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  // The references of a clinic's items matching the filter, in order.
  std::vector<std::string> References(const std::string& clinic, const std::string& status = "",
                                      int64_t since_ms = 0, int64_t until_ms = 0,
                                      size_t limit = 100) {
    HandoffFilter f;
    f.clinic = clinic;
    f.status = status;
    f.since_ms = since_ms;
    f.until_ms = until_ms;
    f.limit = limit;
    auto items = Items(f);
    EXPECT_TRUE(items.ok()) << items.status().ToString();
    std::vector<std::string> refs;
    if (items.ok()) {
      for (const HandoffRecord& h : items.value()) refs.push_back(h.reference);
    }
    return refs;
  }
  Status SetStatus(const std::string& clinic, int64_t id, const std::string& status,
                   const std::string& who, int64_t at_ms, std::vector<EventRecord> events = {}) {
    std::promise<Status> p;
    store_->SetHandoffStatus(clinic, id, status, who, at_ms, std::move(events),
                             [&p](Status st) { p.set_value(st); });
    return p.get_future().get();
  }
  size_t TurnCount(const std::string& id) {
    std::promise<StatusOr<std::vector<TurnRecord>>> p;
    store_->RecentTurns(id, 100,
                        [&p](StatusOr<std::vector<TurnRecord>> r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value().size() : 0;
  }
  // Appends turn `seq` of `id` raising one event (to "main") and one item, both keyed `ref`.
  Status AppendRaising(const std::string& id, const std::string& clinic, int64_t seq, int64_t ms,
                       const std::string& ref) {
    TurnRecord t = Turn(id, seq, ms);
    t.events.push_back(Event(ref, clinic, ms));
    t.handoffs.push_back(Item(ref, clinic, ms));
    return Append(std::move(t), Session(id, clinic, ms));
  }

  std::string path_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreHandoffTest, ATurnWritesItsEventsAndItemWithIt) {
  TurnRecord t = Turn("s1", 1, 1000);
  t.events.push_back(Event("k1", "north", 1000, {"main", "pager"}));
  t.events.push_back(Event("k2", "north", 1000));
  t.events.push_back(Event("k3", "north", 1000, {}));  // recorded, goes nowhere
  t.handoffs.push_back(Item("BL-1", "north", 1000));
  ASSERT_TRUE(Append(t, Session("s1", "north", 1000)).ok());

  auto due = Due(1000);
  ASSERT_TRUE(due.ok()) << due.status().ToString();
  ASSERT_EQ(due.value().size(), 3u);
  const DeliveryRecord& d = due.value()[0];
  EXPECT_GT(d.event_id, 0);
  EXPECT_EQ(d.endpoint, "main");
  EXPECT_EQ(d.key, "k1");
  EXPECT_EQ(d.clinic, "north");
  EXPECT_EQ(d.type, "escalation");
  EXPECT_EQ(d.body, t.events[0].body);
  EXPECT_EQ(d.created_ms, 1000);
  EXPECT_EQ(d.status, "pending");
  EXPECT_EQ(d.attempts, 0);
  EXPECT_EQ(d.next_attempt_ms, 1000);  // due at once
  EXPECT_EQ(d.last_attempt_ms, 0);
  EXPECT_EQ(d.last_error, "");
  EXPECT_EQ(due.value()[1].event_id, d.event_id);
  EXPECT_EQ(due.value()[1].endpoint, "pager");
  EXPECT_EQ(due.value()[2].key, "k2");
  EXPECT_NE(due.value()[2].event_id, d.event_id);
  EXPECT_TRUE(Due(999).value().empty()) << "not due before the event was created";

  HandoffFilter f;
  f.clinic = "north";
  auto items = Items(f);
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  ASSERT_EQ(items.value().size(), 1u);
  const HandoffRecord& h = items.value()[0];
  EXPECT_GT(h.id, 0);
  EXPECT_EQ(h.reference, "BL-1");
  EXPECT_EQ(h.clinic, "north");
  EXPECT_EQ(h.session_id, "s1");  // the turn's, whatever the caller put
  EXPECT_EQ(h.seq, 1);
  EXPECT_EQ(h.type, "callback");
  EXPECT_EQ(h.urgency, "urgent");
  EXPECT_EQ(h.red_flag_kind, "U3");
  EXPECT_TRUE(h.consent);
  EXPECT_EQ(h.first_name, "Margaret");
  EXPECT_EQ(h.phone, "+447700900123");
  EXPECT_EQ(h.best_time, "after 6pm");
  EXPECT_EQ(h.created_ms, 1000);
  EXPECT_EQ(h.status, "new");
  EXPECT_EQ(h.status_by, "");
  EXPECT_EQ(h.status_ms, 0);

  // The turn itself comes back without them.
  std::promise<StatusOr<std::vector<TurnRecord>>> p;
  store_->RecentTurns("s1", 10,
                      [&p](StatusOr<std::vector<TurnRecord>> r) { p.set_value(std::move(r)); });
  auto turns = p.get_future().get();
  ASSERT_TRUE(turns.ok() && turns.value().size() == 1u);
  EXPECT_TRUE(turns.value()[0].events.empty());
  EXPECT_TRUE(turns.value()[0].handoffs.empty());
}

// A refused turn writes none of its records, a refused record refuses its turn, and in one
// group the other turns still commit with theirs.
TEST_P(StoreHandoffTest, ARefusedTurnWritesNoneOfItsRecordsAndABadRecordRefusesItsTurn) {
  ASSERT_TRUE(AppendRaising("taken", "north", 1, 1000, "BL-TAKEN").ok());
  ASSERT_TRUE(AppendRaising("gone", "north", 1, 1000, "BL-GONE-1").ok());
  ASSERT_TRUE(Delete("gone").ok());

  std::vector<Status> results(9, Status::Unavailable("callback not called"));
  std::vector<Store::TurnWrite> writes;
  auto write = [&](TurnRecord t, const std::string& clinic) {
    const size_t i = writes.size();
    SessionRecord s = Session(t.session_id, clinic, t.received_ms);
    writes.push_back({std::move(t), std::move(s), [&results, i](Status st) { results[i] = st; }});
  };
  auto raising = [](const std::string& id, int64_t seq, const std::string& key,
                    const std::string& ref) {
    TurnRecord t = Turn(id, seq, 2000);
    t.events.push_back(Event(key, "north", 2000));
    t.handoffs.push_back(Item(ref, "north", 2000));
    return t;
  };
  write(raising("gone", 2, "k-gone", "BL-GONE-2"), "north");       // 0: deleted session
  write(raising("taken", 1, "k-dup-seq", "BL-DUP-SEQ"), "north");  // 1: seq taken
  write(raising("a", 1, "BL-TAKEN", "BL-A"), "north");             // 2: key taken
  write(raising("b", 1, "k-b", "BL-TAKEN"), "north");              // 3: reference taken
  TurnRecord no_clinic = raising("c", 1, "k-c", "BL-C");
  no_clinic.events[0].clinic = "";
  write(no_clinic, "north");  // 4: an event without a clinic
  TurnRecord bad_status = raising("d", 1, "k-d", "BL-D");
  bad_status.handoffs[0].status = "forgotten";
  write(bad_status, "north");  // 5: an unknown status
  TurnRecord twice = raising("e", 1, "k-e", "BL-E");
  twice.events[0].endpoints = {"main", "main"};
  write(twice, "north");                                 // 6: an endpoint named twice
  write(raising("ok", 1, "k-ok", "BL-OK"), "north");     // 7: fine
  write(raising("ok2", 1, "k-ok2", "BL-OK2"), "north");  // 8: fine
  store_->AppendTurns(std::move(writes));
  store_->Flush();

  EXPECT_EQ(results[0].code(), Status::Code::kNotFound) << results[0].ToString();
  for (size_t i = 1; i <= 6; ++i) {
    EXPECT_EQ(results[i].code(), Status::Code::kInvalidArgument)
        << i << ": " << results[i].ToString();
    // Never patient text in an error.
    EXPECT_EQ(results[i].message().find("Margaret"), std::string::npos) << i;
    EXPECT_EQ(results[i].message().find("+4477"), std::string::npos) << i;
    EXPECT_EQ(results[i].message().find("legs"), std::string::npos) << i;
  }
  EXPECT_TRUE(results[7].ok()) << results[7].ToString();
  EXPECT_TRUE(results[8].ok()) << results[8].ToString();

  for (const char* id : {"gone", "a", "b", "c", "d", "e"}) EXPECT_EQ(TurnCount(id), 0u) << id;
  EXPECT_EQ(TurnCount("taken"), 1u);
  EXPECT_EQ(DueKeys(kLater),
            (std::vector<std::string>{"BL-TAKEN@main", "k-ok@main", "k-ok2@main"}));
  EXPECT_EQ(References("north"), (std::vector<std::string>{"BL-OK2", "BL-OK", "BL-TAKEN"}));
}

TEST_P(StoreHandoffTest, FeedbackWritesItsEventWithIt) {
  ASSERT_TRUE(Append(Turn("s", 1, 1000), Session("s", "north", 1000)).ok());
  FeedbackRecord f;
  f.session_id = "s";
  f.seq = 1;
  f.rating = -1;
  f.comment = "not helpful";
  f.created_ms = 1100;
  f.events.push_back(Event("fb-1", "north", 1100));
  ASSERT_TRUE(AddFeedback(f).ok());
  f.seq = 7;  // no such turn: neither the feedback nor its event
  f.events[0].key = "fb-2";
  EXPECT_EQ(AddFeedback(f).code(), Status::Code::kInvalidArgument);
  f.seq = 1;  // the key is taken: refused whole
  f.events[0].key = "fb-1";
  EXPECT_EQ(AddFeedback(f).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(DueKeys(kLater), (std::vector<std::string>{"fb-1@main"}));

  // The event is about the feedback's conversation: deleting it deletes the event.
  ASSERT_TRUE(Delete("s").ok());
  EXPECT_TRUE(DueKeys(kLater).empty());
}

TEST_P(StoreHandoffTest, DueDeliveriesAreTheLongestDueFirstCappedPerEndpointOfAClinic) {
  TurnRecord t = Turn("s", 1, 100);
  t.events.push_back(Event("e300", "north", 300, {"main", "pager"}));
  t.events.push_back(Event("e100", "north", 100, {"main"}));
  t.events.push_back(Event("e200", "north", 200, {"main"}));
  t.events.push_back(Event("s150", "south", 150, {"main"}));  // another clinic's "main"
  t.events.push_back(Event("e900", "north", 900, {"main"}));
  ASSERT_TRUE(Append(t, Session("s", "north", 100)).ok());

  EXPECT_EQ(DueKeys(300), (std::vector<std::string>{"e100@main", "s150@main", "e200@main",
                                                    "e300@main", "e300@pager"}));
  EXPECT_EQ(DueKeys(150), (std::vector<std::string>{"e100@main", "s150@main"}));
  EXPECT_EQ(DueKeys(300, /*limit=*/2), (std::vector<std::string>{"e100@main", "s150@main"}));
  EXPECT_TRUE(DueKeys(300, /*limit=*/0).empty());
  // Two of north's "main": south's "main" and north's "pager" are other endpoints.
  EXPECT_EQ(DueKeys(kLater, 100, /*per_endpoint=*/2),
            (std::vector<std::string>{"e100@main", "s150@main", "e200@main", "e300@pager"}));
  EXPECT_EQ(DueKeys(kLater, /*limit=*/3, /*per_endpoint=*/1),
            (std::vector<std::string>{"e100@main", "s150@main", "e300@pager"}));

  // A retry scheduled later moves back in the order.
  auto due = Due(100);
  ASSERT_TRUE(due.ok() && due.value().size() == 1u);
  DeliveryRecord d = due.value()[0];
  d.attempts = 1;
  d.last_attempt_ms = 100;
  d.next_attempt_ms = 250;
  d.last_error = "HTTP 500";
  ASSERT_TRUE(Update(d).ok());
  EXPECT_EQ(DueKeys(300), (std::vector<std::string>{"s150@main", "e200@main", "e100@main",
                                                    "e300@main", "e300@pager"}));
}

TEST_P(StoreHandoffTest, UpdateDeliveryRetriesThenDeliversOrGivesUp) {
  TurnRecord t = Turn("s", 1, 100);
  t.events.push_back(Event("k", "north", 100, {"main", "pager"}));
  ASSERT_TRUE(Append(t, Session("s", "north", 100)).ok());
  auto due = Due(100);
  ASSERT_TRUE(due.ok() && due.value().size() == 2u);
  DeliveryRecord main = due.value()[0];
  DeliveryRecord pager = due.value()[1];

  main.attempts = 1;
  main.last_attempt_ms = 100;
  main.next_attempt_ms = 1100;
  main.last_error = "timed out";
  ASSERT_TRUE(Update(main).ok());
  EXPECT_EQ(DueKeys(1099), (std::vector<std::string>{"k@pager"}));
  due = Due(1100);
  ASSERT_TRUE(due.ok() && due.value().size() == 2u);
  EXPECT_EQ(due.value()[1].endpoint, "main");
  EXPECT_EQ(due.value()[1].attempts, 1);
  EXPECT_EQ(due.value()[1].last_attempt_ms, 100);
  EXPECT_EQ(due.value()[1].last_error, "timed out");

  pager.status = "delivered";
  pager.attempts = 1;
  pager.last_attempt_ms = 120;
  ASSERT_TRUE(Update(pager).ok());
  main.status = "failed";  // given up
  main.attempts = 30;
  main.last_attempt_ms = 90'000'000;
  main.last_error = "HTTP 503";
  ASSERT_TRUE(Update(main).ok());
  EXPECT_TRUE(DueKeys(kLater).empty());
  const OutboxStats stats = Outbox();
  EXPECT_EQ(stats.pending, 0);
  EXPECT_EQ(stats.failed, 1);
  EXPECT_EQ(stats.oldest_pending_ms, 0);
  auto failed = Failed("north");
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  ASSERT_EQ(failed.value().size(), 1u);
  EXPECT_EQ(failed.value()[0].endpoint, "main");
  EXPECT_EQ(failed.value()[0].status, "failed");
  EXPECT_EQ(failed.value()[0].attempts, 30);
  EXPECT_EQ(failed.value()[0].last_error, "HTTP 503");
  EXPECT_EQ(failed.value()[0].key, "k");

  DeliveryRecord bad = main;
  bad.status = "lost";
  EXPECT_EQ(Update(bad).code(), Status::Code::kInvalidArgument);
  bad.status = "pending";
  bad.attempts = -1;
  EXPECT_EQ(Update(bad).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Outbox().failed, 1) << "a refused update changes nothing";
  DeliveryRecord unknown = main;
  unknown.event_id = 12345;
  EXPECT_TRUE(Update(unknown).ok());
  EXPECT_EQ(Failed("").status().code(), Status::Code::kInvalidArgument);
}

TEST_P(StoreHandoffTest, OutboxCountsPendingAndFailedAndTheOldestPending) {
  OutboxStats empty = Outbox();
  EXPECT_EQ(empty.pending, 0);
  EXPECT_EQ(empty.failed, 0);
  EXPECT_EQ(empty.oldest_pending_ms, 0);

  TurnRecord t = Turn("s", 1, 100);
  t.events.push_back(Event("old", "north", 100, {"main"}));
  t.events.push_back(Event("mid", "south", 200, {"main", "pager"}));
  t.events.push_back(Event("new", "north", 300, {"main"}));
  ASSERT_TRUE(Append(t, Session("s", "north", 100)).ok());
  OutboxStats stats = Outbox();
  EXPECT_EQ(stats.pending, 4);
  EXPECT_EQ(stats.failed, 0);
  EXPECT_EQ(stats.oldest_pending_ms, 100);

  auto due = Due(100);
  ASSERT_TRUE(due.ok() && due.value().size() == 1u);
  DeliveryRecord d = due.value()[0];
  d.status = "failed";
  ASSERT_TRUE(Update(d).ok());
  stats = Outbox();
  EXPECT_EQ(stats.pending, 3);
  EXPECT_EQ(stats.failed, 1);
  EXPECT_EQ(stats.oldest_pending_ms, 200);
  EXPECT_TRUE(Failed("south").value().empty()) << "another clinic's failures";
}

TEST_P(StoreHandoffTest, FailedDeliveriesAreTheClinicsNewestFirst) {
  TurnRecord t = Turn("s", 1, 100);
  t.events.push_back(Event("a", "north", 100, {"main"}));
  t.events.push_back(Event("b", "north", 300, {"main", "pager"}));
  t.events.push_back(Event("c", "north", 200, {"main"}));
  t.events.push_back(Event("z", "south", 400, {"main"}));
  ASSERT_TRUE(Append(t, Session("s", "north", 100)).ok());
  auto due = Due(kLater);
  ASSERT_TRUE(due.ok());
  for (DeliveryRecord d : due.value()) {
    d.status = "failed";
    ASSERT_TRUE(Update(d).ok());
  }
  auto failed = Failed("north");
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  std::vector<std::string> keys;
  for (const DeliveryRecord& d : failed.value()) keys.push_back(d.key + "@" + d.endpoint);
  EXPECT_EQ(keys, (std::vector<std::string>{"b@main", "b@pager", "c@main", "a@main"}));
  auto two = Failed("north", 2);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two.value().size(), 2u);
}

TEST_P(StoreHandoffTest, HandoffsFilterByStatusAndDatesNewestFirstPerClinic) {
  ASSERT_TRUE(AppendRaising("a", "north", 1, 100, "N100").ok());
  ASSERT_TRUE(AppendRaising("a", "north", 2, 300, "N300").ok());
  ASSERT_TRUE(AppendRaising("b", "north", 1, 200, "N200").ok());
  ASSERT_TRUE(AppendRaising("c", "south", 1, 250, "S250").ok());
  // Two at one time: the later id first.
  ASSERT_TRUE(AppendRaising("d", "north", 1, 300, "N300b").ok());

  EXPECT_EQ(References("north"), (std::vector<std::string>{"N300b", "N300", "N200", "N100"}));
  EXPECT_EQ(References("south"), (std::vector<std::string>{"S250"}));
  EXPECT_TRUE(References("east").empty());
  EXPECT_EQ(References("north", "", /*since=*/200),
            (std::vector<std::string>{"N300b", "N300", "N200"}));
  EXPECT_EQ(References("north", "", /*since=*/0, /*until=*/300),
            (std::vector<std::string>{"N200", "N100"}));
  EXPECT_EQ(References("north", "", 150, 300), (std::vector<std::string>{"N200"}));
  EXPECT_EQ(References("north", "", 0, 0, /*limit=*/2),
            (std::vector<std::string>{"N300b", "N300"}));

  auto items = Items(HandoffFilter{"north", "", 200, 250, 10});
  ASSERT_TRUE(items.ok() && items.value().size() == 1u);
  ASSERT_TRUE(SetStatus("north", items.value()[0].id, "acknowledged", "nurse.kim", 400).ok());
  EXPECT_EQ(References("north", "acknowledged"), (std::vector<std::string>{"N200"}));
  EXPECT_EQ(References("north", "new"), (std::vector<std::string>{"N300b", "N300", "N100"}));
  EXPECT_TRUE(References("north", "closed").empty());

  EXPECT_EQ(Items(HandoffFilter{"", "", 0, 0, 10}).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Items(HandoffFilter{"north", "open", 0, 0, 10}).status().code(),
            Status::Code::kInvalidArgument);
}

TEST_P(StoreHandoffTest, SetHandoffStatusRecordsWhoAndWhenAndItsEvent) {
  ASSERT_TRUE(AppendRaising("s", "north", 1, 100, "BL-N").ok());
  ASSERT_TRUE(AppendRaising("t", "south", 1, 100, "BL-S").ok());
  auto north = Items(HandoffFilter{"north", "", 0, 0, 10});
  auto south = Items(HandoffFilter{"south", "", 0, 0, 10});
  ASSERT_TRUE(north.ok() && north.value().size() == 1u);
  ASSERT_TRUE(south.ok() && south.value().size() == 1u);
  const int64_t n_id = north.value()[0].id;
  const int64_t s_id = south.value()[0].id;
  ASSERT_NE(n_id, s_id);

  EventRecord ack = Event("ack-1", "north", 500);
  ack.type = "handoff_status";
  ASSERT_TRUE(SetStatus("north", n_id, "acknowledged", "nurse.kim", 500, {ack}).ok());
  auto after = Items(HandoffFilter{"north", "", 0, 0, 10});
  ASSERT_TRUE(after.ok() && after.value().size() == 1u);
  EXPECT_EQ(after.value()[0].status, "acknowledged");
  EXPECT_EQ(after.value()[0].status_by, "nurse.kim");
  EXPECT_EQ(after.value()[0].status_ms, 500);
  EXPECT_EQ(after.value()[0].phone, "+447700900123") << "the rest of the item stays";
  auto due = Due(500);
  ASSERT_TRUE(due.ok());
  std::vector<std::string> keys;
  for (const DeliveryRecord& d : due.value()) keys.push_back(d.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"BL-N", "BL-S", "ack-1"}));
  EXPECT_EQ(due.value()[2].type, "handoff_status");

  // Another clinic's id, an unknown one: kNotFound, and nothing is written.
  EventRecord other = Event("ack-2", "north", 600);
  EXPECT_EQ(SetStatus("north", s_id, "closed", "nurse.kim", 600, {other}).code(),
            Status::Code::kNotFound);
  EXPECT_EQ(SetStatus("north", 999999, "closed", "nurse.kim", 600, {other}).code(),
            Status::Code::kNotFound);
  EXPECT_EQ(SetStatus("north", n_id, "archived", "nurse.kim", 600, {other}).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(SetStatus("", n_id, "closed", "nurse.kim", 600, {other}).code(),
            Status::Code::kInvalidArgument);
  // Its event's key is taken: the status stays as it was.
  EXPECT_EQ(SetStatus("north", n_id, "closed", "nurse.kim", 600, {ack}).code(),
            Status::Code::kInvalidArgument);
  after = Items(HandoffFilter{"north", "", 0, 0, 10});
  ASSERT_TRUE(after.ok() && after.value().size() == 1u);
  EXPECT_EQ(after.value()[0].status, "acknowledged");
  EXPECT_EQ(after.value()[0].status_ms, 500);
  auto south_after = Items(HandoffFilter{"south", "", 0, 0, 10});
  ASSERT_TRUE(south_after.ok() && south_after.value().size() == 1u);
  EXPECT_EQ(south_after.value()[0].status, "new");
  EXPECT_EQ(Outbox().pending, 3) << "no event of a refused change";

  // The status event is about the item's conversation: it goes with it.
  ASSERT_TRUE(Delete("s").ok());
  keys.clear();
  // Held in a variable: a range-for over a member of a temporary reads freed memory.
  const auto due_after_delete = Due(kLater);
  ASSERT_TRUE(due_after_delete.ok());
  for (const DeliveryRecord& d : due_after_delete.value()) keys.push_back(d.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"BL-S"}));
}

TEST_P(StoreHandoffTest, DeleteSessionDeletesItsItemsAndEventsWithTheirDeliveries) {
  ASSERT_TRUE(AppendRaising("gone", "north", 1, 100, "BL-GONE").ok());
  ASSERT_TRUE(AppendRaising("gone", "north", 2, 200, "BL-GONE-2").ok());
  ASSERT_TRUE(AppendRaising("kept", "north", 1, 150, "BL-KEPT").ok());
  auto due = Due(kLater);
  ASSERT_TRUE(due.ok() && due.value().size() == 3u);
  DeliveryRecord delivered = due.value()[0];  // BL-GONE's, already delivered
  ASSERT_EQ(delivered.key, "BL-GONE");
  delivered.status = "delivered";
  ASSERT_TRUE(Update(delivered).ok());
  const DeliveryRecord undelivered = due.value()[2];
  ASSERT_EQ(undelivered.key, "BL-GONE-2");

  ASSERT_TRUE(Delete("gone").ok());
  EXPECT_EQ(References("north"), (std::vector<std::string>{"BL-KEPT"}));
  EXPECT_EQ(DueKeys(kLater), (std::vector<std::string>{"BL-KEPT@main"}));
  const OutboxStats stats = Outbox();
  EXPECT_EQ(stats.pending, 1);
  EXPECT_EQ(stats.oldest_pending_ms, 150);
  // The sender still held the undelivered one: its outcome changes nothing.
  DeliveryRecord late = undelivered;
  late.status = "delivered";
  EXPECT_TRUE(Update(late).ok());
  EXPECT_EQ(Outbox().pending, 1);
  // The references and keys are free again (nothing of them is kept).
  EXPECT_TRUE(AppendRaising("new", "north", 1, 300, "BL-GONE").ok());
}

TEST_P(StoreHandoffTest, PurgeDeletesAClinicsOldItemsAndEvents) {
  // north/old: idle since 100; its event was created later (its whole session goes anyway).
  TurnRecord t = Turn("old", 1, 100);
  t.events.push_back(Event("old-late", "north", 5000));
  t.handoffs.push_back(Item("OLD", "north", 100));
  ASSERT_TRUE(Append(t, Session("old", "north", 100)).ok());
  // north/live: an old item and event (purged) and new ones (kept), all delivered or not.
  ASSERT_TRUE(AppendRaising("live", "north", 1, 100, "LIVE-1").ok());
  ASSERT_TRUE(AppendRaising("live", "north", 2, 5000, "LIVE-2").ok());
  auto due = Due(100);
  ASSERT_TRUE(due.ok() && due.value().size() == 1u);
  DeliveryRecord d = due.value()[0];
  ASSERT_EQ(d.key, "LIVE-1");
  d.status = "failed";
  ASSERT_TRUE(Update(d).ok());
  // south: another clinic, as old, untouched.
  ASSERT_TRUE(AppendRaising("south", "south", 1, 100, "SOUTH").ok());

  auto purged = Purge("north", 1000);
  ASSERT_TRUE(purged.ok()) << purged.status().ToString();
  EXPECT_EQ(purged.value(), 1);
  EXPECT_EQ(References("north"), (std::vector<std::string>{"LIVE-2"}));
  EXPECT_EQ(References("south"), (std::vector<std::string>{"SOUTH"}));
  EXPECT_EQ(DueKeys(kLater), (std::vector<std::string>{"SOUTH@main", "LIVE-2@main"}));
  EXPECT_TRUE(Failed("north").value().empty()) << "given-up deliveries go with their event";
  EXPECT_EQ(Outbox().failed, 0);
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreHandoffTest, ::testing::Values("memory", "sqlite"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

}  // namespace
}  // namespace backline::store
