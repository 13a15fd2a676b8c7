#include "store/memory_store.h"

#include <algorithm>
#include <system_error>
#include <tuple>
#include <utility>

#include "store/internal/handoff_checks.h"
#include "store/internal/session_hash.h"

namespace backline::store {

using engine::Status;
using engine::StatusOr;

StatusOr<std::unique_ptr<MemoryStore>> MemoryStore::Open() {
  std::unique_ptr<MemoryStore> store(new MemoryStore());
  // std::thread reports failure by throwing; it must not cross our API.
  try {
    store->thread_ = std::thread(&MemoryStore::Loop, store.get());
  } catch (const std::system_error& e) {
    return Status::Unavailable(std::string("cannot start store thread: ") + e.what());
  }
  return store;
}

MemoryStore::~MemoryStore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MemoryStore::Enqueue(bool write, std::function<void()> run) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (write) ++queued_writes_;
    queue_.push_back(Op{write, std::move(run)});
    if (queue_.size() > 1) return;
  }
  work_cv_.notify_one();
}

void MemoryStore::SetAfterCallbacks(std::function<void()> hook) {
  after_callbacks_ = std::move(hook);
}

void MemoryStore::Loop() {
  std::deque<Op> ops;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping, and everything is done
    ops.swap(queue_);           // everything queued: one pass, one after-callbacks call
    busy_ = true;
    lock.unlock();
    size_t writes = 0;
    for (Op& op : ops) {
      if (op.write) ++writes;
      op.run();
    }
    ops.clear();  // drop what the callbacks hold outside the lock
    if (after_callbacks_) after_callbacks_();
    lock.lock();
    busy_ = false;
    queued_writes_ -= writes;
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

void MemoryStore::Flush() {
  if (std::this_thread::get_id() == thread_.get_id()) return;  // would wait for itself
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

size_t MemoryStore::QueueDepth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_writes_;
}

Status MemoryStore::ApplyAppendTurn(TurnRecord turn, SessionRecord session) {
  if (turn.session_id != session.id) {
    return Status::InvalidArgument("append turn: turn.session_id differs from session.id");
  }
  if (turn.seq <= 0) return Status::InvalidArgument("append turn: seq must be > 0");
  // As SqliteStore: the records' own checks before the tombstone, the store's after the turn.
  Status checked = internal::CheckEvents("append turn", turn.events);
  if (checked.ok()) checked = internal::CheckHandoffs("append turn", turn.handoffs);
  if (!checked.ok()) return checked;
  if (!tombstones_.empty()) {
    auto dead = tombstones_.find(internal::SessionIdHash(session.id));
    if (dead != tombstones_.end() && dead->second >= session.updated_ms) {
      return Status::NotFound("append turn: the session was deleted");
    }
  }
  auto [it, inserted] = sessions_.try_emplace(session.id);
  SessionData& data = it->second;
  if (data.turns.count(turn.seq)) {
    // As in SqliteStore, the failed write leaves nothing behind (not even a new session).
    if (inserted) sessions_.erase(it);
    return Status::InvalidArgument("append turn: session " + session.id.substr(0, 8) +
                                   " already has turn " + std::to_string(turn.seq));
  }
  checked = CheckNewKeys("append turn", turn.events);
  if (checked.ok()) {
    for (const HandoffRecord& h : turn.handoffs) {
      if (references_.count(h.reference)) {
        checked = Status::InvalidArgument("append turn: a handoff item's reference is taken");
        break;
      }
    }
  }
  if (!checked.ok()) {
    if (inserted) sessions_.erase(it);
    return checked;
  }
  if (inserted) {
    data.record = std::move(session);
  } else {
    // The id, clinic and created_ms are those of the first insert.
    data.record.state = std::move(session.state);
    data.record.updated_ms = session.updated_ms;
  }
  if (turn.unanswered && turn.list_unanswered) {
    data.unanswered[turn.seq] =
        UnansweredRecord{turn.session_id, turn.seq, turn.user_text, turn.kind, turn.received_ms};
  }
  AddEvents(std::move(turn.events), turn.session_id);
  turn.events.clear();
  for (HandoffRecord& h : turn.handoffs) {
    h.id = next_handoff_++;
    h.session_id = turn.session_id;
    h.seq = turn.seq;
    references_.insert(h.reference);
    const int64_t id = h.id;
    handoffs_.emplace(id, std::move(h));
  }
  turn.handoffs.clear();  // kept apart, as SqliteStore does: RecentTurns returns none
  const int64_t seq = turn.seq;
  data.turns.emplace(seq, std::move(turn));
  return Status::Ok();
}

Status MemoryStore::CheckNewKeys(std::string_view what,
                                 const std::vector<EventRecord>& events) const {
  for (const EventRecord& e : events) {
    if (event_keys_.count(e.key)) {
      return Status::InvalidArgument(std::string(what) + ": an event's key is taken");
    }
  }
  return Status::Ok();
}

void MemoryStore::AddEvents(std::vector<EventRecord> events, const std::string& session_id) {
  for (EventRecord& e : events) {
    e.id = next_event_++;
    e.session_id = session_id;
    EventData data;
    for (const std::string& endpoint : e.endpoints) {
      DeliveryRecord d;
      d.event_id = e.id;
      d.endpoint = endpoint;
      d.key = e.key;
      d.clinic = e.clinic;
      d.type = e.type;
      d.body = e.body;
      d.created_ms = e.created_ms;
      d.next_attempt_ms = e.created_ms;  // pending, due at once
      data.deliveries.emplace(endpoint, std::move(d));
    }
    e.endpoints.clear();
    event_keys_.insert(e.key);
    const int64_t id = e.id;
    data.event = std::move(e);
    events_.emplace(id, std::move(data));
  }
}

void MemoryStore::DeleteHandoffData(const std::string& session_id) {
  std::erase_if(events_, [&](const auto& e) {
    if (e.second.event.session_id != session_id) return false;
    event_keys_.erase(e.second.event.key);
    return true;
  });
  std::erase_if(handoffs_, [&](const auto& h) {
    if (h.second.session_id != session_id) return false;
    references_.erase(h.second.reference);
    return true;
  });
}

void MemoryStore::AppendTurn(TurnRecord turn, SessionRecord session, Done done) {
  Enqueue(true, [this, turn = std::move(turn), session = std::move(session),
                 done = std::move(done)]() mutable {
    done(ApplyAppendTurn(std::move(turn), std::move(session)));
  });
}

void MemoryStore::AppendTurns(std::vector<TurnWrite> turns) {
  if (turns.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const bool was_empty = queue_.empty();
    for (TurnWrite& w : turns) {
      ++queued_writes_;
      queue_.push_back(Op{true, [this, w = std::move(w)]() mutable {
                            w.done(ApplyAppendTurn(std::move(w.turn), std::move(w.session)));
                          }});
    }
    if (!was_empty) return;  // the thread is awake already
  }
  work_cv_.notify_one();
}

void MemoryStore::LoadSession(std::string id, int64_t not_before_ms,
                              std::function<void(StatusOr<std::optional<SessionRecord>>)> done) {
  Enqueue(false, [this, id = std::move(id), not_before_ms, done = std::move(done)]() {
    std::optional<SessionRecord> out;
    auto it = sessions_.find(id);
    if (it != sessions_.end() && it->second.record.updated_ms >= not_before_ms) {
      out = it->second.record;
    }
    done(std::move(out));
  });
}

void MemoryStore::RecentTurns(std::string session_id, size_t limit,
                              std::function<void(StatusOr<std::vector<TurnRecord>>)> done) {
  Enqueue(false, [this, session_id = std::move(session_id), limit, done = std::move(done)]() {
    std::vector<TurnRecord> out;
    auto it = sessions_.find(session_id);
    if (it != sessions_.end()) {
      const auto& turns = it->second.turns;
      auto from = turns.end();
      for (size_t n = 0; n < limit && from != turns.begin(); ++n) --from;
      for (auto t = from; t != turns.end(); ++t) out.push_back(t->second);  // oldest first
    }
    done(std::move(out));
  });
}

void MemoryStore::AddFeedback(FeedbackRecord feedback, Done done) {
  Enqueue(true, [this, fb = std::move(feedback), done = std::move(done)]() mutable {
    if (fb.rating != 1 && fb.rating != -1) {
      return done(Status::InvalidArgument("add feedback: rating must be +1 or -1"));
    }
    Status checked = internal::CheckEvents("add feedback", fb.events);
    if (!checked.ok()) return done(std::move(checked));
    auto it = sessions_.find(fb.session_id);
    if (it == sessions_.end() || !it->second.turns.count(fb.seq)) {
      return done(Status::InvalidArgument("add feedback: no such turn"));
    }
    checked = CheckNewKeys("add feedback", fb.events);
    if (!checked.ok()) return done(std::move(checked));
    AddEvents(std::move(fb.events), fb.session_id);
    fb.events.clear();
    const int64_t seq = fb.seq;
    it->second.feedback.emplace(seq, std::move(fb));
    done(Status::Ok());
  });
}

void MemoryStore::DeleteSession(std::string id, int64_t tombstone_until_ms, Done done) {
  Enqueue(true, [this, id = std::move(id), tombstone_until_ms, done = std::move(done)]() {
    sessions_.erase(id);
    DeleteHandoffData(id);
    int64_t& until = tombstones_[internal::SessionIdHash(id)];
    until = std::max(until, tombstone_until_ms);
    done(Status::Ok());
  });
}

void MemoryStore::Purge(std::string clinic, int64_t before_ms,
                        std::function<void(StatusOr<int64_t>)> done) {
  Enqueue(true, [this, clinic = std::move(clinic), before_ms, done = std::move(done)]() {
    int64_t deleted = 0;
    std::erase_if(tombstones_, [&](const auto& t) { return t.second < before_ms; });
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      SessionData& data = it->second;
      if (data.record.clinic != clinic) {
        ++it;
        continue;
      }
      if (data.record.updated_ms < before_ms) {
        DeleteHandoffData(it->first);
        it = sessions_.erase(it);
        ++deleted;
        continue;
      }
      // Old turns go with the feedback and unanswered entry about them.
      for (auto t = data.turns.begin(); t != data.turns.end();) {
        if (t->second.received_ms < before_ms) {
          data.feedback.erase(t->first);
          data.unanswered.erase(t->first);
          t = data.turns.erase(t);
        } else {
          ++t;
        }
      }
      std::erase_if(data.feedback, [&](const auto& f) { return f.second.created_ms < before_ms; });
      std::erase_if(data.unanswered,
                    [&](const auto& u) { return u.second.created_ms < before_ms; });
      ++it;
    }
    std::erase_if(events_, [&](const auto& e) {
      const EventRecord& event = e.second.event;
      if (event.clinic != clinic || event.created_ms >= before_ms) return false;
      event_keys_.erase(event.key);
      return true;
    });
    std::erase_if(handoffs_, [&](const auto& h) {
      if (h.second.clinic != clinic || h.second.created_ms >= before_ms) return false;
      references_.erase(h.second.reference);
      return true;
    });
    done(deleted);
  });
}

