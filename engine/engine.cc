#include "engine/engine.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>

#include "engine/capture.h"
#include "engine/text.h"

namespace backline::engine {
namespace {

constexpr size_t kCandidates = 5;
constexpr int kMaxSkips = 8;

void AddWordsOf(std::string_view text, std::vector<std::string>* out) {
  for (auto& w : SplitWords(FoldToAscii(text))) out->push_back(std::move(w));
}

// Literal words inside a regular expression ("cannot (pee|wee)" -> cannot, pee,
// wee), so the speller knows the words rules look for and never "repairs" them
// away.
void AddPatternWords(std::string_view pattern, std::vector<std::string>* out) {
  std::string cur;
  bool escaped = false;
  for (char c : pattern) {
    if (escaped) {
      escaped = false;
      if (!cur.empty()) {
        out->push_back(cur);
        cur.clear();
      }
      continue;
    }
    if (c == '\\') {
      escaped = true;
      continue;
    }
    if (c >= 'a' && c <= 'z') {
      cur.push_back(c);
    } else {
      if (cur.size() >= 3) out->push_back(cur);
      cur.clear();
    }
  }
  if (cur.size() >= 3) out->push_back(cur);
}

// The kind's name in dialogs/intents.json.
const char* KindName(IntentSpec::Kind kind) {
  switch (kind) {
    case IntentSpec::Kind::kSmallTalk:
      return "smalltalk";
    case IntentSpec::Kind::kRequest:
      return "request";
    case IntentSpec::Kind::kRefusal:
      return "refusal";
    case IntentSpec::Kind::kFlow:
      return "flow";
  }
  return "?";
}

// "a|b|c", as the loader keeps a list of quick replies in DialogSpec::messages.
std::vector<std::string> SplitQuickReplies(const std::string& joined) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : joined + "|") {
    if (c == '|') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  return out;
}

// `v` with `precision` digits after the point, byte for byte as printf's
// "%.*f" writes it (both round the exact binary value correctly), without
// parsing a format string on every turn.
// REQUIRES: 0 <= precision <= 16.
std::string Fixed(double v, int precision) {
  // Room for the largest double's 309 integer digits, a sign, the point and
  // the decimals.
  char buf[std::numeric_limits<double>::max_exponent10 + 20];
  const auto end = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, precision).ptr;
  return std::string(buf, end);
}

}  // namespace

const char* UrgencyName(Urgency u) {
  switch (u) {
    case Urgency::kNone:
      return "none";
    case Urgency::kUrgent:
      return "urgent";
    case Urgency::kEmergency:
      return "emergency";
  }
  return "none";
}

namespace {
constexpr std::pair<ReplyKind, const char*> kReplyKindNames[] = {
    {ReplyKind::kWelcome, "welcome"},   {ReplyKind::kEscalation, "escalation"},
    {ReplyKind::kAnswer, "answer"},     {ReplyKind::kClarify, "clarify"},
    {ReplyKind::kFallback, "fallback"}, {ReplyKind::kIntent, "intent"},
    {ReplyKind::kPrompt, "prompt"},     {ReplyKind::kRefusal, "refusal"},
};
}  // namespace

const TopicSpec* Engine::FindTopic(std::string_view id) const {
  const auto it = topics_.find(std::string(id));
  return it == topics_.end() ? nullptr : it->second;
}

std::vector<std::string> Engine::FaqTopicIds() const {
  std::vector<std::string> ids;
  for (const auto& t : spec_.topics)
    if (t.faq) ids.push_back(t.id);
  return ids;
}

const char* ReplyKindName(ReplyKind kind) {
  for (const auto& [k, name] : kReplyKindNames)
    if (k == kind) return name;
  return "fallback";
}

bool ParseReplyKind(std::string_view name, ReplyKind* out) {
  for (const auto& [k, n] : kReplyKindNames) {
    if (name == n) {
      *out = k;
      return true;
    }
  }
  return false;
}

bool ParseUrgency(std::string_view name, Urgency* out) {
  if (name == "none")
    *out = Urgency::kNone;
  else if (name == "urgent")
    *out = Urgency::kUrgent;
  else if (name == "emergency")
    *out = Urgency::kEmergency;
  else
    return false;
  return true;
}

// The steps of Engine::Compile, in order, and what they hand on: each checks one part of the
// content, reporting every problem it finds to the sink with its location, and builds that
// part of the engine. A step that a broken part would make unsafe (the red flags, the
// dialog) records that it failed, and Result then returns no engine.
class Engine::Compiler {
 public:
  Compiler(Engine* engine, std::vector<Diagnostic>* diags)
      : e_(engine), s_(engine->spec_), diags_(diags), sink_(diags), normalizer_(s_.language) {}

  // Topics: every id once, and the ones the engine files its own replies under; the dialog
  // states' topics.
  void CheckTopics();
  // FAQ entries: ids, topics, answers, paraphrases; their words join the vocabulary.
  void CheckEntries();
  // The words of every rule, intent and dialog state join the vocabulary that spelling
  // repair corrects towards; then the analyzer.
  void BuildAnalyzer();
  // Synonym groups: a term under two canonicals is ambiguous.
  void CheckSynonyms();
  // Red-flag kinds and rules, and the one concept index they share with the intents.
  void CompileRedFlags();
  // Intents: their patterns, concept combinations and `unless`.
  void CompileIntents();
  // One PatternSet per intent kind.
  void CompileIntentSets();
  // The dialog graph, the states intents lead to, and the fixed messages.
  void CompileDialog();
  // The retrieval index, the paraphrase keys, and each entry's first question as analysed.
  void BuildRetrieval();

  bool ok() const { return !sink_.failed() && !red_flags_failed_ && !dialog_failed_; }

 private:
  Engine* e_;
  const ContentSpec& s_;
  std::vector<Diagnostic>* diags_;
  DiagnosticSink sink_;
  const TextNormalizer normalizer_;
  std::map<std::string, const FaqEntry*> by_id_;
  std::vector<std::string> vocabulary_;
  std::set<std::string> kind_ids_;
  std::vector<std::string> intent_states_;  // states that intents lead to
  bool red_flags_failed_ = false;
  bool dialog_failed_ = false;
};

std::shared_ptr<const Engine> Engine::Compile(ContentSpec spec, std::vector<Diagnostic>* diags) {
  std::shared_ptr<Engine> e(new Engine());
  e->spec_ = std::move(spec);
  Compiler c(e.get(), diags);
  c.CheckTopics();
  c.CheckEntries();
  c.BuildAnalyzer();
  c.CheckSynonyms();
  c.CompileRedFlags();
  c.CompileIntents();
  c.CompileIntentSets();
  c.CompileDialog();
  c.BuildRetrieval();
  if (!c.ok()) return nullptr;
  return e;
}

void Engine::Compiler::CheckTopics() {
  // Topics: every id once, and the ones the engine files its own replies under.
  for (const auto& t : s_.topics) {
    if (t.id.empty()) sink_.Error(t.where, "topic has no id");
    if (!e_->topics_.emplace(t.id, &t).second)
      sink_.Error(t.where, "duplicate topic '" + t.id + "'");
  }
  for (const char* id : {kRedFlagTopic, kWelcomeTopic, kFallbackTopic, kPromptTopic}) {
    const TopicSpec* t = e_->FindTopic(id);
    if (!t || t->faq) {
      sink_.Error(SourceLocation{s_.topics.empty() ? "topics.json" : s_.topics.front().where.file},
                  std::string("topics.json lacks the conversation topic '") + id +
                      "', which the engine files its own replies under");
    }
  }
  for (const auto& st : s_.dialog.states) {
    if (!st.topic.empty() && !e_->FindTopic(st.topic)) {
      sink_.Error(st.topic_where.file.empty() ? st.where : st.topic_where,
                  "unknown topic '" + st.topic + "'");
    }
  }
}

