#include "engine/retrieval.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <unordered_set>

namespace backline::engine {

std::vector<Candidate> Retriever::Rank(const std::vector<std::string>& terms, size_t limit) const {
  std::vector<Candidate> out = ScoreAll(terms);
  std::sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.entry < b.entry;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

Bm25Index::Bm25Index(const std::vector<Document>& docs) : num_docs_(docs.size()) {
  doc_length_.resize(docs.size(), 0);
  double total = 0;
  for (uint32_t d = 0; d < docs.size(); ++d) {
    std::unordered_map<std::string, std::pair<float, bool>> tf;  // weight, answer only
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
      postings_[t].postings.push_back(Posting{d, v.first, v.second});
      len += v.first;
    }
    doc_length_[d] = len;
    total += len;
  }
  avg_length_ = docs.empty() ? 1.0 : std::max(1.0, total / static_cast<double>(docs.size()));
  max_idf_ = std::log(1.0 + (static_cast<double>(num_docs_) + 0.5) / 0.5);
  for (auto& [t, info] : postings_) {
    const double df = static_cast<double>(info.postings.size());
    info.idf = std::log(1.0 + (static_cast<double>(num_docs_) - df + 0.5) / (df + 0.5));
  }
  norm_.resize(docs.size());
  for (size_t d = 0; d < docs.size(); ++d)
    norm_[d] = kK1 * (1.0 - kB + kB * doc_length_[d] / avg_length_);
}

double Bm25Index::Idf(const std::string& term) const {
  auto it = postings_.find(term);
  return it == postings_.end() ? max_idf_ : it->second.idf;
}

std::vector<Candidate> Bm25Index::ScoreAll(const std::vector<std::string>& terms) const {
  // Each distinct term once, in order of first occurrence (the order of the
  // floating-point sums below), looked up once. Questions have a few terms, so
  // duplicates are found by comparison; a long message uses a hash set.
  struct Unique {
    const std::string* text;
    const TermInfo* info;  // nullptr: a term the content does not use
  };
  std::vector<Unique> unique;
  unique.reserve(terms.size());
  std::unordered_set<std::string_view> seen;
  const bool hashed = terms.size() > 32;
  for (const auto& t : terms) {
    if (hashed) {
      if (!seen.insert(t).second) continue;
    } else if (std::any_of(unique.begin(), unique.end(),
                           [&](const Unique& u) { return *u.text == t; })) {
      continue;
    }
    auto it = postings_.find(t);
    unique.push_back(Unique{&t, it == postings_.end() ? nullptr : &it->second});
  }
  double total_idf = 0;
  for (const auto& u : unique) total_idf += u.info ? u.info->idf : max_idf_;
  std::vector<Candidate> dense(num_docs_);
  std::vector<uint32_t> hits;
  for (const auto& u : unique) {
    if (!u.info) continue;
    const double idf = u.info->idf;
    for (const Posting& p : u.info->postings) {
      const double tf = p.tf;
      const double norm = norm_[p.doc];
      Candidate& c = dense[p.doc];
      // The first hit on this document: idf and weight are positive, so the
      // coverage is above zero after any hit.
      if (c.coverage == 0) hits.push_back(p.doc);
      c.entry = p.doc;
      c.score += idf * tf * (kK1 + 1.0) / (tf + norm);
      const double weight = p.in_answer_only ? kAnswerCoverage : 1.0;
      c.coverage += idf * weight;
      c.evidence += idf * weight;
    }
  }
  std::sort(hits.begin(), hits.end());
  std::vector<Candidate> out;
  out.reserve(hits.size());
  for (uint32_t d : hits) {
    Candidate c = dense[d];
    c.coverage = total_idf > 0 ? c.coverage / total_idf : 0;
    out.push_back(c);
  }
  return out;
}

}  // namespace backline::engine
