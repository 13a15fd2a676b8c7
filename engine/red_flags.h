// Red-flag detection: the first check of every turn, in every dialog state.
//
// Each rule's re2 patterns are matched against the canonical text
// (engine/analyzer.h), and each of its concept combinations against the
// stems of the tokens: every concept of the combination must occur in one
// clause, in any order, within LanguageSpec::concept_window tokens ("my calves
// feel like they belong to someone else" is lower-limb with
// feels-not-their-own). A match is escalated only when it reports a current
// symptom; it is cancelled when, within its clause (engine/content.h
// LanguageSpec), it is
//   - negated: a negation cue shortly before it ("no numbness", "I have not
//   lost control of
//     my bladder") that is not a pseudo-negation ("not sure"), or a
//     post-negation cue right after it ("legs are fine");
//   - hypothetical or general: a cue such as "what if", "if I ever", "signs of"
//   before it,
//     unless the clause also has a current cue ("since", "today", "still") or
//     the rule says general questions escalate too (self-harm);
//   - resolved: a cue such as "recovered", "went away" in the clause;
//   - excepted: one of the rule's `unless` patterns matches anywhere in the
//   message, or the
//     rule has `requires` patterns and none matches (a context the symptom
//     needs, such as a recent dose increase for new muddled thinking).
// "cannot", "will not" and "unable" are never negations: patterns include them
// ("cannot pee"). The most urgent affirmed kind wins; among equals, the first
// rule in file order.
//
// Thread safety: a const RedFlagDetector may be shared by any number of
// threads.
#ifndef BACKLINE_ENGINE_RED_FLAGS_H_
#define BACKLINE_ENGINE_RED_FLAGS_H_

#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/analyzer.h"
#include "engine/concepts.h"
#include "engine/content.h"
#include "engine/pattern.h"

namespace backline::engine {

struct RedFlagMatch {
  std::string rule;  // rule id
  std::string kind;  // kind id
  Urgency urgency = Urgency::kNone;
  std::string text;         // the matched canonical text
  std::string combination;  // "lower-limb + loss-of-power" for a concept match
  size_t first_token = 0;   // the tokens of the match (inclusive)
  size_t last_token = 0;
  bool negated = false;
  bool hypothetical = false;
  bool resolved = false;
  bool excepted = false;
  bool figurative = false;  // shares a word with a figure of speech
  bool other = false;       // about an animal, not a person
  bool affirmed() const {
    return !negated && !hypothetical && !resolved && !excepted && !figurative && !other;
  }
};

struct RedFlagResult {
  Urgency urgency = Urgency::kNone;
  const RedFlagKind* kind = nullptr;  // the winning kind, or nullptr when nothing is affirmed
  std::vector<RedFlagMatch> matches;  // every match, affirmed or cancelled (for explanations)
  // Where each concept of concepts.json occurs (by the order of that file),
  // when any rule combines concepts; the engine's intents reuse it.
  ConceptIndex::Occurrences concepts;
  bool concepts_found = false;
};

class RedFlagDetector {
 public:
  ~RedFlagDetector();

  // Compiles the rules. Every problem (bad pattern, unknown kind) is appended
  // to diags as an error with the rule's source location; returns nullptr if
  // there was any.
  static std::unique_ptr<RedFlagDetector> Build(const std::vector<RedFlagKind>& kinds,
                                                const std::vector<RedFlagRule>& rules,
                                                const LanguageSpec& language,
                                                std::vector<Diagnostic>* diags);
  // The same, with the concepts that rules' combinations name (an unknown
  // concept, a duplicate id or a concept without words is an error).
  static std::unique_ptr<RedFlagDetector> Build(const std::vector<RedFlagKind>& kinds,
                                                const std::vector<Concept>& concepts,
                                                const std::vector<RedFlagRule>& rules,
                                                const LanguageSpec& language,
                                                std::vector<Diagnostic>* diags);
  // The same, with an index already built (the engine's, shared with its
  // intents; RedFlagResult::concepts is then in that index's order).
  static std::unique_ptr<RedFlagDetector> Build(const std::vector<RedFlagKind>& kinds,
                                                const ConceptIndex& concepts,
                                                const std::vector<RedFlagRule>& rules,
                                                const LanguageSpec& language,
                                                std::vector<Diagnostic>* diags);

  RedFlagResult Detect(const Analysis& a) const;

  // Marks the symptom words (words the rules look for) that a negation cue
  // covers: "I don't have any numbness or weakness, how do I know when pain is
  // serious?" marks "numb" and "weak", which are then no evidence for an FAQ
  // entry about numbness.
  std::vector<bool> NegatedSymptoms(const Analysis& a) const;

