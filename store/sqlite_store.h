// SqliteStore: the Store kept in one SQLite file (WAL mode), for a single
// server process.
//
// Threads: one writer thread owns the read-write connection. Writes wait in a
// FIFO queue; the writer takes everything queued (up to max_batch, after
// waiting at most max_batch_delay for a group to gather) and runs it in one
// BEGIN IMMEDIATE transaction, so a single fsync covers the whole group. A
// write that fails (a duplicate seq, a foreign key) is undone alone and only its
// callback gets the error: the group is then rolled back and run again with a
// SAVEPOINT per write (only then: savepoints cost every write a copy of the
// pages it touches). If the transaction itself fails (BEGIN, COMMIT, an I/O
// error), every write of the group gets that error and nothing of the group is
// kept; the store goes on with the next group. Write callbacks run in queue order once the
// group's WAL is on disk (see Durability); then the after-callbacks hook runs once
// (Store::SetAfterCallbacks).
//
// Reads (LoadSession, RecentTurns, Unanswered, the outbox and handoff reads) run
// on a second thread with its own read-only connection, so a resume never waits
// behind a group commit or a lock held by another process. A read sees every
// write whose callback has already run. For ":memory:" (tests) there is only one
// connection, and reads are queued with the writes (in order, outside any write
// transaction).
//
// Checkpoints: a third thread, with a connection of its own, copies the WAL
// into the database file when the WAL is checkpoint_frames long. A copy and its
// fsync take over 10 ms; the writer keeps committing meanwhile, and afterwards
// copies only the frames it added during the copy, so that the WAL then starts
// again from its beginning and stays short.
//
// Durability: once AppendTurn's callback reports OK, the turn survives a crash or
// a power cut (on a disk that honours fsync). The writer commits with
// synchronous=NORMAL, which leaves the WAL's fsync out of COMMIT; a fourth
// thread, the syncer, fsyncs the WAL after each commit and only then runs the
// group's callbacks. So the writer runs the next group during the fsync
// instead of waiting for the disk, and one fsync covers every group committed
// before it began. If that fsync fails, the groups it was for get the error,
// and every later write fails (reads go on): the disk can no longer be trusted
// with the turns, and the server must be restarted. A write is visible to
// reads once committed, which can be before its callback runs. For ":memory:"
// there is no WAL and no syncer: callbacks run on the writer after COMMIT.
//
// Errors: Open returns the failure (cannot open, not WAL-capable, a schema
// newer than this binary). Op failures reach the op's callback as a Status with
// sqlite3_errmsg and the extended code; see store/internal/sqlite.h for the codes.
// Nothing is logged, and no message contains patient text.
//
// Thread safety: every method may be called from any thread, including from a
// store callback (except Flush, see there). Callbacks must not throw.
// Destruction drains the queues: everything queued before the destructor runs
// is committed (or failed) and its callback called. REQUIRES: no call races
// with the destructor.
#ifndef BACKLINE_STORE_SQLITE_STORE_H_
#define BACKLINE_STORE_SQLITE_STORE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/status.h"
#include "store/store.h"

struct sqlite3;  // sqlite3.h
struct sqlite3_file;

namespace backline::store {

namespace sqlite {
class Database;
}  // namespace sqlite

struct SqliteStoreOptions {
  // Most writes committed in one transaction. REQUIRES: > 0.
  size_t max_batch = 256;
  // How long the writer waits, counted from when the oldest queued write was
  // queued, for more writes to share its transaction. Zero commits whatever is
  // queued at once. Writes queued during a commit never wait again.
  // Zero by default: under load the writes that arrive during one commit's
  // fsync form the next group by themselves, so waiting only adds the delay to
  // every reply (a closed-loop client sees it on each turn: bench/README.md).
  std::chrono::microseconds max_batch_delay{0};
  // How long a statement waits for a lock held by another connection.
  int busy_timeout_ms = 5000;
  // Once a commit leaves the WAL this many frames long, the store's
  // checkpointer thread copies its pages into the database file while the
  // writer goes on committing; the writer then copies the few frames it added
  // meanwhile, so that the next commit starts the WAL from its beginning.
  // REQUIRES: > 0.
  int checkpoint_frames = 16000;
  // The VFS of the checkpointer's connection (null: SQLite's default), for
  // tests that hold a checkpoint up.
  const char* checkpoint_vfs = nullptr;
  // The VFS through which the syncer opens the WAL to fsync it (null: SQLite's
  // default), for tests that hold up or fail that fsync.
  const char* sync_vfs = nullptr;
  // The read-write connection hands each transaction's WAL to the OS in a few
  // writes of up to 64 KiB, not two per page (store/internal/sqlite_wal_vfs.h). Off
  // only to compare the two in tests and benchmarks.
  bool batch_wal_writes = true;
};

class SqliteStore : public Store {
 public:
  using Options = SqliteStoreOptions;

