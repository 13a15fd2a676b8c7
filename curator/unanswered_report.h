// Grouping the questions that went unanswered, for `backline report unanswered` and the
// curator page.
//
// Each text is analysed with the engine's analyser (the same normalisation, spelling repair
// and synonyms a turn uses); its key is its sorted, distinct retrieval terms (stop words
// dropped, stemmed). Texts with the same key form a group; groups whose term sets are
// near-identical (Jaccard similarity >= 0.8) are merged, so typos, word order and synonyms
// land in one group. Texts with no content terms are grouped by their folded text.
//
// Pure functions, no I/O. The groups hold patient text.
#ifndef BACKLINE_CURATOR_UNANSWERED_REPORT_H_
#define BACKLINE_CURATOR_UNANSWERED_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "engine/analyzer.h"
#include "store/store.h"

namespace backline::curator {

struct UnansweredGroup {
  std::string key;      // the group's normalised terms, space separated
  std::string example;  // the most frequent original text (earliest on a tie)
  int64_t count = 0;    // texts in the group
  int64_t first_ms = 0;
  int64_t last_ms = 0;
  std::vector<std::string> variants;  // up to 5 distinct original texts, most frequent first
};

// Groups `records`, biggest group first (then most recent); at most `limit` groups
// (0: all).
std::vector<UnansweredGroup> GroupUnanswered(const engine::Analyzer& analyzer,
                                             const std::vector<store::UnansweredRecord>& records,
                                             size_t limit);

// The groups as a plain-text table ("count  last seen  example"), for the command line.
std::string FormatUnansweredTable(const std::vector<UnansweredGroup>& groups);

}  // namespace backline::curator

#endif  // BACKLINE_CURATOR_UNANSWERED_REPORT_H_
