// Engine micro-benchmarks: one turn for each kind of message, normalisation and
// retrieval alone, content loading, and, as the baseline for the retrieval
// design, the same ranking done by SQLite FTS5 (MATCH + bm25()) over the same
// paraphrases.
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include "engine/engine.h"
#include "server/content.h"

namespace {

using backline::engine::Clinic;
using backline::engine::SessionState;

const backline::server::Content& Shared() {
  static const auto content = [] {
    std::vector<backline::engine::Diagnostic> diags;
    auto c = backline::server::LoadContent(
        backline::server::DefaultContentPaths(), &diags);
    if (!c) std::abort();
    return c;
  }();
  return *content;
}

const std::vector<std::string>& MixedQuestions() {
  static const std::vector<std::string> q = {
      "Can I take ibuprofen while I'm on chemo?",
      "will i get addicted to my morphine",
      "is a massage ok if the cancer is in my spine",
      "what exercises are safe for my back",
      "how do I keep a pain diary",
      "best position to sleep in with back pain?",
      "does acupuncture actually work for cancer pain",
      "why does cancer make your back hurt"};
  return q;
}

void Turn(benchmark::State& state, const std::vector<std::string>& messages) {
  const auto& c = Shared();
  const Clinic& clinic = c.ClinicOrDefault("default");
  size_t i = 0;
  for (auto _ : state) {
    auto r =
        c.engine->Turn(SessionState{}, messages[i++ % messages.size()], clinic);
    benchmark::DoNotOptimize(r);
  }
}

void BM_TurnFaq(benchmark::State& s) { Turn(s, MixedQuestions()); }
void BM_TurnMisspelt(benchmark::State& s) {
  Turn(s, {"is ibuprofin safe with kemo", "will i get adicted to morphene",
           "what is a kyfoplasty"});
}
void BM_TurnRedFlag(benchmark::State& s) {
  Turn(s, {"I can't pee since last night and my back is killing me",
           "my legs feel like jelly and I nearly fell",
           "temp is 38.4 and I had chemo last week"});
}
void BM_TurnNegatedRedFlag(benchmark::State& s) {
  Turn(s, {"no numbness or weakness, just an ache, is heat or ice better?",
           "I haven't lost control of my bladder, what should I watch for?"});
}
void BM_TurnUnanswerable(benchmark::State& s) {
  Turn(s, {"what's the weather tomorrow", "how do i fix my car's brakes"});
}
void BM_TurnRambling4KiB(benchmark::State& s) {
  std::string text;
  while (text.size() < 4096) {
    text +=
        "so my friend from church told me about turmeric and i have been "
        "thinking, ";
  }
  Turn(s, {text});
}

void BM_Normalize(benchmark::State& state) {
  const auto& a = Shared().engine->analyzer();
  size_t i = 0;
  for (auto _ : state) {
    auto t = a.normalizer().Normalize(
        MixedQuestions()[i++ % MixedQuestions().size()]);
    benchmark::DoNotOptimize(t);
  }
}

void BM_Analyze(benchmark::State& state) {
  const auto& a = Shared().engine->analyzer();
  size_t i = 0;
  for (auto _ : state) {
    auto t = a.Analyze(MixedQuestions()[i++ % MixedQuestions().size()]);
    benchmark::DoNotOptimize(t);
  }
}

void BM_LoadAndCompile(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<backline::engine::Diagnostic> diags;
    auto c = backline::server::LoadContent(
        backline::server::DefaultContentPaths(), &diags);
    benchmark::DoNotOptimize(c);
  }
}

// The FTS5 baseline: one row per paraphrase, ranked per entry with bm25(), the
// statement prepared once. Terms are quoted, as any patient text passed to
// MATCH must be.
void BM_RetrievalFts5(benchmark::State& state) {
  const auto& c = Shared();
  sqlite3* db = nullptr;
  sqlite3_open(":memory:", &db);
  sqlite3_exec(db, "CREATE VIRTUAL TABLE q USING fts5(entry UNINDEXED, text)",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO q(entry, text) VALUES(?, ?)", -1, &ins,
                     nullptr);
  for (const auto& e : c.engine->content().entries) {
    for (const auto& text : e.questions) {
      sqlite3_bind_text(ins, 1, e.id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 2, text.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_step(ins);
      sqlite3_reset(ins);
    }
  }
  sqlite3_finalize(ins);
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v3(
      db,
      "SELECT entry, min(bm25(q)) AS s FROM q WHERE q MATCH ? GROUP BY entry "
      "ORDER BY s LIMIT 5",
      -1, SQLITE_PREPARE_PERSISTENT, &q, nullptr);
  std::vector<std::string> queries;
  for (const auto& m : MixedQuestions()) {
    std::string match;
    for (const auto& term : c.engine->analyzer().Analyze(m).terms) {
      if (!match.empty()) match += " OR ";
      match += "\"" + term + "\"";
    }
    queries.push_back(match);
  }
  size_t i = 0;
  for (auto _ : state) {
    sqlite3_bind_text(q, 1, queries[i++ % queries.size()].c_str(), -1,
                      SQLITE_STATIC);
    int rows = 0;
    while (sqlite3_step(q) == SQLITE_ROW) ++rows;
    sqlite3_reset(q);
    benchmark::DoNotOptimize(rows);
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
}

// The in-memory index on the same queries (terms already analysed, like the
// FTS5 case).
void BM_RetrievalInMemory(benchmark::State& state) {
  const auto& c = Shared();
  std::vector<std::vector<std::string>> queries;
  for (const auto& m : MixedQuestions())
    queries.push_back(c.engine->analyzer().Analyze(m).terms);
  // Rebuild an index from the content the same way the engine does.
  std::vector<backline::engine::Bm25Index::Document> docs;
  for (const auto& e : c.engine->content().entries) {
    backline::engine::Bm25Index::Document d;
    for (const auto& qq : e.questions) {
      auto t = c.engine->analyzer().ContentTerms(qq);
      d.terms.insert(d.terms.end(), t.begin(), t.end());
    }
    for (const auto& k : e.keywords) {
      auto t = c.engine->analyzer().ContentTerms(k);
      d.keywords.insert(d.keywords.end(), t.begin(), t.end());
    }
    docs.push_back(std::move(d));
  }
  backline::engine::Bm25Index index(docs);
  size_t i = 0;
  for (auto _ : state) {
    auto r = index.Rank(queries[i++ % queries.size()], 5);
    benchmark::DoNotOptimize(r);
  }
}

BENCHMARK(BM_TurnFaq);
BENCHMARK(BM_TurnMisspelt);
BENCHMARK(BM_TurnRedFlag);
BENCHMARK(BM_TurnNegatedRedFlag);
BENCHMARK(BM_TurnUnanswerable);
BENCHMARK(BM_TurnRambling4KiB);
BENCHMARK(BM_Normalize);
BENCHMARK(BM_Analyze);
BENCHMARK(BM_RetrievalInMemory);
BENCHMARK(BM_RetrievalFts5);
BENCHMARK(BM_LoadAndCompile)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
