#include "store/sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string_view>
#include <system_error>
#include <utility>

#include <sqlite3.h>

#include "store/internal/handoff_checks.h"
#include "store/internal/session_hash.h"
#include "store/internal/sqlite.h"
#include "store/internal/sqlite_wal_vfs.h"

namespace backline::store {
namespace {

using engine::Status;
using engine::StatusOr;
using sqlite::Database;
using sqlite::Statement;
using sqlite::WithContext;

// kMigrations[v] takes the schema from user_version v to v + 1. Append a new
// step for every change; never edit a step that has shipped.
//
// Deleting a session cascades to its turns, and deleting a turn cascades to
// its feedback and unanswered entry. UNIQUE(session_id, seq) on turns is the
// index for RecentTurns, for the cascade from sessions and for the children's
// foreign keys.
constexpr const char* kMigrations[] = {
    // 0 -> 1
    R"sql(
CREATE TABLE sessions (
  id          TEXT PRIMARY KEY NOT NULL,
  clinic      TEXT NOT NULL,
  state       TEXT NOT NULL,
  created_ms  INTEGER NOT NULL,
  updated_ms  INTEGER NOT NULL
);
CREATE INDEX sessions_by_clinic_updated ON sessions (clinic, updated_ms);

CREATE TABLE turns (
  id          INTEGER PRIMARY KEY,
  session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL CHECK (seq > 0),
  user_text   TEXT NOT NULL,
  reply_text  TEXT NOT NULL,
  topic       TEXT NOT NULL,
  urgency     TEXT NOT NULL,
  kind        TEXT NOT NULL,
  entry_id    TEXT NOT NULL,
  unanswered  INTEGER NOT NULL CHECK (unanswered IN (0, 1)),
  received_ms INTEGER NOT NULL,
  replied_ms  INTEGER NOT NULL,
  UNIQUE (session_id, seq)
);

CREATE TABLE feedback (
  id          INTEGER PRIMARY KEY,
  session_id  TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  rating      INTEGER NOT NULL CHECK (rating IN (-1, 1)),
  comment     TEXT NOT NULL,
  created_ms  INTEGER NOT NULL,
  FOREIGN KEY (session_id, seq) REFERENCES turns (session_id, seq)
    ON DELETE CASCADE
);
CREATE INDEX feedback_by_turn ON feedback (session_id, seq);

CREATE TABLE unanswered (
  session_id  TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  text        TEXT NOT NULL,
  kind        TEXT NOT NULL,
  created_ms  INTEGER NOT NULL,
  PRIMARY KEY (session_id, seq),
  FOREIGN KEY (session_id, seq) REFERENCES turns (session_id, seq)
    ON DELETE CASCADE
);
CREATE INDEX unanswered_by_created ON unanswered (created_ms);
)sql",
    // 1 -> 2: curator edits. Not tied to sessions: retention never deletes them.
    R"sql(
CREATE TABLE revisions (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  who         TEXT NOT NULL,
  at_ms       INTEGER NOT NULL,
  summary     TEXT NOT NULL,
  file        TEXT NOT NULL,
  before      TEXT NOT NULL,
  after       TEXT NOT NULL,
  undoes      INTEGER NOT NULL DEFAULT 0
);
)sql",
    // 2 -> 3: a turn carries the session state it left behind (NULL in turns
    // written before), so that a turn need not rewrite its session's row: see
    // kWriteSession.
    R"sql(
ALTER TABLE turns ADD COLUMN state TEXT;
)sql",
    // 3 -> 4: tombstones of deleted sessions (DeleteSession): the SHA-256 of the id, never the
    // id, and until when a turn of that id is refused. Not tied to a clinic: Purge drops those
    // that have ended.
    R"sql(
CREATE TABLE deleted_sessions (
  id_sha256   TEXT PRIMARY KEY NOT NULL,
  until_ms    INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // 4 -> 5: a turn keeps the parts of its reply beyond the text (TurnRecord::parts), NULL in
    // turns written before: their history shows the text alone.
    R"sql(
ALTER TABLE turns ADD COLUMN parts TEXT;
)sql",
    // 5 -> 6: handing over to the clinic (issue 22). The webhook outbox: events (written with
    // the turn, feedback or status change that raised them) and one delivery per endpoint;
    // deliveries_due serves DueDeliveries (pending ones by due time, in the order it returns
    // them) and Outbox's counts. The clinicians' page items, with the phone number of a
    // callback request. Neither is tied to turns by a foreign key: DeleteSession and Purge
    // delete them by session and by their own clinic and time (see kDeleteSessionEvents and
    // kPurgeEvents). Ids are AUTOINCREMENT: never reused, as a sender may still hold one.
    R"sql(
CREATE TABLE events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  key         TEXT NOT NULL UNIQUE CHECK (key <> ''),
  clinic      TEXT NOT NULL CHECK (clinic <> ''),
  session_id  TEXT NOT NULL,
  type        TEXT NOT NULL,
  body        TEXT NOT NULL,
  created_ms  INTEGER NOT NULL
);
CREATE INDEX events_by_session ON events (session_id);
CREATE INDEX events_by_clinic_created ON events (clinic, created_ms);

CREATE TABLE deliveries (
  event_id         INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  endpoint         TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts         INTEGER NOT NULL CHECK (attempts >= 0),
  next_attempt_ms  INTEGER NOT NULL,
  last_attempt_ms  INTEGER NOT NULL,
  last_error       TEXT NOT NULL,
  PRIMARY KEY (event_id, endpoint)
) WITHOUT ROWID;
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_ms);

CREATE TABLE handoffs (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  reference      TEXT NOT NULL UNIQUE CHECK (reference <> ''),
  clinic         TEXT NOT NULL CHECK (clinic <> ''),
  session_id     TEXT NOT NULL,
  seq            INTEGER NOT NULL,
  type           TEXT NOT NULL,
  urgency        TEXT NOT NULL,
  red_flag_kind  TEXT NOT NULL,
  consent        INTEGER NOT NULL CHECK (consent IN (0, 1)),
  first_name     TEXT NOT NULL,
  phone          TEXT NOT NULL,
  best_time      TEXT NOT NULL,
  created_ms     INTEGER NOT NULL,
  status         TEXT NOT NULL
                 CHECK (status IN ('new', 'acknowledged', 'called_back', 'closed')),
  status_by      TEXT NOT NULL,
  status_ms      INTEGER NOT NULL
);
CREATE INDEX handoffs_by_clinic_created ON handoffs (clinic, created_ms);
CREATE INDEX handoffs_by_session ON handoffs (session_id);
)sql",
};
static_assert(std::size(kMigrations) == SqliteStore::kSchemaVersion);

// A session's row is written at its first turn, and rewritten by a later turn
// only when the row's updated_ms is kSessionRowRefreshMs old: every turn
// carries the state it left in its own row (turns.state), so most turns write
// one row, not two. A session's state is therefore that of its last turn (or
// the row's, for turns written before schema 3), and its last activity the
// later of the row's updated_ms and its last turn's received_ms: kLoadSession
// and kPurgeSessions read both.
//
// One upsert whose update part usually does nothing: cheaper than an UPDATE
// and then an INSERT that both find nothing to do (bench/store_instructions.sh).
// Not INSERT OR REPLACE: REPLACE deletes the old row, which would cascade to
// the session's turns, and would reset created_ms.
constexpr int64_t kSessionRowRefreshMs = 60 * 60 * 1000;
// The writer remembers the rows it wrote (SqliteStore::session_rows_), so that
// a turn runs the upsert only when it would write: at a session's first turn
// in this process and then hourly. A session whose row was written by an
// earlier process runs it until the row is refreshed. At most this many
// sessions are remembered (well under 1 MiB).
constexpr size_t kMaxSessionRows = 8192;
constexpr std::string_view kWriteSession = R"sql(
INSERT INTO sessions (id, clinic, state, created_ms, updated_ms)
VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms
WHERE sessions.updated_ms <= excluded.updated_ms - ?6)sql";

constexpr std::string_view kInsertTurn = R"sql(
INSERT INTO turns (session_id, seq, user_text, reply_text, topic, urgency, kind,
                   entry_id, unanswered, received_ms, replied_ms, state, parts)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13))sql";

constexpr std::string_view kInsertUnanswered = R"sql(
INSERT INTO unanswered (session_id, seq, text, kind, created_ms)
VALUES (?1, ?2, ?3, ?4, ?5))sql";

constexpr std::string_view kInsertFeedback = R"sql(
INSERT INTO feedback (session_id, seq, rating, comment, created_ms)
VALUES (?1, ?2, ?3, ?4, ?5))sql";

