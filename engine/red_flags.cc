#include "engine/red_flags.h"

#include <algorithm>
#include <functional>
#include <unordered_set>

#include <re2/re2.h>
#include <re2/set.h>

namespace backline::engine {
namespace {

// A rule's concept matches in one message stop here: enough to find an
// affirmed one, and a message stuffed with concept words stays cheap.
constexpr size_t kMaxMatchesPerRule = 64;

}  // namespace

struct RedFlagDetector::Prefilter {
  explicit Prefilter(const RE2::Options& o) : set(o, RE2::UNANCHORED) {}
  RE2::Set set;
  std::vector<std::pair<size_t, size_t>> owner;  // set index -> (rule, pattern)
  bool ok = false;
};

RedFlagDetector::PhraseSet::PhraseSet(const std::vector<std::string>& cues) {
  for (const auto& c : cues) {
    auto words = SplitWords(FoldToAscii(c));
    if (words.empty()) continue;
    std::string first = words.front();
    first_words_.set(WordQuickKey(first));
    by_first_[first].push_back(std::move(words));
  }
}

size_t RedFlagDetector::PhraseSet::LongestFrom(const std::vector<Token>& t, size_t p) const {
  const auto it = by_first_.find(t[p].text);
  if (it == by_first_.end()) return 0;
  size_t best = 0;
  for (const Phrase& ph : it->second) {
    if (ph.size() <= best || p + ph.size() > t.size()) continue;
    bool match = true;
    for (size_t k = 1; k < ph.size() && match; ++k)
      match = !t[p + k].is_break && t[p + k].text == ph[k];
    if (match) best = ph.size();
  }
  return best;
}

RedFlagDetector::RedFlagDetector() = default;
RedFlagDetector::~RedFlagDetector() = default;

std::unique_ptr<RedFlagDetector> RedFlagDetector::Build(const std::vector<RedFlagKind>& kinds,
                                                        const std::vector<RedFlagRule>& rules,
                                                        const LanguageSpec& language,
                                                        std::vector<Diagnostic>* diags) {
  return Build(kinds, std::vector<Concept>{}, rules, language, diags);
}

std::unique_ptr<RedFlagDetector> RedFlagDetector::Build(const std::vector<RedFlagKind>& kinds,
                                                        const std::vector<Concept>& concepts,
                                                        const std::vector<RedFlagRule>& rules,
                                                        const LanguageSpec& language,
                                                        std::vector<Diagnostic>* diags) {
  const size_t diags_before = diags->size();
  ConceptIndex index(concepts, diags);
  const bool concept_errors =
      std::any_of(diags->begin() + static_cast<std::ptrdiff_t>(diags_before), diags->end(),
                  [](const Diagnostic& g) { return g.severity == Diagnostic::Severity::kError; });
  if (concept_errors) return nullptr;
  return Build(kinds, index, rules, language, diags);
}

std::unique_ptr<RedFlagDetector> RedFlagDetector::Build(const std::vector<RedFlagKind>& kinds,
                                                        const ConceptIndex& concepts,
                                                        const std::vector<RedFlagRule>& rules,
                                                        const LanguageSpec& language,
                                                        std::vector<Diagnostic>* diags) {
  std::unique_ptr<RedFlagDetector> d(new RedFlagDetector());
  d->kinds_ = kinds;
  DiagnosticSink sink(diags);
  d->concepts_ = concepts;
  for (const auto& r : rules) {
    CompiledRule cr;
    cr.id = r.id;
    cr.general_questions_escalate = r.general_questions_escalate;
    auto kit = std::find_if(kinds.begin(), kinds.end(),
                            [&](const RedFlagKind& k) { return k.id == r.kind; });
    if (kit == kinds.end()) {
      sink.Error(r.where, "red-flag rule '" + r.id + "' names unknown kind '" + r.kind + "'");
      continue;
    }
    cr.kind = static_cast<size_t>(kit - kinds.begin());
    if (r.patterns.empty() && r.concepts.empty()) {
      sink.Error(r.where,
                 "red-flag rule '" + r.id + "' has no patterns and no concept combinations");
    }
    for (size_t i = 0; i < r.concepts.size(); ++i) {
      const SourceLocation& at = i < r.concepts_where.size() ? r.concepts_where[i] : r.where;
      std::vector<size_t> combination;
      for (const std::string& id : r.concepts[i]) {
        const auto found = d->concepts_.Find(id);
        if (!found) {
          sink.Error(at, "concept combination " + std::to_string(i + 1) + " of rule '" + r.id +
                             "' names unknown concept '" + id + "' (knowledge/concepts.json)");
          combination.clear();
          break;
        }
        combination.push_back(*found);
      }
      if (r.concepts[i].size() < 2) {
        sink.Error(at, "concept combination " + std::to_string(i + 1) + " of rule '" + r.id +
                           "' names fewer than two concepts: one concept "
                           "alone is a list of words, not a report");
        continue;
      }
      if (!combination.empty()) {
        cr.combinations.push_back(std::move(combination));
        d->any_combination_ = true;
      }
    }
    for (size_t i = 0; i < r.patterns.size(); ++i) {
      auto p = Pattern::Compile(r.patterns[i]);
      if (!p.ok()) {
        sink.Error(i < r.pattern_where.size() ? r.pattern_where[i] : r.where,
                   "pattern of rule '" + r.id + "' does not compile: " + p.status().message());
        continue;
      }
      cr.patterns.push_back(std::move(p).value());
    }
    std::vector<std::string> unless_ok;
    for (size_t i = 0; i < r.unless.size(); ++i) {
      auto p = Pattern::Compile(r.unless[i]);
      if (!p.ok()) {
        sink.Error(
            i < r.unless_where.size() ? r.unless_where[i] : r.where,
            "'unless' pattern of rule '" + r.id + "' does not compile: " + p.status().message());
        continue;
      }
      unless_ok.push_back(r.unless[i]);
    }
    if (!unless_ok.empty()) {
      auto any = Pattern::CompileAny(unless_ok);
      if (any.ok()) cr.unless = std::move(any).value();
    }
    std::vector<std::string> requires_ok;
    for (size_t i = 0; i < r.requires_any.size(); ++i) {
      auto p = Pattern::Compile(r.requires_any[i]);
      if (!p.ok()) {
        sink.Error(
            i < r.requires_where.size() ? r.requires_where[i] : r.where,
            "'requires' pattern of rule '" + r.id + "' does not compile: " + p.status().message());
        continue;
      }
      requires_ok.push_back(r.requires_any[i]);
    }
    if (!requires_ok.empty()) {
      auto any = Pattern::CompileAny(requires_ok);
      if (any.ok()) cr.requires_any = std::move(any).value();
    }
    d->rules_.push_back(std::move(cr));
  }
  d->negation_ = PhraseSet(language.negation_cues);
  d->pseudo_ = PhraseSet(language.pseudo_negations);
  d->post_negation_ = PhraseSet(language.post_negation_cues);
  d->hypothetical_ = PhraseSet(language.hypothetical_cues);
  d->current_ = PhraseSet(language.current_cues);
  d->resolved_ = PhraseSet(language.resolved_cues);
  d->future_ = PhraseSet(language.future_cues);
  d->imagined_ = PhraseSet(language.imagined_cues);
  d->example_joiners_ = PhraseSet(language.example_joiners);
  d->hedges_ = PhraseSet(language.hedges);
  d->novelty_ = PhraseSet(language.novelty_cues);
  d->figurative_ = PhraseSet(language.figurative_phrases);
  d->other_experiencers_ = PhraseSet(language.other_experiencers);
  d->message_frames_ = PhraseSet(language.message_frames);
  d->writer_words_ = PhraseSet(language.writer_words);
  d->other_people_ = PhraseSet(language.other_people);
  d->clause_breaks_ = PhraseSet(language.clause_breaks);
  d->negation_breaks_ = PhraseSet(language.negation_breaks);
  d->window_ = language.negation_window;
  d->concept_window_ = std::max(1, language.concept_window);
  for (const auto& r : rules) {
    for (const auto& p : r.patterns) {
      std::string word;
      for (char c : p + " ") {
        if (c >= 'a' && c <= 'z') {
          word.push_back(c);
        } else {
          if (word.size() >= 3) d->symptom_words_.insert(word);
          word.clear();
        }
      }
    }
  }
  if (sink.failed()) return nullptr;
  RE2::Options opts;
  opts.set_log_errors(false);
  opts.set_max_mem(64 << 20);
  opts.set_case_sensitive(false);
  d->prefilter_ = std::make_unique<Prefilter>(opts);
  bool added = true;
  for (size_t r = 0; r < d->rules_.size() && added; ++r) {
    for (size_t p = 0; p < d->rules_[r].patterns.size() && added; ++p) {
      std::string err;
      added =
          d->prefilter_->set.Add("\\b(?:" + d->rules_[r].patterns[p]->source() + ")\\b", &err) >= 0;
      d->prefilter_->owner.emplace_back(r, p);
    }
  }
  // Without a working set every pattern is simply run on its own.
  d->prefilter_->ok = added && d->prefilter_->set.Compile();
  return d;
}

const RedFlagKind* RedFlagDetector::FindKind(const std::string& id) const {
  for (const auto& k : kinds_) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

void RedFlagDetector::Classify(const Analysis& a, size_t ts, size_t te,
                               const std::vector<int>& clause, const std::vector<int>& neg_scope,
                               bool general_ok, bool framed,
                               const std::vector<std::pair<size_t, size_t>>& gaps,
                               RedFlagMatch* m) const {
  const auto& t = a.tokens;
  const int c = clause[ts];
  size_t cs = ts;
  while (cs > 0 && clause[cs - 1] == c) --cs;
  size_t ce = te;
  while (ce + 1 < t.size() && clause[ce + 1] == c) ++ce;

  // "never had numbness like this before": a "never" in a clause that says
  // the symptom is new is not a negation.
  bool novel = false;
  for (size_t p = cs; p <= ce && !novel; ++p) novel = novelty_.LongestAt(t, p) > 0;
  const auto negates = [&](size_t p, size_t len) {
    return !(novel && len == 1 && t[p].text == "never");
  };
  // Negation: a cue before the match, in the same negation scope, within the
  // window, that is not part of a pseudo-negation ("not sure").
  const size_t window = static_cast<size_t>(std::max(1, window_));
  size_t from = ts > window ? ts - window : 0;
  from = std::max(from, cs);
  for (size_t p = from; p < ts && !m->negated; ++p) {
    if (neg_scope[p] != neg_scope[ts]) continue;
    const size_t len = NegationAt(t, p);
    if (len > 0 && p + len <= ts && negates(p, len)) m->negated = true;
  }
  // Inside a word gap of the pattern: "his lips are not blue", "no crack when I
  // fell".
  for (const auto& [gb, ge] : gaps) {
    for (size_t p = gb; p < ge && !m->negated; ++p) {
      const size_t len = NegationAt(t, p);
      if (len > 0 && p + len <= ge && negates(p, len)) m->negated = true;
    }
  }
  // Post-negation: "my legs are fine".
  for (size_t p = te + 1; p <= std::min(ce, te + 2) && !m->negated; ++p) {
    if (post_negation_.LongestAt(t, p) > 0) m->negated = true;
  }
  // A hedge ("not sure if") contains a hypothetical cue but frames a report.
  auto hedged = [&](size_t p) {
    for (size_t q = (p >= 4 ? p - 4 : 0); q <= p; ++q) {
      const size_t len = hedges_.LongestAt(t, q);
      if (len > 0 && q + len > p) return true;
    }
    return false;
  };
  bool current = false;
  bool hypothetical = false;
  bool resolved = false;
  bool imagined = false;
  // "the weakness fully recovered and I walk normally now": a resolved cue
  // between the match's own words settles it, whatever else the clause says.
  bool resolved_inside = false;
  // "the weakness in my legs fully recovered after surgery and I walk daily
  // now": a resolved cue right after the match says it of the symptom itself,
  // and a current cue after that is about the recovery, not the symptom.
  bool resolved_after = false;
  bool current_before_resolved = false;
  for (size_t p = cs; p <= ce; ++p) {
    if (current_.LongestAt(t, p) > 0) {
      current = true;
      if (!resolved_after) current_before_resolved = true;
    }
    if (const size_t len = resolved_.LongestAt(t, p); len > 0) {
      resolved = true;
      if (p > ts && p + len <= te) resolved_inside = true;
      if (p > te && p <= te + 3) resolved_after = true;
    }
    if (imagined_.LongestAt(t, p) > 0) imagined = true;
    if (p < ts && hypothetical_.LongestAt(t, p) > 0 && !hedged(p)) hypothetical = true;
    if (future_.LongestAt(t, p) > 0) hypothetical = true;
  }
  // "what signs should I watch for, like black poo?": an example continues the
  // question.
  size_t start = cs;
  while (!hypothetical && start >= 2 && example_joiners_.LongestAt(t, start) > 0) {
    size_t prev_end = start - 1;  // the break token before this clause
    while (prev_end > 0 && clause[prev_end] < 0) --prev_end;
    if (clause[prev_end] < 0) break;
    size_t prev_start = prev_end;
    while (prev_start > 0 && clause[prev_start - 1] == clause[prev_end]) --prev_start;
    for (size_t p = prev_start; p <= prev_end; ++p) {
      if (hypothetical_.LongestAt(t, p) > 0 && !hedged(p)) hypothetical = true;
    }
    start = prev_start;
  }
  // "I had weak legs in 2022 but they fully recovered": the next clause, when
  // it starts with a pronoun for the symptom, can say it is over.
  if (!resolved) {
    size_t q = ce + 1;
    while (q < t.size() && clause[q] < 0) ++q;  // skip the break and break words
    static const std::unordered_set<std::string> kBackReference = {"it",   "they", "that",
                                                                   "this", "both", "those"};
    if (q < t.size() && q > ce + 1 && kBackReference.count(t[q].text)) {
      const int next = clause[q];
      for (size_t p = q; p < t.size() && clause[p] == next; ++p) {
        if (resolved_.LongestAt(t, p) > 0) resolved = true;
        if (current_.LongestAt(t, p) > 0) current = true;
      }
    }
  }
  // "since", "still", "again" say it is happening now: that beats both frames.
  if (framed) hypothetical = true;
  m->hypothetical = ((hypothetical && !current) || imagined) && !general_ok;
  m->resolved =
      (resolved && !current) || resolved_inside || (resolved_after && !current_before_resolved);
  // "hay fever", "slow breathing exercises": a figure of speech that shares a
  // word with the match (it may start before the match or run past it).
  for (size_t p = cs; p <= te && !m->figurative; ++p) {
    const size_t len = figurative_.LongestAt(t, p);
    if (len > 0 && p + len > ts) m->figurative = true;
  }
  // "our cat had a fit": an animal before the match in its clause.
  for (size_t p = cs; p < ts && !m->other; ++p) {
    if (other_experiencers_.LongestAt(t, p) > 0) m->other = true;
  }
}

RedFlagDetector::Person RedFlagDetector::AffectedPerson(const Analysis& a,
                                                        const RedFlagMatch* m) const {
  const std::vector<Token>& t = a.tokens;
  if (t.empty()) return Person::kUnknown;
  size_t end = m ? std::min(m->last_token, t.size() - 1) : t.size() - 1;
  size_t begin = 0;
  if (m) {
    for (size_t p = std::min(m->first_token, end) + 1; p-- > 0;) {
      if (t[p].is_break) {
        begin = p + 1;
        break;
      }
    }
  }
  // Backwards from the end: the nearest person word decides. A phrase must
  // end by `end` ("my husband" ends at "husband").
  for (size_t p = end + 1; p-- > begin;) {
    const size_t other = other_people_.LongestAt(t, p);
    if (other > 0 && p + other - 1 <= end) return Person::kSomeoneElse;
    const size_t writer = writer_words_.LongestAt(t, p);
    if (writer > 0 && p + writer - 1 <= end) return Person::kWriter;
  }
  return Person::kUnknown;
}

size_t RedFlagDetector::NegationAt(const std::vector<Token>& t, size_t p) const {
  const size_t len = negation_.LongestAt(t, p);
  if (len == 0) return 0;
  for (size_t q = (p >= 3 ? p - 3 : 0); q <= p; ++q) {
    const size_t pl = pseudo_.LongestAt(t, q);
    if (pl > 0 && q + pl > p) return 0;
  }
  return len;
}

std::vector<bool> RedFlagDetector::NegatedSymptoms(const Analysis& a) const {
  const auto& t = a.tokens;
  std::vector<bool> out(t.size(), false);
  // Only symptom words are ever marked: a message without one needs no scopes.
  const bool any_symptom = std::any_of(t.begin(), t.end(), [&](const Token& tok) {
    return !tok.is_break && symptom_words_.count(tok.text) > 0;
  });
  if (!any_symptom) return out;
  std::vector<int> clause, neg_scope;
  Scopes(a, &clause, &neg_scope);
  const size_t window = static_cast<size_t>(std::max(1, window_));
  for (size_t p = 0; p < t.size(); ++p) {
    const size_t len = neg_scope[p] < 0 ? 0 : NegationAt(t, p);
    if (len == 0) continue;
    for (size_t i = p + len; i < t.size() && i <= p + len + window; ++i) {
      if (neg_scope[i] != neg_scope[p]) break;
      if (symptom_words_.count(t[i].text)) out[i] = true;
    }
  }
  return out;
}

void RedFlagDetector::Scopes(const Analysis& a, std::vector<int>* clause_out,
                             std::vector<int>* neg_out) const {
  const auto& t = a.tokens;
  std::vector<int>& clause = *clause_out;
  std::vector<int>& neg_scope = *neg_out;
  clause.assign(t.size(), 0);
  neg_scope.assign(t.size(), 0);
  int c = 0, n = 0;
  for (size_t i = 0; i < t.size();) {
    if (t[i].is_break) {
      ++c;
      ++n;
      clause[i] = -1;
      neg_scope[i] = -1;
      ++i;
      continue;
    }
    if (size_t len = clause_breaks_.LongestAt(t, i); len > 0) {
      ++c;
      ++n;
      for (size_t k = 0; k < len; ++k) clause[i + k] = neg_scope[i + k] = -1;
      i += len;
      continue;
    }
    if (size_t len = negation_breaks_.LongestAt(t, i); len > 0) {
      ++n;
      for (size_t k = 0; k < len; ++k) {
        clause[i + k] = c;
        neg_scope[i + k] = -1;
      }
      i += len;
      continue;
    }
    clause[i] = c;
    neg_scope[i] = n;
    ++i;
  }
}

RedFlagResult RedFlagDetector::Detect(const Analysis& a) const {
  RedFlagResult result;
  const auto& t = a.tokens;
  if (t.empty()) return result;
  // The (rule, pattern) pairs to run, in rule and pattern order. With the
  // prefilter, only those whose pattern matches somewhere (set indices follow
  // that order); usually none, and then there is nothing more to do.
  // When re2 cannot tell (its DFA out of memory for this text), every pattern
  // runs: a red flag must never be missed because the quick pass gave up.
  std::vector<std::pair<size_t, size_t>> to_run;
  std::vector<int> matched;
  RE2::Set::ErrorInfo error{RE2::Set::kNoError};
  const bool told = prefilter_ && prefilter_->ok &&
                    (prefilter_->set.Match(re2::StringPiece(a.canonical.data(), a.canonical.size()),
                                           &matched, &error) ||
                     error.kind == RE2::Set::kNoError);
  // Concepts in the message, when any rule combines them: usually none.
  Occurrences occ;
  bool any_concept = false;
  if (any_combination_) {
    occ = concepts_.Occur(a);
    any_concept = ConceptIndex::Any(occ);
    result.concepts = occ;
    result.concepts_found = true;
  }
  if (told) {
    if (matched.empty() && !any_concept) return result;
    std::sort(matched.begin(), matched.end());
    to_run.reserve(matched.size());
    for (int i : matched) to_run.push_back(prefilter_->owner[static_cast<size_t>(i)]);
  } else {
    for (size_t r = 0; r < rules_.size(); ++r) {
      for (size_t p = 0; p < rules_[r].patterns.size(); ++p) to_run.emplace_back(r, p);
    }
  }
  std::vector<int> clause, neg_scope;
  Scopes(a, &clause, &neg_scope);
  bool framed = false;
  for (size_t p = 0; p < t.size() && !framed; ++p) framed = message_frames_.LongestAt(t, p) > 0;

  std::vector<int> excepted(rules_.size(), -1);  // -1 unknown, 0 no, 1 yes
  // Cancels or affirms a match of rule r whose tokens [ts, te] and word gaps
  // are known, and records it.
  const auto settle = [&](size_t r, RedFlagMatch m,
                          const std::vector<std::pair<size_t, size_t>>& gaps) {
    const CompiledRule& rule = rules_[r];
    if (clause[m.first_token] >= 0) {
      Classify(a, m.first_token, m.last_token, clause, neg_scope, rule.general_questions_escalate,
               framed, gaps, &m);
    }
    if (excepted[r] < 0) {
      const bool unless = rule.unless && rule.unless->Matches(a.canonical);
      const bool lacks = rule.requires_any && !rule.requires_any->Matches(a.canonical);
      excepted[r] = unless || lacks ? 1 : 0;
    }
    m.excepted = excepted[r] == 1;
    if (m.affirmed() && m.urgency > result.urgency) {
      result.urgency = m.urgency;
      result.kind = &kinds_[rule.kind];
    }
    result.matches.push_back(std::move(m));
  };
  if (any_concept) {
    std::vector<CombinationMatch> found;
    for (size_t r = 0; r < rules_.size(); ++r) {
      if (rules_[r].combinations.empty()) continue;
      found.clear();
      MatchCombinations(a, r, occ, clause, &found);
      for (auto& [m, gaps] : found) settle(r, std::move(m), gaps);
    }
  }
  for (const auto& [r, pi] : to_run) {
    const CompiledRule& rule = rules_[r];
    const auto& p = rule.patterns[pi];
    for (const auto& match : p->FindAllWithGroups(a.canonical)) {
      const size_t b = match.begin, e = match.end;
      RedFlagMatch m;
      m.rule = rule.id;
      m.kind = kinds_[rule.kind].id;
      m.urgency = kinds_[rule.kind].urgency;
      m.text = a.canonical.substr(b, e - b);
      size_t ts = a.TokenAt(b);
      size_t te = e > b ? a.TokenAt(e - 1) : ts;
      // A match that starts on a break token is moved to the next word.
      while (ts < te && clause[ts] < 0) ++ts;
      if (clause[ts] < 0 || neg_scope[ts] < 0) {
        // Starts on a clause-break word ("but ..."): scope it from the next
        // token.
        size_t k = ts;
        while (k < te && (clause[k] < 0 || neg_scope[k] < 0)) ++k;
        ts = k;
      }
      m.first_token = ts;
      m.last_token = te;
      std::vector<std::pair<size_t, size_t>> gaps;
      for (const auto& [gb, ge] : match.groups) {
        // The gap's last non-space byte + 1 (a gap ends with a space).
        size_t last = ge;
        while (last > gb && a.canonical[last - 1] == ' ') --last;
        if (last > gb) gaps.emplace_back(a.TokenAt(gb), a.TokenAt(last - 1) + 1);
      }
      settle(r, std::move(m), gaps);
    }
  }
  return result;
}

void RedFlagDetector::MatchCombinations(const Analysis& a, size_t r, const Occurrences& occ,
                                        const std::vector<int>& clause,
                                        std::vector<CombinationMatch>* out) const {
  const CompiledRule& rule = rules_[r];
  const size_t window = static_cast<size_t>(concept_window_);
  for (const auto& combination : rule.combinations) {
    bool all_present = true;
    for (size_t c : combination) all_present &= !occ[c].empty();
    if (!all_present) continue;
    // Every choice of one occurrence per concept in the anchor's clause, none
    // sharing a token with another ("dead" cannot be both the limb and its
    // loss), within the window: the match is affirmed if any choice is, so a
    // negation near one occurrence does not hide another ("she did not realise
    // she had done a poo in the bed").
    for (const auto& anchor : occ[combination.front()]) {
      if (out->size() >= kMaxMatchesPerRule) return;
      const int cl = clause[anchor.first];
      if (cl < 0) continue;
      std::vector<std::pair<size_t, size_t>> chosen = {anchor};
      const auto emit = [&]() {
        if (out->size() >= kMaxMatchesPerRule) return;
        size_t ts = chosen.front().first, te = chosen.front().second;
        for (const auto& ch : chosen) {
          ts = std::min(ts, ch.first);
          te = std::max(te, ch.second);
        }
        if (te - ts > window) return;
        const bool seen = std::any_of(out->begin(), out->end(), [&](const CombinationMatch& cm) {
          return cm.first.first_token == ts && cm.first.last_token == te - 1;
        });
        if (seen) return;
        RedFlagMatch m;
        m.rule = rule.id;
        m.kind = kinds_[rule.kind].id;
        m.urgency = kinds_[rule.kind].urgency;
        m.first_token = ts;
        m.last_token = te - 1;
        const size_t b = a.token_offset[ts];
        const size_t e = a.token_offset[te - 1] + a.tokens[te - 1].text.size();
        m.text = a.canonical.substr(b, e - b);
        for (size_t c : combination) {
          if (!m.combination.empty()) m.combination += " + ";
          m.combination += concepts_.id(c);
        }
        // The word gaps are the tokens between the concepts' words: a
        // negation there counts ("legs are not weak"), one inside a concept's
        // own phrase ("will not hold") does not.
        std::vector<std::pair<size_t, size_t>> sorted = chosen, gaps;
        std::sort(sorted.begin(), sorted.end());
        for (size_t k = 1; k < sorted.size(); ++k) {
          if (sorted[k].first > sorted[k - 1].second)
            gaps.emplace_back(sorted[k - 1].second, sorted[k].first);
        }
        out->emplace_back(std::move(m), std::move(gaps));
      };
      // Depth-first over the remaining concepts; a handful of occurrences
      // each, so the choices stay few.
      const std::function<void(size_t)> choose = [&](size_t k) {
        if (k == combination.size()) {
          emit();
          return;
        }
        if (out->size() >= kMaxMatchesPerRule) return;
        for (const auto& o : occ[combination[k]]) {
          if (out->size() >= kMaxMatchesPerRule) return;
          if (clause[o.first] != cl) continue;
          // Beyond the window from the anchor it cannot fit: skipped early,
          // so a long clause full of concept words stays cheap.
          if ((o.first > anchor.first ? o.first - anchor.first : anchor.first - o.first) > window)
            continue;
          bool overlaps = false;
          for (const auto& ch : chosen) overlaps |= o.first < ch.second && ch.first < o.second;
          if (overlaps) continue;
          chosen.push_back(o);
          choose(k + 1);
          chosen.pop_back();
        }
      };
      choose(1);
    }
  }
}

}  // namespace backline::engine
