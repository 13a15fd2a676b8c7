// The red-flag classifier of the shipped content: a fastText model (Debian's
// libfasttext) behind engine::RedFlagClassifier, and the loading of
// knowledge/classifier.json, which names the model file and the thresholds.
//
//   knowledge/classifier.json   {"model": "red_flags.ftz", "screen_threshold": 0.18,
//                                "escalate_threshold": 0.5, "training": {...}}
//
// The model is trained by tools/train-classifier from the labelled sets in
// tests/eval/ (every set the team has, growing with every blind set); the
// "training" object records what it was trained on, and a CTest test fails when
// those sets changed without a retrain.
//
// Thread safety: a loaded classifier is immutable; Score may be called from any
// number of threads at once.
#ifndef BACKLINE_KNOWLEDGE_CLASSIFIER_H_
#define BACKLINE_KNOWLEDGE_CLASSIFIER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/classifier.h"
#include "engine/status.h"

namespace backline::knowledge {

// The text a model sees: ASCII letters lowercased, apostrophes dropped ("can't"
// -> "cant"), every other run of bytes that is not a letter or a digit one
// space, trimmed. tools/train-classifier normalises its training lines the same
// way (tests/knowledge/classifier_test.cc holds the two to the same cases).
std::string ClassifierText(std::string_view text);

// Loads a fastText supervised model trained with the labels "emergency",
// "urgent" (and "none") and the red-flag kinds ("E1".."U7"), one-vs-all.
// Returns nullptr and appends an error at `where` when the file is missing, too
// large (over 64 MiB) or not a fastText model.
std::shared_ptr<const engine::RedFlagClassifier> LoadFastTextClassifier(
    const std::string& path, const engine::SourceLocation& where,
    std::vector<engine::Diagnostic>* diags);

// Reads `dir`/classifier.json (optional: without it there is no classifier)
// and loads the model it names, relative to `dir`.
bool LoadClassifier(const std::string& dir, engine::ClassifierSpec* spec,
                    std::vector<engine::Diagnostic>* diags);

}  // namespace backline::knowledge

#endif  // BACKLINE_KNOWLEDGE_CLASSIFIER_H_
