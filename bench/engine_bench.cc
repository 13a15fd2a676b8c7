// Engine micro-benchmarks: one turn for each kind of message, each over a list of varied
// messages of that kind (the per-turn time is the mean over the list), normalisation, analysis
// and retrieval alone, content loading, and, as the baseline for the retrieval design, the same
// ranking done by SQLite FTS5 (MATCH + bm25()) over the same paraphrases. Also the JSON a server
// writes per turn (the reply frame and the session state), each next to the nlohmann::json tree
// it replaced.
//
// Every benchmark also reports `allocs_per_iter`: the calls to the global operator new made per
// iteration (per turn for the Turn benchmarks), counted by the replacement operator new below,
// which lives in this binary only.
//
// The messages are written for this benchmark (none is copied from an evaluation set). Two
// extra modes help check and profile the engine:
//   backline_engine_bench --print_messages       every message as JSON Lines, for
//                                                `backline ask --explain`
//   backline_engine_bench --turns=KIND[,ROUNDS]  runs each message of KIND (faq, misspelt,
//                                                red_flag, negated, unanswerable, small_talk,
//                                                rambling) ROUNDS times, for callgrind
// (bench/engine_instructions.sh uses the second one to report instructions per turn.)
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include "content/content.h"
#include "content/reply_json.h"
#include "engine/engine.h"
#include "server/protocol.h"

// Counting allocator: a relaxed atomic add per allocation, so the counts cost
// little and the timings stay comparable with a binary without it.
namespace {
std::atomic<unsigned long long> g_allocations{0};
}  // namespace

// GCC sees the malloc behind an inlined operator new freed by this operator
// delete and warns of a mismatch; here the pair is consistent by construction.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace {

using backline::engine::Clinic;
using backline::engine::SessionState;

const backline::content::Content& Shared() {
  static const auto content = [] {
    std::vector<backline::engine::Diagnostic> diags;
    auto c = backline::content::LoadContent(backline::content::DefaultContentPaths(), &diags);
    if (!c.ok()) std::abort();
    return std::move(c).value();
  }();
  return *content;
}

// Plain FAQ questions as patients type them: short and long, with and without
// punctuation, capitals, politeness and context.
const std::vector<std::string>& FaqMessages() {
  static const std::vector<std::string> m = {
      "Can I take ibuprofen while I'm on chemo?",
      "will i get addicted to my morphine",
      "is a massage ok if the cancer is in my spine",
      "what exercises are safe for my back",
      "how do I keep a pain diary",
      "best position to sleep in with back pain?",
      "does acupuncture actually work for cancer pain",
      "why does cancer make your back hurt",
      "Hi, my mum has breast cancer and her back aches a lot. Is it okay for "
      "her to use a hot water bottle or an ice pack?",
      "morphine constipation why",
      "What is vertebroplasty and would it help me?",
      "Could the letrozole tablets be why my back and joints ache?",
      "is it safe to do yoga when there are mets in my spine",
      "Should I tell my oncologist about the turmeric capsules I take?",
      "what mattress is best for a sore back",
      "How does radiotherapy help with bone pain?",
      "can back pain be the only sign of cancer",
      "I've been prescribed dexamethasone for my back, why?",
      "what does a nerve block involve",
      "Does CBD oil help with cancer pain at all?",
      "are there support groups for people living with cancer pain near me",
      "how often is back pain actually caused by cancer",
      "what's the difference between slow release morphine and the liquid one",
      "is walking good for my back or should i rest",
      "Can chemotherapy itself cause back pain?",
      "how do i describe my pain to the doctor so they understand",
      "what do gabapentin and pregabalin do",
      "My husband has myeloma, why does it affect the back so much?",
      "can i see a physio if the cancer has spread to my bones",
      "what bedtime routine helps you sleep with a bad back",
  };
  return m;
}

const std::vector<std::string>& MisspeltMessages() {
  static const std::vector<std::string> m = {
      "is ibuprofin safe with kemo",
      "will i get adicted to morphene",
      "what is a kyfoplasty",
      "can accupuncture help cancer pain",
      "is it ok to have a massge during chemotheraphy",
      "why does radiotherapy make my back stif",
      "wat excercises are safe for my back",
      "does tumeric help with pain",
      "can i take paracetomol with my other painkillers",
      "why am i so constipatted on morhpine",
      "what is vertebroplasy",
      "is acupunture safe with low platelts",
      "can letrazole cause joint pain",
      "how do i keep a pain diarry",
      "best matress for cancer back pain",
  };
  return m;
}

