#include "engine/lint.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/engine/test_topics.h"

namespace backline::engine {
namespace {

using ::testing::HasSubstr;

// ---- syllables and Flesch-Kincaid ---------------------------------------------------------

TEST(SyllablesTest, KnownWords) {
  const std::vector<std::pair<const char*, int>> words = {
      {"cat", 1},       {"the", 1},          {"pain", 1},          {"spine", 1},   {"take", 1},
      {"makes", 1},     {"jumped", 1},       {"free", 1},          {"they", 1},    {"yes", 1},
      {"quick", 1},     {"table", 2},        {"simple", 2},        {"people", 2},  {"because", 2},
      {"morphine", 2},  {"wanted", 2},       {"boxes", 2},         {"body", 2},    {"bodies", 2},
      {"likely", 2},    {"movement", 2},     {"questions", 2},     {"special", 2}, {"medicine", 3},
      {"opioid", 3},    {"serious", 3},      {"element", 3},       {"needed", 2},  {"radiation", 4},
      {"ibuprofen", 4}, {"chemotherapy", 5}, {"acetaminophen", 6}, {"Doctor", 2},  {"don't", 1},
  };
  for (const auto& [w, n] : words) EXPECT_EQ(CountSyllables(w), n) << w;
  EXPECT_EQ(CountSyllables(""), 0);
  EXPECT_EQ(CountSyllables("123"), 0);
}

TEST(ReadingStatsTest, CountsWordsSentencesAndSyllables) {
  const TextStats s = ReadingStats("The cat sat on the mat.");
  EXPECT_EQ(s.words, 6);
  EXPECT_EQ(s.sentences, 1);
  EXPECT_EQ(s.syllables, 6);
  // 0.39 * 6 + 11.8 * 1 - 15.59
  EXPECT_NEAR(s.grade, -1.45, 1e-9);
}

TEST(ReadingStatsTest, SentenceEndsAndNumbers) {
  // "e.g. a" does not end a sentence; a line break does; 911 is one word of 3 syllables;
  // "e.g." is one word of two letters read as two syllables.
  const TextStats s = ReadingStats("Rest, e.g. a nap. Call 911 now!\nWalk a bit");
  EXPECT_EQ(s.sentences, 3);
  EXPECT_EQ(s.words, 10);
  EXPECT_EQ(s.syllables, 1 + 2 + 1 + 1 + 1 + 3 + 1 + 1 + 1 + 1);
  EXPECT_EQ(ReadingStats("").words, 0);
  EXPECT_EQ(ReadingStats("").grade, 0);
  // Hyphenated words are one word.
  EXPECT_EQ(ReadingStats("slow-release tablets").words, 2);
}

TEST(ReadingStatsTest, HardTextScoresHigherThanPlainText) {
  const double plain =
      ReadingStats(
          "Rest when you need to. Walk a little each day. Ask your nurse if the pain "
          "gets worse.")
          .grade;
  const double hard = ReadingStats(
                          "Nonsteroidal anti-inflammatory medications occasionally precipitate "
                          "gastrointestinal haemorrhage, particularly concurrently with "
                          "corticosteroid administration or anticoagulation.")
                          .grade;
  EXPECT_LT(plain, 4);
  EXPECT_GT(hard, 16);
}

TEST(DaysFromCivilTest, KnownDates) {
  long d = 0;
  ASSERT_TRUE(DaysFromCivil("1970-01-01", &d));
  EXPECT_EQ(d, 0);
  ASSERT_TRUE(DaysFromCivil("2000-03-01", &d));
  EXPECT_EQ(d, 11017);
  long a = 0, b = 0;
  ASSERT_TRUE(DaysFromCivil("2024-02-28", &a));
  ASSERT_TRUE(DaysFromCivil("2024-03-01", &b));
  EXPECT_EQ(b - a, 2);  // leap year
  EXPECT_FALSE(DaysFromCivil("2024-13-01", &d));
  EXPECT_FALSE(DaysFromCivil("yesterday", &d));
}

// ---- the checks on small fixture specs ----------------------------------------------------

FaqEntry Entry(std::string id, std::string topic, std::vector<std::string> questions,
               std::string answer) {
  FaqEntry e;
  e.id = std::move(id);
  e.topic = std::move(topic);
  e.questions = std::move(questions);
  e.answer = std::move(answer);
  e.sources = {Source{"NCI", "https://www.cancer.gov/"}};
  e.reviewed = "2026-01-15";
  e.reviewed_by = "A. Nurse, oncology CNS";
  e.next_review = "2027-01-15";
  e.where = SourceLocation{"faq/" + e.id + ".json", 3, 5};
  for (size_t i = 0; i < e.questions.size(); ++i)
    e.question_where.push_back(SourceLocation{"faq/" + e.id + ".json", 6 + static_cast<int>(i), 9});
  return e;
}

// Adds a paraphrase on the next line of the entry's (made-up) file.
void AddQuestion(FaqEntry* e, std::string q) {
  e->questions.push_back(std::move(q));
  e->question_where.push_back(
      SourceLocation{"faq/" + e->id + ".json", 5 + static_cast<int>(e->questions.size()), 9});
}

// Two clearly different entries, plain answers, a red-flag rule, a greeting with a quick reply
// that leads to an entry, and a yes/no dialog state: no lint finding at all.
ContentSpec CleanSpec() {
  ContentSpec s;
  s.topics = backline::testing::TestTopics();
  s.entries = {
      Entry("causes-why", "causes",
            {"Why does cancer cause back pain?", "how can a tumour make my back hurt",
             "what makes cancer hurt in the spine", "why does cancer in the bones hurt",
             "reason cancer causes back pain"},
            "Cancer can press on bones and nerves. That can hurt. Call {care_team_phone}."),
      Entry("sleep-positions", "sleep",
            {"What is the best sleeping position for back pain?", "how should I lie in bed",
             "which pillows help me sleep", "can a pillow between my knees help",
             "best way to sleep with a sore back"},
            "Try a pillow between your knees. Ask your team on {care_team_phone}."),
  };
  s.synonyms = {SynonymGroup{"pain", {"ache", "hurt", "sore"}, {}}};
  s.language.stopwords = {"i",   "my",  "the",  "a",  "is", "what",   "why",   "how", "does",
                          "can", "for", "with", "in", "me", "should", "which", "to",  "of"};
  s.language.negation_cues = {"no", "not"};
  s.language.hypothetical_cues = {"if", "what if"};
  RedFlagKind e1;
  e1.id = "E1";
  e1.name = "Nerve compression";
  e1.urgency = Urgency::kEmergency;
  e1.reply = "Call {emergency_number} now.";
  s.red_flag_kinds = {e1};
  RedFlagRule legs;
  legs.id = "e1-legs";
  legs.kind = "E1";
  legs.patterns = {"legs? ((?:\\S+ ){0,2})weak"};
  legs.examples = {"my legs are weak"};
  legs.example_where = {SourceLocation{"red_flags.json", 9, 20}};
  s.red_flag_rules = {legs};
  IntentSpec hello;
  hello.id = "greeting";
  hello.topic = "greeting";
  hello.kind = IntentSpec::Kind::kSmallTalk;
  hello.patterns = {"^(?:hi|hello)"};
  hello.reply = "Hello.";
  hello.quick_replies = {"Why does cancer cause back pain?"};
  hello.where = SourceLocation{"intents.json", 4, 5};
  s.intents = {hello};
  s.retrieval.min_evidence = 0.5;
  s.dialog.start_state = "idle";
  s.dialog.yes_patterns = {"^yes\\b"};
  s.dialog.no_patterns = {"^no\\b"};
  DialogStateSpec idle;
  idle.id = "idle";
  DialogStateSpec ask;
  ask.id = "ask-new";
  ask.topic = "causes";
  ask.prompt = "Is the pain new?";
  Transition yes;
  yes.on = "yes";
  yes.action.answer = "causes-why";
  Transition no;
  no.on = "no";
  no.action.reply = "Good.";
  ask.transitions = {yes, no};
  s.dialog.states = {idle, ask};
  IntentSpec flow;
  flow.id = "pain-now";
  flow.topic = "causes";
  flow.kind = IntentSpec::Kind::kFlow;
  flow.patterns = {"^i have back pain$"};
  flow.reply = "";
  flow.next_state = "ask-new";
  s.intents.push_back(flow);
  s.dialog.messages = {{"welcome", "Welcome to {clinic_name}."},
                       {"fallback", "Sorry, I cannot help with that."},
                       {"clarify", "Did you mean one of these?"},
                       {"empty", "I didn't catch that."}};
  s.lint.max_grade = 8;
  s.lint.max_answer_chars = 300;
  s.lint.max_review_age_days = 365;
  s.lint.max_paraphrase_overlap = 0.8;
  return s;
}

std::shared_ptr<const Engine> Build(ContentSpec spec) {
  std::vector<Diagnostic> diags;
  auto e = Engine::Compile(std::move(spec), &diags);
  std::string all;
  for (const auto& d : diags) all += d.ToString() + "\n";
  EXPECT_NE(e, nullptr) << all;
  return e;
}

std::vector<LintFinding> LintOf(const ContentSpec& spec, std::string today = "2026-11-26") {
  auto e = Build(spec);
  if (!e) return {};
  LintOptions o;
  o.today = std::move(today);
  return Lint(*e, o);
}

std::string Join(const std::vector<LintFinding>& f) {
  std::string s;
  for (const auto& x : f) s += x.diag.ToString() + "\n";
  return s;
}

std::vector<LintFinding> Only(const std::vector<LintFinding>& all, const std::string& check) {
  std::vector<LintFinding> out;
  for (const auto& f : all) {
    if (f.check == check) out.push_back(f);
  }
  return out;
}

TEST(LintTest, CleanSpecHasNoFindings) {
  const auto f = LintOf(CleanSpec());
  EXPECT_TRUE(f.empty()) << Join(f);
}

TEST(LintTest, HardAnswerWarnsReadingLevelAtTheEntry) {
  ContentSpec s = CleanSpec();
  s.entries[1].answer =
      "Positioning interventions utilising supplementary orthopaedic pillows demonstrably "
      "ameliorate nocturnal musculoskeletal discomfort, particularly postoperatively.";
  const auto f = Only(LintOf(s), "reading-level");
  ASSERT_EQ(f.size(), 1u) << Join(LintOf(s));
  EXPECT_EQ(f[0].entry_id, "sleep-positions");
  EXPECT_EQ(f[0].diag.severity, Diagnostic::Severity::kWarning);
  EXPECT_EQ(f[0].diag.where.ToString(), "faq/sleep-positions.json:3:5");
  EXPECT_THAT(f[0].diag.message, HasSubstr("(Flesch-Kincaid; at most 8.0)"));
  // A threshold above its grade lets it pass.
  s.lint.max_grade = 45;
  EXPECT_TRUE(Only(LintOf(s), "reading-level").empty());
}

TEST(LintTest, LongAnswerWarnsAnswerLength) {
  ContentSpec s = CleanSpec();
  std::string longer;
  for (int i = 0; i < 30; ++i) longer += "Rest a bit. ";
  s.entries[0].answer = longer;  // 360 characters
  const auto f = Only(LintOf(s), "answer-length");
  ASSERT_EQ(f.size(), 1u) << Join(LintOf(s));
  EXPECT_EQ(f[0].entry_id, "causes-why");
  EXPECT_THAT(f[0].diag.message, HasSubstr("phone screen (300)"));
}

TEST(LintTest, SourcesWithoutALinkWarn) {
  ContentSpec s = CleanSpec();
  s.entries[1].sources.push_back(Source{"A leaflet from the ward", ""});
  const auto f = Only(LintOf(s), "sources");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].entry_id, "sleep-positions");
  EXPECT_THAT(f[0].diag.message, HasSubstr("\"A leaflet from the ward\" of 'sleep-positions'"));
  // No sources at all is Engine::Compile's warning, not repeated by the lint.
  s.entries[1].sources.clear();
  EXPECT_TRUE(Only(LintOf(s), "sources").empty());
}

