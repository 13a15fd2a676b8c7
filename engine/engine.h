// Engine: the compiled, immutable snapshot of all content, and one conversation turn.
//
//   auto engine = Engine::Compile(spec, &diags);  // nullptr when diags holds an error
//   TurnResult r = engine->Turn(state, "can i take ibuprofen with chemo", clinic);
//   state = r.state;                              // the caller keeps the session state
//
// A turn is a pure function of (snapshot, session state, text, clinic): the
// order of checks is fixed and documented in README.md ("How a reply is
// chosen"):
//   1. red flags (every state; cannot be overridden)        -> escalation
//   2. the current state's expected answers and offered quick replies
//   2b. the classifier's safety net, when the rules are silent -> escalation
//       or the screening questions (engine/classifier.h)
//   3. refusals (diagnosis, dose changes)                   -> out-of-scope
//   4. requests (capabilities, a human)
//   5. FAQ retrieval, when confident                        -> answer
//   6. small talk (greeting, thanks, goodbye), flows ("my back hurts")
//   7. clarify with the top candidates, or an honest fallback
//
// Thread safety: a const Engine is safe to share across threads
// (std::shared_ptr<const Engine>); Turn holds no locks and touches no shared
// mutable state.
#ifndef BACKLINE_ENGINE_ENGINE_H_
#define BACKLINE_ENGINE_ENGINE_H_

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/analyzer.h"
#include "engine/concepts.h"
#include "engine/content.h"
#include "engine/dialogue.h"
#include "engine/pattern.h"
#include "engine/red_flags.h"
#include "engine/retrieval.h"

namespace backline::engine {

// How a reply was chosen. ReplyKindName gives the name the reply frame's "kind" carries.
enum class ReplyKind {
  kWelcome,     // "welcome": the first message of a conversation
  kEscalation,  // "escalation": a red flag (the reply's urgency says how urgent)
  kAnswer,      // "answer": an FAQ entry's answer
  kClarify,     // "clarify": not confident; the top candidates are offered as quick replies
  kFallback,    // "fallback": nothing fits (the empty message too)
  kIntent,      // "intent": small talk, a request (a person, the service), a flow's opening
  kPrompt,      // "prompt": a dialog state asking something
  kRefusal,     // "refusal": out of scope (a diagnosis, a dose change, a prognosis)
};
const char* ReplyKindName(ReplyKind kind);
// False, and *out untouched, for a name ReplyKindName never gives.
bool ParseReplyKind(std::string_view name, ReplyKind* out);

// A person's request to be called back by the clinic (flow.json: the consent state's "yes"),
// for the server to record and send on. Made only with the person's consent: when they
// decline, no request is made at all and nothing about them leaves the conversation.
struct CallbackRequest {
  std::string first_name;
  std::string phone_e164;     // "+447700900123"
  std::string phone_display;  // as read back to them: "07700 900123"
  std::string best_time;      // in their words ("after 3pm"); may be empty
  // Always true: the person said yes to sharing their name, number and this conversation
  // with the clinic. Kept so that the record says so.
  bool consent = true;
};

struct Reply {
  std::string text;
  std::string topic;
  Urgency urgency = Urgency::kNone;
  ReplyKind kind = ReplyKind::kPrompt;
  std::string entry_id;       // the FAQ entry answered with, if any
  std::string intent_id;      // the intent that answered, if any
  std::string red_flag_kind;  // "E1".."U7" when escalating
  std::string tell_them;      // for emergencies: what to say on the phone
  double score = 0;           // the top candidate's coverage (0..1)
  std::vector<std::string> quick_replies;
  std::vector<Source> sources;
  bool unanswered = false;  // a fallback or a low-confidence reply: for the curators' list
  // The reply asks the red-flag screening questions instead of escalating
  // (it enters a state marked "screening"; contract section 2).
  bool screening = false;
  // Set by the turn that completes a callback request. Its text then holds "{reference}",
  // which the caller replaces with the request's reference (Engine::WithReference).
  std::optional<CallbackRequest> callback;
};

// Why the reply was chosen: for `backline ask --explain` and curators' tools.
struct Explanation {
  std::string folded;
  std::string canonical;
  std::vector<std::pair<std::string, std::string>> repairs;
  std::vector<std::pair<std::string, std::string>> synonyms;
  std::vector<std::string> terms;
  std::vector<RedFlagMatch> red_flags;
  std::vector<std::pair<std::string, Candidate>> candidates;  // entry id, candidate
  std::string classifier;  // the classifier's scores, when it was asked
  std::string state_before;
  std::string state_after;
  std::string decision;  // one line, e.g. "answer: coverage 0.72 >= 0.50"
};

struct TurnOptions {
  // Fill TurnResult::explanation. The server does not read it: without it a
  // turn skips the explanation's copies and its decision line.
  bool explain = true;
};

struct TurnResult {
  Reply reply;
  SessionState state;
  Explanation explanation;
  // The message was taken as personal data (a name or phone number into a slot marked
  // "personal"): the caller must not log it, and should store it only where it deletes it
  // with the conversation.
  bool personal_input = false;
};

class Engine {
 public:
  // Compiles content into a snapshot. Every problem found is appended to diags
  // (errors and warnings, with source locations); returns nullptr if any is an
  // error.
  static std::shared_ptr<const Engine> Compile(ContentSpec spec, std::vector<Diagnostic>* diags);

