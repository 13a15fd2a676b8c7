#include "knowledge/loader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "knowledge/classifier.h"
#include "knowledge/json_file.h"

namespace backline::knowledge {
namespace fs = std::filesystem;
using engine::Diagnostic;
using json = nlohmann::json;

namespace {

std::string Display(const std::string& dir, const std::string& rel) {
  return (fs::path(dir) / rel).lexically_normal().string();
}

bool IsValidId(const std::string& id) {
  if (id.empty()) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return true;
}

// A real calendar date written YYYY-MM-DD (leap years included).
bool IsDate(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  const int year = std::stoi(s.substr(0, 4));
  const int month = (s[5] - '0') * 10 + (s[6] - '0');
  const int day = (s[8] - '0') * 10 + (s[9] - '0');
  if (month < 1 || month > 12 || day < 1) return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int days = month == 2 && leap ? 29 : kDays[month - 1];
  return day <= days;
}

// An answer longer than this is an error, not a lint warning (answer-length warns from 800
// characters): it goes whole into one reply frame, into every stored turn that gives it and
// into the review sheet, and nobody reads 8 KiB on a phone. A 10 MB answer once passed
// `check` with a warning.
constexpr size_t kMaxAnswerBytes = 8 * 1024;

bool ReadFaq(const JsonFile& f, std::vector<engine::FaqEntry>* out,
             std::vector<Diagnostic>* diags) {
  const json* entries = ListUnder(f, "entries", "an FAQ file is an object with an \"entries\" list",
                                  {"topic", "entries"}, diags);
  if (!entries) return false;
  std::string file_topic;
  GetString(f, f.root(), "", "topic", false, &file_topic, diags);
  bool ok = true;
  for (size_t i = 0; i < entries->size(); ++i) {
    const std::string ptr = "/entries/" + std::to_string(i);
    const json& e = (*entries)[i];
    if (!IsObjectItem(f, e, ptr, "an entry", diags)) {
      ok = false;
      continue;
    }
    CheckKeys(f, e, ptr,
              {"id", "topic", "questions", "keywords", "answer", "sources", "reviewed",
               "reviewed_by", "next_review"},
              diags);
    engine::FaqEntry entry;
    entry.where = f.At(ptr);
    bool good = GetString(f, e, ptr, "id", true, &entry.id, diags);
    good &= GetString(f, e, ptr, "topic", true, &entry.topic, diags);
    good &=
        GetStrings(f, e, ptr, "questions", true, &entry.questions, &entry.question_where, diags);
    good &= GetStrings(f, e, ptr, "keywords", false, &entry.keywords, nullptr, diags);
    good &= GetString(f, e, ptr, "answer", true, &entry.answer, diags);
    if (entry.answer.size() > kMaxAnswerBytes) {
      Error(diags, f.At(ptr + "/answer"),
            "the answer is " + std::to_string(entry.answer.size()) + " bytes; an answer may be " +
                "at most " + std::to_string(kMaxAnswerBytes) +
                " bytes (8 KiB): split it into several entries");
      good = false;
    }
    good &= GetString(f, e, ptr, "reviewed", true, &entry.reviewed, diags);
    good &= GetString(f, e, ptr, "reviewed_by", false, &entry.reviewed_by, diags);
    good &= GetString(f, e, ptr, "next_review", false, &entry.next_review, diags);
    if (!entry.next_review.empty() && !IsDate(entry.next_review)) {
      Error(diags, f.At(ptr + "/next_review"), "\"next_review\" must be a date like 2027-11-26");
      good = false;
    }
    if (!entry.id.empty() && !IsValidId(entry.id)) {
      Error(diags, f.At(ptr + "/id"),
            "entry id '" + entry.id + "' may hold only lowercase letters, digits, '-' and '_'");
      good = false;
    }
    if (!IsDate(entry.reviewed) && e.contains("reviewed") && e["reviewed"].is_string()) {
      Error(diags, f.At(ptr + "/reviewed"), "\"reviewed\" must be a date like 2026-11-26");
      good = false;
    }
    if (!file_topic.empty() && !entry.topic.empty() && entry.topic != file_topic) {
      diags->push_back(Diagnostic{Diagnostic::Severity::kWarning, f.At(ptr + "/topic"),
                                  "entry '" + entry.id + "' has topic '" + entry.topic +
                                      "' in a file for topic '" + file_topic + "'"});
    }
    if (auto s = e.find("sources"); s != e.end()) {
      if (!s->is_array()) {
        Error(diags, f.At(ptr + "/sources"), "\"sources\" must be a list");
        good = false;
      } else {
        for (size_t k = 0; k < s->size(); ++k) {
          const std::string sp = ptr + "/sources/" + std::to_string(k);
          const json& src = (*s)[k];
          if (!src.is_object()) {
            Error(diags, f.At(sp), "a source is an object with \"title\" and \"url\"");
            good = false;
            continue;
          }
          engine::Source source;
          good &= GetString(f, src, sp, "title", true, &source.title, diags);
          good &= GetString(f, src, sp, "url", false, &source.url, diags);
          if (!source.url.empty() && source.url.rfind("https://", 0) != 0 &&
              source.url.rfind("http://", 0) != 0) {
            Error(diags, f.At(sp + "/url"), "a source url must start with https:// or http://");
            good = false;
          }
          entry.sources.push_back(std::move(source));
        }
      }
    }
    if (good) out->push_back(std::move(entry));
    ok &= good;
  }
  return ok;
}

bool ReadSynonyms(const JsonFile& f, std::vector<engine::SynonymGroup>* out,
                  std::vector<Diagnostic>* diags) {
  const json* groups = ListUnder(f, "groups", "synonyms.json is an object with a \"groups\" list",
                                 {"groups"}, diags);
  if (!groups) return false;
  bool ok = true;
  for (size_t i = 0; i < groups->size(); ++i) {
    const std::string ptr = "/groups/" + std::to_string(i);
    const json& g = (*groups)[i];
    if (!IsObjectItem(f, g, ptr, "a synonym group (\"canonical\" and \"terms\")", diags)) {
      ok = false;
      continue;
    }
    CheckKeys(f, g, ptr, {"canonical", "terms"}, diags);
    engine::SynonymGroup group;
    group.where = f.At(ptr);
    bool good = GetString(f, g, ptr, "canonical", true, &group.canonical, diags);
    good &= GetStrings(f, g, ptr, "terms", true, &group.terms, nullptr, diags);
    if (good) out->push_back(std::move(group));
    ok &= good;
  }
  return ok;
}

bool ReadTopics(const JsonFile& f, std::vector<engine::TopicSpec>* out,
                std::vector<Diagnostic>* diags) {
  const json* topics =
      ListUnder(f, "topics", "topics.json is an object with a \"topics\" list", {"topics"}, diags);
  if (!topics) return false;
  bool ok = true;
  for (size_t i = 0; i < topics->size(); ++i) {
    const std::string ptr = "/topics/" + std::to_string(i);
    const json& t = (*topics)[i];
    if (!IsObjectItem(f, t, ptr, "a topic (\"id\", \"title\", \"faq\")", diags)) {
      ok = false;
      continue;
    }
    CheckKeys(f, t, ptr, {"id", "title", "faq"}, diags);
    engine::TopicSpec topic;
    topic.where = f.At(ptr);
    bool good = GetString(f, t, ptr, "id", true, &topic.id, diags);
    good &= GetString(f, t, ptr, "title", true, &topic.title, diags);
    if (const auto it = t.find("faq"); it != t.end()) {
      if (it->is_boolean()) {
        topic.faq = it->get<bool>();
      } else {
        Error(diags, f.At(ptr + "/faq"), "\"faq\" must be true or false");
        good = false;
      }
    }
    if (good) out->push_back(std::move(topic));
    ok &= good;
  }
  return ok;
}

// The "lint" object of language.json: thresholds of `backline check`'s content
// lint. Unlike elsewhere, an unknown key is an error here: a misspelt threshold
// would silently keep its default and hide the warnings it was meant to tune.
bool ReadLint(const JsonFile& f, const json& l, engine::LintSpec* lint,
              std::vector<Diagnostic>* diags) {
  if (!l.is_object()) {
    Error(diags, f.At("/lint"), "\"lint\" is an object of thresholds");
    return false;
  }
  bool ok = true;
  static const char* const kKeys[] = {"max_grade", "max_answer_chars", "max_review_age_days",
                                      "max_paraphrase_overlap"};
  for (auto it = l.begin(); it != l.end(); ++it) {
    if (it.key() == "$comment") continue;
    bool known = false;
    for (const char* k : kKeys) known |= it.key() == k;
    if (!known) {
      Error(diags, f.At("/lint/" + it.key() + "#key"),
            "unknown lint threshold \"" + it.key() +
                "\" (known: max_grade, max_answer_chars, "
                "max_review_age_days, max_paraphrase_overlap)");
      ok = false;
    }
  }
  auto num = [&](const char* key, double lo, double hi, bool whole, double* out) {
    auto it = l.find(key);
    if (it == l.end()) return;
    if (!it->is_number() || (whole && !it->is_number_integer()) || it->get<double>() < lo ||
        it->get<double>() > hi) {
      Error(diags, f.At(std::string("/lint/") + key),
            std::string("\"") + key + "\" must be a " + (whole ? "whole number" : "number") +
                " from " + std::to_string(static_cast<int>(lo)) + " to " +
                std::to_string(static_cast<int>(hi)));
      ok = false;
      return;
    }
    *out = it->get<double>();
  };
  num("max_grade", 1, 20, false, &lint->max_grade);
  double chars = lint->max_answer_chars;
  num("max_answer_chars", 100, 10000, true, &chars);
  lint->max_answer_chars = static_cast<int>(chars);
  double age = lint->max_review_age_days;
  num("max_review_age_days", 1, 3650, true, &age);
  lint->max_review_age_days = static_cast<int>(age);
  num("max_paraphrase_overlap", 0, 1, false, &lint->max_paraphrase_overlap);
  return ok;
}

bool ReadLanguage(const JsonFile& f, engine::LanguageSpec* lang, engine::RetrievalSpec* retrieval,
                  engine::LintSpec* lint, std::vector<Diagnostic>* diags) {
  const json& root = f.root();
  if (!root.is_object()) {
    Error(diags, f.At(""), "language.json is an object");
    return false;
  }
  CheckKeys(f, root, "",
            {"contractions",
             "stopwords",
             "negation_cues",
             "pseudo_negations",
             "post_negation_cues",
             "hypothetical_cues",
             "current_cues",
             "resolved_cues",
             "future_cues",
             "imagined_cues",
             "clause_breaks",
             "negation_breaks",
             "negation_window",
             "retrieval",
             "dictionaries",
             "example_joiners",
             "hedges",
             "novelty_cues",
             "figurative_phrases",
             "other_experiencers",
             "writer_words",
             "other_people",
             "message_frames",
             "concept_window",
             "lint"},
            diags);
  lang->where = f.At("");
  bool ok = true;
  if (auto c = root.find("contractions"); c != root.end()) {
    if (!c->is_object()) {
      Error(diags, f.At("/contractions"), "\"contractions\" maps a word to its expansion");
      ok = false;
    } else {
      for (auto it = c->begin(); it != c->end(); ++it) {
        if (!it.value().is_string()) {
          Error(diags, f.At("/contractions/" + it.key()), "an expansion must be a string");
          ok = false;
          continue;
        }
        lang->contractions[it.key()] = it.value().get<std::string>();
      }
    }
  }
  ok &= GetStrings(f, root, "", "stopwords", true, &lang->stopwords, nullptr, diags);
  ok &= GetStrings(f, root, "", "negation_cues", true, &lang->negation_cues, nullptr, diags);
  ok &= GetStrings(f, root, "", "pseudo_negations", false, &lang->pseudo_negations, nullptr, diags);
  ok &= GetStrings(f, root, "", "post_negation_cues", false, &lang->post_negation_cues, nullptr,
                   diags);
  ok &=
      GetStrings(f, root, "", "hypothetical_cues", true, &lang->hypothetical_cues, nullptr, diags);
  ok &= GetStrings(f, root, "", "current_cues", false, &lang->current_cues, nullptr, diags);
  ok &= GetStrings(f, root, "", "resolved_cues", false, &lang->resolved_cues, nullptr, diags);
  ok &= GetStrings(f, root, "", "imagined_cues", false, &lang->imagined_cues, nullptr, diags);
  ok &= GetStrings(f, root, "", "future_cues", false, &lang->future_cues, nullptr, diags);
  ok &= GetStrings(f, root, "", "example_joiners", false, &lang->example_joiners, nullptr, diags);
  ok &= GetStrings(f, root, "", "hedges", false, &lang->hedges, nullptr, diags);
  ok &= GetStrings(f, root, "", "novelty_cues", false, &lang->novelty_cues, nullptr, diags);
  ok &= GetStrings(f, root, "", "figurative_phrases", false, &lang->figurative_phrases, nullptr,
                   diags);
  ok &= GetStrings(f, root, "", "other_experiencers", false, &lang->other_experiencers, nullptr,
                   diags);
  ok &= GetStrings(f, root, "", "writer_words", false, &lang->writer_words, nullptr, diags);
  ok &= GetStrings(f, root, "", "other_people", false, &lang->other_people, nullptr, diags);
  ok &= GetStrings(f, root, "", "message_frames", false, &lang->message_frames, nullptr, diags);
  ok &= GetStrings(f, root, "", "dictionaries", false, &lang->dictionaries, nullptr, diags);
  ok &= GetStrings(f, root, "", "clause_breaks", false, &lang->clause_breaks, nullptr, diags);
  ok &= GetStrings(f, root, "", "negation_breaks", false, &lang->negation_breaks, nullptr, diags);
  if (auto w = root.find("negation_window"); w != root.end()) {
    if (!w->is_number_integer() || w->get<int>() < 1 || w->get<int>() > 20) {
      Error(diags, f.At("/negation_window"), "\"negation_window\" must be a whole number 1-20");
      ok = false;
    } else {
      lang->negation_window = w->get<int>();
    }
  }
  if (auto w = root.find("concept_window"); w != root.end()) {
    if (!w->is_number_integer() || w->get<int>() < 2 || w->get<int>() > 30) {
      Error(diags, f.At("/concept_window"), "\"concept_window\" must be a whole number 2-30");
      ok = false;
    } else {
      lang->concept_window = w->get<int>();
    }
  }
  if (auto l = root.find("lint"); l != root.end()) {
    ok &= ReadLint(f, *l, lint, diags);
  }
  if (auto r = root.find("retrieval"); r != root.end()) {
    if (!r->is_object()) {
      Error(diags, f.At("/retrieval"), "\"retrieval\" is an object of thresholds");
      return false;
    }
    CheckKeys(f, *r, "/retrieval",
              {"answer_coverage", "clarify_coverage", "clarify_margin", "clarify_options",
               "min_evidence", "long_message_terms", "dominant_coverage", "dominant_ratio",
               "clarify_score", "clarify_evidence", "follow_up_terms", "clarify_concept"},
              diags);
    auto num = [&](const char* key, double lo, double hi, double* out) {
      auto it = r->find(key);
      if (it == r->end()) return;
      if (!it->is_number() || it->get<double>() < lo || it->get<double>() > hi) {
        Error(diags, f.At(std::string("/retrieval/") + key),
              std::string("\"") + key + "\" must be a number from " + std::to_string(lo) + " to " +
                  std::to_string(hi));
        ok = false;
        return;
      }
      *out = it->get<double>();
    };
    num("answer_coverage", 0, 1, &retrieval->answer_coverage);
    num("clarify_coverage", 0, 1, &retrieval->clarify_coverage);
    num("clarify_margin", 0, 1, &retrieval->clarify_margin);
    num("min_evidence", 0, 20, &retrieval->min_evidence);
    num("dominant_coverage", 0, 1, &retrieval->dominant_coverage);
    num("dominant_ratio", 1, 10, &retrieval->dominant_ratio);
    num("clarify_score", 0, 100, &retrieval->clarify_score);
    num("clarify_evidence", 0, 20, &retrieval->clarify_evidence);
    double long_terms = retrieval->long_message_terms;
    num("long_message_terms", 2, 100, &long_terms);
    retrieval->long_message_terms = static_cast<int>(long_terms);
    if (auto c = r->find("clarify_concept"); c != r->end()) {
      if (c->is_string()) {
        retrieval->clarify_concept = c->get<std::string>();
        retrieval->clarify_concept_where = f.At("/retrieval/clarify_concept");
      } else {
        Error(diags, f.At("/retrieval/clarify_concept"),
              "\"clarify_concept\" must be a concept id (knowledge/concepts.json)");
        ok = false;
      }
    }
    double follow = retrieval->follow_up_terms;
    num("follow_up_terms", 0, 20, &follow);
    retrieval->follow_up_terms = static_cast<int>(follow);
    double options = retrieval->clarify_options;
    num("clarify_options", 1, 6, &options);
    retrieval->clarify_options = static_cast<int>(options);
    if (retrieval->clarify_coverage > retrieval->answer_coverage) {
      Error(diags, f.At("/retrieval"), "\"clarify_coverage\" must not exceed \"answer_coverage\"");
      ok = false;
    }
  }
  return ok;
}

bool ReadEscalations(const JsonFile& f, std::vector<engine::RedFlagKind>* out,
                     std::vector<Diagnostic>* diags) {
  const json* kinds = ListUnder(f, "kinds", "escalations.json is an object with a \"kinds\" list",
                                {"kinds"}, diags);
  if (!kinds) return false;
  bool ok = true;
  for (size_t i = 0; i < kinds->size(); ++i) {
    const std::string ptr = "/kinds/" + std::to_string(i);
    const json& k = (*kinds)[i];
    if (!IsObjectItem(f, k, ptr, "a red-flag kind", diags)) {
      ok = false;
      continue;
    }
    CheckKeys(f, k, ptr,
              {"id", "name", "urgency", "reply", "tell_them", "self_reply", "self_tell_them",
               "other_reply", "other_tell_them", "general_entry"},
              diags);
    engine::RedFlagKind kind;
    kind.where = f.At(ptr);
    std::string urgency;
    bool good = GetString(f, k, ptr, "id", true, &kind.id, diags);
    good &= GetString(f, k, ptr, "name", true, &kind.name, diags);
    good &= GetString(f, k, ptr, "urgency", true, &urgency, diags);
    good &= GetString(f, k, ptr, "reply", true, &kind.reply, diags);
    good &= GetString(f, k, ptr, "tell_them", false, &kind.tell_them, diags);
    good &= GetString(f, k, ptr, "self_reply", false, &kind.self_reply, diags);
    good &= GetString(f, k, ptr, "self_tell_them", false, &kind.self_tell_them, diags);
    good &= GetString(f, k, ptr, "other_reply", false, &kind.other_reply, diags);
    good &= GetString(f, k, ptr, "other_tell_them", false, &kind.other_tell_them, diags);
    good &= GetString(f, k, ptr, "general_entry", false, &kind.general_entry, diags);
    if (!urgency.empty() && !engine::ParseUrgency(urgency, &kind.urgency)) {
      Error(diags, f.At(ptr + "/urgency"), "\"urgency\" must be \"urgent\" or \"emergency\"");
      good = false;
    }
    if (good) out->push_back(std::move(kind));
    ok &= good;
  }
  return ok;
}

bool ReadRules(const JsonFile& f, std::vector<engine::RedFlagRule>* out,
               std::vector<Diagnostic>* diags) {
  const json* rules =
      ListUnder(f, "rules", "red_flags.json is an object with a \"rules\" list", {"rules"}, diags);
  if (!rules) return false;
  bool ok = true;
  for (size_t i = 0; i < rules->size(); ++i) {
    const std::string ptr = "/rules/" + std::to_string(i);
    const json& r = (*rules)[i];
    if (!IsObjectItem(f, r, ptr, "a rule", diags)) {
      ok = false;
      continue;
    }
    CheckKeys(f, r, ptr,
              {"id", "kind", "patterns", "concepts", "unless", "requires",
               "general_questions_escalate", "note", "examples"},
              diags);
    engine::RedFlagRule rule;
    rule.where = f.At(ptr);
    bool good = GetString(f, r, ptr, "id", true, &rule.id, diags);
    good &= GetString(f, r, ptr, "kind", true, &rule.kind, diags);
    good &= GetStrings(f, r, ptr, "patterns", false, &rule.patterns, &rule.pattern_where, diags);
    good &= GetCombinations(f, r, ptr, "concepts", &rule.concepts, &rule.concepts_where, diags);
    if (r.find("patterns") == r.end() && r.find("concepts") == r.end()) {
      Error(diags, f.At(ptr), "a rule needs \"patterns\", \"concepts\" or both");
      good = false;
    }
    good &= GetStrings(f, r, ptr, "unless", false, &rule.unless, &rule.unless_where, diags);
    good &=
        GetStrings(f, r, ptr, "requires", false, &rule.requires_any, &rule.requires_where, diags);
    good &= GetString(f, r, ptr, "note", false, &rule.note, diags);
    good &= GetStrings(f, r, ptr, "examples", false, &rule.examples, &rule.example_where, diags);
    if (auto g = r.find("general_questions_escalate"); g != r.end()) {
      if (!g->is_boolean()) {
        Error(diags, f.At(ptr + "/general_questions_escalate"), "must be true or false");
        good = false;
      } else {
        rule.general_questions_escalate = g->get<bool>();
      }
    }
    if (good) out->push_back(std::move(rule));
    ok &= good;
  }
  return ok;
}

bool ReadConcepts(const JsonFile& f, std::vector<engine::Concept>* out,
                  std::vector<Diagnostic>* diags) {
  const json* list = ListUnder(f, "concepts", "concepts.json is an object with a \"concepts\" list",
                               {"concepts"}, diags);
  if (!list) return false;
  bool ok = true;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string ptr = "/concepts/" + std::to_string(i);
    const json& c = (*list)[i];
    if (!IsObjectItem(f, c, ptr, "a concept", diags)) {
      ok = false;
      continue;
    }
    CheckKeys(f, c, ptr, {"id", "note", "words"}, diags);
    engine::Concept concept_spec;
    concept_spec.where = f.At(ptr);
    bool good = GetString(f, c, ptr, "id", true, &concept_spec.id, diags);
    good &= GetString(f, c, ptr, "note", false, &concept_spec.note, diags);
    good &=
        GetStrings(f, c, ptr, "words", true, &concept_spec.words, &concept_spec.word_where, diags);
    if (good) out->push_back(std::move(concept_spec));
    ok &= good;
  }
  return ok;
}

template <typename Fn>
bool WithFile(const std::string& dir, const std::string& rel, bool required,
              std::vector<Diagnostic>* diags, Fn&& fn) {
  const fs::path path = fs::path(dir) / rel;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (required) Error(diags, engine::SourceLocation{Display(dir, rel), 0, 0}, "file is missing");
    return !required;
  }
  JsonFile f;
  if (!JsonFile::Load(path.string(), Display(dir, rel), &f, diags)) return false;
  return fn(f);
}

}  // namespace