constexpr std::string_view kInsertEvent = R"sql(
INSERT INTO events (key, clinic, session_id, type, body, created_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id)sql";
// A new delivery: pending, due when its event was created (?3), no attempt made.
constexpr std::string_view kInsertDelivery = R"sql(
INSERT INTO deliveries (event_id, endpoint, status, attempts, next_attempt_ms,
                        last_attempt_ms, last_error)
VALUES (?1, ?2, 'pending', 0, ?3, 0, ''))sql";
constexpr std::string_view kInsertHandoff = R"sql(
INSERT INTO handoffs (reference, clinic, session_id, seq, type, urgency, red_flag_kind,
                      consent, first_name, phone, best_time, created_ms, status, status_by,
                      status_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15))sql";
constexpr std::string_view kUpdateDelivery = R"sql(
UPDATE deliveries SET status = ?3, attempts = ?4, next_attempt_ms = ?5, last_attempt_ms = ?6,
                      last_error = ?7
WHERE event_id = ?1 AND endpoint = ?2)sql";
// ?1 clinic, ?2 id, ?3 status, ?4 who, ?5 when; returns the item's session.
constexpr std::string_view kSetHandoffStatus = R"sql(
UPDATE handoffs SET status = ?3, status_by = ?4, status_ms = ?5
WHERE id = ?2 AND clinic = ?1 RETURNING session_id)sql";

// Pending deliveries by due time, in deliveries_due's order: the reader stops once it has
// `limit` of them, skipping those of an endpoint that has its share (ApplyDueDeliveries).
constexpr std::string_view kDueDeliveries = R"sql(
SELECT d.event_id, d.endpoint, e.key, e.clinic, e.type, e.body, e.created_ms, d.status,
       d.attempts, d.next_attempt_ms, d.last_attempt_ms, d.last_error
FROM deliveries AS d JOIN events AS e ON e.id = d.event_id
WHERE d.status = 'pending' AND d.next_attempt_ms <= ?1
ORDER BY d.next_attempt_ms, d.event_id, d.endpoint)sql";
constexpr std::string_view kOutbox = R"sql(
SELECT (SELECT count(*) FROM deliveries WHERE status = 'pending'),
       (SELECT count(*) FROM deliveries WHERE status = 'failed'),
       (SELECT coalesce(min(e.created_ms), 0)
        FROM deliveries AS d JOIN events AS e ON e.id = d.event_id
        WHERE d.status = 'pending'))sql";
constexpr std::string_view kFailedDeliveries = R"sql(
SELECT d.event_id, d.endpoint, e.key, e.clinic, e.type, e.body, e.created_ms, d.status,
       d.attempts, d.next_attempt_ms, d.last_attempt_ms, d.last_error
FROM events AS e JOIN deliveries AS d ON d.event_id = e.id
WHERE e.clinic = ?1 AND d.status = 'failed'
ORDER BY e.created_ms DESC, e.id DESC, d.endpoint LIMIT ?2)sql";
// ?1 clinic, ?2 status ('' any), ?3 since, ?4 until (0: none), ?5 limit.
constexpr std::string_view kHandoffs = R"sql(
SELECT id, reference, clinic, session_id, seq, type, urgency, red_flag_kind, consent,
       first_name, phone, best_time, created_ms, status, status_by, status_ms
FROM handoffs
WHERE clinic = ?1 AND created_ms >= ?3 AND (?4 = 0 OR created_ms < ?4)
  AND (?2 = '' OR status = ?2)
ORDER BY created_ms DESC, id DESC LIMIT ?5)sql";

// A deleted conversation's items and events; the events' deliveries go with them (cascade).
constexpr std::string_view kDeleteSessionHandoffs = "DELETE FROM handoffs WHERE session_id = ?1";
constexpr std::string_view kDeleteSessionEvents = "DELETE FROM events WHERE session_id = ?1";

constexpr std::string_view kDeleteSession = "DELETE FROM sessions WHERE id = ?1";
constexpr std::string_view kInsertTombstone = R"sql(
INSERT INTO deleted_sessions (id_sha256, until_ms) VALUES (?1, ?2)
ON CONFLICT (id_sha256) DO UPDATE SET until_ms = max(until_ms, excluded.until_ms))sql";
// ?1 the id's hash, ?2 the turn's time.
constexpr std::string_view kIsTombstoned = R"sql(
SELECT count(*) FROM deleted_sessions WHERE id_sha256 = ?1 AND until_ms >= ?2)sql";

// Purge: ?1 clinic, ?2 before_ms. Old sessions go first (with everything they
// hold), then old rows of the sessions that stay. A session is old when
// neither its row nor any of its turns is as recent as ?2 (see kWriteSession).
// The items and events of the old sessions go before them (as DeleteSession's do).
constexpr std::string_view kPurgeOldSessionsHandoffs = R"sql(
DELETE FROM handoffs WHERE session_id IN (
  SELECT id FROM sessions WHERE clinic = ?1 AND updated_ms < ?2
    AND NOT EXISTS (SELECT 1 FROM turns
                    WHERE turns.session_id = sessions.id
                      AND turns.received_ms >= ?2)))sql";
constexpr std::string_view kPurgeOldSessionsEvents = R"sql(
DELETE FROM events WHERE session_id IN (
  SELECT id FROM sessions WHERE clinic = ?1 AND updated_ms < ?2
    AND NOT EXISTS (SELECT 1 FROM turns
                    WHERE turns.session_id = sessions.id
                      AND turns.received_ms >= ?2)))sql";
constexpr std::string_view kPurgeSessions = R"sql(
DELETE FROM sessions WHERE clinic = ?1 AND updated_ms < ?2
  AND NOT EXISTS (SELECT 1 FROM turns
                  WHERE turns.session_id = sessions.id
                    AND turns.received_ms >= ?2))sql";
// A clinic's items and events by their own time (events_by_clinic_created,
// handoffs_by_clinic_created); the events' deliveries go with them, whatever their status.
constexpr std::string_view kPurgeHandoffs = R"sql(
DELETE FROM handoffs WHERE clinic = ?1 AND created_ms < ?2)sql";
constexpr std::string_view kPurgeEvents = R"sql(
DELETE FROM events WHERE clinic = ?1 AND created_ms < ?2)sql";
constexpr std::string_view kPurgeTurns = R"sql(
DELETE FROM turns WHERE received_ms < ?2
  AND session_id IN (SELECT id FROM sessions WHERE clinic = ?1))sql";
constexpr std::string_view kPurgeFeedback = R"sql(
DELETE FROM feedback WHERE created_ms < ?2
  AND session_id IN (SELECT id FROM sessions WHERE clinic = ?1))sql";
constexpr std::string_view kPurgeUnanswered = R"sql(
DELETE FROM unanswered WHERE created_ms < ?2
  AND session_id IN (SELECT id FROM sessions WHERE clinic = ?1))sql";
// Every clinic's: a tombstone has no clinic (?1, bound, is not used).
constexpr std::string_view kPurgeTombstones = R"sql(
DELETE FROM deleted_sessions WHERE until_ms < ?2)sql";

// The row, with the state and time of the session's last turn where that turn
// has them (see kWriteSession). ?2: not before.
constexpr std::string_view kLoadSession = R"sql(
SELECT s.clinic, coalesce(t.state, s.state), s.created_ms,
       max(s.updated_ms, coalesce(t.received_ms, s.updated_ms)) AS updated
FROM sessions AS s
  LEFT JOIN (SELECT state, received_ms FROM turns WHERE session_id = ?1
             ORDER BY seq DESC LIMIT 1) AS t
WHERE s.id = ?1 AND updated >= ?2)sql";

constexpr std::string_view kRecentTurns = R"sql(
SELECT seq, user_text, reply_text, topic, urgency, kind, entry_id, unanswered,
       received_ms, replied_ms, parts
FROM turns WHERE session_id = ?1 ORDER BY seq DESC LIMIT ?2)sql";

constexpr std::string_view kUnanswered = R"sql(
SELECT session_id, seq, text, kind, created_ms FROM unanswered
WHERE created_ms >= ?1 ORDER BY created_ms, session_id, seq LIMIT ?2)sql";

constexpr std::string_view kInsertRevision = R"sql(
INSERT INTO revisions (who, at_ms, summary, file, before, after, undoes)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id)sql";

constexpr std::string_view kDeleteRevision = "DELETE FROM revisions WHERE id = ?1";

constexpr std::string_view kRevisions = R"sql(
SELECT id, who, at_ms, summary, file, before, after, undoes FROM revisions
ORDER BY id DESC LIMIT ?1)sql";