void Engine::Compiler::CheckEntries() {
  // FAQ entries: ids, topics, paraphrases.
  std::map<std::string, std::pair<const FaqEntry*, SourceLocation>> by_question;
  for (const auto& entry : s_.entries) {
    if (entry.id.empty()) sink_.Error(entry.where, "entry has no id");
    auto [it, fresh] = by_id_.emplace(entry.id, &entry);
    if (!fresh) {
      sink_.Error(entry.where, "duplicate entry id '" + entry.id + "' (first defined at " +
                                   it->second->where.ToString() + ")");
    }
    if (const TopicSpec* t = e_->FindTopic(entry.topic); !t) {
      sink_.Error(entry.where, "entry '" + entry.id + "' has unknown topic '" + entry.topic + "'");
    } else if (!t->faq) {
      sink_.Error(entry.where, "entry '" + entry.id + "' is filed under '" + entry.topic +
                                   "', a conversation topic: FAQ entries go under a topic marked "
                                   "\"faq\" in topics.json");
    }
    if (entry.answer.empty()) sink_.Error(entry.where, "entry '" + entry.id + "' has no answer");
    if (entry.questions.empty())
      sink_.Error(entry.where, "entry '" + entry.id + "' has no questions");
    else if (entry.questions.size() < 5) {
      sink_.Warning(entry.where, "entry '" + entry.id + "' has " +
                                     std::to_string(entry.questions.size()) +
                                     " questions; 5 or more match patients' wording better");
    }
    if (entry.sources.empty())
      sink_.Warning(entry.where, "entry '" + entry.id + "' has no sources");
    for (size_t i = 0; i < entry.questions.size(); ++i) {
      const SourceLocation& where =
          i < entry.question_where.size() ? entry.question_where[i] : entry.where;
      // Compared as words: case and punctuation do not make two paraphrases
      // different.
      std::string key;
      for (const auto& tok : normalizer_.Normalize(entry.questions[i])) {
        if (tok.is_break) continue;
        if (!key.empty()) key.push_back(' ');
        key += tok.text;
      }
      auto [qit, qfresh] = by_question.emplace(key, std::make_pair(&entry, where));
      if (!qfresh && qit->second.first != &entry) {
        sink_.Error(where, "question \"" + entry.questions[i] + "\" of entry '" + entry.id +
                               "' also belongs to entry '" + qit->second.first->id + "' (" +
                               qit->second.second.ToString() + ")");
      }
      AddWordsOf(entry.questions[i], &vocabulary_);
    }
    for (const auto& k : entry.keywords) AddWordsOf(k, &vocabulary_);
    AddWordsOf(entry.answer, &vocabulary_);
  }
}

void Engine::Compiler::BuildAnalyzer() {
  for (const auto& r : s_.red_flag_rules) {
    for (const auto& p : r.patterns) AddPatternWords(p, &vocabulary_);
    for (const auto& p : r.unless) AddPatternWords(p, &vocabulary_);
    for (const auto& p : r.requires_any) AddPatternWords(p, &vocabulary_);
  }
  for (const auto& i : s_.intents) {
    for (const auto& p : i.patterns) AddPatternWords(p, &vocabulary_);
  }
  for (const auto& st : s_.dialog.states) {
    AddWordsOf(st.prompt, &vocabulary_);
    for (const auto& t : st.transitions) AddWordsOf(t.on, &vocabulary_);
  }
  for (const auto& p : s_.dialog.yes_patterns) AddPatternWords(p, &vocabulary_);
  for (const auto& p : s_.dialog.no_patterns) AddPatternWords(p, &vocabulary_);

  e_->analyzer_ = std::make_unique<Analyzer>(s_.language, s_.synonyms, vocabulary_, s_.known_words);
}

void Engine::Compiler::CheckSynonyms() {
  // Synonym groups: a term under two canonicals is ambiguous.
  {
    std::map<std::string, std::pair<std::string, SourceLocation>> term_owner;
    for (const auto& g : s_.synonyms) {
      if (g.canonical.empty()) sink_.Error(g.where, "synonym group has no canonical word");
      for (const auto& t : g.terms) {
        std::string key = JoinTokens(normalizer_.Normalize(t));
        auto [it, fresh] = term_owner.emplace(key, std::make_pair(g.canonical, g.where));
        if (!fresh && it->second.first != g.canonical) {
          sink_.Error(g.where, "synonym \"" + t + "\" maps to both '" + it->second.first + "' (" +
                                   it->second.second.ToString() + ") and '" + g.canonical + "'");
        }
      }
    }
  }
}

void Engine::Compiler::CompileRedFlags() {
  // Red flags.
  for (const auto& k : s_.red_flag_kinds) {
    if (!kind_ids_.insert(k.id).second)
      sink_.Error(k.where, "duplicate red-flag kind '" + k.id + "'");
    if (k.urgency == Urgency::kNone) {
      sink_.Error(k.where, "red-flag kind '" + k.id + "' must be \"urgent\" or \"emergency\"");
    }
    if (k.reply.empty()) sink_.Error(k.where, "red-flag kind '" + k.id + "' has no reply");
    if (!k.general_entry.empty() && !by_id_.count(k.general_entry)) {
      sink_.Error(k.where, "red-flag kind '" + k.id + "' names unknown general_entry '" +
                               k.general_entry + "'");
    }
  }
  {
    std::set<std::string> rule_ids;
    for (const auto& r : s_.red_flag_rules) {
      if (!rule_ids.insert(r.id).second)
        sink_.Error(r.where, "duplicate red-flag rule id '" + r.id + "'");
    }
    for (const auto& k : s_.red_flag_kinds) {
      bool used = std::any_of(s_.red_flag_rules.begin(), s_.red_flag_rules.end(),
                              [&](const RedFlagRule& r) { return r.kind == k.id; });
      if (!used)
        sink_.Warning(k.where, "red-flag kind '" + k.id + "' has no rule that triggers it");
    }
  }
  // One index of concepts.json serves the red-flag rules and the intents, so
  // a turn looks concepts up once (RedFlagResult::concepts) and a problem in
  // the file is reported once.
  const size_t diags_before_concepts = diags_->size();
  e_->concepts_ = ConceptIndex(s_.concepts, diags_);
  if (!s_.retrieval.clarify_concept.empty()) {
    e_->clarify_concept_ = e_->concepts_.Find(s_.retrieval.clarify_concept);
    if (!e_->clarify_concept_) {
      sink_.Error(s_.retrieval.clarify_concept_where,
                  "retrieval's clarify_concept names unknown concept '" +
                      s_.retrieval.clarify_concept + "' (knowledge/concepts.json)");
    }
  }
  const bool concepts_failed = std::any_of(
      diags_->begin() + static_cast<std::ptrdiff_t>(diags_before_concepts), diags_->end(),
      [](const Diagnostic& g) { return g.severity == Diagnostic::Severity::kError; });
  e_->red_flags_ = concepts_failed ? nullptr
                                   : RedFlagDetector::Build(s_.red_flag_kinds, e_->concepts_,
                                                            s_.red_flag_rules, s_.language, diags_);
  red_flags_failed_ = !e_->red_flags_;
}

void Engine::Compiler::CompileIntents() {
  // Intents.
  {
    std::set<std::string> intent_ids;
    for (const auto& i : s_.intents) {
      if (!intent_ids.insert(i.id).second)
        sink_.Error(i.where, "duplicate intent id '" + i.id + "'");
      if (!e_->FindTopic(i.topic) || i.topic == kRedFlagTopic) {
        sink_.Error(i.where, "intent '" + i.id + "' has unknown topic '" + i.topic + "'");
      }
      if (i.reply.empty() && i.next_state.empty()) {
        sink_.Error(i.where, "intent '" + i.id + "' has neither a reply nor a next state");
      }
      CompiledIntent ci{&i, nullptr, {}, nullptr};
      bool ok = true;
      for (size_t k = 0; k < i.patterns.size(); ++k) {
        auto p = Pattern::Compile(i.patterns[k]);
        if (!p.ok()) {
          sink_.Error(k < i.pattern_where.size() ? i.pattern_where[k] : i.where,
                      "pattern of intent '" + i.id + "' does not compile: " + p.status().message());
          ok = false;
        }
      }
      if (i.patterns.empty() && i.concepts.empty()) {
        sink_.Error(i.where, "intent '" + i.id + "' has no patterns and no concept combinations");
        ok = false;
      }
      for (size_t k = 0; k < i.concepts.size(); ++k) {
        const SourceLocation& at = k < i.concepts_where.size() ? i.concepts_where[k] : i.where;
        std::vector<size_t> combination;
        for (const std::string& id : i.concepts[k]) {
          const auto found = e_->concepts_.Find(id);
          if (!found) {
            sink_.Error(at, "concept combination " + std::to_string(k + 1) + " of intent '" + i.id +
                                "' names unknown concept '" + id + "' (knowledge/concepts.json)");
            ok = false;
            break;
          }
          combination.push_back(*found);
        }
        if (combination.size() == i.concepts[k].size() && !combination.empty())
          ci.combinations.push_back(std::move(combination));
      }
      if (ok && !i.patterns.empty()) {
        auto p = Pattern::CompileAny(i.patterns);
        if (p.ok()) ci.pattern = std::move(p).value();
      }
      if (!i.unless.empty()) {
        auto u = Pattern::CompileAny(i.unless);
        if (u.ok())
          ci.unless = std::move(u).value();
        else
          sink_.Error(i.where, "'unless' of intent '" + i.id +
                                   "' does not compile: " + u.status().message());
      }
      if (!i.next_state.empty()) intent_states_.push_back(i.next_state);
      if (ok && (ci.pattern || !ci.combinations.empty())) e_->intents_.push_back(std::move(ci));
    }
  }
}

