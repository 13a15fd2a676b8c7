// Pattern: one compiled re2 regular expression, matched against canonical text;
// PatternSet: many of them, matched in one pass.
//
// Debian's RE2 (2022-06-01) is neither copyable nor movable, so a Pattern holds
// it by unique_ptr. Patterns are compiled once at load time, never per message.
// A pattern is wrapped in word boundaries (\b...\b) unless `raw` is set, so
// "numb" does not match inside "number".
//
// Thread safety: a const Pattern may be shared by any number of threads.
#ifndef BACKLINE_ENGINE_PATTERN_H_
#define BACKLINE_ENGINE_PATTERN_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/status.h"

namespace re2 {
class RE2;
}

namespace backline::engine {

class Pattern {
 public:
  ~Pattern();

  // Compiles `source`. On failure the status carries re2's error and the
  // offending fragment.
  static StatusOr<std::unique_ptr<Pattern>> Compile(std::string_view source, bool raw = false);
  // Compiles several sources as one alternation (each must compile on its own
  // first).
  static StatusOr<std::unique_ptr<Pattern>> CompileAny(const std::vector<std::string>& sources);

  bool Matches(std::string_view text) const;
  // Every non-overlapping match as [begin, end) byte offsets, left to right.
  std::vector<std::pair<size_t, size_t>> FindAll(std::string_view text) const;

  struct Match {
    size_t begin = 0, end = 0;
    std::vector<std::pair<size_t, size_t>> groups;  // capturing groups that took part
  };
  // Like FindAll, with the spans of the pattern's capturing groups. Red-flag
  // patterns use capturing groups for their word gaps, so a negation inside a
  // gap can be found.
  std::vector<Match> FindAllWithGroups(std::string_view text) const;

  const std::string& source() const { return source_; }

 private:
  friend class PatternSet;  // reads the regex as compiled (wrapped)

  Pattern() = default;
  std::unique_ptr<re2::RE2> re_;
  std::string source_;
};

// PatternSet: several compiled Patterns matched in one pass over the text (an
// RE2::Set of the same regexes, word boundaries included), for a caller that
// needs to know which of them match without scanning the text once for each.
//
// Thread safety: a const PatternSet may be shared by any number of threads.
class PatternSet {
 public:
  ~PatternSet();

  // Builds a set of `patterns`, which it does not keep: patterns[i] is index
  // i in Match's result. Fails when re2 cannot build the set within the
  // memory limit a Pattern has; the caller can then match the patterns one
  // by one.
  // REQUIRES: no element of `patterns` is null.
  static StatusOr<std::unique_ptr<PatternSet>> Compile(const std::vector<const Pattern*>& patterns);

  // Sets *matched to the indices of the patterns that match somewhere in
  // `text` (what each one's Matches would say), in ascending order, and
  // returns true. Returns false, with *matched empty, when re2 could not tell
  // for this text (its DFA ran out of memory): the caller must then match the
  // patterns one by one.
  bool Match(std::string_view text, std::vector<int>* matched) const;

 private:
  struct Rep;  // RE2::Set is nested in RE2, which this header only declares

  PatternSet() = default;
  std::unique_ptr<Rep> rep_;
};

}  // namespace backline::engine

#endif  // BACKLINE_ENGINE_PATTERN_H_
