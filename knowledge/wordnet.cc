#include "knowledge/wordnet.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace backline::knowledge {
namespace {

constexpr const char* kPosFiles[] = {"noun", "verb", "adj", "adv"};
constexpr char kPosChars[] = {'n', 'v', 'a', 'r'};

std::string FileOfPos(char pos) {
  switch (pos) {
    case 'n':
      return "noun";
    case 'v':
      return "verb";
    case 'a':
    case 's':
      return "adj";
    default:
      return "adv";
  }
}

// WordNet writes multi-word lemmas with underscores and adjective markers like
// "(a)" after some words; proposals use plain lowercase words and spaces.
std::string Plain(std::string w) {
  if (const size_t paren = w.find('('); paren != std::string::npos) w.resize(paren);
  for (char& c : w) {
    if (c == '_') c = ' ';
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return w;
}

std::string Lemma(std::string w) {
  for (char& c : w) {
    if (c == ' ') c = '_';
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return w;
}

}  // namespace

engine::StatusOr<WordNet> WordNet::Open(const std::string& dir) {
  WordNet wn;
  wn.dir_ = dir;
  for (size_t i = 0; i < 4; ++i) {
    const std::string path = dir + "/index." + kPosFiles[i];
    std::ifstream in(path);
    if (!in) {
      return engine::Status::NotFound("WordNet not found at " + dir + " (no index." + kPosFiles[i] +
                                      "): install Debian's wordnet-base, or pass --wordnet DIR");
    }
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == ' ') continue;  // the licence header
      std::istringstream ls(line);
      std::string lemma, pos;
      size_t synset_cnt = 0, p_cnt = 0;
      if (!(ls >> lemma >> pos >> synset_cnt >> p_cnt)) continue;
      std::string skip;
      for (size_t k = 0; k < p_cnt; ++k) ls >> skip;
      size_t sense_cnt = 0, tagsense_cnt = 0;
      ls >> sense_cnt >> tagsense_cnt;
      std::vector<uint64_t> offsets;
      uint64_t off = 0;
      while (offsets.size() < synset_cnt && ls >> off) offsets.push_back(off);
      if (!offsets.empty()) wn.index_[lemma].emplace_back(kPosChars[i], std::move(offsets));
    }
  }
  if (wn.index_.empty())
    return engine::Status::DataError("WordNet index files at " + dir + " are empty");
  return wn;
}

bool WordNet::ReadSynset(char pos, uint64_t offset, Synset* out) const {
  std::ifstream in(dir_ + "/data." + FileOfPos(pos));
  if (!in) return false;
  in.seekg(static_cast<std::streamoff>(offset));
  std::string line;
  if (!std::getline(in, line)) return false;
  std::istringstream ls(line);
  uint64_t at = 0;
  std::string lex_filenum, ss_type, w_cnt_hex;
  if (!(ls >> at >> lex_filenum >> ss_type >> w_cnt_hex) || at != offset) return false;
  const size_t w_cnt = std::stoul(w_cnt_hex, nullptr, 16);
  for (size_t k = 0; k < w_cnt; ++k) {
    std::string word, lex_id;
    if (!(ls >> word >> lex_id)) return false;
    out->words.push_back(Plain(word));
  }
  size_t p_cnt = 0;
  ls >> p_cnt;
  for (size_t k = 0; k < p_cnt; ++k) {
    std::string symbol, target_pos, source_target;
    uint64_t target = 0;
    if (!(ls >> symbol >> target >> target_pos >> source_target)) return false;
    out->pointers.push_back({symbol, {target_pos.empty() ? 'n' : target_pos[0], target}});
  }
  return true;
}

std::vector<WordProposal> WordNet::Propose(const std::vector<std::string>& words, size_t senses,
                                           size_t limit) const {
  std::set<std::string> known;
  for (const auto& w : words) known.insert(Plain(Lemma(w)));
  std::map<std::string, WordProposal> found;
  std::map<std::string, std::set<std::string>> supporters;
  const auto offer = [&](const std::string& word, const std::string& why, const std::string& from) {
    if (word.empty() || known.count(word)) return;
    auto [it, fresh] = found.try_emplace(word, WordProposal{word, why, 0});
    if (supporters[word].insert(from).second) ++it->second.support;
  };
  for (const auto& w : words) {
    const std::string from = Plain(Lemma(w));
    const auto it = index_.find(Lemma(w));
    if (it == index_.end()) continue;
    for (const auto& [pos, offsets] : it->second) {
      for (size_t s = 0; s < offsets.size() && s < senses; ++s) {
        Synset syn;
        if (!ReadSynset(pos, offsets[s], &syn)) continue;
        for (const auto& other : syn.words) offer(other, "synonym of " + from, from);
        for (const auto& [symbol, target] : syn.pointers) {
          std::string why;
          if (symbol == "%p" || symbol == "%m" || symbol == "%s") {
            why = "part of " + from;
          } else if (symbol == "~" && (pos == 'n' || pos == 'v')) {
            why = "a kind of " + from;
          } else if (symbol == "&" && (pos == 'a' || pos == 's')) {
            why = "similar to " + from;
          } else {
            continue;
          }
          Synset related;
          if (!ReadSynset(target.first, target.second, &related)) continue;
          for (const auto& r : related.words) offer(r, why, from);
        }
      }
    }
  }
  std::vector<WordProposal> out;
  out.reserve(found.size());
  for (auto& [word, p] : found) out.push_back(std::move(p));
  std::stable_sort(out.begin(), out.end(), [](const WordProposal& a, const WordProposal& b) {
    if (a.support != b.support) return a.support > b.support;
    // Single words before phrases: they are what people type.
    const bool a_phrase = a.word.find(' ') != std::string::npos;
    const bool b_phrase = b.word.find(' ') != std::string::npos;
    return !a_phrase && b_phrase;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace backline::knowledge