void MemoryStore::Unanswered(int64_t since_ms, size_t limit,
                             std::function<void(StatusOr<std::vector<UnansweredRecord>>)> done) {
  Enqueue(false, [this, since_ms, limit, done = std::move(done)]() {
    std::vector<UnansweredRecord> out;
    for (const auto& [id, data] : sessions_) {
      for (const auto& [seq, u] : data.unanswered) {
        if (u.created_ms >= since_ms) out.push_back(u);
      }
    }
    // Oldest first, as SqliteStore orders them.
    std::sort(out.begin(), out.end(), [](const UnansweredRecord& a, const UnansweredRecord& b) {
      return std::tie(a.created_ms, a.session_id, a.seq) <
             std::tie(b.created_ms, b.session_id, b.seq);
    });
    if (out.size() > limit) out.resize(limit);
    done(std::move(out));
  });
}

void MemoryStore::AddRevision(RevisionRecord revision,
                              std::function<void(StatusOr<int64_t>)> done) {
  Enqueue(true, [this, revision = std::move(revision), done = std::move(done)]() mutable {
    // Ids are never reused, as with SQLite's AUTOINCREMENT.
    revision.id = next_revision_++;
    const int64_t id = revision.id;
    revisions_[id] = std::move(revision);
    done(id);
  });
}