// Runs one cached statement with these parameters to completion (text bound
// in place: see Statement::RunWith).
template <typename... Args>
Status RunCached(Database& db, std::string_view sql, const Args&... args) {
  StatusOr<Database::Lease> stmt = db.Cached(sql);
  if (!stmt.ok()) return stmt.status();
  return stmt.value()->RunWith(args...);
}

int64_t ClampLimit(size_t limit) {
  constexpr auto kMax = static_cast<size_t>(std::numeric_limits<int64_t>::max());
  return static_cast<int64_t>(std::min(limit, kMax));
}

bool IsMemory(const std::string& path) { return path.empty() || path == ":memory:"; }

// Creates or upgrades the schema, each step in its own transaction.
Status Migrate(Database& db) {
  for (;;) {
    Status s = db.Exec("BEGIN IMMEDIATE");
    if (!s.ok()) return WithContext("schema", s);
    // Read inside the transaction: another process may have migrated first.
    StatusOr<int64_t> version = db.QueryInt64("PRAGMA user_version");
    if (!version.ok()) {
      db.Exec("ROLLBACK");
      return WithContext("schema", version.status());
    }
    const int64_t v = version.value();
    if (v > SqliteStore::kSchemaVersion || v < 0) {
      db.Exec("ROLLBACK");
      return Status::DataError("schema: the database has schema version " + std::to_string(v) +
                               ", newer than this binary's " +
                               std::to_string(SqliteStore::kSchemaVersion));
    }
    if (v == SqliteStore::kSchemaVersion) return db.Exec("COMMIT");
    s = db.Exec(kMigrations[v]);
    if (s.ok()) {
      s = db.Exec("PRAGMA user_version = " + std::to_string(v + 1));
    }
    if (s.ok()) s = db.Exec("COMMIT");
    if (!s.ok()) {
      if (db.InTransaction()) db.Exec("ROLLBACK");
      return WithContext("schema: migrating from version " + std::to_string(v), s);
    }
  }
}

// The pragmas of the read-write connection.
Status Configure(Database& db, bool memory, int busy_timeout_ms) {
  Status s = db.SetBusyTimeout(busy_timeout_ms);
  if (!s.ok()) return s;
  // Per connection, and off by default: without it ON DELETE CASCADE is inert.
  s = db.Exec("PRAGMA foreign_keys = ON");
  if (!s.ok()) return s;
  StatusOr<int64_t> fk = db.QueryInt64("PRAGMA foreign_keys");
  if (!fk.ok()) return fk.status();
  if (fk.value() != 1) {
    return Status::DataError("this SQLite has no foreign key support");
  }
  if (!memory) {
    // WAL: readers see the last commit while the writer works, and a commit
    // appends to one file instead of rewriting pages twice.
    StatusOr<std::string> mode = db.QueryText("PRAGMA journal_mode = WAL");
    if (!mode.ok()) return mode.status();
    if (mode.value() != "wal") {
      return Status::IOError("cannot use WAL (journal_mode stays \"" + mode.value() +
                             "\"); the file system must support shared memory");
    }
  }
  // Checkpoints: see SqliteStore::CheckpointIfDue. (SQLite's own, every 1,000
  // frames inside the commit, is replaced when the writer starts.) A 16 MiB page
  // cache gave about 5% more replies per second, but it fills over minutes, and
  // the soak test's check that memory returns to its warm-up level cannot tell
  // a full cache from a leak; SQLite's 2 MiB default stays.
  // FULL while the schema is made or migrated: every COMMIT fsyncs the WAL.
  // Once the threads run, Start switches the writer to NORMAL (no fsync in
  // COMMIT, which alone could lose acknowledged turns to a power cut) and the
  // syncer fsyncs the WAL before any callback runs.
  return db.Exec("PRAGMA synchronous = FULL");
}

// SQLite fsyncs the database file only after a checkpoint that copies the
// whole WAL. The checkpointer's copy never does (the writer adds frames
// meanwhile), so without this the writer's catch-up would wait for the pages
// of both copies to reach the disk: 9-10 ms, the stall this thread is for.
void SyncDatabaseFile(Database& db) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db.get(), "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK &&
      file != nullptr && file->pMethods != nullptr) {
    file->pMethods->xSync(file, SQLITE_SYNC_NORMAL);
  }
}

StatusOr<std::unique_ptr<Database>> OpenConnection(const std::string& path, int flags,
                                                   const char* vfs = nullptr) {
  StatusOr<Database> db = Database::Open(path, flags, vfs);
  if (!db.ok()) return db.status();
  return std::make_unique<Database>(std::move(db).value());
}

Status ApplyPurge(Database& db, const std::string& clinic, int64_t before_ms, int64_t* deleted) {
  for (std::string_view sql : {kPurgeOldSessionsHandoffs, kPurgeOldSessionsEvents}) {
    Status s = RunCached(db, sql, clinic, before_ms);
    if (!s.ok()) return WithContext("purge: the sessions' handoff data", s);
  }
  Status s = RunCached(db, kPurgeSessions, clinic, before_ms);
  if (!s.ok()) return WithContext("purge: sessions", s);
  *deleted = db.Changes();  // cascaded rows are not counted
  for (std::string_view sql : {kPurgeTurns, kPurgeFeedback, kPurgeUnanswered, kPurgeTombstones,
                               kPurgeHandoffs, kPurgeEvents}) {
    s = RunCached(db, sql, clinic, before_ms);
    if (!s.ok()) return WithContext("purge", s);
  }
  return Status::Ok();
}

Status ApplyLoadSession(Database& db, const std::string& id, int64_t not_before_ms,
                        std::optional<SessionRecord>* out) {
  StatusOr<Database::Lease> stmt = db.Cached(kLoadSession);
  if (!stmt.ok()) return WithContext("load session", stmt.status());
  Statement& q = *stmt.value();
  Status s = q.BindAll(id, not_before_ms);
  if (!s.ok()) return WithContext("load session", s);
  StatusOr<bool> row = q.Step();
  if (!row.ok()) return WithContext("load session", row.status());
  if (!row.value()) return Status::Ok();  // unknown or expired
  SessionRecord r;
  r.id = id;
  r.clinic = q.ColumnText(0);
  r.state = q.ColumnText(1);
  r.created_ms = q.ColumnInt64(2);
  r.updated_ms = q.ColumnInt64(3);
  *out = std::move(r);
  return Status::Ok();
}

Status ApplyRecentTurns(Database& db, const std::string& session_id, size_t limit,
                        std::vector<TurnRecord>* out) {
  StatusOr<Database::Lease> stmt = db.Cached(kRecentTurns);
  if (!stmt.ok()) return WithContext("recent turns", stmt.status());
  Statement& q = *stmt.value();
  Status s = q.BindAll(session_id, ClampLimit(limit));
  if (!s.ok()) return WithContext("recent turns", s);
  for (;;) {
    StatusOr<bool> row = q.Step();
    if (!row.ok()) return WithContext("recent turns", row.status());
    if (!row.value()) break;
    TurnRecord t;
    t.session_id = session_id;
    t.seq = q.ColumnInt64(0);
    t.user_text = q.ColumnText(1);
    t.reply_text = q.ColumnText(2);
    t.topic = q.ColumnText(3);
    t.urgency = q.ColumnText(4);
    t.kind = q.ColumnText(5);
    t.entry_id = q.ColumnText(6);
    t.unanswered = q.ColumnInt64(7) != 0;
    t.received_ms = q.ColumnInt64(8);
    t.replied_ms = q.ColumnInt64(9);
    t.parts = q.ColumnText(10);
    out->push_back(std::move(t));
  }
  std::reverse(out->begin(), out->end());  // newest first -> oldest first
  return Status::Ok();
}

Status ApplyUnanswered(Database& db, int64_t since_ms, size_t limit,
                       std::vector<UnansweredRecord>* out) {
  StatusOr<Database::Lease> stmt = db.Cached(kUnanswered);
  if (!stmt.ok()) return WithContext("unanswered", stmt.status());
  Statement& q = *stmt.value();
  Status s = q.BindAll(since_ms, ClampLimit(limit));
  if (!s.ok()) return WithContext("unanswered", s);
  for (;;) {
    StatusOr<bool> row = q.Step();
    if (!row.ok()) return WithContext("unanswered", row.status());
    if (!row.value()) break;
    UnansweredRecord u;
    u.session_id = q.ColumnText(0);
    u.seq = q.ColumnInt64(1);
    u.text = q.ColumnText(2);
    u.kind = q.ColumnText(3);
    u.created_ms = q.ColumnInt64(4);
    out->push_back(std::move(u));
  }
  return Status::Ok();
}

