// Store: where conversations are kept. SqliteStore (store/sqlite_store.h) is the first
// implementation; a server database (PostgreSQL) would be a second one behind this interface.
//
// Every operation is asynchronous: it is queued and runs on the store's own thread(s), and
// its callback is called from there, never from the caller's thread. A network thread
// therefore never waits on disk; callers post the callback's result back to their own strand.
//
// Writes are group-committed: writes queued together share one transaction. AppendTurn's
// callback runs only once the turn (and the session state written with it) is committed, so
// a reply that is sent from that callback is on record.
//
// Callbacks run in passes (a write group, the reads answered together), and a hook can be
// told when a pass is over (SetAfterCallbacks): a server's network thread is then woken once
// per group commit, not once per turn.
//
// Thread safety: all methods may be called from any thread (SetAfterCallbacks: see there).
#ifndef BACKLINE_STORE_STORE_H_
#define BACKLINE_STORE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/status.h"

namespace backline::store {

// A conversation. `state` is the engine's SessionState serialised as JSON (opaque here).
struct SessionRecord {
  std::string id;
  std::string clinic;
  std::string state;
  int64_t created_ms = 0;  // Unix time, milliseconds
  int64_t updated_ms = 0;
};

// An event for a clinic's webhooks (issue 22), recorded in the same transaction as the turn,
// feedback or status change that caused it, and delivered from the store's outbox: once per
// endpoint in `endpoints`, at least once, until delivered or given up. Each delivery starts
// pending, due at `created_ms`, with no attempt made.
//
// Refused (kInvalidArgument, and with it the turn, feedback or status change it came with):
// an empty `key` or `clinic`, a `key` the store already has, an endpoint named twice.
struct EventRecord {
  int64_t id = 0;      // assigned by the store: 1, 2, 3 ... (never reused)
  std::string key;     // idempotency key: random, unique, the same on every retry
  std::string clinic;  // the clinic whose webhooks receive it
  // The conversation it is about: set by the store to that of the turn, feedback or item
  // it was written with, so that deleting the conversation deletes it (DeleteSession).
  std::string session_id;
  std::string type;  // "escalation", "callback_request", "feedback", "handoff_status"
  std::string body;  // the JSON delivered, exactly (opaque here)
  int64_t created_ms = 0;
  // The endpoints (webhook ids of the clinic file) it goes to, one delivery each.
  std::vector<std::string> endpoints;
};

// One event's delivery to one endpoint.
struct DeliveryRecord {
  int64_t event_id = 0;
  std::string endpoint;
  // The event's fields, for the sender.
  std::string key;
  std::string clinic;
  std::string type;
  std::string body;
  int64_t created_ms = 0;
  std::string status = "pending";  // "pending", "delivered", "failed" (given up)
  int attempts = 0;                // attempts made so far
  int64_t next_attempt_ms = 0;     // when a pending delivery is due
  int64_t last_attempt_ms = 0;     // 0 before the first attempt
  std::string last_error;          // e.g. "HTTP 500", "timed out"; "" when none
};

// The outbox at a glance, for /metrics.
struct OutboxStats {
  int64_t pending = 0;            // deliveries not yet delivered nor given up
  int64_t failed = 0;             // deliveries given up
  int64_t oldest_pending_ms = 0;  // created_ms of the oldest pending one; 0 when none
};

// An item on the clinicians' page: a red-flag escalation or a callback request.
//
// Refused (kInvalidArgument, and with it the turn): an empty `reference` or `clinic`, a
// `reference` the store already has, a `status` other than the four below.
struct HandoffRecord {
  int64_t id = 0;         // assigned by the store (never reused)
  std::string reference;  // what the person was told, e.g. "BL-7K2Q9" (unique)
  std::string clinic;
  std::string session_id;     // set by the store: the turn's
  int64_t seq = 0;            // the turn that raised it (set by the store)
  std::string type;           // "escalation" or "callback"
  std::string urgency;        // "emergency", "urgent" or "none"
  std::string red_flag_kind;  // "E1".."U7" for an escalation, else ""
  // With consent only: the person agreed to share the conversation (and, for a callback,
  // their name and number) with the clinic. Without it the three strings below are "".
  bool consent = false;
  std::string first_name;
  std::string phone;  // E.164, e.g. "+447700900123"
  std::string best_time;
  int64_t created_ms = 0;
  std::string status = "new";  // "new", "acknowledged", "called_back", "closed"
  std::string status_by;       // who set the status ("" while new)
  int64_t status_ms = 0;
};

struct HandoffFilter {
  std::string clinic;    // required (empty: kInvalidArgument)
  std::string status;    // "" for any; else one of HandoffRecord's four (or kInvalidArgument)
  int64_t since_ms = 0;  // created at or after; 0 for no bound
  int64_t until_ms = 0;  // created before; 0 for no bound
  size_t limit = 100;
};

// One turn: what the person typed and what was answered.
struct TurnRecord {
  std::string session_id;
  int64_t seq = 0;  // 1, 2, 3 ... within the session
  std::string user_text;
  std::string reply_text;
  std::string topic;
  std::string urgency;   // "none", "urgent", "emergency"
  std::string kind;      // "answer", "clarify", "fallback", "escalation", ...
  std::string entry_id;  // may be empty
  bool unanswered = false;
  // An unanswered turn is also listed for the curators (Unanswered) unless this is false: the
  // server stops listing one client's questions past a daily quota, so the list cannot be
  // flooded; the turn itself is stored all the same.
  bool list_unanswered = true;
  int64_t received_ms = 0;
  int64_t replied_ms = 0;
  // The rest of the reply as it was sent (quick replies, sources, what to say on the phone,
  // ...): a JSON object, opaque here, so that a history can redraw the reply as it was first
  // shown. "" when the reply had none, and for turns stored before it was kept.
  std::string parts;
  // Written in the same transaction as the turn (issue 22): the webhook events it raised
  // (their ids are assigned) and the clinicians' page item it raised, if any. A turn that is
  // refused writes none of them; one of them refused (see EventRecord, HandoffRecord) refuses
  // the turn.
  std::vector<EventRecord> events;
  std::vector<HandoffRecord> handoffs;
};

struct FeedbackRecord {
  std::string session_id;
  int64_t seq = 0;  // the turn the feedback is about
  int rating = 0;   // +1 helpful, -1 not helpful
  std::string comment;
  int64_t created_ms = 0;
  std::vector<EventRecord> events;  // written with it (a "feedback" webhook event)
};

// An unanswered question (fallback or clarify), for the curators' list.
struct UnansweredRecord {
  std::string session_id;
  int64_t seq = 0;
  std::string text;
  std::string kind;
  int64_t created_ms = 0;
};

// One curator edit of a content file: who, when, what. `before` and `after` are the whole
// file's bytes. An undo is a revision of its own whose `undoes` is the id it reverted.
struct RevisionRecord {
  int64_t id = 0;  // assigned by AddRevision: 1, 2, 3 ...
  std::string who;
  int64_t at_ms = 0;
  std::string summary;  // one line, e.g. "add paraphrase to sleep-positions-pillows"
  std::string file;     // relative to the content root, e.g. "knowledge/faq/sleep.json"
  std::string before;   // empty when the edit created the file
  std::string after;
  int64_t undoes = 0;  // 0, or the revision this one undid
};

class Store {
 public:
  using Done = std::function<void(engine::Status)>;
  // One turn for AppendTurns.
  struct TurnWrite {
    TurnRecord turn;
    SessionRecord session;
    Done done;
  };

