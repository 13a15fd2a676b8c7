#include "engine/red_flags.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "tests/engine/shipped_content.h"

namespace backline::engine {
namespace {

using ::testing::HasSubstr;

// =======================================================================================
// Part 1: the detector on a tiny, hand-made spec (like the shipped one, but small enough
// that every cue in a test is visible here).
// =======================================================================================

LanguageSpec TinyLanguage() {
  LanguageSpec l;
  l.contractions = {{"can't", "cannot"}, {"don't", "do not"}, {"won't", "will not"}};
  l.stopwords = {"i", "my", "the", "a", "and", "is", "are"};
  l.negation_cues = {"no", "not", "never", "without", "no sign of"};
  l.pseudo_negations = {"not sure", "no better"};
  l.post_negation_cues = {"is fine", "are fine", "is ok"};
  l.hypothetical_cues = {"if", "what if", "signs of"};
  l.current_cues = {"since", "still", "today"};
  l.resolved_cues = {"recovered", "went away"};
  l.clause_breaks = {"but", "however"};
  l.negation_breaks = {"and", "then"};
  l.novelty_cues = {"before", "like this"};
  l.imagined_cues = {"dreamt", "if ever"};
  l.writer_words = {"i", "me", "myself"};
  l.other_people = {"he", "she", "his", "her", "my husband", "dad"};
  l.negation_window = 4;
  return l;
}

RedFlagKind Kind(std::string id, Urgency u) {
  RedFlagKind k;
  k.id = std::move(id);
  k.name = k.id;
  k.urgency = u;
  k.reply = "reply " + k.id;
  return k;
}

RedFlagRule Rule(std::string id, std::string kind, std::vector<std::string> patterns,
                 std::vector<std::string> unless = {}, bool general = false) {
  RedFlagRule r;
  r.id = std::move(id);
  r.kind = std::move(kind);
  r.patterns = std::move(patterns);
  r.unless = std::move(unless);
  r.general_questions_escalate = general;
  return r;
}

std::vector<RedFlagKind> TinyKinds() {
  return {Kind("E1", Urgency::kEmergency), Kind("E6", Urgency::kEmergency),
          Kind("U1", Urgency::kUrgent)};
}

std::vector<RedFlagRule> TinyRules() {
  return {
      Rule("e1-legs", "E1",
           {"legs? (?:\\S+ ){0,2}(?:weak|numb)", "(?:weak|numb) legs?",
            "cannot (?:\\S+ ){0,1}walk"}),
      Rule("e1-bladder", "E1", {"bladder (?:\\S+ ){0,1}control"}),
      Rule("e1-feet", "E1", {"(?:feet|toes) (?:\\S+ ){0,2}numb"}, {"chemo", "fingers?"}),
      Rule("e6-self", "E6", {"kill myself"}, {"not suicidal"}, /*general=*/true),
      Rule("u1-new-pain", "U1", {"new (?:\\S+ ){0,1}pain"}),
  };
}

class RedFlagDetectorTest : public ::testing::Test {
 protected:
  RedFlagDetectorTest() : analyzer_(TinyLanguage(), {}, {}) {
    detector_ = RedFlagDetector::Build(TinyKinds(), TinyRules(), TinyLanguage(), &diags_);
  }

  RedFlagResult Detect(const std::string& text) const {
    return detector_->Detect(analyzer_.Analyze(text));
  }
  // The winning kind id, or "none".
  std::string Winner(const std::string& text) const {
    const RedFlagResult r = Detect(text);
    return r.kind ? r.kind->id : "none";
  }

  void SetUp() override {
    ASSERT_NE(detector_, nullptr);
    ASSERT_TRUE(diags_.empty()) << diags_.front().ToString();
  }