void Engine::Compiler::CompileIntentSets() {
  // One PatternSet per kind, so that a turn scans its text once per kind
  // rather than once per intent. A kind whose set re2 cannot build keeps
  // matching its intents one by one: slower, never different.
  for (size_t k = 0; k < kIntentKinds; ++k) {
    IntentSet& is = e_->intent_sets_[k];
    std::vector<const Pattern*> patterns;
    for (size_t i = 0; i < e_->intents_.size(); ++i) {
      if (static_cast<size_t>(e_->intents_[i].spec->kind) != k) continue;
      if (!e_->intents_[i].combinations.empty()) is.any_combinations = true;
      if (!e_->intents_[i].pattern) continue;  // concepts only
      is.intents.push_back(i);
      patterns.push_back(e_->intents_[i].pattern.get());
    }
    if (patterns.empty()) continue;
    auto set = PatternSet::Compile(patterns);
    if (set.ok()) {
      is.set = std::move(set).value();
    } else {
      const IntentSpec& first = *e_->intents_[is.intents.front()].spec;
      sink_.Warning(first.where, std::string("the ") + KindName(first.kind) +
                                     " intents are matched one at a time, " +
                                     "which is slower: " + set.status().message());
    }
  }
}

void Engine::Compiler::CompileDialog() {
  // Dialog.
  std::vector<std::string> entry_ids;
  for (const auto& entry : s_.entries) entry_ids.push_back(entry.id);
  e_->dialog_ =
      DialogGraph::Build(s_.dialog, *e_->analyzer_, intent_states_, entry_ids,
                         std::vector<std::string>(kind_ids_.begin(), kind_ids_.end()), diags_);
  dialog_failed_ = !e_->dialog_;
  for (const auto& i : s_.intents) {
    if (!i.next_state.empty() && e_->dialog_ && !e_->dialog_->Find(i.next_state)) {
      sink_.Error(i.where, "intent '" + i.id + "' leads to unknown state '" + i.next_state + "'");
    }
  }
  if (auto it = s_.dialog.messages.find("answer_quick_replies"); it != s_.dialog.messages.end())
    e_->answer_quick_replies_ = SplitQuickReplies(it->second);
  for (const char* key : {"welcome", "fallback", "clarify", "empty"}) {
    if (!s_.dialog.messages.count(key)) {
      sink_.Error(s_.dialog.where, std::string("dialog messages lack \"") + key + "\"");
    }
  }
}

void Engine::Compiler::BuildRetrieval() {
  // Retrieval index.
  std::vector<Bm25Index::Document> docs;
  docs.reserve(s_.entries.size());
  for (size_t ei = 0; ei < s_.entries.size(); ++ei) {
    const auto& entry = s_.entries[ei];
    Bm25Index::Document d;
    for (const auto& q : entry.questions) {
      auto t = e_->analyzer_->ContentTerms(q);
      d.terms.insert(d.terms.end(), t.begin(), t.end());
      // A message whose content words are exactly a paraphrase's is that
      // entry's question, however common its words are (a quick reply, "Why
      // does cancer cause back pain?"). Two entries sharing a key claim it
      // for neither.
      const std::string key = TermsKey(t);
      if (key.empty()) continue;
      auto [it, fresh] = e_->paraphrase_keys_.emplace(key, static_cast<long>(ei));
      if (!fresh && it->second != static_cast<long>(ei)) it->second = -1;
    }
    for (const auto& k : entry.keywords) {
      auto t = e_->analyzer_->ContentTerms(k);
      d.keywords.insert(d.keywords.end(), t.begin(), t.end());
    }
    d.answer = e_->analyzer_->ContentTerms(entry.answer);
    e_->domain_terms_.insert(d.keywords.begin(), d.keywords.end());
    docs.push_back(std::move(d));
  }
  e_->index_ = std::make_unique<Bm25Index>(docs);
  for (size_t i = 0; i < s_.entries.size(); ++i) {
    e_->entry_index_.emplace(s_.entries[i].id, i);
    Analysis first;  // of the entry's first question, once for both uses
    if (!s_.entries[i].questions.empty())
      first = e_->analyzer_->Analyze(s_.entries[i].questions.front());
    e_->offer_canonical_.push_back(std::move(first.canonical));
    e_->context_terms_.push_back(std::move(first.terms));
  }
  for (const auto& g : s_.synonyms) {
    for (const auto& t : e_->analyzer_->ContentTerms(g.canonical)) e_->domain_terms_.insert(t);
  }
}

std::string Engine::TermsKey(std::vector<std::string> terms) {
  std::sort(terms.begin(), terms.end());
  std::string key;
  for (const auto& t : terms) {
    if (!key.empty()) key.push_back(' ');
    key += t;
  }
  return key;
}

std::optional<Candidate> Engine::FollowUp(const Analysis& a, const std::vector<bool>& skip,
                                          size_t previous) const {
  const std::vector<std::string> own = analyzer_->TermsOfRange(a.tokens, 0, a.tokens.size(), skip);
  if (own.empty()) return std::nullopt;
  std::vector<std::string> terms = own;
  const std::vector<std::string>& context = context_terms_[previous];
  terms.insert(terms.end(), context.begin(), context.end());
  std::vector<Candidate> all = index_->ScoreAll(terms);
  // The entry already given is not the answer to a follow-up about it, and a
  // follow-up stays on its topic ("is it safe with chemo?" after ibuprofen is
  // still about anti-inflammatories).
  const std::string& topic = spec_.entries[previous].topic;
  all.erase(std::remove_if(all.begin(), all.end(),
                           [&](const Candidate& c) {
                             return c.entry == previous || spec_.entries[c.entry].topic != topic;
                           }),
            all.end());
  if (all.empty()) return std::nullopt;
  auto better = [](const Candidate& x, const Candidate& y) {
    if (x.score != y.score) return x.score > y.score;
    return x.entry < y.entry;
  };
  const size_t n = std::min<size_t>(all.size(), 2);
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), better);
  // It must rest on the new message's own words too: the context alone says
  // nothing new.
  const Candidate& top = all.front();
  const double second = all.size() > 1 ? all[1].score : 0;
  if (!Confident(top, second)) return std::nullopt;
  const std::vector<Candidate> alone = index_->ScoreAll(own);
  const bool mentions = std::any_of(alone.begin(), alone.end(), [&](const Candidate& c) {
    return c.entry == top.entry && c.score > 0;
  });
  if (!mentions) return std::nullopt;
  return top;
}

bool Engine::Confident(const Candidate& c, double second_score) const {
  const RetrievalSpec& rs = spec_.retrieval;
  if (c.coverage >= rs.answer_coverage && c.evidence >= rs.min_evidence) return true;
  // A long message covers little of any entry, but one entry can still stand
  // out clearly.
  return c.coverage >= rs.dominant_coverage && c.evidence >= 2 * rs.min_evidence &&
         c.score >= rs.dominant_ratio * second_score;
}

bool Engine::OnlyIntent(const CompiledIntent& intent, const Analysis& a,
                        const std::vector<bool>& skip) const {
  std::vector<bool> covered = skip;
  covered.resize(a.tokens.size(), false);
  for (const auto& [b, e] : intent.pattern->FindAll(a.canonical)) {
    if (e <= b) continue;
    for (size_t i = a.TokenAt(b); i <= a.TokenAt(e - 1) && i < covered.size(); ++i) {
      covered[i] = true;
    }
  }
  return analyzer_->TermsOfRange(a.tokens, 0, a.tokens.size(), covered).empty();
}

namespace {

bool IsQuestionWord(const std::string& w) {
  static const std::set<std::string> kWords = {
      "what", "how",  "why", "when",  "where",  "which", "who",   "can",   "could",    "is",
      "are",  "does", "do",  "did",   "should", "will",  "would", "any",   "anything", "has",
      "have", "am",   "may", "shall", "whats",  "hows",  "tips",  "advice"};
  return kWords.count(w) > 0;
}

bool IsFiller(const std::string& w) {
  static const std::set<std::string> kWords = {"so",   "and",  "but",  "anyway", "also",
                                               "ok",   "okay", "well", "oh",     "just",
                                               "then", "plus", "i"};
  return kWords.count(w) > 0;
}

// Tokens [b, e) ask a question: they end with "?" or start with a question
// word.
bool AsksQuestion(const std::vector<Token>& t, size_t b, size_t e) {
  if (e < t.size() && t[e].is_break && t[e].text == "?") return true;
  if (e > b && t[e - 1].is_break && t[e - 1].text == "?") return true;
  size_t i = b;
  while (i < e && (t[i].is_break || IsFiller(t[i].text))) ++i;
  if (i < e && IsQuestionWord(t[i].text)) return true;
  // "... , is there any food that helps" : a question word right after a filler
  // clause.
  return false;
}

}  // namespace