Status ApplyAddRevision(Database& db, const RevisionRecord& r, int64_t* id) {
  StatusOr<Database::Lease> stmt = db.Cached(kInsertRevision);
  if (!stmt.ok()) return WithContext("add revision", stmt.status());
  Statement& q = *stmt.value();
  Status s = q.BindAll(r.who, r.at_ms, r.summary, r.file, r.before, r.after, r.undoes);
  if (!s.ok()) return WithContext("add revision", s);
  StatusOr<bool> row = q.Step();
  if (!row.ok()) return WithContext("add revision", row.status());
  if (!row.value()) return Status::DataError("add revision: no id returned");
  *id = q.ColumnInt64(0);
  q.Reset();  // finish the statement (RETURNING leaves it mid-way)
  return Status::Ok();
}

Status ApplyRevisions(Database& db, size_t limit, std::vector<RevisionRecord>* out) {
  StatusOr<Database::Lease> stmt = db.Cached(kRevisions);
  if (!stmt.ok()) return WithContext("revisions", stmt.status());
  Statement& q = *stmt.value();
  Status s = q.BindAll(ClampLimit(limit));
  if (!s.ok()) return WithContext("revisions", s);
  for (;;) {
    StatusOr<bool> row = q.Step();
    if (!row.ok()) return WithContext("revisions", row.status());
    if (!row.value()) break;
    RevisionRecord r;
    r.id = q.ColumnInt64(0);
    r.who = q.ColumnText(1);
    r.at_ms = q.ColumnInt64(2);
    r.summary = q.ColumnText(3);
    r.file = q.ColumnText(4);
    r.before = q.ColumnText(5);
    r.after = q.ColumnText(6);
    r.undoes = q.ColumnInt64(7);
    out->push_back(std::move(r));
  }
  return Status::Ok();
}

// Writes `events` as being about `session_id`, each with its deliveries. A key the store has
// already fails on events' UNIQUE (kInvalidArgument). REQUIRES: CheckEvents passed.
Status InsertEvents(Database& db, const std::vector<EventRecord>& events,
                    const std::string& session_id) {
  for (const EventRecord& e : events) {
    int64_t id = 0;
    {
      StatusOr<Database::Lease> stmt = db.Cached(kInsertEvent);
      if (!stmt.ok()) return WithContext("event", stmt.status());
      Statement& q = *stmt.value();
      Status s = q.BindAll(e.key, e.clinic, session_id, e.type, e.body, e.created_ms);
      if (!s.ok()) return WithContext("event", s);
      StatusOr<bool> row = q.Step();
      if (!row.ok()) return WithContext("event", row.status());
      if (!row.value()) return Status::DataError("event: no id returned");
      id = q.ColumnInt64(0);
      q.Reset();  // finish the statement (RETURNING leaves it mid-way)
    }
    for (const std::string& endpoint : e.endpoints) {
      Status s = RunCached(db, kInsertDelivery, id, endpoint, e.created_ms);
      if (!s.ok()) return WithContext("event delivery", s);
    }
  }
  return Status::Ok();
}

// The row of kDueDeliveries or kFailedDeliveries.
DeliveryRecord ReadDelivery(const Statement& q) {
  DeliveryRecord d;
  d.event_id = q.ColumnInt64(0);
  d.endpoint = q.ColumnText(1);
  d.key = q.ColumnText(2);
  d.clinic = q.ColumnText(3);
  d.type = q.ColumnText(4);
  d.body = q.ColumnText(5);
  d.created_ms = q.ColumnInt64(6);
  d.status = q.ColumnText(7);
  d.attempts = static_cast<int>(q.ColumnInt64(8));
  d.next_attempt_ms = q.ColumnInt64(9);
  d.last_attempt_ms = q.ColumnInt64(10);
  d.last_error = q.ColumnText(11);
  return d;
}

Status ApplyDueDeliveries(Database& db, int64_t now_ms, size_t limit, size_t per_endpoint,
                          std::vector<DeliveryRecord>* out) {
  if (limit == 0) return Status::Ok();
  StatusOr<Database::Lease> stmt = db.Cached(kDueDeliveries);
  if (!stmt.ok()) return WithContext("due deliveries", stmt.status());
  Statement& q = *stmt.value();
  Status s = q.BindAll(now_ms);
  if (!s.ok()) return WithContext("due deliveries", s);
  std::map<std::pair<std::string, std::string>, size_t> taken;  // by (clinic, endpoint)
  while (out->size() < limit) {
    StatusOr<bool> row = q.Step();
    if (!row.ok()) return WithContext("due deliveries", row.status());
    if (!row.value()) break;
    size_t& n = taken[{q.ColumnText(3), q.ColumnText(1)}];
    if (n >= per_endpoint) continue;
    ++n;
    out->push_back(ReadDelivery(q));
  }
  return Status::Ok();
}

Status ApplyOutbox(Database& db, OutboxStats* out) {
  StatusOr<Database::Lease> stmt = db.Cached(kOutbox);
  if (!stmt.ok()) return WithContext("outbox", stmt.status());
  Statement& q = *stmt.value();
  StatusOr<bool> row = q.Step();
  if (!row.ok()) return WithContext("outbox", row.status());
  if (!row.value()) return Status::DataError("outbox: no row");
  out->pending = q.ColumnInt64(0);
  out->failed = q.ColumnInt64(1);
  out->oldest_pending_ms = q.ColumnInt64(2);
  return Status::Ok();
}

Status ApplyFailedDeliveries(Database& db, const std::string& clinic, size_t limit,
                             std::vector<DeliveryRecord>* out) {
  if (clinic.empty()) return Status::InvalidArgument("failed deliveries: no clinic");
  StatusOr<Database::Lease> stmt = db.Cached(kFailedDeliveries);
  if (!stmt.ok()) return WithContext("failed deliveries", stmt.status());
  Statement& q = *stmt.value();
  Status s = q.BindAll(clinic, ClampLimit(limit));
  if (!s.ok()) return WithContext("failed deliveries", s);
  for (;;) {
    StatusOr<bool> row = q.Step();
    if (!row.ok()) return WithContext("failed deliveries", row.status());
    if (!row.value()) break;
    out->push_back(ReadDelivery(q));
  }
  return Status::Ok();
}

Status ApplyHandoffs(Database& db, const HandoffFilter& f, std::vector<HandoffRecord>* out) {
  if (f.clinic.empty()) return Status::InvalidArgument("handoffs: no clinic");
  if (!f.status.empty() && !internal::IsHandoffStatus(f.status)) {
    return Status::InvalidArgument("handoffs: unknown status");
  }
  StatusOr<Database::Lease> stmt = db.Cached(kHandoffs);
  if (!stmt.ok()) return WithContext("handoffs", stmt.status());
  Statement& q = *stmt.value();
  Status s = q.BindAll(f.clinic, f.status, f.since_ms, f.until_ms, ClampLimit(f.limit));
  if (!s.ok()) return WithContext("handoffs", s);
  for (;;) {
    StatusOr<bool> row = q.Step();
    if (!row.ok()) return WithContext("handoffs", row.status());
    if (!row.value()) break;
    HandoffRecord h;
    h.id = q.ColumnInt64(0);
    h.reference = q.ColumnText(1);
    h.clinic = q.ColumnText(2);
    h.session_id = q.ColumnText(3);
    h.seq = q.ColumnInt64(4);
    h.type = q.ColumnText(5);
    h.urgency = q.ColumnText(6);
    h.red_flag_kind = q.ColumnText(7);
    h.consent = q.ColumnInt64(8) != 0;
    h.first_name = q.ColumnText(9);
    h.phone = q.ColumnText(10);
    h.best_time = q.ColumnText(11);
    h.created_ms = q.ColumnInt64(12);
    h.status = q.ColumnText(13);
    h.status_by = q.ColumnText(14);
    h.status_ms = q.ColumnInt64(15);
    out->push_back(std::move(h));
  }
  return Status::Ok();
}

Status ApplySetHandoffStatus(Database& db, const std::string& clinic, int64_t id,
                             const std::string& status, const std::string& who, int64_t at_ms,
                             const std::vector<EventRecord>& events) {
  if (clinic.empty()) return Status::InvalidArgument("set handoff status: no clinic");
  if (!internal::IsHandoffStatus(status)) {
    return Status::InvalidArgument("set handoff status: unknown status");
  }
  Status s = internal::CheckEvents("set handoff status", events);
  if (!s.ok()) return s;
  std::string session_id;
  {
    StatusOr<Database::Lease> stmt = db.Cached(kSetHandoffStatus);
    if (!stmt.ok()) return WithContext("set handoff status", stmt.status());
    Statement& q = *stmt.value();
    s = q.BindAll(clinic, id, status, who, at_ms);
    if (!s.ok()) return WithContext("set handoff status", s);
    StatusOr<bool> row = q.Step();
    if (!row.ok()) return WithContext("set handoff status", row.status());
    if (!row.value()) return Status::NotFound("set handoff status: no such item");
    session_id = q.ColumnText(0);
    q.Reset();  // finish the statement (RETURNING leaves it mid-way)
  }
  return WithContext("set handoff status", InsertEvents(db, events, session_id));
}

