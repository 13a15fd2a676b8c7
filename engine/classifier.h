// A learned second opinion on red flags, beside the rules (engine/red_flags.h).
//
// The rules are the explainable, curated core; a classifier trained on the
// project's labelled message sets catches reports that no rule names yet. It
// only ever adds caution: when the rules are silent and the classifier is
// confident that a message reports a red flag, the engine asks the red-flag
// screening questions, or above a higher threshold escalates to the kind it
// names. It never cancels a rule's escalation.
//
// The engine sees only this interface (like engine::Retriever), so it stays a
// pure library: the fastText implementation lives in knowledge/classifier.h,
// and tests can give the engine a classifier of their own.
//
// Thread safety: implementations must be safe to call from any number of
// threads at once (a const Engine shares one).
#ifndef BACKLINE_ENGINE_CLASSIFIER_H_
#define BACKLINE_ENGINE_CLASSIFIER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace backline::engine {

// The classifier's reading of one message. Each probability is on its own
// (one-vs-all): `emergency` and `urgent` say how likely the message reports a
// red flag of that tier, and the kinds are the most likely kind of each tier
// ("E1".."E7", "U1".."U7"), empty when the model names none.
struct ClassifierScores {
  double emergency = 0;
  double urgent = 0;
  std::string emergency_kind;
  double emergency_kind_probability = 0;
  std::string urgent_kind;
  double urgent_kind_probability = 0;
  // The larger of the two tiers' probabilities.
  double flag() const { return emergency > urgent ? emergency : urgent; }
};

class RedFlagClassifier {
 public:
  virtual ~RedFlagClassifier() = default;
  // Scores the message as the person typed it (the implementation normalises
  // it the way its training data was normalised).
  virtual ClassifierScores Score(std::string_view text) const = 0;
  // Identifies the model: shown in explanations, the review sheet and /healthz.
  virtual const std::string& version() const = 0;
};

// knowledge/classifier.json: the model and what the engine does with it.
struct ClassifierSpec {
  std::shared_ptr<const RedFlagClassifier> model;  // null: no classifier
  // Rules silent and flag() at least this: ask the screening questions.
  double screen_threshold = 0.1;
  // Rules silent and a tier's probability at least this: escalate to the
  // tier's most likely kind (the emergency tier when both are).
  double escalate_threshold = 0.5;
  // The first-look figures of the newest blind set (tests/eval/BLIND.md), as
  // classifier.json states them: printed by `backline check`.
  std::string first_look;
  SourceLocation where;  // for diagnostics
};

}  // namespace backline::engine

#endif  // BACKLINE_ENGINE_CLASSIFIER_H_