  // The layout written by this binary (PRAGMA user_version).
  static constexpr int64_t kSchemaVersion = 6;

  // Opens or creates the database at `path` (":memory:" for a private
  // in-memory one), creates or migrates the schema, and starts the threads.
  static engine::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                             Options options = Options());

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;
  // Commits everything still queued, calls every callback, then stops.
  ~SqliteStore() override;

  // REQUIRES: turn.session_id == session.id. The session's id, clinic and
  // created_ms are those of its first insert; later turns update its state
  // and updated_ms (kept with the turn, and in the session's row at most
  // hourly: see kWriteSession in sqlite_store.cc). Fails with kInvalidArgument
  // for a seq the session already has (the rest of its group still commits).
  void SetAfterCallbacks(std::function<void()> hook) override;
  void AppendTurn(TurnRecord turn, SessionRecord session, Done done) override;
  void AppendTurns(std::vector<TurnWrite> turns) override;
  void LoadSession(
      std::string id, int64_t not_before_ms,
      std::function<void(engine::StatusOr<std::optional<SessionRecord>>)> done) override;
  void RecentTurns(std::string session_id, size_t limit,
                   std::function<void(engine::StatusOr<std::vector<TurnRecord>>)> done) override;
  // Fails with kInvalidArgument when the turn (session_id, seq) is unknown or
  // the rating is not +1 or -1.
  void AddFeedback(FeedbackRecord feedback, Done done) override;
  // OK (and no change) when the session is unknown.
  void DeleteSession(std::string id, int64_t tombstone_until_ms, Done done) override;
  void Purge(std::string clinic, int64_t before_ms,
             std::function<void(engine::StatusOr<int64_t>)> done) override;
  // Entries created at or after `since_ms`, oldest first, at most `limit`.
  void Unanswered(
      int64_t since_ms, size_t limit,
      std::function<void(engine::StatusOr<std::vector<UnansweredRecord>>)> done) override;

  // Revisions of curator edits (schema version 2 added their table; a version 1
  // database is migrated on open). `done` of AddRevision runs after the commit.
  void AddRevision(RevisionRecord revision,
                   std::function<void(engine::StatusOr<int64_t>)> done) override;
  void DeleteRevision(int64_t id, Done done) override;
  void Revisions(size_t limit,
                 std::function<void(engine::StatusOr<std::vector<RevisionRecord>>)> done) override;

  // Handing over to the clinic (schema version 6 added the events, deliveries and handoffs
  // tables; a version 5 database is migrated on open). UpdateDelivery and SetHandoffStatus
  // are writes (group-committed); the others are reads, on the reader thread.
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

  // Blocks until every write queued before the call is committed (or failed)
  // and its callback has returned. The writer stops gathering (no
  // max_batch_delay) while someone waits here. Called from a store callback
  // it returns at once, since waiting there would deadlock.
  void Flush() override;
  size_t QueueDepth() const override;

  // Write transactions committed so far (each holds one group), for tests and
  // /metrics.
  uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  // Checkpoints completed (checkpoint_frames): each a copy by the checkpointer
  // and the writer's catch-up after it. For tests.
  uint64_t checkpoints() const { return checkpoints_.load(std::memory_order_relaxed); }

 private:
  using Clock = std::chrono::steady_clock;

  // One queued operation. `apply` runs on the store's thread with the
  // connection (inside the group's transaction for a write); `finish` then
  // delivers its status (and result) to the caller's callback.
  struct Op {
    bool write = true;
    std::function<engine::Status(sqlite::Database&)> apply;
    std::function<void(engine::Status)> finish;
    Clock::time_point queued;
  };
  // The writes of one batch, handed by the writer to the syncer: each
  // callback with its op's status, in queue order.
  struct Acks {
    std::vector<std::function<void(engine::Status)>> finish;
    std::vector<engine::Status> status;
    bool committed = false;  // a group committed: fsync the WAL first
  };

  SqliteStore(Options options, std::unique_ptr<sqlite::Database> writer_db,
              std::unique_ptr<sqlite::Database> checkpoint_db,
              std::unique_ptr<sqlite::Database> reader_db);