// A read's `finish`: hands the result (or the error) to `done`.
template <typename T>
std::function<void(Status)> Deliver(std::shared_ptr<T> result,
                                    std::function<void(StatusOr<T>)> done) {
  return [result = std::move(result), done = std::move(done)](Status s) {
    if (!s.ok()) {
      done(std::move(s));
    } else {
      done(std::move(*result));
    }
  };
}

}  // namespace

StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, Options options) {
  if (options.max_batch == 0) {
    return Status::InvalidArgument("SqliteStore: max_batch must be > 0");
  }
  if (options.checkpoint_frames <= 0) {
    return Status::InvalidArgument("SqliteStore: checkpoint_frames must be > 0");
  }
  if (options.busy_timeout_ms < 0) {
    return Status::InvalidArgument("SqliteStore: busy_timeout_ms must be >= 0");
  }
  options.max_batch_delay = std::max(options.max_batch_delay, std::chrono::microseconds::zero());

  const bool memory = IsMemory(path);
  // What patients typed is in this file: a new one is created readable by its owner only
  // (0600, whatever the umask), and SQLite gives the -wal and -shm files it creates beside it
  // the same permissions. An existing file keeps the ones its operator chose.
  if (!memory) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::fchmod(fd, 0600);
      ::close(fd);
    }
  }
  // NOMUTEX: each connection is used by one thread at a time (ours).
  // Only the read-write connection writes the WAL, so only it batches.
  const char* vfs = nullptr;
  if (!memory && options.batch_wal_writes) {
    StatusOr<const char*> batching = sqlite::WalBatchingVfs();
    if (!batching.ok()) return WithContext("cannot open store", batching.status());
    vfs = batching.value();
  }
  StatusOr<std::unique_ptr<Database>> writer =
      OpenConnection(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, vfs);
  if (!writer.ok()) return writer.status();
  Status s = Configure(*writer.value(), memory, options.busy_timeout_ms);
  if (s.ok()) s = Migrate(*writer.value());
  if (!s.ok()) {
    return WithContext("cannot open store \"" + path + "\"", s);
  }

  // The checkpointer's connection: the default VFS (it writes no WAL), and
  // synchronous=FULL so that a copy is fsynced before the WAL may be reused.
  // Its first read opens the WAL, so a checkpoint on it finds the log.
  std::unique_ptr<Database> checkpointer;
  if (!memory) {
    StatusOr<std::unique_ptr<Database>> c =
        OpenConnection(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, options.checkpoint_vfs);
    if (!c.ok()) return WithContext("cannot open store", c.status());
    s = c.value()->Exec("PRAGMA synchronous = FULL");
    if (s.ok()) s = c.value()->QueryInt64("PRAGMA user_version").status();
    if (!s.ok()) return WithContext("cannot open store \"" + path + "\"", s);
    checkpointer = std::move(c).value();
  }

  std::unique_ptr<Database> reader;
  if (!memory) {
    StatusOr<std::unique_ptr<Database>> r =
        OpenConnection(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
    if (!r.ok()) return WithContext("cannot open store", r.status());
    s = r.value()->SetBusyTimeout(options.busy_timeout_ms);
    if (!s.ok()) return WithContext("cannot open store \"" + path + "\"", s);
    reader = std::move(r).value();
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(options, std::move(writer).value(),
                                                     std::move(checkpointer), std::move(reader)));
  s = store->Start();
  if (!s.ok()) return s;  // ~SqliteStore stops whatever did start
  return store;
}

SqliteStore::SqliteStore(Options options, std::unique_ptr<Database> writer_db,
                         std::unique_ptr<Database> checkpoint_db,
                         std::unique_ptr<Database> reader_db)
    : options_(options),
      writer_db_(std::move(writer_db)),
      checkpoint_db_(std::move(checkpoint_db)),
      reader_db_(std::move(reader_db)) {}

Status SqliteStore::Start() {
  // Replaces SQLite's automatic checkpoint (CheckpointIfDue and the
  // checkpointer thread do it instead).
  sqlite3_wal_hook(writer_db_->get(), &SqliteStore::OnWalCommit, this);
  if (checkpoint_db_ != nullptr) {
    // The syncer fsyncs the WAL after each commit (see Durability in
    // sqlite_store.h), so COMMIT need not. NORMAL still fsyncs the WAL before
    // a checkpoint copies it, and the database file after.
    wal_name_ = sqlite3_filename_wal(sqlite3_db_filename(writer_db_->get(), "main"));
    if (wal_name_ == nullptr || *wal_name_ == '\0') {
      return Status::Unavailable("cannot open store: SQLite gave no WAL file name");
    }
    const Status s = writer_db_->Exec("PRAGMA synchronous = NORMAL");
    if (!s.ok()) return WithContext("cannot open store", s);
  }
  // std::thread reports failure by throwing; it must not cross our API.
  try {
    // The syncer before the writer: the writer hands acks over only when
    // there is a syncer (HasSyncer).
    if (checkpoint_db_ != nullptr) {
      syncer_ = std::thread(&SqliteStore::SyncerLoop, this);
    }
    writer_ = std::thread(&SqliteStore::WriterLoop, this);
    if (checkpoint_db_ != nullptr) {
      checkpointer_ = std::thread(&SqliteStore::CheckpointerLoop, this);
    }
    if (reader_db_ != nullptr) {
      reader_ = std::thread(&SqliteStore::ReaderLoop, this);
    }
  } catch (const std::system_error& e) {
    return Status::Unavailable(std::string("cannot start store thread: ") + e.what());
  }
  return Status::Ok();
}

SqliteStore::~SqliteStore() {
  // The writer first: it commits everything queued, and its callbacks may
  // still queue reads, which the reader then answers. Whatever is queued after
  // a thread has ended is failed at once (see EnqueueWrite / EnqueueRead).
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  // The writer ends once its queue is empty and the syncer has run every
  // callback it was handed (a callback may still queue a write).
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard<std::mutex> lock(sync_mu_);
    sync_stopping_ = true;
  }
  sync_cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();
  if (wal_file_ != nullptr && wal_file_->pMethods != nullptr) {
    wal_file_->pMethods->xClose(wal_file_);
  }
  {
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    checkpoint_stopping_ = true;
  }
  checkpoint_cv_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
  {
    std::lock_guard<std::mutex> lock(read_mu_);
    read_stopping_ = true;
  }
  read_cv_.notify_all();
  if (reader_.joinable()) reader_.join();
  // Members: reader_db_ and checkpoint_db_ close before writer_db_ (reverse
  // declaration order), so the read-write connection is the last one, and it
  // checkpoints the whole WAL as it closes.
}

bool SqliteStore::OnStoreThread() const {
  const std::thread::id me = std::this_thread::get_id();
  return me == writer_.get_id() || (syncer_.joinable() && me == syncer_.get_id()) ||
         (reader_.joinable() && me == reader_.get_id());
}

void SqliteStore::EnqueueWrite(Op op) {
  op.queued = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (writer_running_) {
      if (op.write) ++queued_writes_;
      ++next_ticket_;
      queue_.push_back(std::move(op));
      // The writer sleeps until the queue is non-empty or, while it gathers a
      // group, until the queue holds max_batch ops.
      if (queue_.size() == 1 || queue_.size() == options_.max_batch) {
        work_cv_.notify_one();
      }
      return;
    }
  }
  // Only a callback that runs late in destruction gets here: fail the op
  // rather than leave its callback uncalled.
  op.finish(Status::Unavailable("store is closed"));
  AfterCallbacks();
}

void SqliteStore::EnqueueWrites(std::vector<Op> ops) {
  const Clock::time_point now = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (writer_running_) {
      const size_t before = queue_.size();
      for (Op& op : ops) {
        op.queued = now;
        if (op.write) ++queued_writes_;
        ++next_ticket_;
        queue_.push_back(std::move(op));
      }
      // As in EnqueueWrite: wake the writer when it was waiting for work, or when a group
      // it is gathering has just filled up.
      if (before == 0 || (before < options_.max_batch && queue_.size() >= options_.max_batch)) {
        work_cv_.notify_one();
      }
      return;
    }
  }
  for (Op& op : ops) op.finish(Status::Unavailable("store is closed"));
  AfterCallbacks();
}

