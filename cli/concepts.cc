// backline concepts: the red-flag concept lists (knowledge/concepts.json) for curators.
//
//   list                 every concept, its word count and the rules that combine it
//   propose ID           words WordNet relates to the concept's words, best first; with
//                        --review, asks about each (y/n/q) and adds the accepted words to
//                        concepts.json, then shows which labelled messages (tests/eval) now
//                        escalate differently. Nothing is written when the result fails
//                        to load.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "content/content.h"
#include "curator/curator.h"
#include "engine/engine.h"
#include "knowledge/wordnet.h"

namespace backline::cli {
namespace {

namespace fs = std::filesystem;

const engine::Concept* FindConcept(const engine::ContentSpec& spec, const std::string& id) {
  for (const auto& c : spec.concepts) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

std::shared_ptr<const content::Content> Load(const content::ContentPaths& paths,
                                             std::ostream& err) {
  std::vector<engine::Diagnostic> diags;
  auto content = content::LoadContent(paths, &diags);
  if (!content.ok()) {
    for (const auto& d : diags) {
      if (d.severity == engine::Diagnostic::Severity::kError) err << d.ToString() << "\n";
    }
    return nullptr;
  }
  return std::move(content).value();
}

// Adds `words` to the "words" list of concept `id` in the text of concepts.json, keeping the
// file's comments and layout: the words go before the list's closing bracket, on a new line
// (indented like the list) when the last line would pass 100 columns. False when the concept
// or its list is not found.
bool InsertWords(std::string* text, const std::string& id, const std::vector<std::string>& words) {
  const std::string key = "\"id\": \"" + id + "\"";
  const size_t at = text->find(key);
  if (at == std::string::npos) return false;
  const size_t list = text->find("\"words\": [", at);
  if (list == std::string::npos) return false;
  size_t close = std::string::npos;
  bool in_string = false;
  for (size_t i = list + 10; i < text->size(); ++i) {
    const char c = (*text)[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == ']') {
      close = i;
      break;
    }
  }
  if (close == std::string::npos) return false;
  const size_t line_start = text->rfind('\n', close) + 1;
  const size_t indent_at = text->find_first_not_of(' ', line_start);
  std::string indent(indent_at - line_start, ' ');
  if (line_start <= list) indent = std::string(list - line_start + 10, ' ');
  size_t column = close - line_start;
  std::string insert;
  for (const auto& w : words) {
    const std::string item = nlohmann::json(w).dump();
    if (column + item.size() + 3 > 100) {
      insert += ",\n" + indent + item;
      column = indent.size() + item.size();
    } else {
      insert += ", " + item;
      column += item.size() + 2;
    }
  }
  text->insert(close, insert);
  return true;
}

struct Labelled {
  std::string set, id, text;
};

std::vector<Labelled> LabelledMessages(const content::ContentPaths& paths) {
  std::vector<Labelled> out;
  const fs::path dir = fs::path(paths.knowledge).parent_path() / "tests" / "eval";
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".jsonl") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    std::string line;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object() || !j.contains("text") || !j["text"].is_string()) continue;
      out.push_back({f.stem().string(), j.value("id", ""), j["text"].get<std::string>()});
    }
  }
  return out;
}

std::string Outcome(const content::Content& c, const std::string& text) {
  engine::TurnOptions o;
  o.explain = false;
  const engine::TurnResult r =
      c.engine->Turn(engine::SessionState{}, text, c.ClinicOrDefault(""), o);
  if (r.reply.kind == engine::ReplyKind::kEscalation) return "escalation " + r.reply.red_flag_kind;
  return r.reply.screening ? "screening questions" : "no escalation";
}

int List(const content::ContentPaths& paths, std::ostream& out, std::ostream& err) {
  const auto content = Load(paths, err);
  if (!content) return 2;
  const auto& spec = content->engine->content();
  std::map<std::string, std::set<std::string>> users;
  for (const auto& r : spec.red_flag_rules) {
    for (const auto& combination : r.concepts) {
      for (const auto& id : combination) users[id].insert(r.id);
    }
  }
  for (const auto& c : spec.concepts) {
    out << c.id << " (" << c.words.size() << " words)";
    const auto& u = users[c.id];
    out << (u.empty() ? ": used by no rule" : ": ");
    bool first = true;
    for (const auto& r : u) {
      out << (first ? "" : ", ") << r;
      first = false;
    }
    out << "\n";
  }
  return 0;
}