  virtual ~Store() = default;

  // Called after each pass of callbacks: once the store has called the callbacks of
  // everything it finished in one go (a write group after its COMMIT, the reads answered
  // together, or ops failed because the store is closing), on the thread that called them.
  // A server's callbacks only leave their work for its network threads, and this hook wakes
  // those threads once: 50 turns committed together then cost one wake-up, not 50.
  // REQUIRES: set before the first operation is queued, at most once. Must not throw.
  virtual void SetAfterCallbacks(std::function<void()> hook) = 0;

  // Records the turn and the session's new state (inserting the session if it is new) in
  // one transaction. An unanswered turn is also listed for curators. A turn of a session that
  // was deleted (see DeleteSession) is refused with kNotFound and writes nothing.
  virtual void AppendTurn(TurnRecord turn, SessionRecord session, Done done) = 0;
  // AppendTurn for each of `turns`, in order, queued at once: one wake-up of the store's
  // thread for all of them. Each turn keeps its own outcome and callback.
  virtual void AppendTurns(std::vector<TurnWrite> turns) = 0;

  // The session, or nullopt when unknown or expired (updated before `not_before_ms`).
  virtual void LoadSession(
      std::string id, int64_t not_before_ms,
      std::function<void(engine::StatusOr<std::optional<SessionRecord>>)> done) = 0;

  // The last `limit` turns of a session, oldest first, each with its parts.
  virtual void RecentTurns(std::string session_id, size_t limit,
                           std::function<void(engine::StatusOr<std::vector<TurnRecord>>)> done) = 0;