  Analyzer analyzer_;
  std::vector<Diagnostic> diags_;
  std::unique_ptr<RedFlagDetector> detector_;
};

TEST_F(RedFlagDetectorTest, AffirmedReportEscalates) {
  const RedFlagResult r = Detect("my legs are weak");
  ASSERT_NE(r.kind, nullptr);
  EXPECT_EQ(r.kind->id, "E1");
  EXPECT_EQ(r.urgency, Urgency::kEmergency);
  ASSERT_EQ(r.matches.size(), 1u);
  EXPECT_EQ(r.matches[0].rule, "e1-legs");
  EXPECT_EQ(r.matches[0].text, "legs are weak");
  EXPECT_TRUE(r.matches[0].affirmed());
}

TEST_F(RedFlagDetectorTest, TheNearestPersonWordSaysWhomAReportIsAbout) {
  using Person = RedFlagDetector::Person;
  auto about = [&](const std::string& text) {
    const Analysis a = analyzer_.Analyze(text);
    const RedFlagResult r = detector_->Detect(a);
    const RedFlagMatch* m = r.matches.empty() ? nullptr : &r.matches.front();
    return detector_->AffectedPerson(a, m);
  };
  EXPECT_EQ(about("i think my legs are weak"), Person::kWriter);
  EXPECT_EQ(about("i think his legs are weak"), Person::kSomeoneElse);
  EXPECT_EQ(about("my husband says i cannot walk"), Person::kWriter);
  EXPECT_EQ(about("i found my husband and he cannot walk"), Person::kSomeoneElse);
  // Nothing says whom: the kind's plain reply.
  EXPECT_EQ(about("legs are weak since this morning"), Person::kUnknown);
  // Only the match's own sentence counts.
  EXPECT_EQ(about("he is at work. legs are weak"), Person::kUnknown);
  // No match (the classifier's reading): the whole message, from its end.
  EXPECT_EQ(detector_->AffectedPerson(analyzer_.Analyze("dad took a lot"), nullptr),
            Person::kSomeoneElse);
}

TEST_F(RedFlagDetectorTest, CaregiverVoiceEscalates) {
  EXPECT_EQ(Winner("my dad's legs are numb"), "E1");
  EXPECT_EQ(Winner("Her legs went numb"), "E1");
}

TEST_F(RedFlagDetectorTest, CannotAndWillNotAreSymptomsNotNegations) {
  EXPECT_EQ(Winner("I can't walk"), "E1");
  EXPECT_EQ(Winner("I cannot really walk"), "E1");
}

TEST_F(RedFlagDetectorTest, NegationCueBeforeTheSymptomCancelsIt) {
  for (const char* text : {"no weak legs", "I don't have weak legs", "never had numb legs",
                           "no sign of numb legs", "without weak legs"}) {
    const RedFlagResult r = Detect(text);
    EXPECT_EQ(r.kind, nullptr) << text;
    ASSERT_FALSE(r.matches.empty()) << text;
    EXPECT_TRUE(r.matches[0].negated) << text;
  }
}

// "I've never had numbness like this before" says the symptom is new: a report.
TEST_F(RedFlagDetectorTest, NeverWithANoveltyCueInItsClauseIsAReport) {
  EXPECT_EQ(Winner("never had numb legs like this before"), "E1");
  EXPECT_EQ(Winner("I have never had weak legs before"), "E1");
  EXPECT_EQ(Winner("never had numb legs"), "none");            // a denial
  EXPECT_EQ(Winner("no numb legs like this before"), "none");  // only "never" turns
  // The novelty cue must be in the symptom's own clause.
  EXPECT_EQ(Winner("never had numb legs but my arms were like this before"), "none");
}

TEST_F(RedFlagDetectorTest, NegationReachesOnlyTheWindow) {
  // window 4: "not" four words before "weak" negates, six words before does not.
  EXPECT_EQ(Winner("not in my life weak legs"), "none");
  EXPECT_EQ(Winner("not once in my whole life weak legs"), "E1");
}

TEST_F(RedFlagDetectorTest, PseudoNegationIsNotANegation) {
  EXPECT_EQ(Winner("not sure my legs are weak"), "E1");
  EXPECT_EQ(Winner("no better , my legs are weak"), "E1");
}

TEST_F(RedFlagDetectorTest, PostNegationCancelsWhatPrecedes) {
  const RedFlagResult r = Detect("my bladder control is fine");
  EXPECT_EQ(r.kind, nullptr);
  ASSERT_EQ(r.matches.size(), 1u);
  EXPECT_TRUE(r.matches[0].negated);
  EXPECT_EQ(Winner("my bladder control is gone"), "E1");
}

TEST_F(RedFlagDetectorTest, NegationEndsAtAClauseBreak) {
  EXPECT_EQ(Winner("no pain but my legs are weak"), "E1");
  EXPECT_EQ(Winner("no pain however my legs are weak"), "E1");
  EXPECT_EQ(Winner("no pain. legs weak"), "E1");
  EXPECT_EQ(Winner("no pain, legs weak"), "E1");
  // Post-negation does not reach back over a break either.
  EXPECT_EQ(Winner("my legs are numb but my bladder control is fine"), "E1");
}

TEST_F(RedFlagDetectorTest, NegationEndsAtANegationBreak) {
  EXPECT_EQ(Winner("no fever and weak legs"), "E1");
  EXPECT_EQ(Winner("no fever then weak legs"), "E1");
  // Control: without the break, the same words are within the window and negated.
  EXPECT_EQ(Winner("no fever weak legs"), "none");
}

TEST_F(RedFlagDetectorTest, HypotheticalFramesCancel) {
  for (const char* text :
       {"what if my legs are weak", "if my legs went numb", "what are the signs of weak legs"}) {
    const RedFlagResult r = Detect(text);
    EXPECT_EQ(r.kind, nullptr) << text;
    ASSERT_FALSE(r.matches.empty()) << text;
    EXPECT_TRUE(r.matches[0].hypothetical) << text;
    EXPECT_FALSE(r.matches[0].negated) << text;
  }
}

TEST_F(RedFlagDetectorTest, CurrentCueOverridesAHypotheticalFrame) {
  EXPECT_EQ(Winner("what if my legs are still weak"), "E1");
  EXPECT_EQ(Winner("if my legs are numb since today"), "E1");
}

// A dream or an "if ever" frames the clause even when it also says "today" or "since".
TEST_F(RedFlagDetectorTest, ImaginedCuesCancelEvenWithACurrentCue) {
  EXPECT_EQ(Winner("last night I dreamt my legs were weak since today"), "none");
  EXPECT_EQ(Winner("if ever my legs are weak today what do I do"), "none");
  EXPECT_EQ(Winner("my legs are weak since today"), "E1");
}

// "the weakness fully recovered and I walk normally now": a resolved cue inside the match
// settles it even though the clause also has a current cue ("now" is not one here: "since").
TEST_F(RedFlagDetectorTest, AResolvedCueInsideTheMatchWinsOverACurrentCue) {
  EXPECT_EQ(Winner("legs recovered weak since"), "none");
}

// A resolved cue right after the symptom says it of the symptom; a current cue after that is
// about life since ("... recovered and I walk to the shops since"). One before it is not.
TEST_F(RedFlagDetectorTest, AResolvedCueRightAfterTheSymptomOutranksALaterCurrentCue) {
  EXPECT_EQ(Winner("my weak legs recovered and I walk to the shops since"), "none");
  EXPECT_EQ(Winner("my weak legs still recovered"), "E1");
  EXPECT_EQ(Winner("since today my weak legs recovered"), "E1");
}

TEST_F(RedFlagDetectorTest, HypotheticalFrameEndsAtItsClause) {
  EXPECT_EQ(Winner("what if it spreads ? my legs are weak"), "E1");
  EXPECT_EQ(Winner("I wonder if it matters but my legs are weak"), "E1");
}

TEST_F(RedFlagDetectorTest, GeneralQuestionsEscalateWhenTheRuleSaysSo) {
  const RedFlagResult r = Detect("what if I wanted to kill myself");
  ASSERT_NE(r.kind, nullptr);
  EXPECT_EQ(r.kind->id, "E6");
}

TEST_F(RedFlagDetectorTest, ResolvedSymptomsDoNotEscalate) {
  const RedFlagResult r = Detect("the weak legs I had fully recovered");
  EXPECT_EQ(r.kind, nullptr);
  ASSERT_EQ(r.matches.size(), 1u);
  EXPECT_TRUE(r.matches[0].resolved);
  EXPECT_EQ(Winner("my numb legs went away"), "none");
}

TEST_F(RedFlagDetectorTest, UnlessPatternAnywhereCancelsItsRuleOnly) {
  EXPECT_EQ(Winner("my feet are numb"), "E1");
  const RedFlagResult r = Detect("my feet are numb since chemo");
  EXPECT_EQ(r.kind, nullptr);
  ASSERT_EQ(r.matches.size(), 1u);
  EXPECT_TRUE(r.matches[0].excepted);
  // Anywhere in the message, even in another sentence.
  EXPECT_EQ(Winner("my toes are numb. I had chemo in 2020"), "none");
  // Another rule in the same message still escalates.
  EXPECT_EQ(Winner("my toes are numb from chemo but my legs are weak"), "E1");
  EXPECT_EQ(Winner("I am not suicidal"), "none");
}

TEST_F(RedFlagDetectorTest, MostUrgentKindWins) {
  EXPECT_EQ(Winner("new pain and my legs are weak"), "E1");
  EXPECT_EQ(Winner("my legs are weak and new pain"), "E1");
  EXPECT_EQ(Winner("new back pain"), "U1");
  EXPECT_EQ(Detect("new back pain").urgency, Urgency::kUrgent);
}

TEST_F(RedFlagDetectorTest, AmongEqualsTheFirstRuleInFileOrderWins) {
  EXPECT_EQ(Winner("I want to kill myself and my legs are weak"), "E1");
  std::vector<RedFlagRule> rules = TinyRules();
  std::swap(rules[0], rules[3]);  // e6-self before e1-legs
  std::vector<Diagnostic> diags;
  auto d = RedFlagDetector::Build(TinyKinds(), rules, TinyLanguage(), &diags);
  ASSERT_NE(d, nullptr);
  const RedFlagResult r =
      d->Detect(analyzer_.Analyze("my legs are weak and I want to kill myself"));
  ASSERT_NE(r.kind, nullptr);
  EXPECT_EQ(r.kind->id, "E6");
}

TEST_F(RedFlagDetectorTest, CancelledMatchesAreStillReported) {
  const RedFlagResult r = Detect("no weak legs but new pain");
  EXPECT_EQ(r.urgency, Urgency::kUrgent);
  ASSERT_EQ(r.matches.size(), 2u);
  int negated = 0, affirmed = 0;
  for (const auto& m : r.matches) {
    negated += m.negated;
    affirmed += m.affirmed();
  }
  EXPECT_EQ(negated, 1);
  EXPECT_EQ(affirmed, 1);
}

TEST_F(RedFlagDetectorTest, NothingToFindInEmptyOrUnrelatedText) {
  for (const char* text : {"", "  ", "?", "hello there", "can I have a massage"}) {
    const RedFlagResult r = Detect(text);
    EXPECT_EQ(r.kind, nullptr) << text;
    EXPECT_EQ(r.urgency, Urgency::kNone) << text;
    EXPECT_TRUE(r.matches.empty()) << text;
  }
}

TEST_F(RedFlagDetectorTest, FindKind) {
  ASSERT_NE(detector_->FindKind("U1"), nullptr);
  EXPECT_EQ(detector_->FindKind("U1")->urgency, Urgency::kUrgent);
  EXPECT_EQ(detector_->FindKind("X9"), nullptr);
  EXPECT_EQ(detector_->kinds().size(), 3u);
}

// ---- Concept combinations ----------------------------------------------------------------

Concept MakeConcept(std::string id, std::vector<std::string> words) {
  Concept c;
  c.id = std::move(id);
  c.words = std::move(words);
  return c;
}

std::vector<Concept> TinyConcepts() {
  return {MakeConcept("lower-limb", {"leg", "calf", "thigh", "waist down"}),
          MakeConcept("loss-of-power", {"weak", "like jelly", "give way", "will not hold",
                                        "belong to someone else"}),
          MakeConcept("bowel", {"poo"}),
          MakeConcept("control-loss", {"did not realise", "in the bed", "accident"}),
          MakeConcept("stockpile", {"saving", "stash"}),
          MakeConcept("means", {"morphine", "patches"})};
}

RedFlagRule ConceptRule(std::string id, std::string kind,
                        std::vector<std::vector<std::string>> combinations) {
  RedFlagRule r;
  r.id = std::move(id);
  r.kind = std::move(kind);
  r.concepts = std::move(combinations);
  return r;
}

class ConceptRuleTest : public ::testing::Test {
 protected:
  ConceptRuleTest() : analyzer_(TinyLanguage(), {}, {}) {
    LanguageSpec language = TinyLanguage();
    language.concept_window = 8;
    detector_ =
        RedFlagDetector::Build(TinyKinds(), TinyConcepts(),
                               {ConceptRule("e1-limb", "E1", {{"lower-limb", "loss-of-power"}}),
                                ConceptRule("e1-bowel", "E1", {{"bowel", "control-loss"}}),
                                ConceptRule("e6-plan", "E6", {{"stockpile", "means"}})},
                               language, &diags_);
  }
  std::string Winner(const std::string& text) const {
    const RedFlagResult r = detector_->Detect(analyzer_.Analyze(text));
    return r.kind ? r.kind->id : "none";
  }
  Analyzer analyzer_;
  std::vector<Diagnostic> diags_;
  std::unique_ptr<RedFlagDetector> detector_;
};

TEST_F(ConceptRuleTest, ConceptsInOneClauseInAnyOrderEscalate) {
  ASSERT_NE(detector_, nullptr) << (diags_.empty() ? "" : diags_[0].ToString());
  EXPECT_EQ(Winner("my calf feels like it belongs to someone else"), "E1");
  EXPECT_EQ(Winner("it's like jelly from the waist down"), "E1");
  EXPECT_EQ(Winner("he has been saving his morphine"), "E6");
  EXPECT_EQ(Winner("she has a stash of old patches"), "E6");
}

TEST_F(ConceptRuleTest, WordsAreComparedOnTheirStems) {
  // "weakness" and "weak", "legs" and "leg", "gave way"... "giving way" share stems.
  EXPECT_EQ(Winner("there is a weakness in both legs"), "E1");
  EXPECT_EQ(Winner("my thighs keep giving way"), "E1");
}

TEST_F(ConceptRuleTest, OneConceptAloneIsNotAReport) {
  EXPECT_EQ(Winner("my legs ache after the walk"), "none");
  EXPECT_EQ(Winner("I feel weak and tired"), "none");
  EXPECT_EQ(Winner("is morphine safe"), "none");
}

TEST_F(ConceptRuleTest, ConceptsInDifferentClausesDoNotCombine) {
  EXPECT_EQ(Winner("my legs are fine but I feel weak"), "none");
}

TEST_F(ConceptRuleTest, ConceptsFartherApartThanTheWindowDoNotCombine) {
  EXPECT_EQ(Winner("my legs carried me all the way round the big park this morning and I was weak"),
            "none");
}

TEST_F(ConceptRuleTest, NegationBeforeOrBetweenTheConceptsCancels) {
  EXPECT_EQ(Winner("no weakness in my legs"), "none");
  EXPECT_EQ(Winner("my legs are not weak"), "none");
}

TEST_F(ConceptRuleTest, ANegationInsideAConceptsOwnPhraseDoesNot) {
  EXPECT_EQ(Winner("my legs will not hold me up"), "E1");
}

TEST_F(ConceptRuleTest, AnyAffirmedChoiceOfOccurrencesEscalates) {
  // The nearest "control-loss" to "poo" ("in the bed") follows a negation cue of another
  // occurrence ("did not realise"); choosing "did not realise" itself is affirmed.
  EXPECT_EQ(Winner("she did not realise she had done a poo in the bed"), "E1");
}

TEST_F(ConceptRuleTest, TheUsualFramesCancelConceptMatchesToo) {
  EXPECT_EQ(Winner("what if my legs give way"), "none");
  EXPECT_EQ(Winner("the weak legs I had fully recovered"), "none");
}

TEST_F(ConceptRuleTest, MatchesNameTheirConcepts) {
  const RedFlagResult r = detector_->Detect(analyzer_.Analyze("my legs are like jelly"));
  ASSERT_FALSE(r.matches.empty());
  EXPECT_EQ(r.matches[0].combination, "lower-limb + loss-of-power");
  EXPECT_EQ(r.matches[0].text, "legs are like jelly");
}

TEST_F(ConceptRuleTest, AClauseFullOfConceptWordsStaysBounded) {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "leg weak ";
  const RedFlagResult r = detector_->Detect(analyzer_.Analyze(text));
  EXPECT_EQ(r.kind != nullptr ? r.kind->id : "none", "E1");
  EXPECT_LE(r.matches.size(), 64u);
}

TEST(ConceptRuleBuildTest, UnknownConceptOneConceptAndDuplicatesAreErrors) {
  std::vector<Diagnostic> diags;
  RedFlagRule unknown = ConceptRule("r1", "E1", {{"lower-limb", "no-such-concept"}});
  unknown.concepts_where = {SourceLocation{"red_flags.json", 12, 20}};
  EXPECT_EQ(RedFlagDetector::Build(TinyKinds(), TinyConcepts(), {unknown}, TinyLanguage(), &diags),
            nullptr);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_THAT(diags[0].message, HasSubstr("unknown concept 'no-such-concept'"));
  EXPECT_EQ(diags[0].where.line, 12);

  diags.clear();
  EXPECT_EQ(
      RedFlagDetector::Build(TinyKinds(), TinyConcepts(),
                             {ConceptRule("r2", "E1", {{"lower-limb"}})}, TinyLanguage(), &diags),
      nullptr);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_THAT(diags[0].message, HasSubstr("fewer than two concepts"));

  diags.clear();
  std::vector<Concept> twice = TinyConcepts();
  twice.push_back(MakeConcept("bowel", {"bowels"}));
  EXPECT_EQ(RedFlagDetector::Build(TinyKinds(), twice, {}, TinyLanguage(), &diags), nullptr);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_THAT(diags[0].message, HasSubstr("duplicate concept id 'bowel'"));

  diags.clear();
  EXPECT_EQ(RedFlagDetector::Build(TinyKinds(), std::vector<Concept>{},
                                   {ConceptRule("r3", "E1", {})}, TinyLanguage(), &diags),
            nullptr);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_THAT(diags[0].message, HasSubstr("no patterns and no concept combinations"));
}

TEST(RedFlagDetectorRequiresTest, RequiresAContextSomewhereInTheMessage) {
  const Analyzer analyzer(TinyLanguage(), {}, {});
  RedFlagRule r = Rule("u4-dose", "U1", {"drowsy"});
  r.requires_any = {"dose (?:\\S+ ){0,1}(?:increased|upped)"};
  std::vector<Diagnostic> diags;
  auto d = RedFlagDetector::Build(TinyKinds(), {r}, TinyLanguage(), &diags);
  ASSERT_NE(d, nullptr) << (diags.empty() ? "" : diags[0].ToString());
  const RedFlagResult without = d->Detect(analyzer.Analyze("she is drowsy"));
  EXPECT_EQ(without.kind, nullptr);
  ASSERT_EQ(without.matches.size(), 1u);
  EXPECT_TRUE(without.matches[0].excepted);
  const RedFlagResult with = d->Detect(analyzer.Analyze("she is drowsy. her dose was increased"));
  ASSERT_NE(with.kind, nullptr);
  EXPECT_EQ(with.kind->id, "U1");
}

TEST(RedFlagDetectorBuildTest, BadRequiresPatternIsAnErrorAtItsLocation) {
  RedFlagRule r = Rule("bad-requires", "E1", {"legs weak"});
  r.requires_any = {"dose("};
  r.requires_where = {SourceLocation{"red_flags.json", 31, 13}};
  std::vector<Diagnostic> diags;
  EXPECT_EQ(RedFlagDetector::Build(TinyKinds(), {r}, TinyLanguage(), &diags), nullptr);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].where.line, 31);
  EXPECT_EQ(diags[0].where.column, 13);
}