TEST(LintTest, OldAndFutureReviewDatesWarnAgainstTheInjectedToday) {
  ContentSpec s = CleanSpec();
  s.entries[0].reviewed = "2025-01-15";
  // 2026-01-15 is 365 days after 2025-01-15: on the limit, not past it.
  EXPECT_TRUE(Only(LintOf(s, "2026-01-15"), "review-age").empty());
  auto f = Only(LintOf(s, "2026-01-16"), "review-age");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].entry_id, "causes-why");
  EXPECT_THAT(f[0].diag.message, HasSubstr("366 days ago"));
  // No date: no ageing at all.
  EXPECT_TRUE(Only(LintOf(s, ""), "review-age").empty());
  // A date in the future.
  f = Only(LintOf(CleanSpec(), "2025-06-01"), "review-age");
  EXPECT_EQ(f.size(), 2u);
  EXPECT_THAT(f[0].diag.message, HasSubstr("in the future"));
}

TEST(LintTest, QuickReplyThatLeadsNowhere) {
  ContentSpec s = CleanSpec();
  s.intents[0].quick_replies.push_back("Tell me about parking");
  const auto f = Only(LintOf(s), "quick-reply");
  ASSERT_EQ(f.size(), 1u) << Join(LintOf(s));
  EXPECT_THAT(f[0].diag.message, HasSubstr("\"Tell me about parking\""));
  EXPECT_THAT(f[0].diag.message, HasSubstr("leads nowhere"));
  EXPECT_EQ(f[0].diag.where.ToString(), "intents.json:4:5");
}