// Reports of a current red-flag symptom, emergency and urgent.
const std::vector<std::string>& RedFlagMessages() {
  static const std::vector<std::string> m = {
      "I can't pee since last night and my back is killing me",
      "my legs feel like jelly and I nearly fell",
      "temp is 38.4 and I had chemo last week",
      "I suddenly can't feel my feet",
      "my legs have gone numb and weak since this morning",
      "I've lost control of my bowels today",
      "there is blood in my poo and it's black",
      "I can't breathe properly and my chest hurts",
      "my husband won't wake up after his morphine",
      "i have a fever and shivering, chemo was 5 days ago",
      "I fell and heard a crack in my back and now I can't stand",
      "numbness between my legs started today",
      "I want to end my life",
      "the pain is 10 out of 10 and nothing helps",
      "I had a fit this morning",
      "she's confused and doesn't know where she is",
      "my back pain is much worse since the injection yesterday",
      "I can't walk since yesterday",
      "I keep throwing up and haven't pooed in five days on morphine",
      "there's a band of pain round my chest that's new",
  };
  return m;
}

// Red-flag symptoms the person says they do not have, with a question.
const std::vector<std::string>& NegatedMessages() {
  static const std::vector<std::string> m = {
      "no numbness or weakness, just an ache, is heat or ice better?",
      "I haven't lost control of my bladder, what should I watch for?",
      "no fever, is a massage ok in my chemo week?",
      "my legs are fine, it's just my lower back that aches",
      "I don't have any tingling in my feet but my back is stiff, what "
      "stretches help?",
      "not constipated or anything, just wondering if morphine is addictive",
      "there's no blood in my stool, can I keep taking naproxen?",
      "I never had a temperature, can I still have acupuncture?",
      "no trouble peeing, is walking good for me?",
      "I'm not confused or drowsy on the new dose, how long do side effects "
      "last?",
      "no weakness in my legs, what exercises are safe?",
      "I don't feel numb anywhere, how do I know when pain is serious?",
  };
  return m;
}

// Messages the content cannot answer (fallback or clarify).
const std::vector<std::string>& UnanswerableMessages() {
  static const std::vector<std::string> m = {
      "what's the weather tomorrow",
      "how do i fix my car's brakes",
      "who won the football last night",
      "can you recommend a good pizza place",
      "what time does the pharmacy close on sunday",
      "how much does parking at the hospital cost",
      "my cat keeps scratching the sofa, what do I do",
      "what's the capital of australia",
      "is it going to snow at christmas",
      "how do i reset my email password",
      "can you write me a poem about the sea",
      "what's a good recipe for banana bread",
  };
  return m;
}

const std::vector<std::string>& SmallTalkMessages() {
  static const std::vector<std::string> m = {
      "hello",
      "hi there",
      "good morning!",
      "thanks",
      "thank you so much, that really helps",
      "bye",
      "goodbye for now",
      "hey, anyone there?",
      "cheers",
      "ok thanks, bye",
      "good evening",
      "thank you",
  };
  return m;
}

// About 4 KiB of worry and context with the question near the end.
const std::vector<std::string>& RamblingMessages() {
  static const std::vector<std::string> m = [] {
    const char* const kParts[] = {
        "so my friend from church told me about turmeric and i have been "
        "thinking about it for a while, ",
        "my daughter says i should not bother anyone with this but the nights "
        "are long and the tablets make me foggy. ",
        "i had my scan results last month and the doctor said the cancer is "
        "in two places in my spine now, which was a shock. ",
        "anyway i walk the dog every morning, slowly, and my neighbour helps "
        "with the shopping on thursdays. ",
        "the physio gave me some stretches but i am never sure if i am doing "
        "them right and i worry about making it worse, ",
    };
    std::string a;
    for (size_t i = 0; a.size() < 3900; ++i) a += kParts[i % 5];
    std::string b = a;
    a += "is it safe to take turmeric with my chemo?";
    b += "what stretches are safe for my back?";
    std::string c;
    while (c.size() < 4096) {
      c += "so my friend from church told me about turmeric and i have been "
           "thinking, ";
    }
    return std::vector<std::string>{a, b, c};
  }();
  return m;
}