Engine::Ranking Engine::Rank(const Analysis& a, const std::vector<bool>& skip) const {
  constexpr double kQuestionBonus = 0.2;  // prefer the clause that asks
  constexpr double kContextWeight = 0.5;  // and the entry the whole message is about
  const RetrievalSpec& rs = spec_.retrieval;
  const auto& t = a.tokens;
  // Only the best kCandidates + 1 are ever read, and (score, entry) is a strict
  // order, so a partial sort gives the same leaders as a full one.
  auto by_score = [](std::vector<Candidate>* v) {
    const size_t n = std::min(v->size(), kCandidates + 1);
    std::partial_sort(v->begin(), v->begin() + static_cast<std::ptrdiff_t>(n), v->end(),
                      [](const Candidate& x, const Candidate& y) {
                        if (x.score != y.score) return x.score > y.score;
                        return x.entry < y.entry;
                      });
  };
  Ranking best;
  const std::vector<std::string> all = analyzer_->TermsOfRange(t, 0, t.size(), skip);
  std::vector<Candidate> whole = index_->ScoreAll(all);
  by_score(&whole);
  std::vector<double> whole_coverage(spec_.entries.size(), 0);
  for (const auto& c : whole) whole_coverage[c.entry] = c.coverage;
  best.candidates.assign(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                            whole.size(), kCandidates + 1)));
  if (static_cast<int>(all.size()) <= rs.long_message_terms) return best;

  bool any_question = false;
  for (const auto& tok : t) any_question |= tok.is_break && tok.text == "?";
  double best_priority = -1;
  if (!whole.empty() && Confident(whole[0], whole.size() > 1 ? whole[1].score : 0)) {
    best_priority = whole[0].coverage * (1 + kContextWeight) + (any_question ? kQuestionBonus : 0);
  }
  // Clauses (split at every break) and sentences (split at . ? ! ;).
  std::vector<std::pair<size_t, size_t>> segments;
  for (bool sentences : {false, true}) {
    size_t start = 0;
    for (size_t i = 0; i <= t.size(); ++i) {
      const bool end = i == t.size() || (t[i].is_break && (!sentences || t[i].text != ","));
      if (!end) continue;
      if (i > start && !(start == 0 && i == t.size())) segments.emplace_back(start, i);
      start = i + 1;
    }
  }
  // Each token's term once, for all the (overlapping) segments.
  const std::vector<std::string> token_terms = analyzer_->TokenTerms(t, skip);
  std::vector<std::string> terms;
  for (const auto& [b, e] : segments) {
    terms.clear();
    for (size_t i = b; i < e; ++i) {
      if (!token_terms[i].empty()) terms.push_back(token_terms[i]);
    }
    if (terms.size() < 2) continue;
    std::vector<Candidate> cands = index_->ScoreAll(terms);
    if (cands.empty()) continue;
    by_score(&cands);
    const double bonus = AsksQuestion(t, b, e) ? kQuestionBonus : 0;
    const double second = cands.size() > 1 ? cands[1].score : 0;
    size_t chosen = cands.size();
    double chosen_priority = best_priority;
    for (size_t k = 0; k < cands.size() && k < kCandidates; ++k) {
      const Candidate& c = cands[k];
      if (!Confident(c, k == 0 ? second : cands[0].score)) continue;
      const double priority = c.coverage + kContextWeight * whole_coverage[c.entry] + bonus;
      if (priority > chosen_priority) {
        chosen_priority = priority;
        chosen = k;
      }
    }
    if (chosen == cands.size()) continue;
    best_priority = chosen_priority;
    std::rotate(cands.begin(), cands.begin() + static_cast<std::ptrdiff_t>(chosen),
                cands.begin() + static_cast<std::ptrdiff_t>(chosen) + 1);
    if (cands.size() > kCandidates + 1) cands.resize(kCandidates + 1);
    best.candidates = std::move(cands);
    std::string text;
    for (size_t i = b; i < e; ++i) text += (text.empty() ? "" : " ") + t[i].text;
    best.segment = std::move(text);
  }
  return best;
}

long Engine::EntryIndex(const std::string& id) const {
  auto it = entry_index_.find(id);
  return it == entry_index_.end() ? -1 : static_cast<long>(it->second);
}

const FaqEntry* Engine::FindEntry(std::string_view id) const {
  const long i = EntryIndex(std::string(id));
  return i < 0 ? nullptr : &spec_.entries[static_cast<size_t>(i)];
}

std::string Engine::Message(const std::string& key) const {
  auto it = spec_.dialog.messages.find(key);
  return it == spec_.dialog.messages.end() ? std::string() : it->second;
}

std::string Engine::Render(std::string_view text, const Clinic& clinic) {
  // A clinic that has not set a number still gets a sentence that reads and
  // tells the person where to find it ("... call your care team on the number
  // on your clinic card").
  const std::string_view care = clinic.care_team_phone.empty()
                                    ? "the number on your clinic card"
                                    : std::string_view(clinic.care_team_phone);
  const std::string_view after = clinic.after_hours_phone.empty()
                                     ? "the number on your clinic card"
                                     : std::string_view(clinic.after_hours_phone);
  const std::string_view emergency =
      clinic.emergency_number.empty() ? "911" : std::string_view(clinic.emergency_number);
  const std::string_view crisis =
      clinic.crisis_line.empty() ? "988" : std::string_view(clinic.crisis_line);
  const std::string_view name =
      clinic.name.empty() ? "your cancer centre" : std::string_view(clinic.name);
  // What the emergency department is called where the clinic is.
  const std::string_view department =
      clinic.country == "GB" || clinic.country == "IE" || clinic.country == "AU" ||
              clinic.country == "NZ"
          ? (clinic.country == "GB" || clinic.country == "IE" ? "A&E" : "emergency department")
          : (clinic.country == "US" || clinic.country == "CA" ? "ER" : "emergency department");
  const std::string retention = std::to_string(clinic.retention_days);
  const std::string_view retention_days(retention);
  const std::string_view response_time = clinic.callback_response_time.empty()
                                             ? "as soon as they can"
                                             : std::string_view(clinic.callback_response_time);
  // A made-up number as people in the clinic's country write one (Ofcom's and NANPA's numbers
  // reserved for fiction), for "like {phone_example}".
  const std::string_view phone_example = clinic.country == "GB" ? "07700 900123"
                                         : clinic.country == "US" || clinic.country == "CA"
                                             ? "(201) 555-0123"
                                             : "a number starting with + and the country code";
  // A second unset number in one sentence does not repeat "the number on your
  // clinic card" ("call ... on the number on your clinic card, or the
  // out-of-hours number on the same card out of hours").
  constexpr std::string_view kCard = "the number on your clinic card";
  size_t card_at = std::string::npos;  // where `out` last said kCard
  auto same_sentence = [](std::string_view said, size_t from) {
    return said.find_first_of(".!?\n", from) == std::string_view::npos;
  };
  std::string out;
  out.reserve(text.size() + 32);
  size_t i = 0;
  while (i < text.size()) {
    // Copy up to the next placeholder in one piece.
    const size_t open = text.find('{', i);
    if (open == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, open - i));
    i = open;
    const size_t close = text.find('}', i);
    if (close != std::string_view::npos) {
      const std::string_view key = text.substr(i + 1, close - i - 1);
      const std::string_view* value = nullptr;
      if (key == "clinic_name")
        value = &name;
      else if (key == "care_team_phone")
        value = &care;
      else if (key == "after_hours_phone")
        value = &after;
      else if (key == "emergency_number")
        value = &emergency;
      else if (key == "crisis_line")
        value = &crisis;
      else if (key == "retention_days")
        value = &retention_days;
      else if (key == "emergency_department")
        value = &department;
      else if (key == "callback_response_time")
        value = &response_time;
      else if (key == "phone_example")
        value = &phone_example;
      if (value) {
        if (*value == kCard && card_at != std::string::npos && same_sentence(out, card_at)) {
          out.append(value == &after ? "the out-of-hours number on the same card"
                                     : "the care team number on the same card");
        } else {
          if (*value == kCard) card_at = out.size();
          out.append(*value);
        }
        i = close + 1;
        continue;
      }
    }
    out.push_back(text[i++]);
  }
  return out;
}

