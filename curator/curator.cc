#include "curator/curator.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "engine/dialogue.h"
#include "engine/engine.h"

namespace backline::curator {
namespace {

namespace fs = std::filesystem;
using engine::Diagnostic;
using engine::Status;
using engine::StatusOr;
// ordered_json keeps the keys in the order of the file, so a rewrite changes only the edit.
using Json = nlohmann::ordered_json;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Calls an asynchronous Store method and waits for its callback.
template <typename T, typename Call>
StatusOr<T> Await(Call call) {
  auto promise = std::make_shared<std::promise<StatusOr<T>>>();
  auto future = promise->get_future();
  call([promise](StatusOr<T> result) { promise->set_value(std::move(result)); });
  return future.get();
}

Status AwaitStatus(const std::function<void(store::Store::Done)>& call) {
  auto promise = std::make_shared<std::promise<Status>>();
  auto future = promise->get_future();
  call([promise](Status s) { promise->set_value(std::move(s)); });
  return future.get();
}

}  // namespace

StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read " + path.string() + ": " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IOError("cannot read " + path.string());
  return bytes;
}

// Replaces `path` with `bytes` atomically: a temporary file in the same folder, written and
// fsynced, renamed over the old one, then the folder fsynced so the rename survives a crash.
Status WriteFileAtomic(const fs::path& path, const std::string& bytes) {
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::string tmpl = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
  const int fd = mkstemp(tmpl.data());
  if (fd < 0) {
    return Status::IOError("cannot create a temporary file in " + dir.string() + ": " +
                           std::strerror(errno));
  }
  auto fail = [&](const std::string& what) {
    const std::string msg = what + " " + tmpl + ": " + std::strerror(errno);
    ::close(fd);
    ::unlink(tmpl.c_str());
    return Status::IOError(msg);
  };
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    done += static_cast<size_t>(n);
  }
  // The permissions of a content file, not mkstemp's 0600.
  if (::fchmod(fd, 0644) != 0) return fail("cannot chmod");
  if (::fsync(fd) != 0) return fail("cannot fsync");
  if (::close(fd) != 0) {
    ::unlink(tmpl.c_str());
    return Status::IOError("cannot close " + tmpl + ": " + std::strerror(errno));
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    const std::string msg =
        "cannot replace " + path.string() + ": " + std::string(std::strerror(errno));
    ::unlink(tmpl.c_str());
    return Status::IOError(msg);
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

namespace {

Status RemoveFileDurably(const fs::path& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::IOError("cannot remove " + path.string() + ": " + std::strerror(errno));
  }
  const int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

// Like Python's json.dumps(obj, indent=2, ensure_ascii=False) plus a newline: the style
// the FAQ files are written in.
std::string DumpFaqFile(const Json& doc) {
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// A private temporary folder, removed with everything in it on destruction.
class TempDir {
 public:
  static StatusOr<std::unique_ptr<TempDir>> Create() {
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    if (ec) base = "/tmp";
    std::string tmpl = (base / "backline-curator-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return Status::IOError("cannot create a temporary folder in " + base.string() + ": " +
                             std::strerror(errno));
    }
    return std::unique_ptr<TempDir>(new TempDir(tmpl));
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit TempDir(fs::path p) : path_(std::move(p)) {}
  fs::path path_;
};

void ReplaceAll(std::string* s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (size_t at = s->find(from); at != std::string::npos; at = s->find(from, at + to.size())) {
    s->replace(at, from.size(), to);
  }
}

Diagnostic Refusal(const std::string& file, const std::string& message) {
  return Diagnostic{Diagnostic::Severity::kError, engine::SourceLocation{file, 0, 0}, message};
}

bool HasError(const std::vector<Diagnostic>& diags) {
  return std::any_of(diags.begin(), diags.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  });
}

EditOutcome Refused(std::vector<Diagnostic> errors) {
  // Errors first, then warnings, each in the order found.
  std::stable_partition(errors.begin(), errors.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  });
  EditOutcome out;
  out.applied = false;
  out.errors = std::move(errors);
  return out;
}

std::vector<fs::path> FaqFiles(const std::string& knowledge) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(knowledge) / "faq", ec)) {
    if (e.is_regular_file(ec) && e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The normalised form two paraphrases are compared by: the canonical text (folded,
// spelling repaired, synonyms applied).
std::string Normalised(const engine::Engine& engine, const std::string& text) {
  return engine.analyzer().Analyze(text).canonical;
}

std::string Trimmed(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

// --- The edit pipeline -------------------------------------------------------------------

// Where an entry lives: its FAQ file, parsed, and its index in "entries".
struct Curator::Entry {
  fs::path path;
  std::string bytes;
  Json doc;
  size_t index = 0;
};

// One change to one content file, checked on a copy of the content before it is applied.
struct Curator::Change {
  std::string summary;
  fs::path path;                      // the real file
  std::string rel;                    // "knowledge/faq/sleep.json"
  std::optional<std::string> before;  // nullopt: the file does not exist yet
  std::optional<std::string> after;   // nullopt: the change removes the file
  int64_t undoes = 0;
  // More checks on the content the change would make live (e.g. the paraphrase rules);
  // refusals go to `diags` as errors.
  std::function<void(const content::Content&, std::vector<Diagnostic>*)> check;
};

engine::StatusOr<std::unique_ptr<Curator>> Curator::Create(content::ContentPaths paths,
                                                           store::Store* store, CurrentFn current,
                                                           ReloadFn reload) {
  std::error_code ec;
  if (!fs::is_directory(paths.knowledge, ec)) {
    return Status::InvalidArgument("curator: knowledge folder not found: " + paths.knowledge);
  }
  if (!fs::is_directory(paths.dialogs, ec)) {
    return Status::InvalidArgument("curator: dialogs folder not found: " + paths.dialogs);
  }
  if (store == nullptr) return Status::InvalidArgument("curator: no store");
  if (!current || !reload) return Status::InvalidArgument("curator: no content functions");
  return std::unique_ptr<Curator>(
      new Curator(std::move(paths), store, std::move(current), std::move(reload)));
}

Curator::Curator(content::ContentPaths paths, store::Store* store, CurrentFn current,
                 ReloadFn reload)
    : paths_(std::move(paths)),
      store_(store),
      current_(std::move(current)),
      reload_(std::move(reload)) {}

Curator::~Curator() = default;

content::ContentStatus Curator::CurrentStatus() const {
  auto c = current_();
  return c ? c->status : content::ContentStatus{};
}

std::string Curator::Display(const fs::path& path) const {
  return path.lexically_normal().string();
}

StatusOr<Curator::Entry> Curator::Find(const std::string& entry_id) const {
  for (const fs::path& file : FaqFiles(paths_.knowledge)) {
    StatusOr<std::string> bytes = ReadFile(file);
    if (!bytes.ok()) return bytes.status();
    Json doc = Json::parse(bytes.value(), nullptr, /*allow_exceptions=*/false,
                           /*ignore_comments=*/true);
    if (doc.is_discarded() || !doc.is_object()) continue;  // `check` reports it
    auto entries = doc.find("entries");
    if (entries == doc.end() || !entries->is_array()) continue;
    for (size_t i = 0; i < entries->size(); ++i) {
      const Json& e = (*entries)[i];
      if (e.is_object() && e.contains("id") && e["id"].is_string() &&
          e["id"].get<std::string>() == entry_id) {
        Entry out;
        out.path = file;
        out.bytes = std::move(bytes).value();
        out.doc = std::move(doc);
        out.index = i;
        return out;
      }
    }
  }
  return Status::NotFound("no FAQ entry with id '" + entry_id + "'");
}

std::string Curator::RelativeName(const fs::path& path) const {
  std::error_code ec;
  const fs::path rel = fs::relative(path, paths_.knowledge, ec);
  return "knowledge/" + (ec ? path.filename() : rel).generic_string();
}

fs::path Curator::RealPath(const std::string& rel) const {
  const std::string prefix = "knowledge/";
  if (rel.compare(0, prefix.size(), prefix) != 0) return {};
  const fs::path p = fs::path(paths_.knowledge) / rel.substr(prefix.size());
  // Never outside the knowledge folder, whatever the database says.
  const std::string normal = p.lexically_normal().string();
  const std::string root = (fs::path(paths_.knowledge) / "").lexically_normal().string();
  if (normal.compare(0, root.size(), root) != 0) return {};
  return p;
}

void Curator::CheckParaphrases(const content::Content& content, const std::string& entry_id,
                               const std::vector<std::string>& texts,
                               const std::set<std::string>& fresh, const std::string& where,
                               std::vector<Diagnostic>* diags) const {
  const engine::Engine& engine = *content.engine;
  // Every other entry's paraphrases, normalised.
  std::map<std::string, std::string> taken;  // normalised text -> entry id
  for (const auto& e : engine.content().entries) {
    if (e.id == entry_id) continue;
    for (const auto& q : e.questions) taken.emplace(Normalised(engine, q), e.id);
  }
  std::set<std::string> seen;
  const engine::Clinic& clinic = content.ClinicOrDefault("default");
  for (const std::string& text : texts) {
    const std::string norm = Normalised(engine, text);
    if (Trimmed(text).empty() || norm.empty()) {
      diags->push_back(Refusal(where, "a question is empty"));
      continue;
    }
    if (!seen.insert(norm).second) {
      diags->push_back(Refusal(
          where, "\"" + text + "\" is listed twice (after normalisation: \"" + norm + "\")"));
      continue;
    }
    if (!fresh.count(text)) continue;  // a question the entry already had stays
    if (auto it = taken.find(norm); it != taken.end()) {
      diags->push_back(Refusal(where, "\"" + text + "\" is already a question of entry '" +
                                          it->second + "' (after normalisation: \"" + norm +
                                          "\"); one phrasing can lead to one entry only"));
      continue;
    }
    const engine::TurnResult turn = engine.Turn(engine::SessionState{}, text, clinic);
    if (turn.reply.kind == engine::ReplyKind::kEscalation ||
        turn.reply.urgency != engine::Urgency::kNone) {
      std::string kind = turn.reply.red_flag_kind;
      for (const auto& k : engine.content().red_flag_kinds) {
        if (k.id == turn.reply.red_flag_kind) kind += " (" + k.name + ")";
      }
      diags->push_back(Refusal(
          where, "\"" + text + "\" reports a red flag: it is escalated as " +
                     (kind.empty() ? std::string("a red flag") : kind) +
                     " before any FAQ answer is looked for, so as a question of this entry it "
                     "would never be answered; rephrase it as a general question"));
    }
  }
}

StatusOr<EditOutcome> Curator::Apply(const std::string& who, Change change) {
  if (Trimmed(who).empty()) return Status::InvalidArgument("an edit needs the curator's name");
  const std::string display = Display(change.path);

  // 1. The change on a copy of the content, loaded exactly as `backline check` loads it.
  StatusOr<std::unique_ptr<TempDir>> tmp = TempDir::Create();
  if (!tmp.ok()) return tmp.status();
  const fs::path root = tmp.value()->path();
  const content::ContentPaths copy{(root / "knowledge").string(), (root / "dialogs").string()};
  std::error_code ec;
  fs::copy(paths_.knowledge, copy.knowledge, fs::copy_options::recursive, ec);
  if (!ec) fs::copy(paths_.dialogs, copy.dialogs, fs::copy_options::recursive, ec);
  if (ec)
    return Status::IOError("cannot copy the content to " + root.string() + ": " + ec.message());
  std::error_code rel_ec;
  const fs::path in_copy =
      fs::path(copy.knowledge) / fs::relative(change.path, paths_.knowledge, rel_ec);
  if (rel_ec) return Status::IOError("cannot place " + display + " in the copy");
  if (change.after) {
    fs::create_directories(in_copy.parent_path(), ec);
    std::ofstream out(in_copy, std::ios::binary | std::ios::trunc);
    out << *change.after;
    if (!out.flush()) return Status::IOError("cannot write the copy of " + display);
  } else {
    fs::remove(in_copy, ec);
  }
  std::vector<Diagnostic> diags;
  auto loaded = content::LoadContent(copy, &diags);
  std::shared_ptr<const content::Content> candidate =
      loaded.ok() ? std::move(loaded).value() : nullptr;
  if (candidate && change.check) change.check(*candidate, &diags);
  // Name the real files, not the copy's.
  const std::string copy_k = fs::path(copy.knowledge).lexically_normal().string();
  const std::string copy_d = fs::path(copy.dialogs).lexically_normal().string();
  const std::string real_k = fs::path(paths_.knowledge).lexically_normal().string();
  const std::string real_d = fs::path(paths_.dialogs).lexically_normal().string();
  for (Diagnostic& d : diags) {
    for (std::string* s : {&d.where.file, &d.message}) {
      ReplaceAll(s, copy_k, real_k);
      ReplaceAll(s, copy_d, real_d);
    }
  }
  if (!candidate || HasError(diags)) return Refused(std::move(diags));
  tmp.value().reset();

  // 2. The real file, unless it changed since the change was prepared.
  std::optional<std::string> now;
  if (fs::exists(change.path, ec)) {
    StatusOr<std::string> bytes = ReadFile(change.path);
    if (!bytes.ok()) return bytes.status();
    now = std::move(bytes).value();
  }
  if (now != change.before) {
    return Refused({Refusal(display,
                            "the file changed while the edit was being checked; "
                            "reload the page and try again")});
  }
  Status written =
      change.after ? WriteFileAtomic(change.path, *change.after) : RemoveFileDurably(change.path);
  if (!written.ok()) return written;
  auto restore = [&]() {
    return change.before ? WriteFileAtomic(change.path, *change.before)
                         : RemoveFileDurably(change.path);
  };

  // 3. The revision.
  store::RevisionRecord rev;
  rev.who = who;
  rev.at_ms = NowMs();
  rev.summary = change.summary;
  rev.file = change.rel;
  rev.before = change.before.value_or("");
  rev.after = change.after.value_or("");
  rev.undoes = change.undoes;
  StatusOr<int64_t> id =
      Await<int64_t>([&](auto done) { store_->AddRevision(rev, std::move(done)); });
  if (!id.ok()) {
    Status undone = restore();
    return Status::IOError("the revision could not be recorded (" + id.status().ToString() + "); " +
                           (undone.ok() ? "the file was restored, nothing changed"
                                        : "the file could not be restored: " + undone.ToString()));
  }

  // 4. Live, through the server's reload path.
  StatusOr<content::ContentStatus> live = reload_();
  if (!live.ok()) {
    Status undone = restore();
    AwaitStatus(
        [&](store::Store::Done done) { store_->DeleteRevision(id.value(), std::move(done)); });
    std::vector<Diagnostic> why{Refusal(
        display, "the edit passed validation but the reload failed (" + live.status().message() +
                     "); " +
                     (undone.ok() ? "the file was restored"
                                  : "the file could not be restored: " + undone.ToString()))};
    // Bring the server back to the restored files (a failed reload kept the old content,
    // so this normally changes nothing).
    if (undone.ok()) reload_();
    return Refused(std::move(why));
  }
  EditOutcome out;
  out.applied = true;
  out.revision = id.value();
  out.status = live.value();
  out.errors = std::move(diags);  // warnings only
  return out;
}

StatusOr<EditOutcome> Curator::AddParaphrase(const std::string& who, const std::string& entry_id,
                                             const std::string& text) {
  std::lock_guard<std::mutex> lock(edit_mutex_);
  StatusOr<Entry> found = Find(entry_id);
  if (!found.ok()) return found.status();
  Entry& e = found.value();
  const std::string display = Display(e.path);
  const std::string question = Trimmed(text);
  if (question.empty()) return Refused({Refusal(display, "the question is empty")});
  Json& entry = e.doc["entries"][e.index];
  if (!entry.contains("questions") || !entry["questions"].is_array()) {
    return Refused({Refusal(display, "entry '" + entry_id + "' has no \"questions\" list")});
  }
  if (auto cur = current_()) {
    const std::string norm = Normalised(*cur->engine, question);
    for (const Json& q : entry["questions"]) {
      if (q.is_string() && Normalised(*cur->engine, q.get<std::string>()) == norm) {
        return Refused({Refusal(display, "entry '" + entry_id + "' already has the question \"" +
                                             q.get<std::string>() + "\"")});
      }
    }
  }
  entry["questions"].push_back(question);
  Change change;
  change.summary = "add a question to " + entry_id + ": \"" + question + "\"";
  change.path = e.path;
  change.rel = RelativeName(e.path);
  change.before = e.bytes;
  change.after = DumpFaqFile(e.doc);
  change.check = [this, entry_id, question, display](const content::Content& c,
                                                     std::vector<Diagnostic>* diags) {
    CheckParaphrases(c, entry_id, {question}, {question}, display, diags);
  };
  return Apply(who, std::move(change));
}

StatusOr<EditOutcome> Curator::UpdateEntry(const std::string& who, const std::string& entry_id,
                                           const std::vector<std::string>& questions,
                                           const std::string& answer) {
  std::lock_guard<std::mutex> lock(edit_mutex_);
  StatusOr<Entry> found = Find(entry_id);
  if (!found.ok()) return found.status();
  Entry& e = found.value();
  const std::string display = Display(e.path);
  Json& entry = e.doc["entries"][e.index];
  std::set<std::string> old;
  if (entry.contains("questions") && entry["questions"].is_array()) {
    for (const Json& q : entry["questions"]) {
      if (q.is_string()) old.insert(q.get<std::string>());
    }
  }
  std::vector<std::string> trimmed;
  // Only new questions must pass the taken-elsewhere and red-flag rules: the shipped ones
  // stay even if the rules got stricter.
  std::set<std::string> added;
  for (const std::string& q : questions) {
    trimmed.push_back(Trimmed(q));
    if (!old.count(trimmed.back())) added.insert(trimmed.back());
  }
  Json list = Json::array();
  for (const std::string& q : trimmed) list.push_back(q);
  entry["questions"] = std::move(list);
  entry["answer"] = Trimmed(answer);
  Change change;
  change.summary = "edit the questions and answer of " + entry_id;
  change.path = e.path;
  change.rel = RelativeName(e.path);
  change.before = e.bytes;
  change.after = DumpFaqFile(e.doc);
  if (*change.after == *change.before) {
    return Refused({Refusal(display, "nothing changed in entry '" + entry_id + "'")});
  }
  change.check = [this, entry_id, trimmed, added, display](const content::Content& c,
                                                           std::vector<Diagnostic>* diags) {
    CheckParaphrases(c, entry_id, trimmed, added, display, diags);
  };
  return Apply(who, std::move(change));
}

StatusOr<EditOutcome> Curator::CreateEntry(const std::string& who, const NewEntry& in) {
  std::lock_guard<std::mutex> lock(edit_mutex_);
  const std::string id = Trimmed(in.id);
  const std::string topic = Trimmed(in.topic);
  const fs::path faq = fs::path(paths_.knowledge) / "faq";
  if (id.empty()) return Refused({Refusal(Display(faq), "the new entry has no id")});
  if (Find(id).ok()) {
    return Refused({Refusal(Display(faq), "an entry with id '" + id + "' already exists")});
  }
  // The topics of the content being served (knowledge/topics.json); a new entry's file is
  // validated again, with the rest of the content, before anything is written.
  const auto cur = current_();
  const std::vector<std::string> topics =
      cur ? cur->engine->FaqTopicIds() : std::vector<std::string>{};
  if (std::find(topics.begin(), topics.end(), topic) == topics.end()) {
    std::string known;
    for (const auto& t : topics) known += (known.empty() ? "" : ", ") + t;
    return Refused(
        {Refusal(Display(faq), "unknown topic '" + topic + "' (one of: " + known + ")")});
  }
  // The topic's file: the one whose "topic" is this topic, else a new <topic>.json.
  fs::path path;
  std::optional<std::string> before;
  Json doc;
  std::optional<Json> schema;
  for (const fs::path& file : FaqFiles(paths_.knowledge)) {
    StatusOr<std::string> bytes = ReadFile(file);
    if (!bytes.ok()) return bytes.status();
    Json d = Json::parse(bytes.value(), nullptr, false, true);
    if (d.is_discarded() || !d.is_object()) continue;
    if (!schema && d.contains("$schema")) schema = d["$schema"];
    if (d.contains("topic") && d["topic"] == topic && d.contains("entries") &&
        d["entries"].is_array()) {
      path = file;
      before = std::move(bytes).value();
      doc = std::move(d);
      break;
    }
  }
  if (path.empty()) {
    path = faq / (topic + ".json");
    std::error_code ec;
    if (fs::exists(path, ec)) {
      return Refused({Refusal(Display(path), "the file exists but is not the FAQ file of topic '" +
                                                 topic + "'; fix it by hand first")});
    }
    doc = Json::object();
    if (schema) doc["$schema"] = *schema;  // like its siblings
    doc["topic"] = topic;
    doc["entries"] = Json::array();
  }
  Json entry = Json::object();
  entry["id"] = id;
  entry["topic"] = topic;
  entry["questions"] = Json::array();
  std::vector<std::string> questions;
  for (const auto& q : in.questions) {
    questions.push_back(Trimmed(q));
    entry["questions"].push_back(questions.back());
  }
  entry["keywords"] = Json::array();
  for (const auto& k : in.keywords) entry["keywords"].push_back(Trimmed(k));
  entry["answer"] = Trimmed(in.answer);
  entry["sources"] = Json::array();
  for (const auto& s : in.sources) {
    entry["sources"].push_back(Json{{"title", Trimmed(s.title)}, {"url", Trimmed(s.url)}});
  }
  entry["reviewed"] = Trimmed(in.reviewed_on);
  doc["entries"].push_back(std::move(entry));

  Change change;
  change.summary = "new entry " + id + " in topic " + topic;
  change.path = path;
  change.rel = RelativeName(path);
  change.before = before;
  change.after = DumpFaqFile(doc);
  const std::string display = Display(path);
  change.check = [this, id, questions, display](const content::Content& c,
                                                std::vector<Diagnostic>* diags) {
    CheckParaphrases(c, id, questions, std::set<std::string>(questions.begin(), questions.end()),
                     display, diags);
  };
  return Apply(who, std::move(change));
}

StatusOr<EditOutcome> Curator::UndoLast(const std::string& who) {
  std::lock_guard<std::mutex> lock(edit_mutex_);
  StatusOr<std::vector<store::RevisionRecord>> all = Await<std::vector<store::RevisionRecord>>(
      [&](auto done) { store_->Revisions(std::numeric_limits<int32_t>::max(), std::move(done)); });
  if (!all.ok()) return all.status();
  std::set<int64_t> undone;
  for (const auto& r : all.value()) {
    if (r.undoes != 0) undone.insert(r.undoes);
  }
  const store::RevisionRecord* target = nullptr;
  for (const auto& r : all.value()) {  // newest first
    if (r.undoes == 0 && !undone.count(r.id)) {
      target = &r;
      break;
    }
  }
  if (!target) return Status::NotFound("there is no revision left to undo");
  const fs::path path = RealPath(target->file);
  if (path.empty()) {
    return Status::DataError("revision " + std::to_string(target->id) +
                             " names a file outside the knowledge folder: " + target->file);
  }
  const std::string display = Display(path);
  std::optional<std::string> now;
  std::error_code ec;
  if (fs::exists(path, ec)) {
    StatusOr<std::string> bytes = ReadFile(path);
    if (!bytes.ok()) return bytes.status();
    now = std::move(bytes).value();
  }
  // The file must still be what the revision made it.
  const std::optional<std::string> made =
      target->after.empty() ? std::nullopt : std::optional<std::string>(target->after);
  if (now != made) {
    return Refused({Refusal(
        display, "cannot undo revision " + std::to_string(target->id) + " (" + target->summary +
                     "): the file has changed since (edited by hand or by a change outside the "
                     "curator); edit it instead")});
  }
  Change change;
  change.summary = "undo revision " + std::to_string(target->id) + ": " + target->summary;
  change.path = path;
  change.rel = target->file;
  change.before = now;
  change.after = target->before.empty() ? std::nullopt : std::optional<std::string>(target->before);
  change.undoes = target->id;
  return Apply(who, std::move(change));
}

StatusOr<std::vector<store::RevisionRecord>> Curator::Revisions(size_t limit) {
  return Await<std::vector<store::RevisionRecord>>(
      [&](auto done) { store_->Revisions(limit, std::move(done)); });
}

StatusOr<std::vector<UnansweredGroup>> Curator::Unanswered(int64_t since_ms, size_t limit) {
  auto content = current_();
  if (!content) return Status::Unavailable("no content loaded");
  StatusOr<std::vector<store::UnansweredRecord>> records =
      Await<std::vector<store::UnansweredRecord>>(
          [&](auto done) { store_->Unanswered(since_ms, kMaxUnansweredRecords, std::move(done)); });
  if (!records.ok()) return records.status();
  return GroupUnanswered(content->engine->analyzer(), records.value(), limit);
}

StatusOr<content::ContentStatus> Curator::Reload() {
  std::lock_guard<std::mutex> lock(edit_mutex_);
  return reload_();
}

}  // namespace backline::curator