TEST(LintTest, WelcomeQuickRepliesAreChecked) {
  ContentSpec s = CleanSpec();
  s.dialog.messages["welcome_quick_replies"] = "Why does cancer cause back pain?|Opening hours";
  const auto f = Only(LintOf(s), "quick-reply");
  ASSERT_EQ(f.size(), 1u) << Join(LintOf(s));
  EXPECT_THAT(f[0].diag.message, HasSubstr("\"Opening hours\" (welcome)"));
}

TEST(LintTest, StateLabelThatDoesNotTakeItsTransition) {
  ContentSpec s = CleanSpec();
  // A label is matched exactly before anything else in its state, but red flags come first
  // in every state: this one escalates instead of taking its transition.
  Transition odd;
  odd.on = "my legs are weak";
  odd.next = "idle";
  odd.where = SourceLocation{"flow.json", 30, 9};
  s.dialog.states[1].transitions.push_back(odd);
  const auto f = Only(LintOf(s), "quick-reply");
  ASSERT_EQ(f.size(), 1u) << Join(LintOf(s));
  EXPECT_EQ(f[0].diag.where.ToString(), "flow.json:30:9");
  EXPECT_THAT(f[0].diag.message, HasSubstr("does not take its transition"));
}

TEST(LintTest, ParaphraseAnsweredByAnotherEntry) {
  ContentSpec s = CleanSpec();
  // A sleep paraphrase that is all about the causes entry's words.
  AddQuestion(&s.entries[1], "why does cancer cause back pain in the spine");
  const auto f = Only(LintOf(s), "paraphrase-confusion");
  ASSERT_FALSE(f.empty()) << Join(LintOf(s));
  EXPECT_EQ(f[0].entry_id, "sleep-positions");
  EXPECT_THAT(f[0].diag.message, HasSubstr("causes-why"));
  EXPECT_EQ(f[0].diag.where.ToString(), "faq/sleep-positions.json:11:9");
}

