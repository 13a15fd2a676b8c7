// FAQ retrieval: ranks entries for a question's terms.
//
// Retriever is the seam (LevelDB's Env idea): the engine asks it for ranked
// candidates and tests can hand the engine a fake. Bm25Index is the
// implementation the engine builds at load time: Okapi BM25 over three fields
// of each entry -- its paraphrased questions, its keywords (weighted up) and
// its answer (weighted down: an answer's words are evidence, but weaker than a
// paraphrase's). Inverse document frequencies count all three fields, so a
// general word that many answers use ("never", "mention") weighs little, while
// a word only a few entries are about ("acupuncture") weighs much.
//
// An in-memory index was chosen over SQLite FTS5 for the per-turn path: on this
// machine an FTS5 MATCH with bm25() over the shipped paraphrases costs ~224 us
// per query and this index ~2.6 us (bench/engine_bench.cc, medians), while a
// whole turn must stay near 10 us.
//
// Thread safety: const methods may be called from any number of threads at
// once.
#ifndef BACKLINE_ENGINE_RETRIEVAL_H_
#define BACKLINE_ENGINE_RETRIEVAL_H_

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace backline::engine {

struct Candidate {
  size_t entry = 0;     // index into the entries the index was built from
  double score = 0;     // BM25 score (unbounded, higher is better)
  double coverage = 0;  // share of the question's IDF weight this entry matches, 0..1
  double evidence = 0;  // the IDF weight this entry matches (absolute)
};

class Retriever {
 public:
  virtual ~Retriever() = default;
  // Every entry that matches at least one term, scored, in entry order.
  virtual std::vector<Candidate> ScoreAll(const std::vector<std::string>& terms) const = 0;
  // The best `limit` entries for the question's terms, best first.
  std::vector<Candidate> Rank(const std::vector<std::string>& terms, size_t limit) const;
};

class Bm25Index : public Retriever {
 public:
  struct Document {
    std::vector<std::string> terms;     // paraphrase terms, stemmed
    std::vector<std::string> keywords;  // keyword terms, stemmed (weighted up)
    std::vector<std::string> answer;    // answer terms, stemmed (weighted down)
  };

  static constexpr double kK1 = 1.2;
  static constexpr double kB = 0.75;
  static constexpr double kKeywordWeight = 2.0;
  static constexpr double kAnswerWeight = 0.25;
  // A term found only in an entry's answer counts this much towards its
  // coverage.
  static constexpr double kAnswerCoverage = 0.5;

  explicit Bm25Index(const std::vector<Document>& docs);

  std::vector<Candidate> ScoreAll(const std::vector<std::string>& terms) const override;

  // Inverse document frequency of a term; terms absent from the content get the
  // highest.
  double Idf(const std::string& term) const;
  bool Contains(const std::string& term) const { return postings_.count(term) > 0; }
  size_t size() const { return num_docs_; }

 private:
  struct Posting {
    uint32_t doc;
    float tf;  // weighted term frequency
    bool in_answer_only;
  };
  // A term's postings and its IDF, computed once at build time.
  struct TermInfo {
    std::vector<Posting> postings;
    double idf = 0;
  };
  std::unordered_map<std::string, TermInfo> postings_;
  std::vector<float> doc_length_;
  // Per document: kK1 * (1 - kB + kB * length / average length).
  std::vector<double> norm_;
  double avg_length_ = 1;
  double max_idf_ = 1;
  size_t num_docs_ = 0;
};

}  // namespace backline::engine

#endif  // BACKLINE_ENGINE_RETRIEVAL_H_