void MemoryStore::DeleteRevision(int64_t id, Done done) {
  Enqueue(true, [this, id, done = std::move(done)]() {
    revisions_.erase(id);
    done(Status::Ok());
  });
}

void MemoryStore::Revisions(size_t limit,
                            std::function<void(StatusOr<std::vector<RevisionRecord>>)> done) {
  Enqueue(false, [this, limit, done = std::move(done)]() {
    std::vector<RevisionRecord> out;
    for (auto it = revisions_.rbegin(); it != revisions_.rend() && out.size() < limit; ++it) {
      out.push_back(it->second);
    }
    done(std::move(out));
  });
}

void MemoryStore::DueDeliveries(int64_t now_ms, size_t limit, size_t per_endpoint,
                                std::function<void(StatusOr<std::vector<DeliveryRecord>>)> done) {
  Enqueue(false, [this, now_ms, limit, per_endpoint, done = std::move(done)]() {
    std::vector<const DeliveryRecord*> due;
    for (const auto& [id, data] : events_) {
      for (const auto& [endpoint, d] : data.deliveries) {
        if (d.status == "pending" && d.next_attempt_ms <= now_ms) due.push_back(&d);
      }
    }
    // As SqliteStore's index orders them.
    std::sort(due.begin(), due.end(), [](const DeliveryRecord* a, const DeliveryRecord* b) {
      return std::tie(a->next_attempt_ms, a->event_id, a->endpoint) <
             std::tie(b->next_attempt_ms, b->event_id, b->endpoint);
    });
    std::vector<DeliveryRecord> out;
    std::map<std::pair<std::string, std::string>, size_t> taken;  // by (clinic, endpoint)
    for (const DeliveryRecord* d : due) {
      if (out.size() >= limit) break;
      size_t& n = taken[{d->clinic, d->endpoint}];
      if (n >= per_endpoint) continue;
      ++n;
      out.push_back(*d);
    }
    done(std::move(out));
  });
}