TEST(RedFlagDetectorBuildTest, BadPatternIsAnErrorAtThePatternsLocation) {
  RedFlagRule r = Rule("bad", "E1", {"fine", "legs (?:weak"});
  r.where = SourceLocation{"red_flags.json", 10, 5};
  r.pattern_where = {SourceLocation{"red_flags.json", 14, 9},
                     SourceLocation{"red_flags.json", 15, 9}};
  std::vector<Diagnostic> diags;
  EXPECT_EQ(RedFlagDetector::Build(TinyKinds(), {r}, TinyLanguage(), &diags), nullptr);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].severity, Diagnostic::Severity::kError);
  EXPECT_EQ(diags[0].where.line, 15);
  EXPECT_EQ(diags[0].where.column, 9);
  EXPECT_THAT(diags[0].message, HasSubstr("bad"));
  EXPECT_THAT(diags[0].message, HasSubstr("missing )"));
}

TEST(RedFlagDetectorBuildTest, BadUnlessPatternIsAnErrorAtItsLocation) {
  RedFlagRule r = Rule("bad-unless", "E1", {"legs weak"}, {"chemo (?:since"});
  r.unless_where = {SourceLocation{"red_flags.json", 20, 11}};
  std::vector<Diagnostic> diags;
  EXPECT_EQ(RedFlagDetector::Build(TinyKinds(), {r}, TinyLanguage(), &diags), nullptr);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].where.line, 20);
  EXPECT_THAT(diags[0].message, HasSubstr("bad-unless"));
  EXPECT_THAT(diags[0].message, HasSubstr("missing )"));
}