void SqliteStore::EnqueueRead(Op op) {
  op.write = false;
  if (reader_db_ == nullptr) {  // ":memory:": one connection, the writer's
    EnqueueWrite(std::move(op));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(read_mu_);
    if (reader_running_) {
      read_queue_.push_back(std::move(op));
      if (read_queue_.size() == 1) read_cv_.notify_one();
      return;
    }
  }
  op.finish(Status::Unavailable("store is closed"));
  AfterCallbacks();
}

void SqliteStore::WriterLoop() {
  std::vector<Op> batch;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [this] { return !queue_.empty() || (stopping_ && acks_in_flight_ == 0); });
    if (queue_.empty()) break;  // stopping, and everything is done
    if (!stopping_ && flush_waiters_ == 0 && queue_.front().write &&
        options_.max_batch_delay.count() > 0 && queue_.size() < options_.max_batch) {
      // Give the group a moment to gather, counted from the oldest op, so ops
      // that queued up during the last commit go at once.
      work_cv_.wait_until(lock, queue_.front().queued + options_.max_batch_delay, [this] {
        return stopping_ || flush_waiters_ > 0 || queue_.size() >= options_.max_batch;
      });
    }
    const size_t n = std::min(queue_.size(), options_.max_batch);
    batch.clear();
    for (size_t i = 0; i < n; ++i) {
      if (queue_.front().write) --queued_writes_;
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    RunBatch(batch);
    batch.clear();  // drop the callbacks (and what they hold) outside the lock
    lock.lock();
    if (!HasSyncer()) {  // else the syncer counts them, once their callbacks ran
      done_ticket_ += n;
      flush_cv_.notify_all();
    }
  }
  writer_running_ = false;
}

void SqliteStore::HandToSyncer(Acks acks) {
  if (acks.finish.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    acks_in_flight_ += acks.finish.size();
  }
  std::lock_guard<std::mutex> lock(sync_mu_);
  sync_queue_.push_back(std::move(acks));
  if (sync_queue_.size() == 1) sync_cv_.notify_one();
}

void SqliteStore::SyncerLoop() {
  std::deque<Acks> batches;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(sync_mu_);
      sync_cv_.wait(lock, [this] { return sync_stopping_ || !sync_queue_.empty(); });
      if (sync_queue_.empty()) return;  // stopping, and everything is acknowledged
      batches.swap(sync_queue_);        // every batch committed so far: one fsync for all
    }
    bool committed = false;
    size_t ops = 0;
    for (const Acks& b : batches) {
      committed = committed || b.committed;
      ops += b.finish.size();
    }
    // The writes that committed are in the WAL file (COMMIT wrote them); once
    // it is on disk they are acknowledged. A write that failed needs no fsync.
    const Status synced = committed ? SyncWal() : Status::Ok();
    for (Acks& b : batches) {
      for (size_t i = 0; i < b.finish.size(); ++i) {
        b.finish[i](b.status[i].ok() ? synced : b.status[i]);
      }
    }
    batches.clear();  // drop what the callbacks hold before the hook
    AfterCallbacks();
    std::lock_guard<std::mutex> lock(mu_);
    done_ticket_ += ops;
    acks_in_flight_ -= ops;
    flush_cv_.notify_all();
    if (stopping_ && acks_in_flight_ == 0) work_cv_.notify_all();
  }
}

Status SqliteStore::SyncWal() {
  if (sync_failed_.load(std::memory_order_acquire)) return sync_error_;
  int rc = SQLITE_OK;
  const char* what = "the WAL could not be opened to write it to disk";
  if (wal_file_ == nullptr) {
    // Opened as SQLite opens a new WAL (CREATE): its first fsync then also
    // fsyncs the directory, so the file's name is on disk too.
    sqlite3_vfs* vfs = sqlite3_vfs_find(options_.sync_vfs);
    if (vfs == nullptr) {
      rc = SQLITE_ERROR;
    } else {
      const size_t words = (static_cast<size_t>(vfs->szOsFile) + sizeof(std::max_align_t) - 1) /
                           sizeof(std::max_align_t);
      wal_file_storage_ = std::make_unique<std::max_align_t[]>(words);
      auto* file = reinterpret_cast<sqlite3_file*>(wal_file_storage_.get());
      file->pMethods = nullptr;
      int out_flags = 0;
      rc = vfs->xOpen(vfs, wal_name_, file,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_WAL, &out_flags);
      wal_file_ = file;  // closed by the destructor when pMethods is set
    }
  }
  if (rc == SQLITE_OK) {
    what = "the WAL could not be written to disk (fsync)";
    rc = wal_file_->pMethods->xSync(wal_file_, SQLITE_SYNC_NORMAL);
  }
  if (rc == SQLITE_OK) return Status::Ok();
  // The commits are in the database, but perhaps not on the disk: stop
  // writing rather than acknowledge turns a power cut could take back.
  sync_error_ =
      sqlite::Error(nullptr, rc, std::string(what) + "; writes stop until the server restarts");
  sync_failed_.store(true, std::memory_order_release);
  return sync_error_;
}

void SqliteStore::ReaderLoop() {
  std::deque<Op> reads;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(read_mu_);
      read_cv_.wait(lock, [this] { return read_stopping_ || !read_queue_.empty(); });
      if (read_queue_.empty()) {
        reader_running_ = false;
        return;
      }
      reads.swap(read_queue_);  // everything queued: its callbacks leave together
    }
    for (Op& op : reads) op.finish(op.apply(*reader_db_));
    reads.clear();  // drop what the callbacks hold before the hook
    AfterCallbacks();
  }
}

void SqliteStore::RunBatch(std::vector<Op>& batch) {
  auto it = batch.begin();
  while (it != batch.end()) {
    if (!it->write) {  // ":memory:" only: a read between groups
      it->finish(it->apply(*writer_db_));
      ++it;
      continue;
    }
    auto end = std::find_if(it, batch.end(), [](const Op& op) { return !op.write; });
    RunGroup(it, end);
    it = end;
  }
  if (HasSyncer()) {
    HandToSyncer(std::exchange(acks_, Acks()));
  } else {
    AfterCallbacks();
  }
  CheckpointIfDue();
}

int SqliteStore::OnWalCommit(void* store, sqlite3*, const char*, int frames) {
  static_cast<SqliteStore*>(store)->wal_frames_ = frames;
  return SQLITE_OK;
}

