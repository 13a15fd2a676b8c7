// Text normalisation and tokenisation: the first step of every turn.
//
// Normalize folds UTF-8 to lowercase ASCII (accents dropped, curly quotes and
// dashes made plain, anything else non-ASCII treated as a space), splits it
// into word tokens and clause-break tokens (". , ; : ! ?"), expands
// contractions ("can't" -> "cannot", "dont" -> "do not"), drops possessive 's,
// and collapses letters repeated three or more times
// ("sooo" -> "soo"). Invalid UTF-8 is treated as spaces; the function never
// fails.
//
// Thread safety: a const TextNormalizer may be shared by any number of threads.
#ifndef BACKLINE_ENGINE_TEXT_H_
#define BACKLINE_ENGINE_TEXT_H_

#include <bitset>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/content.h"

namespace backline::engine {

// A token is a word ("legs", "38.4") or a clause break (".", ",", "?", ...).
struct Token {
  std::string text;
  bool is_break = false;
};

// Folds one UTF-8 string to lowercase ASCII as described above (no tokenising).
std::string FoldToAscii(std::string_view utf8);

// A light English suffix stripper ("legs" -> "leg", "peeing" -> "pee", "slowly"
// -> "slow"). Applied to both the content and the question, so it need only be
// consistent.
std::string Stem(std::string_view word);

// Splits a string into words on anything that is not [a-z0-9'], with no
// contraction handling; used for content (paraphrases, keywords, cue phrases).
std::vector<std::string> SplitWords(std::string_view folded);

// A cheap key of a word, from its first and last bytes and its length, for bit filters that
// rule most words out of a table before the word is hashed. REQUIRES: !w.empty().
inline constexpr size_t kWordQuickKeys = 4096;
inline size_t WordQuickKey(std::string_view w) {
  const size_t n = w.size() < 63 ? w.size() : 63;
  return ((static_cast<unsigned char>(w.front()) * 31u + static_cast<unsigned char>(w.back())) *
              64u +
          n) %
         kWordQuickKeys;
}

class TextNormalizer {
 public:
  explicit TextNormalizer(const LanguageSpec& spec);

  std::vector<Token> Normalize(std::string_view utf8) const;

 private:
  void AppendWord(std::string word, std::vector<Token>* out) const;

  std::unordered_map<std::string, std::vector<std::string>> contractions_;
  std::bitset<kWordQuickKeys> contraction_keys_;  // WordQuickKey of every contraction
};

// Joins tokens' text with single spaces.
std::string JoinTokens(const std::vector<Token>& tokens);

}  // namespace backline::engine

#endif  // BACKLINE_ENGINE_TEXT_H_
