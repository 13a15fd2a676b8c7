// Curator: the back end of the curators' tools. Safe content edits (validated exactly as
// `backline check` validates, written back to the content files, recorded as revisions in
// the database, made live by the server's one reload path), undo, and the grouped list of
// questions that went unanswered.
//
//   auto curator = Curator::Create(paths, store, current_content, reload);
//   auto out = curator.value()->AddParaphrase("nurse.ann", "sleep-positions-pillows",
//                                             "which side should I sleep on");
//   if (!out.ok()) ...              // kNotFound (unknown entry), kIOError, kInvalidArgument
//   else if (!out->applied) ...     // refused: out->errors says why; nothing was written
//
// How an edit is applied (every edit, undo included):
//   1. The FAQ file holding the entry is read and the change applied to its JSON (keys the
//      curator did not touch, "$schema" and unknown keys included, are kept; the file is
//      written like Python's json.dumps(indent=2, ensure_ascii=False) plus a newline, so a
//      git diff shows only the change).
//   2. knowledge/ and dialogs/ are copied to a temporary folder, the changed file written
//      there, and LoadContent() (content/content.h) run on the copy: any error diagnostic
//      refuses the edit (EditOutcome::applied == false, errors = the diagnostics, with file
//      names as in the real folders). Paraphrases are also refused when they already belong
//      to another entry (compared after normalisation) or when the text alone would trigger
//      a red-flag escalation.
//   3. The real file is replaced atomically (temp file in the same folder, fsync, rename).
//   4. The revision (who, when, summary, file, the file's bytes before and after) is stored.
//   5. The server's reload function is called. If it fails, the old bytes are restored
//      (atomically), the revision is deleted, and the edit is refused with the reason.
// Edits are serialised (one at a time per Curator); reads (Revisions, Unanswered) are not.
//
// Thread safety: all methods may be called from any thread; every method may block (disk,
// database, compiling the content), so never call them on a network thread.
#ifndef BACKLINE_CURATOR_CURATOR_H_
#define BACKLINE_CURATOR_CURATOR_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "content/content.h"
#include "curator/unanswered_report.h"
#include "engine/content.h"
#include "engine/status.h"
#include "store/store.h"

namespace backline::curator {

// A content file's bytes, or why it could not be read.
engine::StatusOr<std::string> ReadFile(const std::filesystem::path& path);
// Replaces `path` with `bytes` atomically and durably: a temporary file in the same folder,
// fsynced, renamed over the old one, then the folder fsynced. Every content edit (the curator
// page, `backline concepts propose --review`) writes through it.
engine::Status WriteFileAtomic(const std::filesystem::path& path, const std::string& bytes);

struct EditOutcome {
  bool applied = false;
  // When refused: why (errors first). Warnings of an applied edit are included too.
  std::vector<engine::Diagnostic> errors;
  int64_t revision = 0;           // the new revision's id when applied
  content::ContentStatus status;  // the content now live (after the reload) when applied
};

// A new FAQ entry. The entry goes into knowledge/faq/<topic>.json (created when the topic
// has no file yet, with {"topic": ..., "entries": [...]}).
struct NewEntry {
  std::string topic;  // a FAQ topic id (engine/content.h FaqTopicIds)
  std::string id;     // unique among all entries
  std::vector<std::string> questions;
  std::vector<std::string> keywords;  // may be empty
  std::string answer;
  std::vector<engine::Source> sources;
  std::string reviewed_on;  // YYYY-MM-DD
};

class Curator {
 public:
  // `current` returns the content being served (for normalising and the red-flag check).
  // `reload` is the server's single reload path: it loads the content folders and swaps
  // them in, returning the status of what is now live, or an error (and keeps serving the
  // previous content).
  using CurrentFn = std::function<std::shared_ptr<const content::Content>()>;
  using ReloadFn = std::function<engine::StatusOr<content::ContentStatus>()>;