TEST(RedFlagDetectorBuildTest, UnknownKindIsAnError) {
  RedFlagRule r = Rule("orphan", "Z9", {"legs weak"});
  r.where = SourceLocation{"red_flags.json", 7, 5};
  std::vector<Diagnostic> diags;
  EXPECT_EQ(RedFlagDetector::Build(TinyKinds(), {r}, TinyLanguage(), &diags), nullptr);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].where.line, 7);
  EXPECT_THAT(diags[0].message, HasSubstr("Z9"));
}

TEST(RedFlagDetectorBuildTest, RuleWithoutPatternsIsAnError) {
  std::vector<Diagnostic> diags;
  EXPECT_EQ(RedFlagDetector::Build(TinyKinds(), {Rule("empty", "E1", {})}, TinyLanguage(), &diags),
            nullptr);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_THAT(diags[0].message, HasSubstr("no patterns"));
}

TEST(RedFlagDetectorBuildTest, EveryProblemIsReportedInOneRun) {
  std::vector<Diagnostic> diags;
  EXPECT_EQ(RedFlagDetector::Build(
                TinyKinds(),
                {Rule("a", "Z1", {"x"}), Rule("b", "E1", {"(("}), Rule("c", "E1", {"ok"}, {"[["})},
                TinyLanguage(), &diags),
            nullptr);
  EXPECT_EQ(diags.size(), 3u);
}

