// MemoryStore: the Store kept in this process's memory, for benchmarks ("store on vs
// in-memory", bench/run) and for trying the server without a database file
// (`backline serve --store memory`). Nothing survives a restart.
//
// It keeps the Store contract (store/store.h) the way SqliteStore does: every operation is
// queued and runs on the store's own thread, in queue order, and its callback is called from
// there, never from the caller's thread. The thread takes everything queued at once, and
// runs the after-callbacks hook (Store::SetAfterCallbacks) when it is through. Errors match
// SqliteStore's: kInvalidArgument for a turn whose seq its session already has, or whose
// session_id differs from the session's id;
// for feedback on an unknown turn or with a rating other than +1/-1; kNotFound for a turn of
// a deleted session while its tombstone lasts; and for the handoff records (events, items,
// deliveries, statuses) the checks of store/internal/handoff_checks.h, in the same order as
// SqliteStore makes them. Deleting a session, or purging it, deletes its turns, feedback,
// unanswered entries, handoff items and events (with their deliveries); deleting a turn
// (purge) deletes the feedback and unanswered entry that refer to it.
//
// Thread safety: every method may be called from any thread, including from a store callback
// (Flush then returns at once). Destruction runs everything queued and calls every callback.
#ifndef BACKLINE_STORE_MEMORY_STORE_H_
#define BACKLINE_STORE_MEMORY_STORE_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/status.h"
#include "store/store.h"

namespace backline::store {

class MemoryStore : public Store {
 public:
  // Starts the store's thread; fails (kUnavailable) only when no thread can be started.
  static engine::StatusOr<std::unique_ptr<MemoryStore>> Open();

  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;
  ~MemoryStore() override;

  void SetAfterCallbacks(std::function<void()> hook) override;
  void AppendTurn(TurnRecord turn, SessionRecord session, Done done) override;
  void AppendTurns(std::vector<TurnWrite> turns) override;
  void LoadSession(
      std::string id, int64_t not_before_ms,
      std::function<void(engine::StatusOr<std::optional<SessionRecord>>)> done) override;
  void RecentTurns(std::string session_id, size_t limit,
                   std::function<void(engine::StatusOr<std::vector<TurnRecord>>)> done) override;
  void AddFeedback(FeedbackRecord feedback, Done done) override;
  void DeleteSession(std::string id, int64_t tombstone_until_ms, Done done) override;
  void Purge(std::string clinic, int64_t before_ms,
             std::function<void(engine::StatusOr<int64_t>)> done) override;
  void Unanswered(
      int64_t since_ms, size_t limit,
      std::function<void(engine::StatusOr<std::vector<UnansweredRecord>>)> done) override;
  void AddRevision(RevisionRecord revision,
                   std::function<void(engine::StatusOr<int64_t>)> done) override;
  void DeleteRevision(int64_t id, Done done) override;
  void Revisions(size_t limit,
                 std::function<void(engine::StatusOr<std::vector<RevisionRecord>>)> done) override;
  void DueDeliveries(
      int64_t now_ms, size_t limit, size_t per_endpoint,
      std::function<void(engine::StatusOr<std::vector<DeliveryRecord>>)> done) override;
  void UpdateDelivery(DeliveryRecord d, Done done) override;
  void Outbox(std::function<void(engine::StatusOr<OutboxStats>)> done) override;
  void FailedDeliveries(
      std::string clinic, size_t limit,
      std::function<void(engine::StatusOr<std::vector<DeliveryRecord>>)> done) override;
  void Handoffs(HandoffFilter filter,
                std::function<void(engine::StatusOr<std::vector<HandoffRecord>>)> done) override;
  void SetHandoffStatus(std::string clinic, int64_t id, std::string status, std::string who,
                        int64_t at_ms, std::vector<EventRecord> events, Done done) override;
  void Flush() override;
  size_t QueueDepth() const override;

 private:
  struct SessionData {
    SessionRecord record;
    std::map<int64_t, TurnRecord> turns;              // by seq
    std::multimap<int64_t, FeedbackRecord> feedback;  // by seq
    std::map<int64_t, UnansweredRecord> unanswered;   // by seq
  };
  // An event and its deliveries (the event's fields copied in, by endpoint).
  struct EventData {
    EventRecord event;  // without its endpoints
    std::map<std::string, DeliveryRecord> deliveries;
  };
  struct Op {
    bool write = true;
    std::function<void()> run;  // applies the op and calls its callback (store thread)
  };

  MemoryStore() = default;
  void Enqueue(bool write, std::function<void()> run);
  void Loop();
  engine::Status ApplyAppendTurn(TurnRecord turn, SessionRecord session);
  // kInvalidArgument if a key of `events` is the store's already.
  engine::Status CheckNewKeys(std::string_view what, const std::vector<EventRecord>& events) const;
  // Stores `events` as being about `session_id`. REQUIRES: checked (CheckEvents, CheckNewKeys).
  void AddEvents(std::vector<EventRecord> events, const std::string& session_id);
  // Deletes the handoff items and events (with their deliveries) of `session_id`.
  void DeleteHandoffData(const std::string& session_id);

  std::function<void()> after_callbacks_;  // set once, before any op (SetAfterCallbacks)
  // Touched only by the store thread.
  std::unordered_map<std::string, SessionData> sessions_;
  // Deleted sessions: the SHA-256 of the id, and until when its turns are refused.
  std::unordered_map<std::string, int64_t> tombstones_;
  std::map<int64_t, RevisionRecord> revisions_;  // by id
  int64_t next_revision_ = 1;
  std::map<int64_t, EventData> events_;         // by id
  std::unordered_set<std::string> event_keys_;  // the keys of events_
  int64_t next_event_ = 1;
  std::map<int64_t, HandoffRecord> handoffs_;   // by id
  std::unordered_set<std::string> references_;  // the references of handoffs_
  int64_t next_handoff_ = 1;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable idle_cv_;
  std::deque<Op> queue_;      // guarded by mu_
  size_t queued_writes_ = 0;  // guarded by mu_
  bool busy_ = false;         // guarded by mu_: the thread is running an op
  bool stopping_ = false;     // guarded by mu_
  std::thread thread_;
};

}  // namespace backline::store

#endif  // BACKLINE_STORE_MEMORY_STORE_H_