std::string Engine::WithReference(std::string_view text, std::string_view reference) {
  std::string out;
  out.reserve(text.size() + reference.size());
  size_t i = 0;
  for (size_t at; (at = text.find(kReferencePlaceholder, i)) != std::string_view::npos;) {
    out.append(text.substr(i, at - i));
    out.append(reference);
    i = at + kReferencePlaceholder.size();
  }
  out.append(text.substr(i));
  return out;
}

std::string Engine::Say(std::string_view text, const Clinic& clinic,
                        const std::map<std::string, std::string>& slots) {
  const std::string rendered = Render(text, clinic);
  constexpr std::string_view kSlot = "{slot.";
  if (rendered.find(kSlot) == std::string::npos) return rendered;
  std::string out;
  size_t i = 0;
  for (size_t at; (at = rendered.find(kSlot, i)) != std::string::npos;) {
    const size_t close = rendered.find('}', at);
    if (close == std::string::npos) break;
    out.append(rendered, i, at - i);
    const auto it = slots.find(rendered.substr(at + kSlot.size(), close - at - kSlot.size()));
    if (it != slots.end()) out.append(it->second);
    i = close + 1;
  }
  out.append(rendered, i);
  return out;
}

bool Engine::NamesContent(std::string_view name) const {
  for (const auto& w : SplitWords(FoldToAscii(name))) {
    if (domain_terms_.count(Stem(w)) || domain_terms_.count(w)) return true;
  }
  return false;
}

Reply Engine::Welcome(const Clinic& clinic) const {
  Reply r;
  r.kind = ReplyKind::kWelcome;
  r.topic = kWelcomeTopic;
  r.text = Render(Message("welcome"), clinic);
  auto it = spec_.dialog.messages.find("welcome_quick_replies");
  if (it != spec_.dialog.messages.end()) r.quick_replies = SplitQuickReplies(it->second);
  return r;
}

const Engine::CompiledIntent* Engine::MatchIntent(IntentSpec::Kind kind, const Analysis& a,
                                                  TurnConcepts* concepts) const {
  const IntentSet& is = intent_sets_[static_cast<size_t>(kind)];
  if (is.intents.empty() && !is.any_combinations) return nullptr;
  // Which intents' patterns match: one pass of the set, or (no set, or re2
  // could not tell for this text) one by one.
  std::vector<bool> by_pattern(intents_.size(), false);
  std::vector<int> matched;  // ascending set indices: intents_ order
  if (is.set && is.set->Match(a.canonical, &matched)) {
    for (int m : matched) by_pattern[is.intents[static_cast<size_t>(m)]] = true;
  } else {
    for (size_t i : is.intents) by_pattern[i] = intents_[i].pattern->Matches(a.canonical);
  }
  // Concepts only when some intent of this kind combines them.
  TurnConcepts local;
  if (!concepts) concepts = &local;
  if (is.any_combinations && !concepts->done) {
    concepts->occ = concepts_.Occur(a);
    concepts->done = true;
  }
  const ConceptIndex::Occurrences& occ = concepts->occ;
  const size_t window = static_cast<size_t>(std::max(2, spec_.language.concept_window));
  for (size_t i = 0; i < intents_.size(); ++i) {
    const CompiledIntent& ci = intents_[i];
    if (ci.spec->kind != kind) continue;
    bool match = by_pattern[i];
    for (size_t c = 0; c < ci.combinations.size() && !match; ++c)
      match = ConceptIndex::Within(ci.combinations[c], occ, window);
    if (!match) continue;
    if (ci.unless && ci.unless->Matches(a.canonical)) continue;
    return &ci;
  }
  return nullptr;
}

Reply Engine::Escalate(const RedFlagKind& kind, RedFlagDetector::Person person,
                       const Clinic& clinic) const {
  Reply r;
  r.kind = ReplyKind::kEscalation;
  r.topic = kRedFlagTopic;
  r.urgency = kind.urgency;
  r.red_flag_kind = kind.id;
  const std::string* text = &kind.reply;
  const std::string* tell = &kind.tell_them;
  if (person == RedFlagDetector::Person::kWriter && !kind.self_reply.empty()) {
    text = &kind.self_reply;
    if (!kind.self_tell_them.empty()) tell = &kind.self_tell_them;
  } else if (person == RedFlagDetector::Person::kSomeoneElse && !kind.other_reply.empty()) {
    text = &kind.other_reply;
    if (!kind.other_tell_them.empty()) tell = &kind.other_tell_them;
  }
  r.text = Render(*text, clinic);
  r.tell_them = Render(*tell, clinic);
  return r;
}

Reply Engine::AnswerWith(size_t entry, const std::vector<Candidate>& related,
                         const Clinic& clinic) const {
  const FaqEntry& e = spec_.entries[entry];
  Reply r;
  r.kind = ReplyKind::kAnswer;
  r.topic = e.topic;
  r.entry_id = e.id;
  r.text = Render(e.answer, clinic);
  r.sources = e.sources;
  for (const auto& c : related) {
    if (c.entry == entry || r.quick_replies.size() >= 2) continue;
    r.quick_replies.push_back(spec_.entries[c.entry].questions.front());
  }
  // What every answer offers after its related questions ("Ask the team to call me").
  r.quick_replies.insert(r.quick_replies.end(), answer_quick_replies_.begin(),
                         answer_quick_replies_.end());
  return r;
}

void Engine::Enter(const std::string& id, SessionState* state, Reply* reply,
                   const Clinic& clinic) const {
  std::string next = id.empty() ? dialog_->start() : id;
  for (int guard = 0; guard < kMaxSkips; ++guard) {
    const DialogGraph::State* st = dialog_->Find(next);
    if (!st) break;
    const DialogStateSpec& spec = *st->spec;
    state->state = spec.id;
    if (!spec.skip_if_slot.empty()) {
      auto slot = state->slots.find(spec.skip_if_slot);
      if (slot != state->slots.end()) {
        auto t = std::find_if(spec.transitions.begin(), spec.transitions.end(),
                              [&](const Transition& tr) { return tr.on == slot->second; });
        if (t != spec.transitions.end()) {
          if (!t->action.reply.empty()) {
            if (!reply->text.empty()) reply->text += "\n\n";
            reply->text += Say(t->action.reply, clinic, state->slots);
          }
          next = t->next.empty() ? dialog_->start() : t->next;
          continue;
        }
      }
    }
    if (!spec.prompt.empty()) {
      if (!reply->text.empty()) reply->text += "\n\n";
      reply->text += Say(spec.prompt, clinic, state->slots);
      if (reply->kind == ReplyKind::kIntent) reply->kind = ReplyKind::kPrompt;
      if (reply->topic.empty() && !spec.topic.empty()) reply->topic = spec.topic;
    }
    for (const auto& t : spec.transitions) {
      reply->quick_replies.push_back(t.on);
      state->offers.push_back(Offer{t.on, ""});
    }
    reply->screening = spec.screening;
    return;
  }
}

// One turn: its working state, and the steps of Engine::Turn in their documented order (the
// header's list, README.md "How a reply is chosen"). Each step either decides the reply and
// returns true (Finish then completes it), or returns false and leaves it to the next. A
// step that decides says why with Decide, whose text is built only when the caller wants the
// explanation.
class Engine::TurnSteps {
 public:
  TurnSteps(const Engine& engine, const SessionState& before, std::string_view text,
            const Clinic& clinic, TurnOptions options)
      : e_(engine), before_(before), text_(text), clinic_(clinic), options_(options) {
    state_ = before;
    state_.turns = before.turns + 1;
    state_.offers.clear();
    if (state_.state.empty()) state_.state = e_.dialog_->start();
    if (options_.explain) ex_.state_before = state_.state;
    a_ = e_.analyzer_->Analyze(text);
  }

  // 1. Red flags, in every state, before anything else.
  bool RedFlags();
  // An empty message (nothing but punctuation or spaces).
  bool EmptyMessage();
  // 2. The current state's expected answers.
  bool StateAnswer();
  // 2. A free-text answer the current state captures (a name, a phone number).
  bool Capture();
  // 2. A quick reply offered last turn, typed or tapped back.
  bool OfferedQuickReply();
  // 2b. The classifier's safety net: decides only an escalation; may leave the screening
  // questions for Finish to add to whatever reply comes.
  bool SafetyNet();
  // 3. Refusals, 4. requests.
  bool Refusal();
  bool Request();
  // Small talk that is the whole message ("good morning!").
  bool WholeSmallTalk();
  // 5. FAQ retrieval: one of an entry's own paraphrases, or a confident answer.
  bool Answer();
  // 5. A red flag named only as a possibility: its general FAQ entry.
  bool GeneralRedFlagQuestion();
  // 6. Small talk and flows.
  bool SmallTalkOrFlow();
  // 6b. A short follow-up, read with the words of the entry answered last turn.
  bool FollowUpAnswer();
  // 7. In a state with "ask_again", nothing else fitting: say so and ask the question again.
  bool AskAgain();
  // 7. Clarify with the top candidates, or fall back. Always decides.
  bool ClarifyOrFallback();