TEST(LintTest, ParaphrasesSharingTheirWordsOverlap) {
  ContentSpec s = CleanSpec();
  // Same content words after synonyms ("ache" is "pain") as a causes paraphrase, but the
  // engine may still rank it to its own entry: the Jaccard check catches it anyway.
  AddQuestion(&s.entries[1], "reason cancer causes back ache");
  s.lint.max_paraphrase_overlap = 0.8;
  const auto f = Only(LintOf(s), "paraphrase-confusion");
  bool overlap = false;
  for (const auto& x : f) overlap |= x.diag.message.find("overlap") != std::string::npos;
  EXPECT_TRUE(overlap) << Join(f);
}

TEST(LintTest, ParaphraseThatEscalatesIsListed) {
  ContentSpec s = CleanSpec();
  AddQuestion(&s.entries[1], "my legs are weak at night, how should I sleep");
  const auto f = Only(LintOf(s), "paraphrase-escalates");
  ASSERT_EQ(f.size(), 1u) << Join(LintOf(s));
  EXPECT_EQ(f[0].entry_id, "sleep-positions");
  EXPECT_EQ(f[0].rule_id, "e1-legs");
  EXPECT_THAT(f[0].diag.message, HasSubstr("triggers red flag E1"));
}

TEST(LintTest, RedFlagExampleThatDoesNotEscalateIsAnError) {
  ContentSpec s = CleanSpec();
  s.red_flag_rules[0].examples.push_back("my legs are not weak");
  s.red_flag_rules[0].example_where.push_back(SourceLocation{"red_flags.json", 9, 40});
  const auto f = Only(LintOf(s), "red-flag-example");
  ASSERT_EQ(f.size(), 1u) << Join(LintOf(s));
  EXPECT_EQ(f[0].diag.severity, Diagnostic::Severity::kError);
  EXPECT_EQ(f[0].rule_id, "e1-legs");
  EXPECT_EQ(f[0].diag.where.ToString(), "red_flags.json:9:40");
  EXPECT_THAT(f[0].diag.message, HasSubstr("does not escalate to E1"));
}