// =======================================================================================
// Part 2: the shipped content (knowledge/red_flags.json, escalations.json, language.json)
// through Engine::Turn, the way a patient reaches it. Phrasings are written from
// shared/clinical/red-flags.md: first person and caregiver voice, hedged, buried in long
// text, next to a greeting, with "can't"/"won't".
// =======================================================================================

using testing::LoadShipped;

enum class Frame { kAffirmed, kNegated, kHypothetical, kLookAlike };

const char* FrameName(Frame f) {
  switch (f) {
    case Frame::kAffirmed:
      return "affirmed";
    case Frame::kNegated:
      return "negated";
    case Frame::kHypothetical:
      return "hypothetical";
    case Frame::kLookAlike:
      return "look-alike";
  }
  return "?";
}

struct Case {
  const char* kind;  // the red-flag kind the message is about
  Frame frame;
  const char* text;
  // For affirmed rows: the urgency and kind expected. For the others: none, unless `also`
  // names the kind the rule deliberately escalates anyway (general_questions_escalate).
  const char* expect_kind = nullptr;
};

Urgency UrgencyOfKind(const std::string& kind) {
  return kind.empty() ? Urgency::kNone : kind[0] == 'E' ? Urgency::kEmergency : Urgency::kUrgent;
}

// clang-format off
const std::vector<Case>& Table() {
  static const std::vector<Case> kTable = {
      // ---- E1: spinal cord / cauda equina compression ----
      {"E1", Frame::kAffirmed, "my legs feel like jelly and keep giving way since this morning", "E1"},
      {"E1", Frame::kAffirmed, "My dad can't feel his legs properly and he's struggling to walk", "E1"},
      {"E1", Frame::kAffirmed, "hi there, hope you're well. I've had back pain for a while, but tonight I wet myself and didn't feel it", "E1"},
      {"E1", Frame::kAffirmed, "I might be imagining it but my legs seem weaker", "E1"},
      {"E1", Frame::kAffirmed, "my legs won't hold me up", "E1"},
      {"E1", Frame::kAffirmed, "is it normal that my legs are numb?", "E1"},
      {"E1", Frame::kAffirmed, "I don't think I can walk", "E1"},
      {"E1", Frame::kAffirmed, "should I go to A&E? I haven't peed since last night", "E1"},
      {"E1", Frame::kAffirmed, "probably nothing but I keep missing the toilet", "E1"},
      {"E1", Frame::kAffirmed, "Hello! Quick question about my exercises, but first, my legs have gone numb since yesterday and I can't feel the toilet paper when I wipe", "E1"},
      {"E1", Frame::kNegated, "I don't have any numbness in my legs, just back pain"},
      {"E1", Frame::kNegated, "no bladder problems, just a sore back"},
      {"E1", Frame::kHypothetical, "what if I lost control of my bladder?"},
      {"E1", Frame::kHypothetical, "if I ever lost feeling in my feet what would happen"},
      // ---- E2: opioid overdose ----
      {"E2", Frame::kAffirmed, "I can't wake my husband properly and his breathing is really slow", "E2"},
      {"E2", Frame::kAffirmed, "she took way too many oxys and her lips look blue", "E2"},
      {"E2", Frame::kAffirmed, "Sorry to bother you, he's making loud gurgly breaths and he won't respond", "E2"},
      {"E2", Frame::kAffirmed, "my mum is very hard to wake and her pupils are pinpoint", "E2"},
      {"E2", Frame::kAffirmed, "hi, thanks for the help yesterday. my dad has gone really floppy and we can't rouse him", "E2"},
      {"E2", Frame::kNegated, "no blue lips or slow breathing, she is just a bit sleepy"},
      {"E2", Frame::kHypothetical, "How would I know if my dad had taken too much morphine?"},
      // ---- E3: bleeding from the stomach or gut ----
      {"E3", Frame::kAffirmed, "I threw up blood this morning", "E3"},
      {"E3", Frame::kAffirmed, "my poo is black like tar and I feel faint", "E3"},
      {"E3", Frame::kAffirmed, "my wife's sick looks like coffee grounds", "E3"},
      {"E3", Frame::kAffirmed, "been on naproxen and now there's blood in my vomit", "E3"},
      {"E3", Frame::kNegated, "no blood in my vomit, just feeling a bit queasy on ibuprofen"},
      {"E3", Frame::kHypothetical, "what should I do if I vomit blood on naproxen?"},
      // ---- E4: fever or infection during treatment / sepsis ----
      {"E4", Frame::kAffirmed, "temp 38.4 and I had chemo last week", "E4"},
      {"E4", Frame::kAffirmed, "I'm having shivering fits since my chemo on Monday", "E4"},
      {"E4", Frame::kAffirmed, "my son feels really ill since his chemo and has hot and cold sweats", "E4"},
      {"E4", Frame::kAffirmed, "I've got a fever of 101F and I'm on chemo", "E4"},
      {"E4", Frame::kNegated, "no fever or chills, can I still have a massage this week"},
      {"E4", Frame::kHypothetical, "what should I do if I get a temperature during chemo?"},
      // ---- E5: sudden collapse of a weakened bone ----
      {"E5", Frame::kAffirmed, "I heard a crack in my back when I coughed", "E5"},
      {"E5", Frame::kAffirmed, "I felt my back go when I twisted and I can't put any weight on my leg", "E5"},
      {"E5", Frame::kAffirmed, "my mum slipped in the bathroom and now she can't stand"},  // E1 or E5: both emergencies
      {"E5", Frame::kNegated, "I didn't feel any crack in my back when I slipped, it's just sore"},
      {"E5", Frame::kHypothetical, "Is it possible to hear a crack in your spine just from coughing?"},
      // ---- E6: suicide or self-harm, intent, plan or act ----
      {"E6", Frame::kAffirmed, "I want to kill myself", "E6"},
      {"E6", Frame::kAffirmed, "my partner keeps talking about killing herself", "E6"},
      {"E6", Frame::kAffirmed, "I've got my pills lined up for tonight", "E6"},
      {"E6", Frame::kAffirmed, "I've taken all my tablets at once", "E6"},
      {"E6", Frame::kNegated, "I'm not suicidal, just really fed up with this pain"},
      // The rule sets general_questions_escalate: a question about suicide is answered with
      // the crisis reply too (red-flags.md section 6.6: err towards escalating).
      {"E6", Frame::kHypothetical, "what should I do if my husband ever talks about suicide?", "E6"},
      // ---- E7: other emergencies ----
      {"E7", Frame::kAffirmed, "I've got sudden chest pain and I can't catch my breath", "E7"},
      {"E7", Frame::kAffirmed, "my wife just had a fit", "E7"},
      {"E7", Frame::kAffirmed, "my lips and tongue are swollen since I started the new tablets", "E7"},
      {"E7", Frame::kAffirmed, "my calf is swollen and hot and I'm short of breath", "E7"},
      {"E7", Frame::kNegated, "no chest pain or breathlessness, just a sore back"},
      {"E7", Frame::kHypothetical, "what are the signs of a blood clot such as a swollen calf?"},
      // ---- U1: back pain suggesting spread to the spine ----
      {"U1", Frame::kAffirmed, "I have new pain between my shoulder blades", "U1"},
      {"U1", Frame::kAffirmed, "my back pain is getting worse every week", "U1"},
      {"U1", Frame::kAffirmed, "the pain in my back wakes me up in the early hours", "U1"},
      {"U1", Frame::kAffirmed, "it's agony when I sneeze", "U1"},
      {"U1", Frame::kAffirmed, "I can't lie flat in bed any more", "U1"},
      {"U1", Frame::kNegated, "I don't have any new pain, my usual ache is the same"},
      {"U1", Frame::kHypothetical, "should I worry if my back pain gets worse when I cough?"},
      // ---- U2: pain not controlled by the prescribed plan ----
      {"U2", Frame::kAffirmed, "my pain is still severe even after my oramorph", "U2"},
      {"U2", Frame::kAffirmed, "I'm crying with it, the tablets aren't touching it", "U2"},
      {"U2", Frame::kAffirmed, "Nothing touches the pain, it's 9 out of 10", "U2"},
      {"U2", Frame::kAffirmed, "my dad's breakthrough morphine isn't helping at all", "U2"},
      {"U2", Frame::kNegated, "it's not 8 out of 10 or anything, more like a 3"},
      {"U2", Frame::kHypothetical, "what should I do if the morphine is not working anymore?"},
      // ---- U3: high calcium (or high blood sugar on steroids) ----
      {"U3", Frame::kAffirmed, "I'm drinking loads and peeing loads", "U3"},
      {"U3", Frame::kAffirmed, "my mum is so thirsty all the time and constipated", "U3"},
      {"U3", Frame::kAffirmed, "I'm on dexamethasone and I'm really thirsty and peeing all the time", "U3"},
      {"U3", Frame::kNegated, "I'm not thirsty or constipated, but my back is stiff"},
      {"U3", Frame::kHypothetical, "what are the signs of high calcium such as being thirsty and constipated?"},
      // ---- U4: opioid problems short of overdose ----
      {"U4", Frame::kAffirmed, "I haven't had a poo for four days even with laxatives", "U4"},
      {"U4", Frame::kAffirmed, "I accidentally took my morphine twice this morning", "U4"},
      {"U4", Frame::kAffirmed, "my husband is much more drowsy since they upped his oxycodone", "U4"},
      {"U4", Frame::kAffirmed, "I think I'm in withdrawal after missing my doses", "U4"},
      {"U4", Frame::kNegated, "no withdrawal symptoms at all after finishing my codeine course"},
      {"U4", Frame::kHypothetical, "what should I do if I accidentally took two doses?"},
      // ---- U5: passive suicidal thoughts, hopelessness ----
      {"U5", Frame::kAffirmed, "everyone would be better off without me", "U5"},
      {"U5", Frame::kAffirmed, "what's the point of going on like this", "U5"},
      {"U5", Frame::kAffirmed, "I'd rather not be here anymore", "U5"},
      {"U5", Frame::kAffirmed, "my dad says he doesn't want to live anymore", "U5"},
      {"U5", Frame::kNegated, "I'm scared but I don't feel hopeless"},
      // general_questions_escalate, as for E6.
      {"U5", Frame::kHypothetical, "is it normal to feel like everyone would be better off without me?", "U5"},
      // ---- U6: problems after a procedure ----
      {"U6", Frame::kAffirmed, "my wound from the kyphoplasty is red and oozing", "U6"},
      {"U6", Frame::kAffirmed, "since my vertebroplasty last week the pain is much worse"},  // U1 or U6: both urgent
      {"U6", Frame::kAffirmed, "the site where they put my pain pump is hot and swollen", "U6"},
      {"U6", Frame::kAffirmed, "my husband's stitches are weeping since his spinal surgery", "U6"},
      {"U6", Frame::kNegated, "no oozing from my wound and it looks clean"},
      {"U6", Frame::kHypothetical, "what should I do if my wound gets red and hot after surgery?"},
      // ---- U7: less pee or new swelling on NSAIDs ----
      {"U7", Frame::kAffirmed, "I'm on naproxen and I'm hardly peeing", "U7"},
      {"U7", Frame::kAffirmed, "since starting ibuprofen my ankles are swollen", "U7"},
      {"U7", Frame::kAffirmed, "my dad's feet have swelled up on the anti-inflammatories", "U7"},
      {"U7", Frame::kAffirmed, "I've been peeing much less since taking diclofenac", "U7"},
      {"U7", Frame::kNegated, "no swollen ankles and I'm peeing normally on ibuprofen"},
      {"U7", Frame::kHypothetical, "is it possible for naproxen to make your ankles swollen?"},
      // ---- Look-alikes that are not red flags (red-flags.md section 5) ----
      {"E1", Frame::kLookAlike, "I've had tingling in my fingers and toes since my paclitaxel, my team knows about it"},
      {"U1", Frame::kLookAlike, "my bones ache after the filgrastim injections"},
      {"U4", Frame::kLookAlike, "I feel a bit drowsy and constipated in the first few days on morphine"},
      {"E3", Frame::kLookAlike, "ibuprofen gives me a mildly upset stomach"},
      {"U5", Frame::kLookAlike, "I'm scared I'll end up in a wheelchair"},
      {"U5", Frame::kLookAlike, "I feel like a burden to my family and I cry a lot"},
      {"U2", Frame::kLookAlike, "can I double my morphine dose?"},
      {"E1", Frame::kLookAlike, "the leaflet says the bladder can be affected, why?"},
      {"E1", Frame::kLookAlike, "the weakness I had in 2022 fully recovered"},
      {"E1", Frame::kLookAlike, "what are the signs of cord compression?"},
      {"E2", Frame::kLookAlike, "what are the warning signs of opioid overdose"},
  };
  return kTable;
}
// clang-format on

