// Content lint: problems that do not stop the content from working but that a
// curator or clinician should look at, found on compiled content.
//
//   LintOptions opts;
//   opts.today = "2026-11-26";               // injectable for tests
//   for (const LintFinding& f : Lint(*engine, opts)) ... f.diag.ToString()
//
// Checks (the thresholds are ContentSpec::lint, from language.json "lint"):
//   reading-level      an answer's Flesch-Kincaid grade is above max_grade
//   answer-length      an answer is longer than a phone screen
//   sources            a source has no link (an entry with no sources at all
//                      is a warning of Engine::Compile already)
//   review-age         "reviewed" is older than max_review_age_days (or in the
//                      future), or "next_review" has passed
//   review-owner       an entry without "reviewed_by" or "next_review"
//   quick-reply        a quick reply the content offers (welcome, intents, the
//                      labels of dialog states' expected answers) does not lead
//                      where it should: typed or tapped back in the state it
//                      is offered in, it gets a fallback or a clarifying
//                      question, or a label takes another transition
//   paraphrase-confusion  a paraphrase the engine answers with another entry
//                      (or offers another entry first), or whose content terms
//                      overlap another entry's paraphrase more than
//                      max_paraphrase_overlap (Jaccard)
//   paraphrase-escalates  an FAQ paraphrase that itself triggers a red-flag
//                      escalation: a patient asking it gets the escalation, not
//                      the answer
//   red-flag-example   (an error) a red-flag rule's example does not escalate
//                      to the rule's kind
//   red-flag-word      (an error) a red-flag pattern names a word or phrase the
//                      normaliser always rewrites (a synonym, a contraction, a
//                      repaired spelling), so that part of the rule can never
//                      match: "hurt myself" is "pain myself" by then; the
//                      same for a concept's word (knowledge/concepts.json)
//   concept-unused     a concept that no rule's combination names
// Every check runs the engine's own analyser and Turn, so synonyms, spelling
// repair and the red-flag scope rules count exactly as they do for patients.
// Answers are measured as a patient of the default clinic reads them
// (Engine::Render with a default Clinic).
//
// Pure: no I/O. Thread safety: reads only the const Engine.
#ifndef BACKLINE_ENGINE_LINT_H_
#define BACKLINE_ENGINE_LINT_H_

#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "engine/status.h"

namespace backline::engine {

struct LintOptions {
  // The date reviews are aged against, YYYY-MM-DD; empty skips review-age.
  std::string today;
};

struct LintFinding {
  std::string check;     // "reading-level", "answer-length", ... (above)
  std::string entry_id;  // the FAQ entry concerned, or empty
  std::string rule_id;   // the red-flag rule concerned, or empty
  Diagnostic diag;       // severity, location and the message
};

// Runs every check; findings come in content order, check by check.
std::vector<LintFinding> Lint(const Engine& engine, const LintOptions& opts);

// Readability, exposed for tests and the review sheet.
struct TextStats {
  int sentences = 0;
  int words = 0;
  int syllables = 0;
  // 0.39 * words/sentence + 11.8 * syllables/word - 15.59; 0 with no words.
  double grade = 0;
};

// Syllables of one English word (letters only; case ignored): vowel groups,
// less a silent final "e" / "-es" / "-ed", with "-le" and "-ia"/"-io"-style
// exceptions; at least 1 for a non-empty word. A heuristic: right for most
// everyday words, off by one on some ("every" counts 3).
int CountSyllables(std::string_view word);

// Sentences end at . ! ? (followed by a space and a capital, a digit, a quote,
// or the end of the text; "e.g. this" does not end one) and at line breaks.
// A number counts as one word of one syllable per digit, at most 3.
TextStats ReadingStats(std::string_view text);

// Days from 1970-01-01 for a YYYY-MM-DD date; false when it is not one.
bool DaysFromCivil(std::string_view date, long* days);

}  // namespace backline::engine

#endif  // BACKLINE_ENGINE_LINT_H_
