// The text half of a turn: normalise, repair spelling, map synonyms, and
// produce both the canonical text that rules match and the terms that retrieval
// ranks.
//
// Thread safety: a const Analyzer may be shared by any number of threads.
#ifndef BACKLINE_ENGINE_ANALYZER_H_
#define BACKLINE_ENGINE_ANALYZER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/content.h"
#include "engine/spelling.h"
#include "engine/text.h"

namespace backline::engine {

struct Analysis {
  std::string folded;                // the message folded to lowercase ASCII words
  std::vector<Token> tokens;         // after spelling repair and synonyms
  std::string canonical;             // tokens joined with single spaces: what rules match
  std::vector<size_t> token_offset;  // byte offset of each token in canonical
  std::vector<std::pair<std::string, std::string>> repairs;   // misspelt -> repaired
  std::vector<std::pair<std::string, std::string>> synonyms;  // term -> canonical
  std::vector<std::string> terms;  // stemmed content words, for retrieval

  // The token index holding byte offset `pos` of canonical (the next token if
  // pos is a space).
  size_t TokenAt(size_t pos) const;
};

// Maps synonym terms (one or more words) to canonical words, longest match
// first, comparing stems so that "stools" matches the term "stool".
class SynonymMap {
 public:
  void Add(std::string_view term, std::string_view canonical);
  // Rewrites tokens in place, recording what it replaced.
  void Apply(std::vector<Token>* tokens,
             std::vector<std::pair<std::string, std::string>>* applied) const;
  size_t size() const { return terms_.size(); }

 private:
  struct Entry {
    std::vector<std::string> words;
    std::vector<std::string> stems;
    std::vector<std::string> canonical;
    std::string term;
  };
  std::vector<Entry> terms_;
  std::unordered_map<std::string, std::vector<size_t>> by_first_;  // first stem -> entries
};

// Hashes std::string and std::string_view alike, so a set of strings can be
// probed with a string_view without building a string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class Analyzer {
 public:
  // Builds the analyser. Vocabulary words (from the content) become
  // spelling-repair targets. `known_words` are real words that are never
  // repaired but never a repair target either.
  Analyzer(const LanguageSpec& language, const std::vector<SynonymGroup>& synonyms,
           const std::vector<std::string>& vocabulary,
           const std::vector<std::string>& known_words = {});

  Analysis Analyze(std::string_view utf8) const;

  bool IsStopword(std::string_view word) const { return stopwords_.find(word) != stopwords_.end(); }
  // Content words of a curated text (paraphrase, keyword): folded, synonyms,
  // stemmed, no stop words, no spelling repair.
  std::vector<std::string> ContentTerms(std::string_view text) const;
  // Retrieval terms of tokens [begin, end), skipping tokens whose `skip` flag
  // is set (skip may be empty).
  std::vector<std::string> TermsOfRange(const std::vector<Token>& tokens, size_t begin, size_t end,
                                        const std::vector<bool>& skip) const;
  // The retrieval term of each token (as TermsOfRange would give it), or an
  // empty string for a token that has none: computed once, it serves every
  // range of a long message.
  std::vector<std::string> TokenTerms(const std::vector<Token>& tokens,
                                      const std::vector<bool>& skip) const;
  const TextNormalizer& normalizer() const { return normalizer_; }
  const SpellingCorrector& speller() const { return speller_; }

 private:
  std::vector<std::string> TermsOf(const std::vector<Token>& tokens) const;

  TextNormalizer normalizer_;
  SpellingCorrector speller_;
  SynonymMap synonyms_;
  std::unordered_set<std::string, StringHash, std::equal_to<>> stopwords_;
};

}  // namespace backline::engine

#endif  // BACKLINE_ENGINE_ANALYZER_H_