const char* const kAllKinds[] = {"E1", "E2", "E3", "E4", "E5", "E6", "E7",
                                 "U1", "U2", "U3", "U4", "U5", "U6", "U7"};

// Not a behaviour test: keeps the table honest (the brief's minimum for every kind).
TEST(ShippedRedFlagTable, CoversEveryKind) {
  std::map<std::string, std::map<Frame, int>> count;
  for (const Case& c : Table()) ++count[c.kind][c.frame];
  for (const char* kind : kAllKinds) {
    EXPECT_GE(count[kind][Frame::kAffirmed], 3) << kind;
    EXPECT_GE(count[kind][Frame::kNegated], 1) << kind;
    EXPECT_GE(count[kind][Frame::kHypothetical], 1) << kind;
  }
}

// One line per reply, so a row that fails shows as one readable mismatch:
// "emergency E1 red-flag", "urgent U1 red-flag", or "none <topic>".
std::string Summary(const Reply& r, bool with_kind = true) {
  std::string s = UrgencyName(r.urgency);
  if (with_kind && !r.red_flag_kind.empty()) s += " " + r.red_flag_kind;
  return s + " " + r.topic;
}

std::string Expected(Urgency u, const std::string& kind, const std::string& topic_if_none) {
  if (u == Urgency::kNone) return std::string("none ") + topic_if_none;
  return std::string(UrgencyName(u)) + (kind.empty() ? "" : " " + kind) + " red-flag";
}