  TurnResult Turn(const SessionState& state, std::string_view text, const Clinic& clinic,
                  TurnOptions options = {}) const;

  // The first message of a conversation, with the clinic's details filled in.
  Reply Welcome(const Clinic& clinic) const;

  // Fills {clinic_name}, {care_team_phone}, {after_hours_phone},
  // {emergency_number} and {crisis_line}; a phone the clinic did not configure
  // reads "the number on your clinic card".
  // {callback_response_time} and {phone_example} (a number written as people in the
  // clinic's country write one) as well. Other {placeholders}, such as {reference}, are
  // left as they are.
  static std::string Render(std::string_view text, const Clinic& clinic);

  // What a reply that completes a callback request (Reply::callback) holds where the
  // request's reference goes; the caller fills it in with WithReference.
  static constexpr std::string_view kReferencePlaceholder = "{reference}";
  // `text` with every kReferencePlaceholder replaced by `reference`.
  static std::string WithReference(std::string_view text, std::string_view reference);

  const ContentSpec& content() const { return spec_; }
  const Analyzer& analyzer() const { return *analyzer_; }
  const FaqEntry* FindEntry(std::string_view id) const;
  // The topic with this id (knowledge/topics.json), or nullptr.
  const TopicSpec* FindTopic(std::string_view id) const;
  // The topics FAQ entries are filed under, in topics.json's order.
  std::vector<std::string> FaqTopicIds() const;

  // The topics the engine files its own replies under; topics.json must have each (Compile
  // says so when it does not).
  static constexpr const char* kRedFlagTopic = "red-flag";       // every escalation
  static constexpr const char* kWelcomeTopic = "greeting";       // the welcome
  static constexpr const char* kFallbackTopic = "out-of-scope";  // a fallback, an empty message
  static constexpr const char* kPromptTopic = "capabilities";    // a dialog prompt with none
  size_t vocabulary_size() const { return analyzer_->speller().vocabulary_size(); }

 private:
  // The steps of Turn, in order, and the working state they share (engine.cc).
  class TurnSteps;
  // The steps of Compile, in order, and what they hand on (engine.cc).
  class Compiler;

  struct CompiledIntent {
    const IntentSpec* spec;
    std::unique_ptr<Pattern> pattern;               // may be null: concepts only
    std::vector<std::vector<size_t>> combinations;  // indices into concepts_
    std::unique_ptr<Pattern> unless;
  };

  struct Ranking {
    std::vector<Candidate> candidates;
    std::string segment;  // the part of the message ranked, when not the whole
  };

  // The intents of one kind matched in one pass: `set` holds their patterns,
  // and `intents` says which element of intents_ each set index is, in
  // intents_ order. `set` is null when re2 could not build it.
  struct IntentSet {
    std::unique_ptr<PatternSet> set;
    std::vector<size_t> intents;  // those with patterns
    bool any_combinations = false;
  };
  static constexpr size_t kIntentKinds = static_cast<size_t>(IntentSpec::Kind::kFlow) + 1;