struct Kind {
  const char* name;
  const std::vector<std::string>& (*messages)();
};
const Kind kKinds[] = {
    {"faq", FaqMessages},
    {"misspelt", MisspeltMessages},
    {"red_flag", RedFlagMessages},
    {"negated", NegatedMessages},
    {"unanswerable", UnanswerableMessages},
    {"small_talk", SmallTalkMessages},
    {"rambling", RamblingMessages},
};

// The shipped content compiled without its red-flag classifier: the baseline
// that says what the classifier costs a turn, measured in the same run.
const backline::engine::Engine& WithoutClassifier() {
  static const auto engine = [] {
    backline::engine::ContentSpec spec = Shared().engine->content();
    spec.classifier.model = nullptr;
    std::vector<backline::engine::Diagnostic> diags;
    auto e = backline::engine::Engine::Compile(std::move(spec), &diags);
    if (!e) std::abort();
    return e;
  }();
  return *engine;
}

void Turn(benchmark::State& state, const std::vector<std::string>& messages,
          bool classifier = true) {
  const auto& c = Shared();
  const backline::engine::Engine& engine = classifier ? *c.engine : WithoutClassifier();
  const Clinic& clinic = c.ClinicOrDefault("default");
  const SessionState fresh;
  size_t i = 0;
  const unsigned long long before = g_allocations.load(std::memory_order_relaxed);
  for (auto _ : state) {
    auto r = engine.Turn(fresh, messages[i], clinic);
    if (++i == messages.size()) i = 0;
    benchmark::DoNotOptimize(r);
  }
  state.counters["allocs_per_iter"] = benchmark::Counter(
      static_cast<double>(g_allocations.load(std::memory_order_relaxed) - before),
      benchmark::Counter::kAvgIterations);
  state.counters["messages"] = static_cast<double>(messages.size());
}

// Counts the allocations of the timed loop (call before and after it).
struct AllocCounter {
  unsigned long long start = g_allocations.load(std::memory_order_relaxed);
  void Report(benchmark::State& state) const {
    state.counters["allocs_per_iter"] = benchmark::Counter(
        static_cast<double>(g_allocations.load(std::memory_order_relaxed) - start),
        benchmark::Counter::kAvgIterations);
  }
};

void BM_TurnFaq(benchmark::State& s) { Turn(s, FaqMessages()); }
void BM_TurnMisspelt(benchmark::State& s) { Turn(s, MisspeltMessages()); }
void BM_TurnRedFlag(benchmark::State& s) { Turn(s, RedFlagMessages()); }
void BM_TurnNegatedRedFlag(benchmark::State& s) { Turn(s, NegatedMessages()); }
void BM_TurnUnanswerable(benchmark::State& s) { Turn(s, UnanswerableMessages()); }
void BM_TurnSmallTalk(benchmark::State& s) { Turn(s, SmallTalkMessages()); }
void BM_TurnRambling4KiB(benchmark::State& s) { Turn(s, RamblingMessages()); }
// The same FAQ and red-flag turns without the classifier, and the classifier
// alone (knowledge/classifier.h: normalising and scoring one message).
void BM_TurnFaqNoClassifier(benchmark::State& s) { Turn(s, FaqMessages(), false); }
void BM_TurnRedFlagNoClassifier(benchmark::State& s) { Turn(s, RedFlagMessages(), false); }
void BM_Classify(benchmark::State& state) {
  const auto& model = *Shared().engine->content().classifier.model;
  const auto& m = FaqMessages();
  size_t i = 0;
  for (auto _ : state) {
    auto r = model.Score(m[i++ % m.size()]);
    benchmark::DoNotOptimize(r);
  }
}

void BM_Normalize(benchmark::State& state) {
  const auto& a = Shared().engine->analyzer();
  const auto& m = FaqMessages();
  size_t i = 0;
  AllocCounter allocs;
  for (auto _ : state) {
    auto t = a.normalizer().Normalize(m[i++ % m.size()]);
    benchmark::DoNotOptimize(t);
  }
  allocs.Report(state);
}