  // Who a report is about: the nearest person word (language.json's
  // writer_words or other_people) before the end of `m` in its sentence, or,
  // with no match (the classifier's reading), before the end of the message.
  // "I think he took too many" is about someone else; "my husband says I took
  // too many" about the writer; "took too many of my pills" does not say.
  enum class Person { kUnknown, kWriter, kSomeoneElse };
  Person AffectedPerson(const Analysis& a, const RedFlagMatch* m) const;

  const std::vector<RedFlagKind>& kinds() const { return kinds_; }
  const RedFlagKind* FindKind(const std::string& id) const;

 private:
  struct CompiledRule {
    std::string id;
    size_t kind;  // index into kinds_
    std::vector<std::unique_ptr<Pattern>> patterns;
    std::vector<std::vector<size_t>> combinations;  // indices into concepts_
    std::unique_ptr<Pattern> unless;        // alternation of all `unless` patterns, may be null
    std::unique_ptr<Pattern> requires_any;  // alternation of all `requires` patterns, may be null
    bool general_questions_escalate;
  };
  using Phrase = std::vector<std::string>;
  // Cue phrases indexed by their first word, so the longest phrase at a token
  // costs one hash lookup instead of a comparison with every phrase.
  class PhraseSet {
   public:
    PhraseSet() = default;
    explicit PhraseSet(const std::vector<std::string>& cues);
    // The length of the longest phrase starting at token p (no break tokens
    // inside), or 0.
    // Inline, since most calls end at the quick test (Detect makes hundreds per message).
    size_t LongestAt(const std::vector<Token>& t, size_t p) const {
      // Phrase words are [a-z0-9]+, so a break token never starts one.
      if (p >= t.size() || t[p].is_break || t[p].text.empty() ||
          !first_words_.test(WordQuickKey(t[p].text))) {
        return 0;
      }
      return LongestFrom(t, p);
    }

   private:
    // LongestAt past the quick test: looks the word up and compares the phrases.
    size_t LongestFrom(const std::vector<Token>& t, size_t p) const;

    std::unordered_map<std::string, std::vector<Phrase>> by_first_;
    // The WordQuickKey of every phrase's first word: a quick "no" for most tokens.
    std::bitset<kWordQuickKeys> first_words_;
  };

  using Occurrences = ConceptIndex::Occurrences;
  // A match of a concept combination, with its word gaps.
  using CombinationMatch = std::pair<RedFlagMatch, std::vector<std::pair<size_t, size_t>>>;
  // Appends the matches of rule r's concept combinations.
  void MatchCombinations(const Analysis& a, size_t r, const Occurrences& occ,
                         const std::vector<int>& clause, std::vector<CombinationMatch>* out) const;

  // One RE2::Set over every rule pattern: a single pass over the text says
  // which patterns match at all, so only those are run on their own to find
  // where.
  struct Prefilter;

  RedFlagDetector();
  // Clause and negation-scope ids per token (-1 for break tokens and break
  // words).
  void Scopes(const Analysis& a, std::vector<int>* clause, std::vector<int>* neg_scope) const;
  // The length of a negation cue at token p that is not part of a
  // pseudo-negation, or 0.
  size_t NegationAt(const std::vector<Token>& t, size_t p) const;
  // `gaps` are the token ranges of the match's word gaps (its capturing
  // groups).
  // `framed`: the message has one of language.json's message_frames.
  void Classify(const Analysis& a, size_t ts, size_t te, const std::vector<int>& clause,
                const std::vector<int>& neg_scope, bool general_ok, bool framed,
                const std::vector<std::pair<size_t, size_t>>& gaps, RedFlagMatch* m) const;

  std::vector<RedFlagKind> kinds_;
  std::vector<CompiledRule> rules_;
  PhraseSet negation_, pseudo_, post_negation_, hypothetical_, current_, resolved_, future_,
      imagined_, clause_breaks_, negation_breaks_, example_joiners_, hedges_, novelty_, figurative_,
      other_experiencers_, message_frames_, writer_words_, other_people_;
  int window_ = 6;
  std::unique_ptr<Prefilter> prefilter_;
  ConceptIndex concepts_;
  bool any_combination_ = false;
  int concept_window_ = 10;
  std::unordered_set<std::string> symptom_words_;
};

}  // namespace backline::engine

#endif  // BACKLINE_ENGINE_RED_FLAGS_H_
