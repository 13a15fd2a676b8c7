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
};

struct FeedbackRecord {
  std::string session_id;
  int64_t seq = 0;  // the turn the feedback is about
  int rating = 0;   // +1 helpful, -1 not helpful
  std::string comment;
  int64_t created_ms = 0;
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

  // Deletes a session with all its turns, feedback and unanswered entries, and keeps a
  // tombstone of its id (its SHA-256, never the id itself) until `tombstone_until_ms`: until
  // then every turn of that id is refused (kNotFound, see AppendTurn), so the session cannot
  // come back, whichever connection or process still holds its id. Purge drops tombstones
  // that ended before its `before_ms`.
  virtual void DeleteSession(std::string id, int64_t tombstone_until_ms, Done done) = 0;

  // Deletes turns, feedback and unanswered entries created before `before_ms`, and sessions
  // not updated since then, for one clinic (retention); and the tombstones of deleted sessions
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

  // Blocks until everything queued so far is committed and its callback has run (shutdown,
  // tests).
  virtual void Flush() = 0;

  // Writes waiting to be committed (for /metrics).
  virtual size_t QueueDepth() const = 0;
};

}  // namespace backline::store

#endif  // BACKLINE_STORE_STORE_H_