void MemoryStore::UpdateDelivery(DeliveryRecord d, Done done) {
  Enqueue(true, [this, d = std::move(d), done = std::move(done)]() mutable {
    if (!internal::IsDeliveryStatus(d.status)) {
      return done(Status::InvalidArgument("update delivery: unknown status"));
    }
    if (d.attempts < 0) return done(Status::InvalidArgument("update delivery: attempts < 0"));
    auto event = events_.find(d.event_id);
    if (event == events_.end()) return done(Status::Ok());  // deleted with its conversation
    auto it = event->second.deliveries.find(d.endpoint);
    if (it == event->second.deliveries.end()) return done(Status::Ok());
    DeliveryRecord& stored = it->second;
    stored.status = std::move(d.status);
    stored.attempts = d.attempts;
    stored.next_attempt_ms = d.next_attempt_ms;
    stored.last_attempt_ms = d.last_attempt_ms;
    stored.last_error = std::move(d.last_error);
    done(Status::Ok());
  });
}

void MemoryStore::Outbox(std::function<void(StatusOr<OutboxStats>)> done) {
  Enqueue(false, [this, done = std::move(done)]() {
    OutboxStats stats;
    for (const auto& [id, data] : events_) {
      for (const auto& [endpoint, d] : data.deliveries) {
        if (d.status == "pending") {
          if (stats.pending == 0 || d.created_ms < stats.oldest_pending_ms) {
            stats.oldest_pending_ms = d.created_ms;
          }
          ++stats.pending;
        } else if (d.status == "failed") {
          ++stats.failed;
        }
      }
    }
    done(stats);
  });
}