  // Adds the screening questions when they are due, keeps the context of a follow-up, moves
  // the analysis into the explanation and the result out. Called once, last.
  TurnResult Finish();

 private:
  template <typename F>
  bool Decide(F&& decision) {
    if (options_.explain) ex_.decision = decision();
    return true;
  }
  // The escalation reply for `kind`, and the escalated state with its next steps offered as
  // quick replies.
  void EscalateTo(const RedFlagKind& kind);
  bool IntentReply(const CompiledIntent& ci, ReplyKind kind);
  // Ranks the FAQ entries once, for the steps that need the candidates.
  void RankOnce();

  const Engine& e_;
  const SessionState& before_;
  std::string_view text_;
  const Clinic& clinic_;
  const TurnOptions options_;

  Reply reply_;
  SessionState state_;
  Explanation ex_;
  Analysis a_;
  TurnConcepts concepts_;  // filled by the first step that needs them
  RedFlagResult rf_;
  // Set when the classifier reads a possible red flag that no rule names: the reply, whatever
  // else it is, then also asks the screening questions.
  double screen_score_ = -1;
  // Symptoms the person says they do not have: no evidence for an FAQ entry.
  std::vector<bool> skip_;
  const CompiledIntent* small_talk_ = nullptr;
  bool ranked_ = false;
  bool personal_input_ = false;  // the message went into a personal slot
  std::vector<Candidate> cands_;
  double second_score_ = 0;
  std::string segment_;  // the part of the message ranked, when not the whole
};

TurnResult Engine::Turn(const SessionState& before, std::string_view text, const Clinic& clinic,
                        TurnOptions options) const {
  TurnSteps t(*this, before, text, clinic, options);
  t.RedFlags() || t.EmptyMessage() || t.StateAnswer() || t.Capture() || t.OfferedQuickReply() ||
      t.SafetyNet() || t.Refusal() || t.Request() || t.WholeSmallTalk() || t.Answer() ||
      t.GeneralRedFlagQuestion() || t.SmallTalkOrFlow() || t.FollowUpAnswer() || t.AskAgain() ||
      t.ClarifyOrFallback();
  return t.Finish();
}

TurnResult Engine::TurnSteps::Finish() {
  // The entry answered is the context of a follow-up next turn; an escalation ends the thread.
  const DialogSpec& dialog = e_.spec_.dialog;
  if (!dialog.context_slot.empty()) {
    if (reply_.kind == ReplyKind::kAnswer && !reply_.entry_id.empty()) {
      state_.slots[dialog.context_slot] = reply_.entry_id;
    } else if (reply_.kind == ReplyKind::kEscalation) {
      state_.slots.erase(dialog.context_slot);
    }
  }
  if (screen_score_ >= 0 && reply_.kind != ReplyKind::kEscalation && !reply_.screening) {
    // The screening question replaces the reply's own quick replies: the next tap answers it.
    reply_.quick_replies.clear();
    state_.offers.clear();
    const ReplyKind kind = reply_.kind;  // Enter would call it a prompt
    e_.Enter(dialog.screening_state, &state_, &reply_, clinic_);
    reply_.kind = kind;
    reply_.screening = true;
    reply_.unanswered = false;
  }
  // Personal slots (a name, a phone number) live only as long as their flow: completed,
  // cancelled, or left for a red flag or a question, the state forgets them.
  const DialogGraph::State* now = e_.dialog_->Find(state_.state);
  if (!now || !now->spec->personal) {
    for (const auto& slot : e_.dialog_->personal_slots()) state_.slots.erase(slot);
  }
  TurnResult out;
  out.personal_input = personal_input_;
  if (options_.explain) {
    ex_.folded = std::move(a_.folded);
    ex_.canonical = std::move(a_.canonical);
    ex_.repairs = std::move(a_.repairs);
    ex_.synonyms = std::move(a_.synonyms);
    ex_.terms = std::move(a_.terms);
    if (reply_.screening && screen_score_ >= 0) {
      ex_.decision += "; and the screening questions: the classifier reads a possible red flag (" +
                      Fixed(screen_score_, 2) +
                      " >= " + Fixed(e_.spec_.classifier.screen_threshold, 2) +
                      ") that no rule names";
    }
    ex_.state_after = state_.state;
    out.explanation = std::move(ex_);
  }
  out.reply = std::move(reply_);
  out.state = std::move(state_);
  return out;
}

void Engine::TurnSteps::EscalateTo(const RedFlagKind& kind) {
  // The match that names this kind says whom it is about; the classifier's reading (no
  // match) leaves the whole message to say it.
  const RedFlagMatch* match = nullptr;
  for (const RedFlagMatch& m : rf_.matches) {
    if (m.affirmed() && m.kind == kind.id) {
      match = &m;
      break;
    }
  }
  reply_ = e_.Escalate(kind, e_.red_flags_->AffectedPerson(a_, match), clinic_);
  // After an urgent reply nobody is on the way: its own next steps.
  const DialogSpec& dialog = e_.spec_.dialog;
  const std::string& next =
      kind.urgency == Urgency::kUrgent && !dialog.urgent_escalated_state.empty()
          ? dialog.urgent_escalated_state
          : dialog.escalated_state;
  state_.state = next.empty() ? e_.dialog_->start() : next;
  if (const auto* st = e_.dialog_->Find(state_.state)) {
    for (const auto& t : st->spec->transitions) {
      reply_.quick_replies.push_back(t.on);
      state_.offers.push_back(Offer{t.on, ""});
    }
  }
}

bool Engine::TurnSteps::RedFlags() {
  // The red flags are read first; escalations from any later step word their reply for the
  // person the message is about from this reading too. The detector and the intents share
  // one index: one lookup serves both.
  rf_ = e_.red_flags_->Detect(a_);
  if (rf_.concepts_found) {
    concepts_.occ = std::move(rf_.concepts);
    concepts_.done = true;
  }
  if (options_.explain) ex_.red_flags = rf_.matches;
  if (!rf_.kind) return false;
  EscalateTo(*rf_.kind);
  return Decide([&] { return std::string("escalation: red flag ") + rf_.kind->id + " affirmed"; });
}

bool Engine::TurnSteps::EmptyMessage() {
  if (!a_.terms.empty() || !a_.canonical.empty()) return false;
  reply_.kind = ReplyKind::kFallback;
  reply_.topic = kFallbackTopic;
  reply_.text = Render(e_.Message("empty"), clinic_);
  return Decide([] { return std::string("empty message"); });
}

bool Engine::TurnSteps::StateAnswer() {
  const DialogGraph::State* st = e_.dialog_->Find(before_.state);
  if (!st) return false;
  const int idx = e_.dialog_->MatchAnswer(*st, a_);
  if (idx < 0) return false;
  const Transition& t = st->spec->transitions[static_cast<size_t>(idx)];
  if (!t.set_slot.empty()) state_.slots[t.set_slot] = t.slot_value.empty() ? t.on : t.slot_value;
  // The kind the safety net suspected, kept in a slot: a yes to the screening question
  // escalates to it.
  if (!t.action.escalate_slot.empty()) {
    auto slot = state_.slots.find(t.action.escalate_slot);
    const RedFlagKind* k =
        slot == state_.slots.end() ? nullptr : e_.red_flags_->FindKind(slot->second);
    if (k) {
      EscalateTo(*k);
      return Decide([&] {
        return "escalation: answer '" + t.on + "' in state '" + st->spec->id +
               "' confirms the suspected " + k->id;
      });
    }
  }
  if (!t.action.escalate.empty()) {
    if (const RedFlagKind* k = e_.red_flags_->FindKind(t.action.escalate)) {
      EscalateTo(*k);
      return Decide(
          [&] { return "escalation: answer '" + t.on + "' in state '" + st->spec->id + "'"; });
    }
  }
  reply_.kind = ReplyKind::kPrompt;
  if (const long i = e_.EntryIndex(t.action.answer); i >= 0) {
    reply_ = e_.AnswerWith(static_cast<size_t>(i), {}, clinic_);
  }
  if (!t.action.reply.empty()) {
    if (!reply_.text.empty()) reply_.text += "\n\n";
    reply_.text += Say(t.action.reply, clinic_, state_.slots);
  }
  if (t.action.callback) {
    auto slot = [&](const std::string& id) {
      const auto it = state_.slots.find(id);
      return it == state_.slots.end() ? std::string() : it->second;
    };
    CallbackRequest req;
    req.first_name = slot(t.action.callback_first_name_slot);
    req.phone_e164 = slot(t.action.callback_phone_slot);
    req.phone_display = slot(t.action.callback_phone_display_slot);
    req.best_time = slot(t.action.callback_best_time_slot);
    reply_.callback = std::move(req);
  }
  if (reply_.topic.empty()) reply_.topic = st->spec->topic;
  e_.Enter(t.next, &state_, &reply_, clinic_);
  if (reply_.topic.empty()) reply_.topic = kPromptTopic;
  return Decide([&] { return "transition '" + t.on + "' of state '" + st->spec->id + "'"; });
}