// Every checkpoint_frames frames (16,000: 64 MiB of WAL with 4 KiB pages)
// rather than SQLite's 1,000, and never inside a COMMIT:
//  - the pages every group rewrites (the index leaf of each active session,
//    the tail of the turns table) are copied to the database once per
//    checkpoint, so fewer checkpoints copy fewer pages per turn. While the
//    copy runs it takes CPU and disk from the groups it overlaps, so fewer
//    copies also mean fewer slowed groups: at 64 connections 16,000 frames
//    gave 10-20% more replies/s than 4,000 and a p90 of ~6.5 ms, not ~9 ms;
//  - the copy runs on the checkpointer thread. It took 10-16 ms on the writer
//    thread (the copy and the database file's fsync), and the groups queued
//    behind it waited as long: that was most of the server's p99
//    (bench/README.md).
// SQLite reuses the WAL from its beginning only if a write transaction starts
// when every frame has been copied. The checkpointer cannot get there while
// the writer keeps adding frames, so the writer catches up itself, after the
// first group that ends once the copy is done. That copies only the pages of
// the groups committed during the copy.
// PASSIVE throughout: a checkpoint never waits for a reader or for the writer.
// If a reader still uses old frames, it stops short of them; the next commit
// leaves the WAL long, and the next round starts.
void SqliteStore::CheckpointIfDue() {
  if (copying_) {
    if (!copy_done_.load(std::memory_order_acquire)) return;
    copying_ = false;
    wal_frames_ = 0;
    if (Checkpoint(*writer_db_) >= 0) checkpoints_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // ":memory:" has no WAL (the hook never runs) and no checkpointer.
  if (wal_frames_ < options_.checkpoint_frames || checkpoint_db_ == nullptr) return;
  wal_frames_ = 0;
  copying_ = true;
  copy_done_.store(false, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    copy_wanted_ = true;
  }
  checkpoint_cv_.notify_one();
}

int SqliteStore::Checkpoint(Database& db) {
  int log_frames = 0;
  int copied = 0;
  if (sqlite3_wal_checkpoint_v2(db.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                &copied) != SQLITE_OK) {
    return -1;
  }
  return log_frames;
}

// Copies in rounds, each followed by an fsync of the database file. A round
// copies the frames committed while the last one ran, so rounds get shorter;
// they stop once one copied at most about two groups' frames, which is then
// about what the writer's catch-up has left to copy and fsync. (Measured at 64
// connections, 4,000 frames a checkpoint: a first round took 10-19 ms; the
// catch-up after one round took 5.9 ms (median), after the rounds 5.0-5.4 ms,
// most of it the fsync of a database file that the copy made longer.)
//
// Failures are not reported: the writer's catch-up copies what this copy did
// not, and a failure there leaves the WAL long, so the next commit asks again.
void SqliteStore::CheckpointerLoop() {
  constexpr int kCatchUpFrames = 128;
  constexpr int kMaxRounds = 4;
  // The frames copied (SQLite's count) when the database file was last synced.
  // While a reader holds frames back, every round stops at the same place and
  // has nothing new to sync. (The sync only spares the writer's catch-up work:
  // SQLite itself syncs the file before it lets the WAL be reused.)
  int synced_to = -1;
  std::unique_lock<std::mutex> lock(checkpoint_mu_);
  for (;;) {
    checkpoint_cv_.wait(lock, [this] { return checkpoint_stopping_ || copy_wanted_; });
    if (checkpoint_stopping_) return;  // the writer's connection checkpoints as it closes
    copy_wanted_ = false;
    lock.unlock();
    int copied_to = 0;  // the WAL's length when the last round began
    for (int round = 0; round < kMaxRounds; ++round) {
      int log_frames = 0;
      int copied = 0;
      if (sqlite3_wal_checkpoint_v2(checkpoint_db_->get(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                    &log_frames, &copied) != SQLITE_OK) {
        break;
      }
      if (copied != synced_to) {
        SyncDatabaseFile(*checkpoint_db_);
        synced_to = copied;
      }
      // A smaller log than before: the writer restarted the WAL meanwhile.
      const int this_round = log_frames >= copied_to ? log_frames - copied_to : log_frames;
      copied_to = log_frames;
      if (round > 0 && this_round <= kCatchUpFrames) break;
    }
    copy_done_.store(true, std::memory_order_release);
    lock.lock();
  }
}

void SqliteStore::RunGroup(std::vector<Op>::iterator begin, std::vector<Op>::iterator end) {
  Database& db = *writer_db_;
  const size_t n = static_cast<size_t>(end - begin);
  std::vector<Status> results(n);
  // `group` is the transaction's fate: when it fails, every op of the group
  // gets it, since nothing of the group is kept. After a failed fsync of the
  // WAL nothing is written any more (see Durability in sqlite_store.h).
  Status group = sync_failed_.load(std::memory_order_acquire)
                     ? sync_error_
                     : WithContext("begin", RunCached(db, "BEGIN IMMEDIATE"));
  // Almost every group is all good, so the ops first run straight into the
  // transaction. A savepoint per op would copy every page an op touches that an
  // earlier op had already changed into a statement journal: a real part of a
  // turn's cost. Only if an op fails is that work thrown away (below).
  bool all_ok = group.ok();
  for (size_t i = 0; all_ok && i < n; ++i) {
    results[i] = begin[i].apply(db);
    all_ok = results[i].ok();
  }
  // The session rows written by a group that is rolled back, in whole or in
  // part, are not there: forget them all, before the ops run again.
  if (!all_ok) session_rows_.clear();
  if (group.ok() && !all_ok) {
    // An op failed, and may have left part of its work behind: roll the group
    // back and run it again with a savepoint per op, so that a failing op is
    // undone alone and the others still commit.
    if (db.InTransaction()) RunCached(db, "ROLLBACK");
    group = RunCached(db, "BEGIN IMMEDIATE");
    if (!group.ok()) group = WithContext("begin", group);
    for (size_t i = 0; group.ok() && i < n; ++i) {
      Status s = RunCached(db, "SAVEPOINT op");
      if (!s.ok()) {
        group = WithContext("savepoint", s);
        break;
      }
      s = begin[i].apply(db);
      if (s.ok()) {
        Status r = RunCached(db, "RELEASE op");
        if (!r.ok()) group = WithContext("release savepoint", r);
      } else if (!db.InTransaction()) {
        group = s;  // SQLite rolled the whole transaction back (I/O error, ...)
      } else {
        Status r = RunCached(db, "ROLLBACK TO op");
        if (r.ok()) r = RunCached(db, "RELEASE op");
        if (!r.ok()) group = WithContext("rollback to savepoint", r);
      }
      results[i] = std::move(s);
    }
  }
  if (group.ok()) {
    group = RunCached(db, "COMMIT");
    if (!group.ok()) group = WithContext("commit", group);
  }
  if (!all_ok || !group.ok()) session_rows_.clear();
  if (group.ok()) {
    commits_.fetch_add(1, std::memory_order_relaxed);
  } else {
    if (db.InTransaction()) RunCached(db, "ROLLBACK");
    const Status failed = WithContext("write group not committed", group);
    for (Status& r : results) r = failed;
  }
  if (!HasSyncer()) {
    for (size_t i = 0; i < n; ++i) begin[i].finish(results[i]);
    return;
  }
  acks_.committed = acks_.committed || group.ok();
  for (size_t i = 0; i < n; ++i) {
    acks_.finish.push_back(std::move(begin[i].finish));
    acks_.status.push_back(std::move(results[i]));
  }
}

Status SqliteStore::WriteTurn(Database& db, const TurnRecord& t, const SessionRecord& s) {
  if (t.session_id != s.id) {
    return Status::InvalidArgument("append turn: turn.session_id differs from session.id");
  }
  // The records' own checks first (as MemoryStore); keys and references already taken fail
  // on their tables' UNIQUE, after the turn's insert.
  Status checked = internal::CheckEvents("append turn", t.events);
  if (checked.ok()) checked = internal::CheckHandoffs("append turn", t.handoffs);
  if (!checked.ok()) return checked;
  // The upsert's WHERE, on the row as this writer last wrote it.
  const auto known = session_rows_.find(s.id);
  const bool fresh =
      known != session_rows_.end() && known->second > s.updated_ms - kSessionRowRefreshMs;
  Status st;
  if (!fresh) {
    // A deleted session has no row in session_rows_ (DeleteSession removes it), so its turns
    // always come here: checking its tombstone only here costs a turn nothing most of the time.
    StatusOr<Database::Lease> dead = db.Cached(kIsTombstoned);
    if (!dead.ok()) return WithContext("append turn: tombstone", dead.status());
    st = dead.value()->BindAll(internal::SessionIdHash(s.id), s.updated_ms);
    StatusOr<bool> found = st.ok() ? dead.value()->Step() : StatusOr<bool>(st);
    if (!found.ok()) return WithContext("append turn: tombstone", found.status());
    if (found.value() && dead.value()->ColumnInt64(0) > 0) {
      return Status::NotFound("append turn: the session was deleted");
    }
    st = RunCached(db, kWriteSession, s.id, s.clinic, s.state, s.created_ms, s.updated_ms,
                   kSessionRowRefreshMs);
    if (!st.ok()) return WithContext("append turn: session", st);
    if (db.Changes() > 0) {
      if (session_rows_.size() >= kMaxSessionRows) {
        std::erase_if(session_rows_, [&](const auto& row) {
          return row.second <= s.updated_ms - kSessionRowRefreshMs;
        });
        if (session_rows_.size() >= kMaxSessionRows) session_rows_.clear();
      }
      session_rows_.insert_or_assign(s.id, s.updated_ms);
    }
  }
  st =
      RunCached(db, kInsertTurn, t.session_id, t.seq, t.user_text, t.reply_text, t.topic, t.urgency,
                t.kind, t.entry_id, t.unanswered, t.received_ms, t.replied_ms, s.state, t.parts);
  if (!st.ok()) return WithContext("append turn", st);
  if (t.unanswered && t.list_unanswered) {
    st = RunCached(db, kInsertUnanswered, t.session_id, t.seq, t.user_text, t.kind, t.received_ms);
    if (!st.ok()) return WithContext("append turn: unanswered", st);
  }
  st = InsertEvents(db, t.events, t.session_id);
  if (!st.ok()) return WithContext("append turn", st);
  for (const HandoffRecord& h : t.handoffs) {
    st = RunCached(db, kInsertHandoff, h.reference, h.clinic, t.session_id, t.seq, h.type,
                   h.urgency, h.red_flag_kind, h.consent, h.first_name, h.phone, h.best_time,
                   h.created_ms, h.status, h.status_by, h.status_ms);
    if (!st.ok()) return WithContext("append turn: handoff item", st);
  }
  return Status::Ok();
}

void SqliteStore::SetAfterCallbacks(std::function<void()> hook) {
  after_callbacks_ = std::move(hook);
}

void SqliteStore::AppendTurn(TurnRecord turn, SessionRecord session, Done done) {
  Op op;
  op.apply = [this, turn = std::move(turn), session = std::move(session)](Database& db) {
    return WriteTurn(db, turn, session);
  };
  op.finish = std::move(done);
  EnqueueWrite(std::move(op));
}

void SqliteStore::AppendTurns(std::vector<TurnWrite> turns) {
  std::vector<Op> ops;
  ops.reserve(turns.size());
  for (TurnWrite& w : turns) {
    Op op;
    op.apply = [this, turn = std::move(w.turn), session = std::move(w.session)](Database& db) {
      return WriteTurn(db, turn, session);
    };
    op.finish = std::move(w.done);
    ops.push_back(std::move(op));
  }
  EnqueueWrites(std::move(ops));
}

void SqliteStore::AddFeedback(FeedbackRecord feedback, Done done) {
  Op op;
  op.apply = [f = std::move(feedback)](Database& db) {
    Status s = internal::CheckEvents("add feedback", f.events);
    if (!s.ok()) return s;
    s = RunCached(db, kInsertFeedback, f.session_id, f.seq, f.rating, f.comment, f.created_ms);
    if (s.ok()) s = InsertEvents(db, f.events, f.session_id);
    return WithContext("add feedback", s);
  };
  op.finish = std::move(done);
  EnqueueWrite(std::move(op));
}

void SqliteStore::DeleteSession(std::string id, int64_t tombstone_until_ms, Done done) {
  Op op;
  op.apply = [this, id = std::move(id), tombstone_until_ms](Database& db) {
    session_rows_.erase(id);
    Status s = RunCached(db, kDeleteSession, id);
    if (s.ok()) s = RunCached(db, kDeleteSessionHandoffs, id);
    if (s.ok()) s = RunCached(db, kDeleteSessionEvents, id);  // and their deliveries
    if (s.ok()) {
      s = RunCached(db, kInsertTombstone, internal::SessionIdHash(id), tombstone_until_ms);
    }
    return WithContext("delete session", s);
  };
  op.finish = std::move(done);
  EnqueueWrite(std::move(op));
}

void SqliteStore::Purge(std::string clinic, int64_t before_ms,
                        std::function<void(StatusOr<int64_t>)> done) {
  auto deleted = std::make_shared<int64_t>(0);
  Op op;
  op.apply = [this, clinic = std::move(clinic), before_ms, deleted](Database& db) {
    session_rows_.clear();
    return ApplyPurge(db, clinic, before_ms, deleted.get());
  };
  op.finish = Deliver(deleted, std::move(done));
  EnqueueWrite(std::move(op));
}

void SqliteStore::LoadSession(std::string id, int64_t not_before_ms,
                              std::function<void(StatusOr<std::optional<SessionRecord>>)> done) {
  auto result = std::make_shared<std::optional<SessionRecord>>();
  Op op;
  op.apply = [id = std::move(id), not_before_ms, result](Database& db) {
    return ApplyLoadSession(db, id, not_before_ms, result.get());
  };
  op.finish = Deliver(result, std::move(done));
  EnqueueRead(std::move(op));
}

void SqliteStore::RecentTurns(std::string session_id, size_t limit,
                              std::function<void(StatusOr<std::vector<TurnRecord>>)> done) {
  auto result = std::make_shared<std::vector<TurnRecord>>();
  Op op;
  op.apply = [session_id = std::move(session_id), limit, result](Database& db) {
    return ApplyRecentTurns(db, session_id, limit, result.get());
  };
  op.finish = Deliver(result, std::move(done));
  EnqueueRead(std::move(op));
}

void SqliteStore::Unanswered(int64_t since_ms, size_t limit,
                             std::function<void(StatusOr<std::vector<UnansweredRecord>>)> done) {
  auto result = std::make_shared<std::vector<UnansweredRecord>>();
  Op op;
  op.apply = [since_ms, limit, result](Database& db) {
    return ApplyUnanswered(db, since_ms, limit, result.get());
  };
  op.finish = Deliver(result, std::move(done));
  EnqueueRead(std::move(op));
}

void SqliteStore::AddRevision(RevisionRecord revision,
                              std::function<void(StatusOr<int64_t>)> done) {
  auto id = std::make_shared<int64_t>(0);
  Op op;
  op.apply = [r = std::move(revision), id](Database& db) {
    return ApplyAddRevision(db, r, id.get());
  };
  op.finish = Deliver(id, std::move(done));
  EnqueueWrite(std::move(op));
}

void SqliteStore::DeleteRevision(int64_t id, Done done) {
  Op op;
  op.apply = [id](Database& db) {
    return WithContext("delete revision", RunCached(db, kDeleteRevision, id));
  };
  op.finish = std::move(done);
  EnqueueWrite(std::move(op));
}

void SqliteStore::Revisions(size_t limit,
                            std::function<void(StatusOr<std::vector<RevisionRecord>>)> done) {
  auto result = std::make_shared<std::vector<RevisionRecord>>();
  Op op;
  op.apply = [limit, result](Database& db) { return ApplyRevisions(db, limit, result.get()); };
  op.finish = Deliver(result, std::move(done));
  EnqueueRead(std::move(op));
}

void SqliteStore::DueDeliveries(int64_t now_ms, size_t limit, size_t per_endpoint,
                                std::function<void(StatusOr<std::vector<DeliveryRecord>>)> done) {
  auto result = std::make_shared<std::vector<DeliveryRecord>>();
  Op op;
  op.apply = [now_ms, limit, per_endpoint, result](Database& db) {
    return ApplyDueDeliveries(db, now_ms, limit, per_endpoint, result.get());
  };
  op.finish = Deliver(result, std::move(done));
  EnqueueRead(std::move(op));
}

void SqliteStore::UpdateDelivery(DeliveryRecord d, Done done) {
  Op op;
  op.apply = [d = std::move(d)](Database& db) {
    if (!internal::IsDeliveryStatus(d.status)) {
      return Status::InvalidArgument("update delivery: unknown status");
    }
    if (d.attempts < 0) return Status::InvalidArgument("update delivery: attempts < 0");
    // No row (its event deleted with its conversation): nothing to do.
    return WithContext("update delivery",
                       RunCached(db, kUpdateDelivery, d.event_id, d.endpoint, d.status, d.attempts,
                                 d.next_attempt_ms, d.last_attempt_ms, d.last_error));
  };
  op.finish = std::move(done);
  EnqueueWrite(std::move(op));
}

void SqliteStore::Outbox(std::function<void(StatusOr<OutboxStats>)> done) {
  auto result = std::make_shared<OutboxStats>();
  Op op;
  op.apply = [result](Database& db) { return ApplyOutbox(db, result.get()); };
  op.finish = Deliver(result, std::move(done));
  EnqueueRead(std::move(op));
}

void SqliteStore::FailedDeliveries(
    std::string clinic, size_t limit,
    std::function<void(StatusOr<std::vector<DeliveryRecord>>)> done) {
  auto result = std::make_shared<std::vector<DeliveryRecord>>();
  Op op;
  op.apply = [clinic = std::move(clinic), limit, result](Database& db) {
    return ApplyFailedDeliveries(db, clinic, limit, result.get());
  };
  op.finish = Deliver(result, std::move(done));
  EnqueueRead(std::move(op));
}

void SqliteStore::Handoffs(HandoffFilter filter,
                           std::function<void(StatusOr<std::vector<HandoffRecord>>)> done) {
  auto result = std::make_shared<std::vector<HandoffRecord>>();
  Op op;
  op.apply = [f = std::move(filter), result](Database& db) {
    return ApplyHandoffs(db, f, result.get());
  };
  op.finish = Deliver(result, std::move(done));
  EnqueueRead(std::move(op));
}

void SqliteStore::SetHandoffStatus(std::string clinic, int64_t id, std::string status,
                                   std::string who, int64_t at_ms, std::vector<EventRecord> events,
                                   Done done) {
  Op op;
  op.apply = [clinic = std::move(clinic), id, status = std::move(status), who = std::move(who),
              at_ms, events = std::move(events)](Database& db) {
    return ApplySetHandoffStatus(db, clinic, id, status, who, at_ms, events);
  };
  op.finish = std::move(done);
  EnqueueWrite(std::move(op));
}

void SqliteStore::Flush() {
  if (OnStoreThread()) return;  // waiting for ourselves would never end
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = next_ticket_;
  ++flush_waiters_;  // the writer stops gathering and commits at once
  work_cv_.notify_one();
  flush_cv_.wait(lock, [&] { return done_ticket_ >= target; });
  --flush_waiters_;
}

size_t SqliteStore::QueueDepth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_writes_;
}

}  // namespace backline::store