void BM_Analyze(benchmark::State& state) {
  const auto& a = Shared().engine->analyzer();
  const auto& m = FaqMessages();
  size_t i = 0;
  AllocCounter allocs;
  for (auto _ : state) {
    auto t = a.Analyze(m[i++ % m.size()]);
    benchmark::DoNotOptimize(t);
  }
  allocs.Report(state);
}

// The JSON a server writes per turn: the reply frame and the session state, for the replies to
// the FAQ messages (with their states). Each next to the nlohmann::json tree it replaced, in the
// same run (tests/server/protocol_test.cc holds the two to the same bytes).
const std::vector<backline::engine::TurnResult>& FaqResults() {
  static const auto results = [] {
    const auto& c = Shared();
    const Clinic& clinic = c.ClinicOrDefault("default");
    std::vector<backline::engine::TurnResult> out;
    SessionState state;
    for (const auto& m : FaqMessages()) {
      out.push_back(c.engine->Turn(state, m, clinic));
      state = out.back().state;
    }
    return out;
  }();
  return results;
}

// Writes one piece of JSON per iteration, going round the FAQ turns' results.
template <typename Write>
void WriteEach(benchmark::State& state, Write write) {
  const auto& r = FaqResults();
  size_t i = 0;
  AllocCounter allocs;
  for (auto _ : state) {
    auto json = write(r[i % r.size()], static_cast<int64_t>(i));
    benchmark::DoNotOptimize(json);
    ++i;
  }
  allocs.Report(state);
}

void BM_ReplyFrame(benchmark::State& state) {
  WriteEach(state, [](const backline::engine::TurnResult& t, int64_t seq) {
    return backline::server::ReplyFrame(t.reply, seq);
  });
}

void BM_ReplyFrameTree(benchmark::State& state) {
  WriteEach(state, [](const backline::engine::TurnResult& t, int64_t seq) {
    nlohmann::json j = backline::content::ReplyToJson(t.reply);
    j["type"] = "reply";
    j["seq"] = seq;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  });
}

void BM_StateJson(benchmark::State& state) {
  WriteEach(state, [](const backline::engine::TurnResult& t, int64_t) {
    return backline::server::StateJson(t.state);
  });
}

void BM_StateJsonTree(benchmark::State& state) {
  WriteEach(state, [](const backline::engine::TurnResult& t, int64_t) {
    return backline::server::StateToJson(t.state).dump();
  });
}

void BM_LoadAndCompile(benchmark::State& state) {
  AllocCounter allocs;
  for (auto _ : state) {
    std::vector<backline::engine::Diagnostic> diags;
    auto c = backline::content::LoadContent(backline::content::DefaultContentPaths(), &diags);
    benchmark::DoNotOptimize(c);
  }
  allocs.Report(state);
}

// The FTS5 baseline: one row per paraphrase, ranked per entry with bm25(), the
// statement prepared once. Terms are quoted, as any patient text passed to
// MATCH must be.
void BM_RetrievalFts5(benchmark::State& state) {
  const auto& c = Shared();
  sqlite3* db = nullptr;
  sqlite3_open(":memory:", &db);
  sqlite3_exec(db, "CREATE VIRTUAL TABLE q USING fts5(entry UNINDEXED, text)", nullptr, nullptr,
               nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO q(entry, text) VALUES(?, ?)", -1, &ins, nullptr);
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
  sqlite3_prepare_v3(db,
                     "SELECT entry, min(bm25(q)) AS s FROM q WHERE q MATCH ? GROUP BY entry "
                     "ORDER BY s LIMIT 5",
                     -1, SQLITE_PREPARE_PERSISTENT, &q, nullptr);
  std::vector<std::string> queries;
  for (const auto& m : FaqMessages()) {
    std::string match;
    for (const auto& term : c.engine->analyzer().Analyze(m).terms) {
      if (!match.empty()) match += " OR ";
      match += "\"" + term + "\"";
    }
    queries.push_back(match);
  }
  size_t i = 0;
  AllocCounter allocs;
  for (auto _ : state) {
    sqlite3_bind_text(q, 1, queries[i++ % queries.size()].c_str(), -1, SQLITE_STATIC);
    int rows = 0;
    while (sqlite3_step(q) == SQLITE_ROW) ++rows;
    sqlite3_reset(q);
    benchmark::DoNotOptimize(rows);
  }
  allocs.Report(state);
  sqlite3_finalize(q);
  sqlite3_close(db);
}

// The in-memory index on the same queries (terms already analysed, like the
// FTS5 case).
void BM_RetrievalInMemory(benchmark::State& state) {
  const auto& c = Shared();
  std::vector<std::vector<std::string>> queries;
  for (const auto& m : FaqMessages()) queries.push_back(c.engine->analyzer().Analyze(m).terms);
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
    d.answer = c.engine->analyzer().ContentTerms(e.answer);
    docs.push_back(std::move(d));
  }
  backline::engine::Bm25Index index(docs);
  size_t i = 0;
  AllocCounter allocs;
  for (auto _ : state) {
    auto r = index.Rank(queries[i++ % queries.size()], 5);
    benchmark::DoNotOptimize(r);
  }
  allocs.Report(state);
}

