#include "engine/retrieval.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace backline::engine {

std::vector<Candidate> Retriever::Rank(const std::vector<std::string>& terms,
                                       size_t limit) const {
  std::vector<Candidate> out = ScoreAll(terms);
  std::sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.entry < b.entry;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

Bm25Index::Bm25Index(const std::vector<Document>& docs)
    : num_docs_(docs.size()) {
  doc_length_.resize(docs.size(), 0);
  double total = 0;
  for (uint32_t d = 0; d < docs.size(); ++d) {
    std::unordered_map<std::string, std::pair<float, bool>>
        tf;  // weight, answer only
    for (const auto& t : docs[d].answer) {
      auto& v = tf.try_emplace(t, 0.0f, true).first->second;
      v.first += static_cast<float>(kAnswerWeight);
    }
    for (const auto& t : docs[d].terms) {
      auto& v = tf.try_emplace(t, 0.0f, false).first->second;
      v.first += 1.0f;
      v.second = false;
    }
    for (const auto& t : docs[d].keywords) {
      auto& v = tf.try_emplace(t, 0.0f, false).first->second;
      v.first += static_cast<float>(kKeywordWeight);
      v.second = false;
    }
    float len = 0;
    for (const auto& [t, v] : tf) {
      postings_[t].push_back(Posting{d, v.first, v.second});
      len += v.first;
    }
    doc_length_[d] = len;
    total += len;
  }
  avg_length_ = docs.empty()
                    ? 1.0
                    : std::max(1.0, total / static_cast<double>(docs.size()));
  max_idf_ = std::log(1.0 + (static_cast<double>(num_docs_) + 0.5) / 0.5);
}

double Bm25Index::Idf(const std::string& term) const {
  auto it = postings_.find(term);
  if (it == postings_.end()) return max_idf_;
  const double df = static_cast<double>(it->second.size());
  return std::log(1.0 +
                  (static_cast<double>(num_docs_) - df + 0.5) / (df + 0.5));
}

std::vector<Candidate> Bm25Index::ScoreAll(
    const std::vector<std::string>& terms) const {
  std::vector<std::string> unique;
  {
    std::unordered_set<std::string> seen;
    for (const auto& t : terms) {
      if (seen.insert(t).second) unique.push_back(t);
    }
  }
  double total_idf = 0;
  for (const auto& t : unique) total_idf += Idf(t);
  std::vector<Candidate> dense(num_docs_);
  std::vector<bool> hit(num_docs_, false);
  for (const auto& t : unique) {
    auto it = postings_.find(t);
    if (it == postings_.end()) continue;
    const double idf = Idf(t);
    for (const Posting& p : it->second) {
      const double tf = p.tf;
      const double norm =
          kK1 * (1.0 - kB + kB * doc_length_[p.doc] / avg_length_);
      Candidate& c = dense[p.doc];
      c.entry = p.doc;
      c.score += idf * tf * (kK1 + 1.0) / (tf + norm);
      const double weight = p.in_answer_only ? kAnswerCoverage : 1.0;
      c.coverage += idf * weight;
      c.evidence += idf * weight;
      hit[p.doc] = true;
    }
  }
  std::vector<Candidate> out;
  for (size_t d = 0; d < num_docs_; ++d) {
    if (!hit[d]) continue;
    Candidate c = dense[d];
    c.coverage = total_idf > 0 ? c.coverage / total_idf : 0;
    out.push_back(c);
  }
  return out;
}

}  // namespace backline::engine