void CheckRows(Frame frame) {
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  for (const Case& c : Table()) {
    if (c.frame != frame) continue;
    const TurnResult r = s.engine().Turn(SessionState{}, c.text, s.clinic());
    const std::string want_kind = c.expect_kind ? c.expect_kind : "";
    const Urgency want =
        frame == Frame::kAffirmed ? UrgencyOfKind(c.kind) : UrgencyOfKind(want_kind);
    // A non-escalating reply may have any topic but red-flag: report the actual one.
    const std::string got = Summary(r.reply, want == Urgency::kNone || !want_kind.empty());
    const std::string expected =
        Expected(want, want_kind, r.reply.topic == "red-flag" ? "<not red-flag>" : r.reply.topic);
    EXPECT_EQ(got, expected) << FrameName(frame) << " " << c.kind << ": \"" << c.text << "\"\n"
                             << "decision: " << r.explanation.decision
                             << "\ncanonical: " << r.explanation.canonical;
    if (want != Urgency::kNone) {
      EXPECT_EQ(r.state.state, want == Urgency::kUrgent ? "escalated-urgent" : "escalated")
          << c.text;
    }
    // A negated or hypothetical row must name a symptom a rule matches, or it tests nothing.
    if (frame == Frame::kNegated || (frame == Frame::kHypothetical && want == Urgency::kNone)) {
      bool cancelled_as_expected = false;
      for (const auto& m : r.explanation.red_flags) {
        cancelled_as_expected |= frame == Frame::kNegated ? m.negated : m.hypothetical;
      }
      EXPECT_TRUE(cancelled_as_expected)
          << "no rule matched the symptom of \"" << c.text << "\" (rewrite it so it can fail)";
    }
  }
}

// Loading the shipped content costs most of a second in a Debug build and CTest runs every
// test in its own process, so the shipped-content checks are grouped into a few tests, one
// per behaviour.
// Affirmed reports escalate with their kind's urgency; negated, hypothetical and look-alike
// messages do not. Every row that fails is reported with its input, expected and actual.
TEST(ShippedRedFlagTable, EveryKindEscalatesOnlyWhenReported) {
  CheckRows(Frame::kAffirmed);
  CheckRows(Frame::kNegated);
  CheckRows(Frame::kHypothetical);
  CheckRows(Frame::kLookAlike);
}

// ---- Scope rules on the shipped language resources ----------------------------------

struct Expect {
  const char* text;
  Urgency urgency;
  const char* kind;  // "" when urgency is none
};

void CheckAll(const std::vector<Expect>& rows) {
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  for (const Expect& e : rows) {
    const TurnResult r = s.engine().Turn(SessionState{}, e.text, s.clinic());
    const std::string expected =
        Expected(e.urgency, e.kind, r.reply.topic == "red-flag" ? "<not red-flag>" : r.reply.topic);
    EXPECT_EQ(Summary(r.reply), expected)
        << "input: \"" << e.text << "\"\ndecision: " << r.explanation.decision
        << "\ncanonical: " << r.explanation.canonical;
  }
}