  Engine() = default;
  // The first intent of `kind`, in content order, whose pattern matches and
  // whose `unless` does not.
  // Where concepts occur in a message, worked out once per turn when an
  // intent first needs them.
  struct TurnConcepts {
    bool done = false;
    ConceptIndex::Occurrences occ;
  };
  const CompiledIntent* MatchIntent(IntentSpec::Kind kind, const Analysis& a,
                                    TurnConcepts* concepts = nullptr) const;
  // True when the intent's matches cover every content word of the message
  // (ignoring `skip`): "hello there, anyone around?" is only a greeting; "hi,
  // is ibuprofen safe?" is not.
  bool OnlyIntent(const CompiledIntent& intent, const Analysis& a,
                  const std::vector<bool>& skip) const;
  // Ranks FAQ entries for the message; a long message is also ranked clause by
  // clause and sentence by sentence, preferring the part that asks a question.
  Ranking Rank(const Analysis& a, const std::vector<bool>& skip) const;
  // An answer is confident when it covers enough of the question with enough
  // evidence, or when, in a long message, it stands out clearly from the next
  // candidate.
  bool Confident(const Candidate& c, double second_score) const;
  // A message's or a paraphrase's content terms, sorted and joined.
  static std::string TermsKey(std::vector<std::string> terms);
  Reply AnswerWith(size_t entry, const std::vector<Candidate>& related, const Clinic& clinic) const;
  // The kind's reply, in its wording for the person the report is about when
  // it has one.
  Reply Escalate(const RedFlagKind& kind, RedFlagDetector::Person person,
                 const Clinic& clinic) const;
  std::string Message(const std::string& key) const;
  // Enters state `id` (following skip_if_slot), appending its prompt to reply.
  void Enter(const std::string& id, SessionState* state, Reply* reply, const Clinic& clinic) const;
  // Render, then {slot.NAME}: the value of that slot in `slots` ("" when it has none).
  static std::string Say(std::string_view text, const Clinic& clinic,
                         const std::map<std::string, std::string>& slots);
  // A captured name that is a word this content is about ("Morphine", "Chemo"): not a name.
  bool NamesContent(std::string_view name) const;

  ContentSpec spec_;
  std::unordered_map<std::string, const TopicSpec*> topics_;  // into spec_.topics
  std::unique_ptr<Analyzer> analyzer_;
  std::unique_ptr<RedFlagDetector> red_flags_;
  std::unique_ptr<Bm25Index> index_;
  std::unique_ptr<DialogGraph> dialog_;
  // Sorted content terms of every paraphrase -> its entry (-1 when two entries
  // share them): a message that is a paraphrase gets that entry.
  std::unordered_map<std::string, long> paraphrase_keys_;
  std::vector<CompiledIntent> intents_;
  ConceptIndex concepts_;  // for intents' concept combinations
  // RetrievalSpec::clarify_concept's index in concepts_, if set.
  std::optional<size_t> clarify_concept_;
  // Offered after every answer, after its related questions (flow.json messages
  // "answer_quick_replies").
  std::vector<std::string> answer_quick_replies_;
  std::array<IntentSet, kIntentKinds> intent_sets_;  // by IntentSpec::Kind
  // Terms of keywords and synonym targets: words that name something this content is about
  // ("morphine"), as opposed to general words ("time").
  std::unordered_set<std::string> domain_terms_;
  // Entry index by id, and the canonical text of each entry's first question
  // (the label it is offered under as a quick reply), both built once at
  // compile time.
  std::unordered_map<std::string, size_t> entry_index_;
  std::vector<std::string> offer_canonical_;
  // The content words of each entry's first question: what a follow-up
  // question is read with (RetrievalSpec::follow_up_terms).
  std::vector<std::vector<std::string>> context_terms_;
  // The entry a short follow-up asks about, read with the words of the entry
  // answered last turn (`previous`), or nullopt; never `previous` itself.
  std::optional<Candidate> FollowUp(const Analysis& a, const std::vector<bool>& skip,
                                    size_t previous) const;
  // The entry index for an id, or -1.
  long EntryIndex(const std::string& id) const;
};

}  // namespace backline::engine

#endif  // BACKLINE_ENGINE_ENGINE_H_