  virtual void AddFeedback(FeedbackRecord feedback, Done done) = 0;

  // Deletes a session with all its turns, feedback, unanswered entries, handoff items (and
  // with them any phone number) and events with their deliveries (so an undelivered one is
  // never sent: a later UpdateDelivery of it is OK and changes nothing), and keeps a
  // tombstone of its id (its SHA-256, never the id itself) until `tombstone_until_ms`: until
  // then every turn of that id is refused (kNotFound, see AppendTurn), so the session cannot
  // come back, whichever connection or process still holds its id. Purge drops tombstones
  // that ended before its `before_ms`.
  virtual void DeleteSession(std::string id, int64_t tombstone_until_ms, Done done) = 0;

  // Deletes turns, feedback, unanswered entries, handoff items and events (with their
  // deliveries, whatever their status) created before `before_ms`, and sessions not updated
  // since then with all they hold (as DeleteSession: their handoff items and events too), for
  // one clinic (retention; items and events by their own `clinic`); and the tombstones of
  // deleted sessions
  // (whatever their clinic) that ended before `before_ms`. `done` gets the number of sessions
  // deleted (an OK Status cannot carry a message, so the count is the StatusOr's value).
  virtual void Purge(std::string clinic, int64_t before_ms,
                     std::function<void(engine::StatusOr<int64_t>)> done) = 0;

  virtual void Unanswered(
      int64_t since_ms, size_t limit,
      std::function<void(engine::StatusOr<std::vector<UnansweredRecord>>)> done) = 0;

  // Records a revision; `done` gets its new id (the record's `id` is ignored).
  virtual void AddRevision(RevisionRecord revision,
                           std::function<void(engine::StatusOr<int64_t>)> done) = 0;

  // Deletes one revision (an edit rolled back because its reload failed). Unknown: OK.
  virtual void DeleteRevision(int64_t id, Done done) = 0;

  // The last `limit` revisions, newest first.
  virtual void Revisions(
      size_t limit, std::function<void(engine::StatusOr<std::vector<RevisionRecord>>)> done) = 0;

  // --- Handing over to the clinic (issue 22) ---

  // Deliveries due: pending, next_attempt_ms <= now_ms, the longest due first (by
  // next_attempt_ms, then event id, then endpoint), at most `limit`, and at most
  // `per_endpoint` of any one endpoint of a clinic (endpoint ids are per clinic file), so a
  // clinic's dead receiver cannot fill a batch.
  virtual void DueDeliveries(
      int64_t now_ms, size_t limit, size_t per_endpoint,
      std::function<void(engine::StatusOr<std::vector<DeliveryRecord>>)> done) = 0;

  // Records an attempt's outcome: `d.status`, `d.attempts`, `d.next_attempt_ms`,
  // `d.last_attempt_ms` and `d.last_error` replace the stored ones for (event_id, endpoint).
  // A delivery whose event was deleted meanwhile (its conversation deleted): OK, nothing.
  // A status other than "pending", "delivered", "failed", or attempts < 0: kInvalidArgument.
  virtual void UpdateDelivery(DeliveryRecord d, Done done) = 0;

  virtual void Outbox(std::function<void(engine::StatusOr<OutboxStats>)> done) = 0;

  // The deliveries of one clinic given up on (for the clinicians' page), newest event first
  // (by created_ms, then event id), at most `limit`. Empty clinic: kInvalidArgument.
  virtual void FailedDeliveries(
      std::string clinic, size_t limit,
      std::function<void(engine::StatusOr<std::vector<DeliveryRecord>>)> done) = 0;

  // The clinicians' page items matching `filter`, newest first (by created_ms, then id), at most
  // `filter.limit`.
  virtual void Handoffs(HandoffFilter filter,
                        std::function<void(engine::StatusOr<std::vector<HandoffRecord>>)> done) = 0;

  // Sets an item's status (who, when) and records `events` (a "handoff_status" event) in the
  // same transaction (their session_id is the item's). Unknown id, or an id of another clinic:
  // kNotFound, and nothing is written. Empty clinic, an unknown status, or a bad event (see
  // EventRecord): kInvalidArgument.
  virtual void SetHandoffStatus(std::string clinic, int64_t id, std::string status, std::string who,
                                int64_t at_ms, std::vector<EventRecord> events, Done done) = 0;

  // Blocks until everything queued so far is committed and its callback has run (shutdown,
  // tests).
  virtual void Flush() = 0;

  // Writes waiting to be committed (for /metrics).
  virtual size_t QueueDepth() const = 0;
};

}  // namespace backline::store

#endif  // BACKLINE_STORE_STORE_H_