// A pattern word the normaliser rewrites can never match: the synonyms turn
// "hurt" into "pain" before any rule looks. Written in the canonical word, or
// glued to regex syntax (where the check cannot tell a whole word), it is not
// reported.
TEST(LintTest, RedFlagPatternWordTheNormaliserRewritesIsAnError) {
  ContentSpec s = CleanSpec();
  RedFlagRule self_harm;
  self_harm.id = "e1-self";
  self_harm.kind = "E1";
  self_harm.patterns = {"(?:hurt|harm) (?:myself|himself)", "pain (?:myself|himself)",
                        "sore\\w* legs?"};
  self_harm.unless = {"(?:years|sore) ago"};
  self_harm.pattern_where = {SourceLocation{"red_flags.json", 30, 9},
                             SourceLocation{"red_flags.json", 31, 9},
                             SourceLocation{"red_flags.json", 32, 9}};
  self_harm.unless_where = {SourceLocation{"red_flags.json", 35, 9}};
  s.red_flag_rules.push_back(self_harm);
  const auto f = Only(LintOf(s), "red-flag-word");
  ASSERT_EQ(f.size(), 2u) << Join(LintOf(s));
  EXPECT_EQ(f[0].diag.severity, Diagnostic::Severity::kError);
  EXPECT_EQ(f[0].rule_id, "e1-self");
  EXPECT_EQ(f[0].diag.where.ToString(), "red_flags.json:30:9");
  EXPECT_THAT(f[0].diag.message, HasSubstr("pattern 1 of rule 'e1-self' has \"hurt\""));
  EXPECT_THAT(f[0].diag.message, HasSubstr("makes it \"pain\""));
  EXPECT_EQ(f[1].diag.where.ToString(), "red_flags.json:35:9");
  EXPECT_THAT(f[1].diag.message, HasSubstr("unless pattern 1 of rule 'e1-self' has \"sore\""));
}