void MemoryStore::FailedDeliveries(
    std::string clinic, size_t limit,
    std::function<void(StatusOr<std::vector<DeliveryRecord>>)> done) {
  Enqueue(false, [this, clinic = std::move(clinic), limit, done = std::move(done)]() {
    if (clinic.empty()) return done(Status::InvalidArgument("failed deliveries: no clinic"));
    std::vector<DeliveryRecord> out;
    for (const auto& [id, data] : events_) {
      if (data.event.clinic != clinic) continue;
      for (const auto& [endpoint, d] : data.deliveries) {
        if (d.status == "failed") out.push_back(d);
      }
    }
    std::sort(out.begin(), out.end(), [](const DeliveryRecord& a, const DeliveryRecord& b) {
      return std::tie(b.created_ms, b.event_id, a.endpoint) <
             std::tie(a.created_ms, a.event_id, b.endpoint);
    });
    if (out.size() > limit) out.resize(limit);
    done(std::move(out));
  });
}

void MemoryStore::Handoffs(HandoffFilter filter,
                           std::function<void(StatusOr<std::vector<HandoffRecord>>)> done) {
  Enqueue(false, [this, f = std::move(filter), done = std::move(done)]() {
    if (f.clinic.empty()) return done(Status::InvalidArgument("handoffs: no clinic"));
    if (!f.status.empty() && !internal::IsHandoffStatus(f.status)) {
      return done(Status::InvalidArgument("handoffs: unknown status"));
    }
    std::vector<HandoffRecord> out;
    // Newest first: by created_ms, then id, both descending.
    for (auto it = handoffs_.rbegin(); it != handoffs_.rend(); ++it) {
      const HandoffRecord& h = it->second;
      if (h.clinic != f.clinic || (!f.status.empty() && h.status != f.status) ||
          h.created_ms < f.since_ms || (f.until_ms != 0 && h.created_ms >= f.until_ms)) {
        continue;
      }
      out.push_back(h);
    }
    std::stable_sort(out.begin(), out.end(), [](const HandoffRecord& a, const HandoffRecord& b) {
      return a.created_ms > b.created_ms;
    });
    if (out.size() > f.limit) out.resize(f.limit);
    done(std::move(out));
  });
}

void MemoryStore::SetHandoffStatus(std::string clinic, int64_t id, std::string status,
                                   std::string who, int64_t at_ms, std::vector<EventRecord> events,
                                   Done done) {
  Enqueue(true,
          [this, clinic = std::move(clinic), id, status = std::move(status), who = std::move(who),
           at_ms, events = std::move(events), done = std::move(done)]() mutable {
            if (clinic.empty())
              return done(Status::InvalidArgument("set handoff status: no clinic"));
            if (!internal::IsHandoffStatus(status)) {
              return done(Status::InvalidArgument("set handoff status: unknown status"));
            }
            Status checked = internal::CheckEvents("set handoff status", events);
            if (!checked.ok()) return done(std::move(checked));
            auto it = handoffs_.find(id);
            if (it == handoffs_.end() || it->second.clinic != clinic) {
              return done(Status::NotFound("set handoff status: no such item"));
            }
            checked = CheckNewKeys("set handoff status", events);
            if (!checked.ok()) return done(std::move(checked));
            HandoffRecord& h = it->second;
            h.status = std::move(status);
            h.status_by = std::move(who);
            h.status_ms = at_ms;
            AddEvents(std::move(events), h.session_id);
            done(Status::Ok());
          });
}

}  // namespace backline::store
