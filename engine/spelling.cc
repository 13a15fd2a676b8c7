#include "engine/spelling.h"

#include <algorithm>
#include <cstdint>

namespace backline::engine {
namespace {

bool IsRepairable(std::string_view w) {
  if (w.size() < SpellingCorrector::kMinLength) return false;
  for (char c : w) {
    if (c < 'a' || c > 'z') return false;
  }
  return true;
}

// Calls fn(s) for every string made by deleting 1..depth characters from word.
template <typename Fn>
void ForEachDelete(const std::string& word, int depth, Fn&& fn) {
  std::unordered_set<std::string> seen;
  std::vector<std::string> frontier{word};
  for (int d = 0; d < depth; ++d) {
    std::vector<std::string> next;
    for (const auto& w : frontier) {
      for (size_t i = 0; i < w.size(); ++i) {
        std::string del = w.substr(0, i) + w.substr(i + 1);
        if (seen.insert(del).second) {
          fn(del);
          next.push_back(std::move(del));
        }
      }
    }
    frontier = std::move(next);
  }
}

}  // namespace

void SpellingCorrector::AddWord(std::string_view word, int count) {
  if (word.empty()) return;
  known_.insert(std::string(word));
  if (IsRepairable(word)) frequency_[std::string(word)] += count;
}

void SpellingCorrector::AddKnown(std::string_view word) {
  if (!word.empty()) known_.insert(std::string(word));
}

void SpellingCorrector::Freeze() {
  words_.clear();
  deletes_.clear();
  words_.reserve(frequency_.size());
  for (const auto& [w, f] : frequency_) words_.push_back(w);
  std::sort(words_.begin(), words_.end());
  for (uint32_t i = 0; i < words_.size(); ++i) {
    const std::string& w = words_[i];
    deletes_[w].push_back(i);
    // Index deletes up to distance 2: a query within distance 2 of w shares a
    // delete with it.
    ForEachDelete(w, 2, [&](const std::string& del) { deletes_[del].push_back(i); });
  }
}

bool SpellingCorrector::IsKnown(std::string_view word) const {
  return known_.count(std::string(word)) > 0;
}

int SpellingCorrector::Distance(std::string_view a, std::string_view b, int limit) {
  const size_t n = a.size(), m = b.size();
  const size_t diff = n > m ? n - m : m - n;
  if (diff > static_cast<size_t>(limit)) return limit + 1;
  std::vector<std::vector<int>> d(n + 1, std::vector<int>(m + 1, 0));
  for (size_t i = 0; i <= n; ++i) d[i][0] = static_cast<int>(i);
  for (size_t j = 0; j <= m; ++j) d[0][j] = static_cast<int>(j);
  for (size_t i = 1; i <= n; ++i) {
    int row_min = d[i][0];
    for (size_t j = 1; j <= m; ++j) {
      const int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int v = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        v = std::min(v, d[i - 2][j - 2] + 1);
      }
      d[i][j] = v;
      row_min = std::min(row_min, v);
    }
    if (row_min > limit) return limit + 1;
  }
  return std::min(d[n][m], limit + 1);
}

std::string SpellingCorrector::Correct(std::string_view word) const {
  if (!IsRepairable(word) || IsKnown(word)) return {};
  const int max_d = MaxDistance(word.size());
  const std::string w(word);
  std::unordered_set<uint32_t> candidates;
  auto probe = [&](const std::string& key) {
    if (auto it = deletes_.find(key); it != deletes_.end()) {
      candidates.insert(it->second.begin(), it->second.end());
    }
  };
  probe(w);
  ForEachDelete(w, max_d, probe);
  const std::string* best = nullptr;
  int best_d = max_d + 1;
  int best_f = -1;
  for (uint32_t idx : candidates) {
    const std::string& cand = words_[idx];
    const int d = Distance(w, cand, max_d);
    if (d > max_d) continue;
    const int f = frequency_.at(cand);
    if (d < best_d || (d == best_d && (f > best_f || (f == best_f && cand < *best)))) {
      best = &cand;
      best_d = d;
      best_f = f;
    }
  }
  return best ? *best : std::string();
}

}  // namespace backline::engine
