// Concepts (knowledge/concepts.json): plain lists of lay words and phrases,
// matched on the stems of a message's canonical tokens. Red-flag rules and
// intents combine them: a combination matches when every one of its concepts
// occurs in one clause.
//
//   ConceptIndex index(spec.concepts, &diags);
//   const auto occ = index.Occur(analysis);
//   if (ConceptIndex::Within({med_question, medicine, change}, occ, 12))
//
// Thread safety: a const ConceptIndex may be shared by any number of threads.
#ifndef BACKLINE_ENGINE_CONCEPTS_H_
#define BACKLINE_ENGINE_CONCEPTS_H_

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/analyzer.h"
#include "engine/content.h"
#include "engine/status.h"

namespace backline::engine {

class ConceptIndex {
 public:
  ConceptIndex() = default;
  // A duplicate id or a concept without words is an error in diags.
  ConceptIndex(const std::vector<Concept>& concepts, std::vector<Diagnostic>* diags);

  // The index of concept `id`, if there is one.
  std::optional<size_t> Find(const std::string& id) const;
  const std::string& id(size_t i) const { return ids_[i]; }
  size_t size() const { return ids_.size(); }

  // Where each concept occurs: [begin, end) token ranges, by concept index. At
  // one start, only a concept's longest phrase.
  using Occurrences = std::vector<std::vector<std::pair<size_t, size_t>>>;
  Occurrences Occur(const Analysis& a) const;
  static bool Any(const Occurrences& occ);

  // Whether every concept of `combination` occurs within `window` tokens of
  // an occurrence of its first concept, without sharing tokens, across
  // sentence breaks ("I forgot my oxycodone this morning. Can I take two
  // tonight?"). Red-flag rules use clauses and their own checks instead
  // (engine/red_flags.h).
  static bool Within(const std::vector<size_t>& combination, const Occurrences& occ, size_t window);

 private:
  struct Phrase {
    size_t concept_index;
    std::vector<std::string> stems;
  };
  std::vector<std::string> ids_;
  std::unordered_map<std::string, size_t> by_id_;
  std::unordered_map<std::string, std::vector<Phrase>> by_first_stem_;
};

}  // namespace backline::engine

#endif  // BACKLINE_ENGINE_CONCEPTS_H_
