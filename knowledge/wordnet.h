// Word proposals for red-flag concepts from WordNet (Princeton WordNet 3.0, Debian's
// wordnet-base: /usr/share/wordnet). A curator tool, not part of a turn: `backline concepts
// propose ID` lists what WordNet relates to a concept's words, and a person accepts or rejects
// each proposal (cli/concepts.cc).
//
//   auto wn = WordNet::Open("/usr/share/wordnet");
//   if (!wn.ok()) ... wn.status().message()
//   for (const WordProposal& p : wn->Propose(concept.words, 3)) ... p.word, p.why
//
// What it proposes, from the first `senses` senses of each word (WordNet lists the commonest
// sense first): the other words of the same synset (synonyms), the parts of a noun ("leg": knee,
// shin, calf), the kinds of a noun or verb ("walk": shuffle, stagger), and an adjective's
// similar words ("weak": feeble). Multi-word entries come with spaces ("pins and needles").
// Proposals are ranked by how many of the concept's words lead to them.
//
// Thread safety: a const WordNet may be shared; Propose reads the data files each time.
#ifndef BACKLINE_KNOWLEDGE_WORDNET_H_
#define BACKLINE_KNOWLEDGE_WORDNET_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/status.h"

namespace backline::knowledge {

struct WordProposal {
  std::string word;  // lowercase, words separated by single spaces
  std::string why;   // "synonym of weak", "part of leg", "a kind of walk", ...
  int support = 0;   // how many of the concept's words lead to it
};

class WordNet {
 public:
  // Reads the four index files of `dir` (index.noun, index.verb, index.adj,
  // index.adv); data files are read on demand. NotFound when `dir` has no WordNet
  // (install wordnet-base).
  static engine::StatusOr<WordNet> Open(const std::string& dir);

  // Proposals for a concept whose words are `words` (those already in it, compared
  // in lowercase with spaces, are left out), best first, at most `limit`.
  std::vector<WordProposal> Propose(const std::vector<std::string>& words, size_t senses = 3,
                                    size_t limit = 60) const;

 private:
  struct Synset {
    std::vector<std::string> words;
    std::vector<std::pair<std::string, std::pair<char, uint64_t>>> pointers;  // symbol, target
  };
  // The synset at `offset` of part of speech `pos` ('n', 'v', 'a', 's', 'r').
  bool ReadSynset(char pos, uint64_t offset, Synset* out) const;

  std::string dir_;
  // "leg" -> {('n', [offsets...]), ('v', [...])}
  std::map<std::string, std::vector<std::pair<char, std::vector<uint64_t>>>> index_;
};

}  // namespace backline::knowledge

#endif  // BACKLINE_KNOWLEDGE_WORDNET_H_