bool Engine::TurnSteps::Capture() {
  const DialogGraph::State* st = e_.dialog_->Find(before_.state);
  if (!st || !st->spec->capture) return false;
  const CaptureSpec& c = *st->spec->capture;
  std::optional<std::string> value;
  std::string display;
  switch (c.kind) {
    case CaptureSpec::Kind::kName:
      value = CaptureName(text_);
      if (value && e_.NamesContent(*value)) value.reset();
      break;
    case CaptureSpec::Kind::kPhone:
      if (auto phone = CapturePhone(text_, clinic_.country)) {
        value = std::move(phone->e164);
        display = std::move(phone->national);
      }
      break;
    case CaptureSpec::Kind::kText:
      value = CaptureText(text_, c.max_length);
      break;
  }
  // A number that is not a valid one ("911", "555-0123" without its area code) is a try at
  // an answer, not a question: asked again at once, never answered from the FAQ.
  if (!value && c.kind == CaptureSpec::Kind::kPhone && LooksLikePhone(text_)) return AskAgain();
  if (!value) return false;
  state_.slots[c.slot] = std::move(*value);
  if (!c.display_slot.empty()) state_.slots[c.display_slot] = std::move(display);
  personal_input_ = e_.dialog_->IsPersonal(c.slot);
  reply_.kind = ReplyKind::kPrompt;
  reply_.topic = st->spec->topic;
  if (!c.reply.empty()) reply_.text = Say(c.reply, clinic_, state_.slots);
  e_.Enter(c.next, &state_, &reply_, clinic_);
  if (reply_.topic.empty()) reply_.topic = kPromptTopic;
  // Never the value itself: the explanation may be shown or logged.
  return Decide([&] { return "captured slot '" + c.slot + "' in state '" + st->spec->id + "'"; });
}

bool Engine::TurnSteps::AskAgain() {
  const DialogGraph::State* st = e_.dialog_->Find(before_.state);
  if (!st || st->spec->ask_again.empty()) return false;
  reply_ = Reply();
  reply_.kind = ReplyKind::kPrompt;
  reply_.topic = st->spec->topic;
  reply_.text = Say(st->spec->ask_again, clinic_, state_.slots);
  state_.offers.clear();
  e_.Enter(st->spec->id, &state_, &reply_, clinic_);
  if (reply_.topic.empty()) reply_.topic = kPromptTopic;
  return Decide(
      [&] { return "asking again in state '" + st->spec->id + "': the message fits nothing"; });
}

bool Engine::TurnSteps::OfferedQuickReply() {
  // Its label is the entry's first question, whose canonical text is computed once at
  // compile time.
  for (const Offer& o : before_.offers) {
    const long i = o.entry_id.empty() ? -1 : e_.EntryIndex(o.entry_id);
    if (i < 0 || a_.canonical != e_.offer_canonical_[static_cast<size_t>(i)]) continue;
    reply_ = e_.AnswerWith(static_cast<size_t>(i), {}, clinic_);
    reply_.score = 1.0;
    state_.state = e_.dialog_->start();
    return Decide([&] { return "quick reply chosen: entry '" + o.entry_id + "'"; });
  }
  return false;
}

bool Engine::TurnSteps::SafetyNet() {
  // The rules are silent, so the classifier can only add caution. Before refusals and
  // answers: a possible red flag outranks them (red-flags.md section 1).
  const ClassifierSpec& cl = e_.spec_.classifier;
  if (!cl.model) return false;
  const ClassifierScores cs = cl.model->Score(text_);
  if (options_.explain) {
    ex_.classifier = cl.model->version() + ": emergency " + Fixed(cs.emergency, 2) +
                     (cs.emergency_kind.empty() ? "" : " (" + cs.emergency_kind + ")") +
                     ", urgent " + Fixed(cs.urgent, 2) +
                     (cs.urgent_kind.empty() ? "" : " (" + cs.urgent_kind + ")");
  }
  // A bag of words cannot read "not": where a rule's pattern matched and the message's own
  // words cancelled it (negated, hypothetical, resolved, excepted: "his breathing is not
  // slow"), the classifier may add the questions but never overrule that reading with an
  // escalation. A concept combination is looser (any two concepts in a clause), so its
  // cancelled matches say too little to overrule the classifier. The reading settles its own
  // kind, and a negation its own tier: "no weakness in her legs" (an emergency sign) says
  // nothing against pain that is worse every night (urgent, U1), nor "no fever" against a
  // wound that weeps after a procedure (U6); "I didn't feel any crack when I slipped" still
  // keeps the classifier from calling it an emergency of another kind.
  const auto rule_cancelled = [&](const std::string& kind, Urgency tier) {
    return std::any_of(rf_.matches.begin(), rf_.matches.end(), [&](const RedFlagMatch& m) {
      return !m.affirmed() && m.combination.empty() &&
             (m.kind == kind || (m.negated && m.urgency == tier));
    });
  };
  // A request for a person or about the service ("I'd prefer a live agent", "can he speak to
  // somebody on the phone"), in which no rule saw a symptom at all, is not escalated on the
  // classifier's word alone: it still gets the screening questions below. Refusals are exempt
  // only when marked question_only ("is it ok to double my gabapentin tonight?"): a dose
  // question is how many reports arrive ("I took one too many by mistake, what now?").
  const CompiledIntent* refusal =
      rf_.matches.empty() ? e_.MatchIntent(IntentSpec::Kind::kRefusal, a_, &concepts_) : nullptr;
  const bool explained =
      rf_.matches.empty() && ((refusal && refusal->spec->question_only) ||
                              e_.MatchIntent(IntentSpec::Kind::kRequest, a_, &concepts_));
  const RedFlagKind* k = nullptr;
  if (!explained && cs.emergency >= cl.escalate_threshold &&
      !rule_cancelled(cs.emergency_kind, Urgency::kEmergency))
    k = e_.red_flags_->FindKind(cs.emergency_kind);
  if (!explained && !k && cs.urgent >= cl.escalate_threshold &&
      !rule_cancelled(cs.urgent_kind, Urgency::kUrgent))
    k = e_.red_flags_->FindKind(cs.urgent_kind);
  if (k) {
    EscalateTo(*k);
    return Decide([&] {
      return "escalation: the classifier names " + k->id + " (" +
             Fixed(std::max(cs.emergency, cs.urgent), 2) +
             " >= " + Fixed(cl.escalate_threshold, 2) + "); no rule fired";
    });
  }
  // Below that, the questions go with whatever reply the message gets (Finish adds them):
  // the person still has their answer, refusal or greeting, and a check they can answer
  // with one tap.
  const DialogSpec& dialog = e_.spec_.dialog;
  const DialogGraph::State* was = e_.dialog_->Find(before_.state);
  if (cs.flag() >= cl.screen_threshold && !dialog.screening_state.empty() &&
      !(was && was->spec->screening)) {
    screen_score_ = cs.flag();
    // Keep the kind it suspects (the likelier tier's), for the answer.
    if (!dialog.screening_slot.empty()) {
      const std::string& kind = cs.emergency >= cs.urgent ? cs.emergency_kind : cs.urgent_kind;
      if (e_.red_flags_->FindKind(kind)) {
        state_.slots[dialog.screening_slot] = kind;
      } else {
        state_.slots.erase(dialog.screening_slot);
      }
    }
  }
  return false;
}

bool Engine::TurnSteps::IntentReply(const CompiledIntent& ci, ReplyKind kind) {
  reply_.kind = kind;
  reply_.topic = ci.spec->topic;
  reply_.intent_id = ci.spec->id;
  reply_.text = Render(ci.spec->reply, clinic_);
  reply_.quick_replies = ci.spec->quick_replies;
  state_.state = e_.dialog_->start();
  if (!ci.spec->next_state.empty()) e_.Enter(ci.spec->next_state, &state_, &reply_, clinic_);
  return Decide(
      [&] { return std::string(ReplyKindName(kind)) + ": intent '" + ci.spec->id + "'"; });
}

bool Engine::TurnSteps::Refusal() {
  const auto* ci = e_.MatchIntent(IntentSpec::Kind::kRefusal, a_, &concepts_);
  return ci && IntentReply(*ci, ReplyKind::kRefusal);
}

