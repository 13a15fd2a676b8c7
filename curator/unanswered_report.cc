#include "curator/unanswered_report.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <set>
#include <unordered_map>

namespace backline::curator {
namespace {

constexpr double kMergeJaccard = 0.8;
constexpr size_t kMaxVariants = 5;

struct Cluster {
  std::vector<std::string> terms;  // sorted, distinct: the representative's
  std::string key;
  std::map<std::string, std::pair<int64_t, int64_t>> texts;  // text -> (count, first seen)
  int64_t count = 0;
  int64_t first_ms = 0;
  int64_t last_ms = 0;
};

double Jaccard(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.empty() && b.empty()) return 1.0;
  std::vector<std::string> common;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(common));
  const size_t uni = a.size() + b.size() - common.size();
  return uni == 0 ? 0.0 : static_cast<double>(common.size()) / static_cast<double>(uni);
}

void Absorb(Cluster* into, const Cluster& from) {
  into->count += from.count;
  into->first_ms = std::min(into->first_ms, from.first_ms);
  into->last_ms = std::max(into->last_ms, from.last_ms);
  for (const auto& [text, seen] : from.texts) {
    auto [it, fresh] = into->texts.emplace(text, seen);
    if (!fresh) {
      it->second.first += seen.first;
      it->second.second = std::min(it->second.second, seen.second);
    }
  }
}

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string FormatTime(int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

}  // namespace

std::vector<UnansweredGroup> GroupUnanswered(const engine::Analyzer& analyzer,
                                             const std::vector<store::UnansweredRecord>& records,
                                             size_t limit) {
  // 1. Exact groups: the same sorted terms.
  std::unordered_map<std::string, Cluster> exact;
  for (const store::UnansweredRecord& r : records) {
    const std::string text = Trim(r.text);
    if (text.empty()) continue;
    const engine::Analysis a = analyzer.Analyze(text);
    std::vector<std::string> terms = a.terms;
    std::sort(terms.begin(), terms.end());
    terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
    std::string key;
    for (const auto& t : terms) key += (key.empty() ? "" : " ") + t;
    // Nothing but stop words ("what about that?"): group by the normalised text instead.
    if (key.empty()) key = "\"" + a.canonical + "\"";
    Cluster& c = exact[key];
    if (c.count == 0) {
      c.key = key;
      c.terms = std::move(terms);
      c.first_ms = r.created_ms;
      c.last_ms = r.created_ms;
    }
    Cluster one;
    one.count = 1;
    one.first_ms = r.created_ms;
    one.last_ms = r.created_ms;
    one.texts.emplace(text, std::make_pair(int64_t{1}, r.created_ms));
    if (c.count == 0) {
      c.count = 1;
      c.texts = one.texts;
    } else {
      Absorb(&c, one);
    }
  }

  // 2. Merge near-identical term sets, biggest groups first (they become the
  // representatives). Candidates come from an index of terms, so only clusters sharing a
  // term are compared.
  std::vector<Cluster> groups;
  groups.reserve(exact.size());
  for (auto& [key, c] : exact) groups.push_back(std::move(c));
  std::sort(groups.begin(), groups.end(), [](const Cluster& a, const Cluster& b) {
    if (a.count != b.count) return a.count > b.count;
    return a.key < b.key;
  });
  std::vector<Cluster> merged;
  std::unordered_map<std::string, std::vector<size_t>> by_term;
  for (Cluster& g : groups) {
    size_t best = merged.size();
    double best_score = 0;
    if (!g.terms.empty()) {
      std::set<size_t> candidates;
      for (const auto& t : g.terms) {
        if (auto it = by_term.find(t); it != by_term.end()) {
          candidates.insert(it->second.begin(), it->second.end());
        }
      }
      for (size_t i : candidates) {
        const double score = Jaccard(g.terms, merged[i].terms);
        if (score >= kMergeJaccard && score > best_score) {
          best = i;
          best_score = score;
        }
      }
    }
    if (best < merged.size()) {
      Absorb(&merged[best], g);
      continue;
    }
    for (const auto& t : g.terms) by_term[t].push_back(merged.size());
    merged.push_back(std::move(g));
  }

  // 3. Biggest first, then most recent.
  std::sort(merged.begin(), merged.end(), [](const Cluster& a, const Cluster& b) {
    if (a.count != b.count) return a.count > b.count;
    if (a.last_ms != b.last_ms) return a.last_ms > b.last_ms;
    return a.key < b.key;
  });
  if (limit > 0 && merged.size() > limit) merged.resize(limit);
  std::vector<UnansweredGroup> out;
  out.reserve(merged.size());
  for (const Cluster& c : merged) {
    std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> texts(c.texts.begin(),
                                                                           c.texts.end());
    // Most frequent first; on a tie the one seen first.
    std::sort(texts.begin(), texts.end(), [](const auto& a, const auto& b) {
      if (a.second.first != b.second.first) return a.second.first > b.second.first;
      if (a.second.second != b.second.second) return a.second.second < b.second.second;
      return a.first < b.first;
    });
    UnansweredGroup g;
    g.key = c.key;
    g.example = texts.front().first;
    g.count = c.count;
    g.first_ms = c.first_ms;
    g.last_ms = c.last_ms;
    for (size_t i = 0; i < texts.size() && i < kMaxVariants; ++i)
      g.variants.push_back(texts[i].first);
    out.push_back(std::move(g));
  }
  return out;
}

std::string FormatUnansweredTable(const std::vector<UnansweredGroup>& groups) {
  if (groups.empty()) return "No unanswered questions in this period.\n";
  std::string out = "count  first seen        last seen         example (and other phrasings)\n";
  for (const UnansweredGroup& g : groups) {
    std::string count = std::to_string(g.count);
    if (count.size() < 5) count.insert(0, 5 - count.size(), ' ');
    out += count + "  " + FormatTime(g.first_ms) + "  " + FormatTime(g.last_ms) + "  " + g.example +
           "\n";
    for (const std::string& v : g.variants) {
      if (v == g.example) continue;
      out += std::string(5 + 2 + 16 + 2 + 16 + 2, ' ') + "~ " + v + "\n";
    }
  }
  return out;
}

}  // namespace backline::curator