bool LoadFaqText(std::string text, const std::string& display, std::vector<engine::FaqEntry>* out,
                 std::vector<Diagnostic>* diags) {
  JsonFile f;
  if (!JsonFile::Parse(std::move(text), display, &f, diags)) return false;
  return ReadFaq(f, out, diags);
}

bool LoadFaqFile(const std::string& path, const std::string& display,
                 std::vector<engine::FaqEntry>* out, std::vector<Diagnostic>* diags) {
  JsonFile f;
  if (!JsonFile::Load(path, display, &f, diags)) return false;
  return ReadFaq(f, out, diags);
}

bool LoadKnowledge(const std::string& dir, engine::ContentSpec* spec,
                   std::vector<Diagnostic>* diags) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    Error(diags, engine::SourceLocation{dir, 0, 0}, "knowledge folder not found");
    return false;
  }
  bool ok = true;
  std::vector<fs::path> faq_files;
  const fs::path faq_dir = fs::path(dir) / "faq";
  if (fs::is_directory(faq_dir, ec)) {
    for (const auto& e : fs::directory_iterator(faq_dir, ec)) {
      if (e.is_regular_file() && e.path().extension() == ".json") faq_files.push_back(e.path());
    }
  }
  std::sort(faq_files.begin(), faq_files.end());
  if (faq_files.empty()) {
    Error(diags, engine::SourceLocation{Display(dir, "faq"), 0, 0}, "no FAQ files (*.json)");
    ok = false;
  }
  for (const auto& p : faq_files) {
    ok &= LoadFaqFile(p.string(), Display(dir, "faq/" + p.filename().string()), &spec->entries,
                      diags);
  }
  ok &= WithFile(dir, "topics.json", true, diags,
                 [&](const JsonFile& f) { return ReadTopics(f, &spec->topics, diags); });
  ok &= WithFile(dir, "synonyms.json", true, diags,
                 [&](const JsonFile& f) { return ReadSynonyms(f, &spec->synonyms, diags); });
  ok &= WithFile(dir, "language.json", true, diags, [&](const JsonFile& f) {
    return ReadLanguage(f, &spec->language, &spec->retrieval, &spec->lint, diags);
  });
  // Word lists: real words are never "repaired". A missing list is a warning,
  // not an error: the assistant still works, but spelling repair may then
  // change real words.
  for (size_t i = 0; i < spec->language.dictionaries.size(); ++i) {
    const std::string& path = spec->language.dictionaries[i];
    std::ifstream words(path);
    if (!words) {
      diags->push_back(Diagnostic{Diagnostic::Severity::kWarning,
                                  engine::SourceLocation{Display(dir, "language.json"), 0, 0},
                                  "dictionary '" + path +
                                      "' not found (Debian packages wamerican, wbritish): "
                                      "spelling repair may change real words"});
      continue;
    }
    std::string w;
    while (std::getline(words, w)) {
      if (w.empty() || w.find('\'') != std::string::npos) continue;
      for (char& c : w) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      }
      spec->known_words.push_back(std::move(w));
    }
  }
  ok &= WithFile(dir, "escalations.json", true, diags, [&](const JsonFile& f) {
    return ReadEscalations(f, &spec->red_flag_kinds, diags);
  });
  ok &= WithFile(dir, "red_flags.json", true, diags,
                 [&](const JsonFile& f) { return ReadRules(f, &spec->red_flag_rules, diags); });
  // Optional: without it, rules can use patterns only.
  ok &= WithFile(dir, "concepts.json", false, diags,
                 [&](const JsonFile& f) { return ReadConcepts(f, &spec->concepts, diags); });
  ok &= LoadClassifier(dir, &spec->classifier, diags);
  return ok;
}

}  // namespace backline::knowledge