// The cue lists that cancel a match by its words are held to the same: "sore throat" reads
// "pain throat" by the time a rule looks, so it could never cancel anything.
TEST(LintTest, AFigurativePhraseTheNormaliserRewritesIsAnError) {
  ContentSpec s = CleanSpec();
  s.language.figurative_phrases = {"sore throat", "pain throat"};
  s.language.other_experiencers = {"cat"};
  const auto f = Only(LintOf(s), "red-flag-word");
  ASSERT_EQ(f.size(), 1u) << Join(LintOf(s));
  EXPECT_EQ(f[0].diag.severity, Diagnostic::Severity::kError);
  EXPECT_THAT(f[0].diag.message, HasSubstr("figurative_phrases has \"sore throat\""));
  EXPECT_THAT(f[0].diag.message, HasSubstr("write \"pain throat\""));
}

// Concepts are matched on the stems of the canonical text: a word the normaliser rewrites to
// another stem never matches ("sore" reads "pain"); one whose rewrite keeps its stems is fine.
// A concept no rule combines escalates nothing, which a curator should know.
TEST(LintTest, ConceptWordsTheNormaliserRewritesAndUnusedConceptsAreReported) {
  ContentSpec s = CleanSpec();
  Concept limb;
  limb.id = "lower-limb";
  limb.words = {"leg", "legs", "thigh"};
  Concept loss;
  loss.id = "loss";
  loss.words = {"sore feeling", "weak"};
  loss.word_where = {SourceLocation{"concepts.json", 8, 18},
                     SourceLocation{"concepts.json", 8, 34}};
  Concept spare;
  spare.id = "spare";
  spare.words = {"spare"};
  spare.where = SourceLocation{"concepts.json", 12, 5};
  s.concepts = {limb, loss, spare};
  RedFlagRule rule;
  rule.id = "e1-limb";
  rule.kind = "E1";
  rule.concepts = {{"lower-limb", "loss"}};
  rule.examples = {"my legs are weak"};
  s.red_flag_rules.push_back(rule);
  const auto words = Only(LintOf(s), "red-flag-word");
  ASSERT_EQ(words.size(), 1u) << Join(LintOf(s));
  EXPECT_EQ(words[0].diag.severity, Diagnostic::Severity::kError);
  EXPECT_EQ(words[0].diag.where.ToString(), "concepts.json:8:18");
  EXPECT_THAT(words[0].diag.message, HasSubstr("concept 'loss' has \"sore feeling\""));
  EXPECT_THAT(words[0].diag.message, HasSubstr("write \"pain feeling\""));
  const auto unused = Only(LintOf(s), "concept-unused");
  ASSERT_EQ(unused.size(), 1u) << Join(LintOf(s));
  EXPECT_EQ(unused[0].diag.severity, Diagnostic::Severity::kWarning);
  EXPECT_EQ(unused[0].diag.where.ToString(), "concepts.json:12:5");
  EXPECT_TRUE(Only(LintOf(s), "red-flag-example").empty()) << Join(LintOf(s));
}

// Every entry says who reviewed it and when it is next due; a next review in the past is due.
TEST(LintTest, ReviewOwnerAndNextReviewAreChecked) {
  ContentSpec s = CleanSpec();
  s.entries[0].reviewed_by.clear();
  s.entries[1].next_review = "2026-06-01";
  const auto owner = Only(LintOf(s), "review-owner");
  ASSERT_EQ(owner.size(), 1u) << Join(LintOf(s));
  EXPECT_EQ(owner[0].entry_id, "causes-why");
  EXPECT_THAT(owner[0].diag.message, HasSubstr("reviewed_by"));
  const auto due = Only(LintOf(s), "review-age");
  ASSERT_EQ(due.size(), 1u) << Join(LintOf(s));
  EXPECT_EQ(due[0].entry_id, "sleep-positions");
  EXPECT_THAT(due[0].diag.message, HasSubstr("was due for review on 2026-06-01"));
}

}  // namespace
}  // namespace backline::engine