int Propose(const content::ContentPaths& paths, const std::string& id,
            const std::string& wordnet_dir, size_t limit, bool review, std::istream& in,
            std::ostream& out, std::ostream& err) {
  const auto before = Load(paths, err);
  if (!before) return 2;
  const engine::Concept* concept_spec = FindConcept(before->engine->content(), id);
  if (!concept_spec) {
    err << "backline concepts propose: no concept '" << id
        << "' (backline concepts list shows them)\n";
    return 2;
  }
  auto wn = knowledge::WordNet::Open(wordnet_dir);
  if (!wn.ok()) {
    err << "backline concepts propose: " << wn.status().message() << "\n";
    return 2;
  }
  const auto proposals = wn->Propose(concept_spec->words, 3, limit);
  if (proposals.empty()) {
    out << "WordNet has nothing new for '" << id << "'.\n";
    return 0;
  }
  std::vector<std::string> accepted;
  out << "WordNet's words for '" << id << "' (" << concept_spec->words.size()
      << " words now), best first:\n";
  for (size_t i = 0; i < proposals.size(); ++i) {
    const auto& p = proposals[i];
    out << "  " << (i + 1) << ". " << p.word << "  (" << p.why;
    if (p.support > 1) out << ", and " << (p.support - 1) << " more";
    out << ")";
    if (!review) {
      out << "\n";
      continue;
    }
    out << "  add? [y/n/q] " << std::flush;
    std::string answer;
    if (!std::getline(in, answer) || answer == "q") {
      out << "\n";
      break;
    }
    if (answer == "y" || answer == "yes") accepted.push_back(p.word);
  }
  if (!review) {
    out << "Nothing written. Run with --review to accept or reject each one; WordNet knows "
           "dictionary words, not how patients talk, so most are for rejecting.\n";
    return 0;
  }
  if (accepted.empty()) {
    out << "No words accepted; concepts.json is unchanged.\n";
    return 0;
  }
  const fs::path file = fs::path(paths.knowledge) / "concepts.json";
  auto read = curator::ReadFile(file);
  if (!read.ok()) {
    err << "backline concepts propose: " << read.status().message() << "\n";
    return 1;
  }
  std::string text = read.value();
  const std::string original = text;
  if (!InsertWords(&text, id, accepted)) {
    err << "backline concepts propose: could not find the words list of '" << id << "' in "
        << file.string() << "\n";
    return 1;
  }
  if (const auto written = curator::WriteFileAtomic(file, text); !written.ok()) {
    err << "backline concepts propose: " << written.message() << "\n";
    return 1;
  }
  const auto after = Load(paths, err);
  if (!after) {
    curator::WriteFileAtomic(file, original);
    err << "backline concepts propose: the new words make the content fail to load (above); "
           "concepts.json is unchanged\n";
    return 1;
  }
  out << "Added " << accepted.size() << " word(s) to '" << id << "' in " << file.string() << ".\n";
  size_t changed = 0;
  for (const auto& m : LabelledMessages(paths)) {
    const std::string was = Outcome(*before, m.text);
    const std::string now = Outcome(*after, m.text);
    if (was == now) continue;
    if (changed++ == 0) out << "Labelled messages (tests/eval) that now get a different reply:\n";
    out << "  " << m.set << " " << m.id << ": " << was << " -> " << now << ": " << m.text << "\n";
  }
  if (changed == 0) out << "No labelled message (tests/eval) gets a different reply.\n";
  out << "Next: backline check (every rule's examples must still escalate), then backline "
         "eval on the sets for recall and false alarms.\n";
  return 0;
}

}  // namespace

int RunConcepts(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                std::ostream& err) {
  content::ContentPaths paths = content::DefaultContentPaths();
  std::string wordnet_dir = "/usr/share/wordnet";
  size_t limit = 40;
  bool review = false;
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const auto value = [&](std::string* v) {
      if (i + 1 >= args.size()) {
        err << "backline concepts: " << a << " needs a value\n";
        return false;
      }
      *v = args[++i];
      return true;
    };
    std::string v;
    if (a == "--kb") {
      if (!value(&paths.knowledge)) return 2;
    } else if (a == "--dialogs") {
      if (!value(&paths.dialogs)) return 2;
    } else if (a == "--wordnet") {
      if (!value(&wordnet_dir)) return 2;
    } else if (a == "--limit") {
      if (!value(&v)) return 2;
      char* end = nullptr;
      const unsigned long n = std::strtoul(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n == 0 || n > 1000) {
        err << "backline concepts: --limit must be a whole number 1-1000\n";
        return 2;
      }
      limit = n;
    } else if (a == "--review") {
      review = true;
    } else if (!a.empty() && a[0] == '-') {
      err << "backline concepts: unknown option '" << a << "'\n";
      return 2;
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() == 1 && positional[0] == "list") return List(paths, out, err);
  if (positional.size() == 2 && positional[0] == "propose") {
    return Propose(paths, positional[1], wordnet_dir, limit, review, in, out, err);
  }
  err << "usage: backline concepts list | backline concepts propose ID [--review] "
         "[--wordnet DIR] [--limit N] [--kb DIR] [--dialogs DIR]\n";
  return 2;
}

}  // namespace backline::cli