BENCHMARK(BM_TurnFaq);
BENCHMARK(BM_TurnMisspelt);
BENCHMARK(BM_TurnRedFlag);
BENCHMARK(BM_TurnNegatedRedFlag);
BENCHMARK(BM_TurnUnanswerable);
BENCHMARK(BM_TurnSmallTalk);
BENCHMARK(BM_TurnRambling4KiB);
BENCHMARK(BM_TurnFaqNoClassifier);
BENCHMARK(BM_TurnRedFlagNoClassifier);
BENCHMARK(BM_Classify);
BENCHMARK(BM_Normalize);
BENCHMARK(BM_Analyze);
BENCHMARK(BM_RetrievalInMemory);
BENCHMARK(BM_RetrievalFts5);
BENCHMARK(BM_ReplyFrame);
BENCHMARK(BM_ReplyFrameTree);
BENCHMARK(BM_StateJson);
BENCHMARK(BM_StateJsonTree);
BENCHMARK(BM_LoadAndCompile)->Unit(benchmark::kMillisecond);

// One JSON string literal (the messages are ASCII).
std::string Quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

int PrintMessages() {
  for (const Kind& k : kKinds) {
    const auto& m = k.messages();
    for (size_t i = 0; i < m.size(); ++i) {
      std::printf("{\"id\": \"%s-%zu\", \"text\": %s}\n", k.name, i + 1, Quoted(m[i]).c_str());
    }
  }
  return 0;
}

// The measured turns of --turns: callgrind collects only inside this function
// (--toggle-collect=*MeasuredTurns*), so its count divided by the turns printed
// is the cost of one turn.
__attribute__((noinline)) size_t MeasuredTurns(const std::vector<std::string>& messages,
                                               int rounds) {
  const auto& c = Shared();
  const Clinic& clinic = c.ClinicOrDefault("default");
  size_t turns = 0;
  for (int r = 0; r < rounds; ++r) {
    for (const auto& text : messages) {
      auto result = c.engine->Turn(SessionState{}, text, clinic);
      benchmark::DoNotOptimize(result);
      ++turns;
    }
  }
  return turns;
}

// Runs every message of one kind `rounds` times, after one warm-up round that
// loads the content and touches every lazy static.
int RunTurns(std::string_view spec) {
  std::string_view name = spec;
  int rounds = 10;
  if (const size_t comma = spec.find(','); comma != std::string_view::npos) {
    name = spec.substr(0, comma);
    rounds = std::atoi(std::string(spec.substr(comma + 1)).c_str());
  }
  for (const Kind& k : kKinds) {
    if (name != k.name) continue;
    const auto& c = Shared();
    const Clinic& clinic = c.ClinicOrDefault("default");
    const auto& m = k.messages();
    for (const auto& text : m) {
      auto result = c.engine->Turn(SessionState{}, text, clinic);
      benchmark::DoNotOptimize(result);
    }
    const size_t turns = MeasuredTurns(m, rounds);
    std::printf("kind %s: %zu messages, %zu measured turns\n", k.name, m.size(), turns);
    return 0;
  }
  std::fprintf(stderr, "unknown kind '%.*s'\n", static_cast<int>(name.size()), name.data());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--print_messages") return PrintMessages();
    if (arg.rfind("--turns=", 0) == 0) return RunTurns(arg.substr(8));
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