  // Starts the threads (once, from Open).
  engine::Status Start();
  void EnqueueWrite(Op op);
  void EnqueueWrites(std::vector<Op> ops);
  void EnqueueRead(Op op);
  void WriterLoop();
  void ReaderLoop();
  void CheckpointerLoop();
  void SyncerLoop();
  // Syncer thread: fsyncs the WAL (opening it first, once). After a failure it
  // keeps failing with the same status, which every later group also gets.
  engine::Status SyncWal();
  // Writer thread: the ops of a batch still to be acknowledged.
  void HandToSyncer(Acks acks);
  bool HasSyncer() const { return syncer_.joinable(); }
  // Runs a batch taken from the write queue: consecutive writes as one
  // transaction each, reads (":memory:" only) in between.
  void RunBatch(std::vector<Op>& batch);
  void RunGroup(std::vector<Op>::iterator begin, std::vector<Op>::iterator end);
  // Writer thread: appends one turn, and writes its session's row first
  // unless session_rows_ says that row is fresh.
  engine::Status WriteTurn(sqlite::Database& db, const TurnRecord& turn,
                           const SessionRecord& session);
  // sqlite3_wal_hook: notes the WAL's length after each commit.
  static int OnWalCommit(void* store, sqlite3* db, const char* schema, int frames);
  // Writer thread, after a group's callbacks: asks the checkpointer for a copy
  // when the last commit left checkpoint_frames or more, and catches up once
  // that copy is done.
  void CheckpointIfDue();
  // Copies what it can of the WAL into the database file (PASSIVE: it never
  // waits for a reader or the writer). Returns the WAL's length in frames when
  // it began, or -1 if SQLite reports an error.
  static int Checkpoint(sqlite::Database& db);
  bool OnStoreThread() const;

  const Options options_;
  // Set once, before any op (SetAfterCallbacks); then only read.
  std::function<void()> after_callbacks_;
  void AfterCallbacks() const {
    if (after_callbacks_) after_callbacks_();
  }
  const std::unique_ptr<sqlite::Database> writer_db_;
  const std::unique_ptr<sqlite::Database> checkpoint_db_;  // null for ":memory:"
  const std::unique_ptr<sqlite::Database> reader_db_;      // null for ":memory:"

  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // writer: something queued, or stop
  std::condition_variable flush_cv_;  // Flush: a batch finished
  std::deque<Op> queue_;              // guarded by mu_
  size_t queued_writes_ = 0;          // guarded by mu_
  uint64_t next_ticket_ = 0;          // guarded by mu_: ops ever queued
  uint64_t done_ticket_ = 0;          // guarded by mu_: ops finished
  size_t flush_waiters_ = 0;          // guarded by mu_
  bool stopping_ = false;             // guarded by mu_
  bool writer_running_ = true;        // guarded by mu_
  size_t acks_in_flight_ = 0;         // guarded by mu_: with the syncer, callbacks not run

  std::mutex read_mu_;
  std::condition_variable read_cv_;
  std::deque<Op> read_queue_;   // guarded by read_mu_
  bool read_stopping_ = false;  // guarded by read_mu_
  bool reader_running_ = true;  // guarded by read_mu_

  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool copy_wanted_ = false;          // guarded by checkpoint_mu_
  bool checkpoint_stopping_ = false;  // guarded by checkpoint_mu_
  std::atomic<bool> copy_done_{false};

  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::deque<Acks> sync_queue_;  // guarded by sync_mu_
  bool sync_stopping_ = false;   // guarded by sync_mu_
  // Set once by the syncer when an fsync of the WAL fails, after sync_error_.
  std::atomic<bool> sync_failed_{false};
  engine::Status sync_error_;
  // The WAL's name (SQLite's, for its VFS) and, once the syncer opened it, its
  // file (syncer thread only; closed by the destructor).
  const char* wal_name_ = nullptr;
  std::unique_ptr<std::max_align_t[]> wal_file_storage_;
  sqlite3_file* wal_file_ = nullptr;

  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> checkpoints_{0};
  // Writer thread only.
  Acks acks_;             // of the batch being run, when there is a syncer
  int wal_frames_ = 0;    // the WAL's frames after the last commit
  bool copying_ = false;  // a copy was asked for; the writer has not caught up
  // Sessions whose row this writer wrote, with the updated_ms it wrote: while
  // that is fresh a turn need not run the session's upsert, which would find
  // the row and change nothing (kWriteSession). Emptied whenever a group
  // does not commit whole, and by a purge; a session's delete drops its entry.
  std::unordered_map<std::string, int64_t> session_rows_;
  std::thread writer_;
  std::thread checkpointer_;  // not started for ":memory:"
  std::thread syncer_;        // not started for ":memory:"
  std::thread reader_;        // not started for ":memory:"
};

}  // namespace backline::store

#endif  // BACKLINE_STORE_SQLITE_STORE_H_