  // `store` must outlive the Curator. Fails with kInvalidArgument when a folder is missing.
  static engine::StatusOr<std::unique_ptr<Curator>> Create(content::ContentPaths paths,
                                                           store::Store* store, CurrentFn current,
                                                           ReloadFn reload);

  // Appends `text` to the entry's questions. Refused (applied=false) when empty, when the
  // entry already has it, when another entry has it, when it would escalate as a red flag,
  // or when the content would not load. kNotFound: no entry with that id.
  engine::StatusOr<EditOutcome> AddParaphrase(const std::string& who, const std::string& entry_id,
                                              const std::string& text);

  // Replaces the entry's questions and answer (everything else is kept). Refused like
  // AddParaphrase for each new question, and when the content would not load (an empty
  // answer, no questions ...). kNotFound: no entry with that id.
  engine::StatusOr<EditOutcome> UpdateEntry(const std::string& who, const std::string& entry_id,
                                            const std::vector<std::string>& questions,
                                            const std::string& answer);

  // Adds a new entry. Refused when the id is taken, the topic unknown, a question belongs to
  // another entry or would escalate, or the content would not load.
  engine::StatusOr<EditOutcome> CreateEntry(const std::string& who, const NewEntry& entry);

  // Undoes the most recent revision that is neither an undo nor already undone, by writing
  // back its `before` bytes (validated like any edit) and recording a new revision with
  // `undoes` set. Undoing again undoes the revision before that one, and so on (a stack).
  // Refused (applied=false) when the file has changed since that revision (its bytes differ
  // from the revision's `after`), or when the restored content would not load.
  // kNotFound: nothing left to undo.
  engine::StatusOr<EditOutcome> UndoLast(const std::string& who);

  // The most recent revisions (store/store.h RevisionRecord), newest first.
  engine::StatusOr<std::vector<store::RevisionRecord>> Revisions(size_t limit);

  // Questions that went unanswered since `since_ms`, grouped (curator/unanswered_report.h)
  // with the live content's analyser, biggest group first; at most `limit` groups.
  // The groups hold patient text: serve them only to authenticated curators.
  engine::StatusOr<std::vector<UnansweredGroup>> Unanswered(int64_t since_ms, size_t limit);

  // Reloads the content from the folders through the server's reload path (the same path
  // SIGHUP and Server::Reload() take): the status now live, or kDataError with the errors
  // (the previous content keeps being served). Serialised with edits.
  engine::StatusOr<content::ContentStatus> Reload();

  // The content being served now.
  content::ContentStatus CurrentStatus() const;

  const content::ContentPaths& paths() const { return paths_; }

  ~Curator();
  Curator(const Curator&) = delete;
  Curator& operator=(const Curator&) = delete;

  // Unanswered() groups at most this many records since `since_ms` (the oldest first).
  static constexpr size_t kMaxUnansweredRecords = 100000;

 private:
  struct Entry;
  struct Change;

  Curator(content::ContentPaths paths, store::Store* store, CurrentFn current, ReloadFn reload);
  engine::StatusOr<Entry> Find(const std::string& entry_id) const;
  std::string Display(const std::filesystem::path& path) const;
  std::string RelativeName(const std::filesystem::path& path) const;
  std::filesystem::path RealPath(const std::string& rel) const;
  // Refusals for `texts` (an entry's questions): empty or listed twice; and for those in
  // `fresh`, also belonging to another entry or reporting a red flag.
  void CheckParaphrases(const content::Content& content, const std::string& entry_id,
                        const std::vector<std::string>& texts, const std::set<std::string>& fresh,
                        const std::string& where, std::vector<engine::Diagnostic>* diags) const;
  engine::StatusOr<EditOutcome> Apply(const std::string& who, Change change);

  content::ContentPaths paths_;
  store::Store* store_;
  CurrentFn current_;
  ReloadFn reload_;
  std::mutex edit_mutex_;  // one edit at a time
};

}  // namespace backline::curator

#endif  // BACKLINE_CURATOR_CURATOR_H_