TEST(ShippedRedFlags, ScopeRulesPrecedenceAndReplies) {
  CheckAll({
      // Negation scope ends at "but" and at "and".
      {"no pain today but my wee keeps leaking", Urgency::kEmergency, "E1"},
      {"my legs are fine but I can't pee", Urgency::kEmergency, "E1"},
      {"no fever and my legs are weak", Urgency::kEmergency, "E1"},
      // Post-negation.
      {"my legs are fine", Urgency::kNone, ""},
      // Pseudo-negation is a hedged report.
      {"not sure my legs are weaker, but they might be", Urgency::kEmergency, "E1"},
      // Resolved in the same clause.
      {"the weakness I had in 2022 fully recovered", Urgency::kNone, ""},
      {"the numbness in my legs went away after radiotherapy years ago", Urgency::kNone, ""},
      // Current cues make it a report, even after "what if".
      {"what if my legs are still numb tomorrow", Urgency::kEmergency, "E1"},
      {"my legs gave way last night and I'm scared", Urgency::kEmergency, "E1"},
      // The most urgent kind wins.
      {"my back pain is getting worse every week and now my legs keep giving way",
       Urgency::kEmergency, "E1"},
      {"I'm drinking loads and peeing loads and now I've had a fit", Urgency::kEmergency, "E7"},
      {"the tablets aren't touching the pain and I threw up blood", Urgency::kEmergency, "E3"},
      // A red flag beats a greeting, thanks and a dose-change request.
      {"good morning, my dad took too many oxys and he is floppy", Urgency::kEmergency, "E2"},
      {"Thanks so much for the info earlier! Also my legs have gone numb since lunch",
       Urgency::kEmergency, "E1"},
      {"can I double my morphine? my legs keep giving way", Urgency::kEmergency, "E1"},
  });

  // Escalation replies put the action first, with the clinic's numbers.
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  const Clinic& demo = s.clinic("demo");
  ASSERT_EQ(demo.id, "demo");
  const TurnResult e = s.engine().Turn(SessionState{}, "my legs keep giving way", demo);
  EXPECT_EQ(e.reply.urgency, Urgency::kEmergency);
  EXPECT_EQ(e.reply.text.rfind("Call " + demo.emergency_number + " now", 0), 0u)
      << "emergency replies put the action first: " << e.reply.text;
  EXPECT_THAT(e.reply.text, HasSubstr(demo.after_hours_phone));
  EXPECT_THAT(e.reply.text, ::testing::Not(HasSubstr("{")));
  EXPECT_FALSE(e.reply.tell_them.empty());
  const TurnResult u =
      s.engine().Turn(SessionState{}, "my back pain is getting worse every week", demo);
  EXPECT_EQ(u.reply.urgency, Urgency::kUrgent);
  EXPECT_THAT(u.reply.text, HasSubstr(demo.care_team_phone));
  const TurnResult self = s.engine().Turn(SessionState{}, "I want to kill myself", demo);
  EXPECT_THAT(self.reply.text, HasSubstr(demo.crisis_line));
}

// Scope rules at their edges (engine/red_flags.cc; red-flags.md section 4): a negation inside
// the symptom's phrase ("his lips are not blue"), a general question that goes on after a
// comma ("..., like black poo?"), a hedge that contains "if" ("not sure if my legs are
// weaker" still escalates), and a symptom said to be over in the next clause.
TEST(ShippedRedFlags, ScopeRulesAtTheEdges) {
  CheckAll({
      {"his lips are not blue", Urgency::kNone, ""},
      {"his breathing is not slow", Urgency::kNone, ""},
      {"my legs are not weak", Urgency::kNone, ""},
      {"there was no crack when I fell", Urgency::kNone, ""},
      {"my back pain is not getting any worse", Urgency::kNone, ""},
      {"what bleeding signs should I watch for on naproxen, like black poo?", Urgency::kNone, ""},
      {"what are the signs of a blood clot, like a swollen calf?", Urgency::kNone, ""},
      {"what are the signs of high calcium, like being thirsty and constipated?", Urgency::kNone,
       ""},
      {"not sure if my legs are weaker", Urgency::kEmergency, "E1"},
      {"I had weak legs in 2022 but they fully recovered after surgery", Urgency::kNone, ""},
  });
}

// Figures of speech that hold a symptom word, and animals (language.json figurative_phrases,
// other_experiencers), cancel only the match they touch: a real report beside them escalates.
TEST(ShippedRedFlags, FiguresOfSpeechAndAnimalsAreNotReports) {
  CheckAll({
      {"my hay fever is awful this week, can I take an antihistamine with morphine?",
       Urgency::kNone, ""},
      {"I'm dying to know if acupuncture works", Urgency::kNone, ""},
      {"should I use hot and cold packs on my back?", Urgency::kNone, ""},
      {"I nearly wet myself laughing at the nurse today", Urgency::kNone, ""},
      {"our cat had a fit yesterday but the vet says she is fine", Urgency::kNone, ""},
      {"my dog's back legs have gone weak, he's 14", Urgency::kNone, ""},
      {"hay fever, and a temperature of 38.5 two days after chemo", Urgency::kEmergency, "E4"},
      {"the cat is fine but my legs are weak since this morning", Urgency::kEmergency, "E1"},
  });
}

// A frame anywhere in the message (language.json message_frames) makes its symptoms a
// question asked in advance or something read: unless the symptom's clause says "now".
TEST(ShippedRedFlags, QuestionsAskedAheadAndThingsReadAreNotReports) {
  CheckAll({
      {"Is a temperature of 38 on chemo serious? Asking ahead because I start next week.",
       Urgency::kNone, ""},
      {"I read a forum post where someone lost control of their bladder. Is that common?",
       Urgency::kNone, ""},
      {"asking ahead, but my legs have been weak since this morning", Urgency::kEmergency, "E1"},
  });
}

// The shipped language resources and rules at their edges: the spaced "can not", the pain
// idiom "killing me" (not self-harm), and mild drowsiness on a new opioid (a look-alike).
TEST(ShippedRedFlags, ShippedResourcesAtTheEdges) {
  CheckAll({
      {"I can not pee", Urgency::kEmergency, "E1"},
      {"my mum can not feel her legs", Urgency::kEmergency, "E1"},
      {"she is just a bit drowsy on her new morphine", Urgency::kNone, ""},
  });
  const auto& s = LoadShipped();
  ASSERT_SHIPPED(s);
  for (const char* text : {"my back is killing me", "the pain is killing me"}) {
    const TurnResult r = s.engine().Turn(SessionState{}, text, s.clinic());
    EXPECT_NE(r.reply.red_flag_kind, "E6")
        << "input: \"" << text << "\" got the suicide crisis reply: " << r.explanation.decision;
  }
}

}  // namespace
}  // namespace backline::engine
