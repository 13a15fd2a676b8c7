#include "engine/concepts.h"

#include <algorithm>

#include "engine/text.h"

namespace backline::engine {

ConceptIndex::ConceptIndex(const std::vector<Concept>& concepts, std::vector<Diagnostic>* diags) {
  DiagnosticSink sink(diags);
  for (const Concept& c : concepts) {
    if (!by_id_.emplace(c.id, ids_.size()).second) {
      sink.Error(c.where, "duplicate concept id '" + c.id + "'");
      continue;
    }
    const size_t ci = ids_.size();
    ids_.push_back(c.id);
    size_t phrases = 0;
    for (const std::string& w : c.words) {
      Phrase ph{ci, {}};
      for (const auto& word : SplitWords(FoldToAscii(w))) ph.stems.push_back(Stem(word));
      if (ph.stems.empty()) continue;
      ++phrases;
      std::string first = ph.stems.front();
      by_first_stem_[first].push_back(std::move(ph));
    }
    if (phrases == 0) sink.Error(c.where, "concept '" + c.id + "' has no words");
  }
}

std::optional<size_t> ConceptIndex::Find(const std::string& id) const {
  const auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

ConceptIndex::Occurrences ConceptIndex::Occur(const Analysis& a) const {
  const auto& t = a.tokens;
  Occurrences occ(ids_.size());
  if (ids_.empty()) return occ;
  std::vector<std::string> stems(t.size());
  for (size_t i = 0; i < t.size(); ++i) {
    if (!t[i].is_break) stems[i] = Stem(t[i].text);
  }
  for (size_t p = 0; p < t.size(); ++p) {
    if (t[p].is_break) continue;
    const auto it = by_first_stem_.find(stems[p]);
    if (it == by_first_stem_.end()) continue;
    for (const Phrase& ph : it->second) {
      if (p + ph.stems.size() > t.size()) continue;
      bool match = true;
      for (size_t k = 1; k < ph.stems.size() && match; ++k)
        match = !t[p + k].is_break && stems[p + k] == ph.stems[k];
      if (!match) continue;
      auto& list = occ[ph.concept_index];
      const size_t end = p + ph.stems.size();
      if (!list.empty() && list.back().first == p) {
        list.back().second = std::max(list.back().second, end);
      } else {
        list.emplace_back(p, end);
      }
    }
  }
  return occ;
}

bool ConceptIndex::Any(const Occurrences& occ) {
  return std::any_of(occ.begin(), occ.end(), [](const auto& o) { return !o.empty(); });
}

bool ConceptIndex::Within(const std::vector<size_t>& combination, const Occurrences& occ,
                          size_t window) {
  if (combination.empty()) return false;
  for (size_t c : combination) {
    if (occ[c].empty()) return false;
  }
  for (const auto& anchor : occ[combination.front()]) {
    std::vector<std::pair<size_t, size_t>> chosen = {anchor};
    bool all = true;
    for (size_t k = 1; k < combination.size() && all; ++k) {
      bool found = false;
      for (const auto& o : occ[combination[k]]) {
        const size_t d = o.first > anchor.first ? o.first - anchor.first : anchor.first - o.first;
        if (d > window) continue;
        bool overlaps = false;
        for (const auto& ch : chosen) overlaps |= o.first < ch.second && ch.first < o.second;
        if (overlaps) continue;
        chosen.push_back(o);
        found = true;
        break;
      }
      all = found;
    }
    if (all) return true;
  }
  return false;
}

}  // namespace backline::engine