bool Engine::TurnSteps::Request() {
  const auto* ci = e_.MatchIntent(IntentSpec::Kind::kRequest, a_, &concepts_);
  return ci && IntentReply(*ci, ReplyKind::kIntent);
}

bool Engine::TurnSteps::WholeSmallTalk() {
  // Symptoms the person says they do not have are no evidence for an FAQ entry ("no fever,
  // is a massage ok in my chemo week?", "no numbness, how do I know when pain is serious?").
  skip_ = e_.red_flags_->NegatedSymptoms(a_);
  for (const auto& m : rf_.matches) {
    if (!m.negated) continue;
    for (size_t i = m.first_token; i <= m.last_token && i < skip_.size(); ++i) skip_[i] = true;
  }
  small_talk_ = e_.MatchIntent(IntentSpec::Kind::kSmallTalk, a_, &concepts_);
  return small_talk_ && e_.OnlyIntent(*small_talk_, a_, skip_) &&
         IntentReply(*small_talk_, ReplyKind::kIntent);
}

void Engine::TurnSteps::RankOnce() {
  if (ranked_) return;
  ranked_ = true;
  Ranking ranking = e_.Rank(a_, skip_);
  cands_ = std::move(ranking.candidates);
  segment_ = std::move(ranking.segment);
  second_score_ = cands_.size() > 1 ? cands_[1].score : 0;
  if (cands_.size() > kCandidates) cands_.resize(kCandidates);
  if (options_.explain) {
    for (const auto& c : cands_) ex_.candidates.emplace_back(e_.spec_.entries[c.entry].id, c);
  }
}

bool Engine::TurnSteps::Answer() {
  RankOnce();
  const Candidate* top = cands_.empty() ? nullptr : &cands_.front();
  // The message is one of an entry's own paraphrases (its content words, in any order): that
  // entry answers, even when its words are too common for the ranking to be sure.
  long own = -1;
  if (const auto it = e_.paraphrase_keys_.find(TermsKey(a_.terms)); it != e_.paraphrase_keys_.end())
    own = it->second;
  if (own >= 0 &&
      (!top || top->entry != static_cast<size_t>(own) || !e_.Confident(*top, second_score_))) {
    reply_ = e_.AnswerWith(static_cast<size_t>(own), cands_, clinic_);
    reply_.score = 1.0;
    state_.state = e_.dialog_->start();
    return Decide([&] {
      return "answer: the message is one of the paraphrases of '" +
             e_.spec_.entries[static_cast<size_t>(own)].id + "'";
    });
  }
  if (!top || !e_.Confident(*top, second_score_)) return false;
  reply_ = e_.AnswerWith(top->entry, cands_, clinic_);
  reply_.score = top->coverage;
  state_.state = e_.dialog_->start();
  for (const auto& q : reply_.quick_replies) {
    for (const auto& c : cands_) {
      if (e_.spec_.entries[c.entry].questions.front() == q) {
        state_.offers.push_back(Offer{q, e_.spec_.entries[c.entry].id});
      }
    }
    // "Ask the team to call me": offered, and answered by its intent when tapped.
    if (std::find(e_.answer_quick_replies_.begin(), e_.answer_quick_replies_.end(), q) !=
        e_.answer_quick_replies_.end()) {
      state_.offers.push_back(Offer{q, ""});
    }
  }
  return Decide([&] {
    const std::string seg = segment_.empty() ? "" : " (in \"" + segment_ + "\")";
    return "answer: coverage " + Fixed(top->coverage, 2) +
           " >= " + Fixed(e_.spec_.retrieval.answer_coverage, 2) + ", evidence " +
           Fixed(top->evidence, 1) + seg;
  });
}

bool Engine::TurnSteps::GeneralRedFlagQuestion() {
  for (const auto& m : rf_.matches) {
    if (!m.hypothetical || m.negated) continue;
    const RedFlagKind* k = e_.red_flags_->FindKind(m.kind);
    if (!k || k->general_entry.empty()) continue;
    const long i = e_.EntryIndex(k->general_entry);
    if (i < 0) continue;
    RankOnce();
    reply_ = e_.AnswerWith(static_cast<size_t>(i), cands_, clinic_);
    reply_.score = cands_.empty() ? 0 : cands_.front().coverage;
    state_.state = e_.dialog_->start();
    return Decide([&] {
      return "answer: a general question about red flag " + k->id +
             " (hypothetical), no confident FAQ match";
    });
  }
  return false;
}

bool Engine::TurnSteps::SmallTalkOrFlow() {
  if (small_talk_) return IntentReply(*small_talk_, ReplyKind::kIntent);
  const auto* ci = e_.MatchIntent(IntentSpec::Kind::kFlow, a_, &concepts_);
  return ci && IntentReply(*ci, ReplyKind::kIntent);
}

bool Engine::TurnSteps::FollowUpAnswer() {
  // "is it safe with chemo?" after a question about ibuprofen.
  const RetrievalSpec& rs = e_.spec_.retrieval;
  const std::string& slot = e_.spec_.dialog.context_slot;
  if (slot.empty() || rs.follow_up_terms <= 0 ||
      static_cast<int>(a_.terms.size()) > rs.follow_up_terms)
    return false;
  const auto ctx = before_.slots.find(slot);
  const long previous = ctx == before_.slots.end() ? -1 : e_.EntryIndex(ctx->second);
  if (previous < 0) return false;
  const auto f = e_.FollowUp(a_, skip_, static_cast<size_t>(previous));
  if (!f) return false;
  RankOnce();
  reply_ = e_.AnswerWith(f->entry, cands_, clinic_);
  reply_.score = f->coverage;
  state_.state = e_.dialog_->start();
  return Decide([&] {
    return "answer: a follow-up to '" + e_.spec_.entries[static_cast<size_t>(previous)].id +
           "', read with its words: coverage " + Fixed(f->coverage, 2);
  });
}

bool Engine::TurnSteps::ClarifyOrFallback() {
  RankOnce();
  const RetrievalSpec& rs = e_.spec_.retrieval;
  const Candidate* top = cands_.empty() ? nullptr : &cands_.front();
  const bool names_domain =
      std::any_of(a_.terms.begin(), a_.terms.end(),
                  [&](const std::string& t) { return e_.domain_terms_.count(t) > 0; });
  // Nothing about health at all: out of scope, however many words it shares. A message of
  // one or two content words says too little to tell ("what helps at night" is asked here
  // about pain), so it may still be offered choices.
  constexpr size_t kSaysWhatItIsAbout = 3;
  bool in_domain = true;
  if (e_.clarify_concept_ && a_.terms.size() >= kSaysWhatItIsAbout) {
    if (!concepts_.done) {
      concepts_.occ = e_.concepts_.Occur(a_);
      concepts_.done = true;
    }
    in_domain =
        *e_.clarify_concept_ < concepts_.occ.size() && !concepts_.occ[*e_.clarify_concept_].empty();
  }
  if (top && in_domain && (top->evidence >= rs.clarify_evidence || names_domain) &&
      (top->coverage >= rs.clarify_coverage || top->score >= rs.clarify_score)) {
    reply_.kind = ReplyKind::kClarify;
    reply_.topic = e_.spec_.entries[top->entry].topic;
    reply_.text = Render(e_.Message("clarify"), clinic_);
    reply_.score = top->coverage;
    reply_.unanswered = true;
    std::set<std::string> seen;
    for (const auto& c : cands_) {
      if (static_cast<int>(reply_.quick_replies.size()) >= rs.clarify_options) break;
      if (c.coverage < rs.clarify_coverage / 2 && c.score < rs.clarify_score / 2) continue;
      const std::string& q = e_.spec_.entries[c.entry].questions.front();
      if (!seen.insert(q).second) continue;
      reply_.quick_replies.push_back(q);
      state_.offers.push_back(Offer{q, e_.spec_.entries[c.entry].id});
    }
    state_.state = e_.dialog_->start();
    return Decide([&] {
      return "clarify: coverage " + Fixed(top->coverage, 2) + ", score " + Fixed(top->score, 1) +
             ": not confident enough to answer, " + "enough to offer candidates";
    });
  }
  reply_.kind = ReplyKind::kFallback;
  reply_.topic = kFallbackTopic;
  reply_.text = Render(e_.Message("fallback"), clinic_);
  reply_.score = top ? top->coverage : 0;
  reply_.unanswered = true;
  state_.state = e_.dialog_->start();
  return Decide([&] {
    return "fallback: best coverage " + Fixed(top ? top->coverage : 0.0, 2) + " < " +
           Fixed(rs.clarify_coverage, 2);
  });
}

}  // namespace backline::engine
