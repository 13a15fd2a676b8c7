// Spelling repair against the knowledge base's own vocabulary.
//
// A word is repaired only when it is unknown, at least kMinLength letters long,
// has no digit, and there is a vocabulary word within a bounded
// Damerau-Levenshtein distance (1 for words of 5-7 letters, 2 from 8 letters).
// Known words are never "repaired". Ties are broken by the vocabulary word's
// frequency in the content, then alphabetically, so the result is
// deterministic. Lookups use a symmetric-delete index built once (SymSpell's
// idea), so a lookup costs a few hash probes rather than a scan of the
// vocabulary.
//
// Thread safety: a const SpellingCorrector may be shared by any number of
// threads.
#ifndef BACKLINE_ENGINE_SPELLING_H_
#define BACKLINE_ENGINE_SPELLING_H_

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace backline::engine {

class SpellingCorrector {
 public:
  static constexpr size_t kMinLength = 5;

  SpellingCorrector() = default;

  // Adds a word to the vocabulary (count adds to its frequency). Call before
  // Freeze().
  void AddWord(std::string_view word, int count = 1);
  // Marks a word as known without making it a repair target (stop words, cue
  // words).
  void AddKnown(std::string_view word);
  // Builds the index. REQUIRES: called once, after all AddWord/AddKnown calls.
  void Freeze();

  bool IsKnown(std::string_view word) const;
  // The repaired word, or an empty string when the word is known or has no
  // close match.
  std::string Correct(std::string_view word) const;

  size_t vocabulary_size() const { return frequency_.size(); }

  // True Damerau-Levenshtein (optimal string alignment) distance, capped at
  // limit + 1.
  static int Distance(std::string_view a, std::string_view b, int limit);

 private:
  static int MaxDistance(size_t length) { return length >= 8 ? 2 : 1; }

  std::unordered_map<std::string, int> frequency_;  // repair targets
  std::unordered_set<std::string> known_;           // everything known (targets included)
  // A string with up to two letters deleted -> indexes into words_.
  std::unordered_map<std::string, std::vector<uint32_t>> deletes_;
  std::vector<std::string> words_;
};

}  // namespace backline::engine

#endif  // BACKLINE_ENGINE_SPELLING_H_
