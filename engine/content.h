// The curated content the engine is compiled from, as plain data.
//
// knowledge/ and dialogs/ parse the curators' files into a ContentSpec (with
// the source location of every item, for error messages); Engine::Compile
// (engine/engine.h) turns it into an immutable, shareable snapshot. Nothing
// here does I/O.
#ifndef BACKLINE_ENGINE_CONTENT_H_
#define BACKLINE_ENGINE_CONTENT_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/classifier.h"
#include "engine/status.h"

namespace backline::engine {

// How soon the person must get help. Ordered: a higher value is more urgent.
enum class Urgency { kNone = 0, kUrgent = 1, kEmergency = 2 };

// "none", "urgent", "emergency".
const char* UrgencyName(Urgency u);
// Parses the names above; false for anything else.
bool ParseUrgency(std::string_view name, Urgency* out);

// A topic a reply is filed under (knowledge/topics.json). The ids are the outside contract's
// (shared/docs/topics.md).
struct TopicSpec {
  std::string id;
  std::string title;  // what curators see
  bool faq = false;   // FAQ entries may be filed under it; otherwise a conversation topic
  SourceLocation where;
};

struct Source {
  std::string title;
  std::string url;
};

struct FaqEntry {
  std::string id;
  std::string topic;
  std::vector<std::string> questions;  // paraphrases, as patients type them
  std::vector<std::string> keywords;
  std::string answer;  // may hold {placeholders} filled from the clinic
  std::vector<Source> sources;
  std::string reviewed;     // YYYY-MM-DD
  std::string reviewed_by;  // who reviewed it (a name and role), or empty
  std::string next_review;  // YYYY-MM-DD, or empty
  SourceLocation where;
  std::vector<SourceLocation> question_where;  // parallel to questions (may be shorter)
};

// Words that mean the same thing to the matcher: every term is rewritten to
// canonical. A term may be several words ("pass urine"); the longest term wins.
struct SynonymGroup {
  std::string canonical;
  std::vector<std::string> terms;
  SourceLocation where;
};

// The language resources the normaliser and the red-flag scope rules use.
struct LanguageSpec {
  std::map<std::string, std::string> contractions;  // "can't" -> "cannot" (apostrophe optional)
  std::vector<std::string> stopwords;               // ignored by retrieval
  std::vector<std::string> negation_cues;           // "no", "not", "never", "without", ...
  std::vector<std::string> pseudo_negations;        // "not sure", "no better": not negations
  std::vector<std::string> post_negation_cues;      // "is fine", "are ok": negate what precedes
  std::vector<std::string> hypothetical_cues;       // "if", "what if", "signs of", ...
  std::vector<std::string> current_cues;            // "since", "today", "still": a report
  std::vector<std::string> resolved_cues;           // "recovered", "went away": in the past
  // "before", "like this": in the symptom's clause, these make "never" before
  // it mean "for the first time" ("never had numbness like this before" is a
  // report), not a negation.
  std::vector<std::string> novelty_cues;
  // "one day", "eventually": anywhere in the clause, the symptom is a possibility.
  std::vector<std::string> future_cues;
  // Anywhere in the clause, these make the symptom imagined, dreamt or dreaded
  // ("if my legs ever started to feel weak", "I dreamt I could not move my
  // legs"), even when the clause also has a current cue.
  std::vector<std::string> imagined_cues;
  std::vector<std::string> clause_breaks;  // "but", "however", "although", ...
  // A clause starting with one of these continues the one before for
  // hypothetical cues: "what signs should I watch for, like black poo?" is
  // still a general question.
  std::vector<std::string> example_joiners;  // "like", "such as", "for example"
  // These contain a hypothetical cue but frame a hedged report: "not sure if my
  // legs are weaker" still escalates.
  std::vector<std::string> hedges;  // "not sure if", "wonder if"
  // Figures of speech and compounds that hold a symptom word but report no
  // symptom ("hay fever", "dying to know", "slow breathing exercises"): a
  // red-flag match that shares a word with one is cancelled. Written in
  // canonical words, as rules are.
  std::vector<std::string> figurative_phrases;
  // Words for someone a report cannot be about: pets and other animals ("our
  // cat had a fit", "my dog's back legs have gone weak"). One of them before a
  // match, in its clause, cancels the match.
  std::vector<std::string> other_experiencers;
  // Who a report is about, for a kind's self_ and other_ replies: the
  // nearest of these words before the end of the match, in its sentence.
  std::vector<std::string> writer_words;  // "i", "me", "myself"
  std::vector<std::string> other_people;  // "he", "she", "my husband", ...
  // Anywhere in a message, these make every symptom in it a question asked in
  // advance or something read or heard, not a report ("asking ahead because I
  // start chemo next week", "I read a forum post where..."), unless the
  // symptom's own clause says it is happening now ("since", "today").
  std::vector<std::string> message_frames;
  std::vector<std::string> negation_breaks;  // "and", "then": end a negation's reach
  int negation_window = 6;                   // words between a cue and the symptom
  // The most tokens a red-flag rule's concept combination may span, from the
  // first word of its first concept to the last word of its last, within one
  // clause.
  int concept_window = 10;
  std::vector<std::string> dictionaries;  // word-list files (paths), for the loader
  SourceLocation where;
};

struct RedFlagKind {
  std::string id;  // "E1" ... "U7"
  std::string name;
  Urgency urgency = Urgency::kEmergency;
  std::string reply;      // with {placeholders}
  std::string tell_them;  // what to say on the phone (emergency kinds)
  // Worded for who the report is about, when the message says (see
  // LanguageSpec::writer_words): the person writing ("I took too many") or
  // someone else ("he took too many"). Empty: `reply` and `tell_them` serve.
  std::string self_reply, self_tell_them;
  std::string other_reply, other_tell_them;
  // The FAQ entry that answers a general question about this kind ("what are
  // the signs of
  // ...?"): used when a message names this red flag only hypothetically and no
  // FAQ answer is confident. May be empty.
  std::string general_entry;
  SourceLocation where;
};

// A clinical concept for red-flag rules (knowledge/concepts.json): a plain list
// of lay words and multi-word expressions that a nurse can read and extend
// ("lower-limb": leg, thigh, calf, shin, ...). Words are compared on their
// stems, after normalisation, spelling repair and synonyms, so they are
// written in canonical words, as patterns are.
struct Concept {
  std::string id;
  std::string note;  // what the concept covers, in words (for reviewers)
  std::vector<std::string> words;
  SourceLocation where;
  std::vector<SourceLocation> word_where;  // parallel to words
};

// One red-flag rule: any pattern matching an affirmed, current report triggers
// its kind.
struct RedFlagRule {
  std::string id;
  std::string kind;                   // a RedFlagKind id
  std::vector<std::string> patterns;  // re2, matched against the canonical text
  // Concept combinations: each is a list of Concept ids that must all occur
  // in one clause, in any order, within LanguageSpec::concept_window tokens
  // ("lower-limb" with "loss-of-power"). A rule needs patterns, combinations
  // or both.
  std::vector<std::vector<std::string>> concepts;
  std::vector<SourceLocation> concepts_where;  // parallel to concepts
  std::vector<std::string> unless;             // re2: any match anywhere in the message cancels
  std::vector<std::string> requires_any;       // re2: when set, one must match somewhere too
  bool general_questions_escalate = false;     // true: a hypothetical frame does not cancel it
  std::string note;                            // what the rule is for, in words (for reviewers)
  // Messages that must escalate to `kind` (checked by engine/lint.h; shown on
  // the clinical review sheet).
  std::vector<std::string> examples;
  SourceLocation where;
  std::vector<SourceLocation> pattern_where;   // parallel to patterns
  std::vector<SourceLocation> unless_where;    // parallel to unless
  std::vector<SourceLocation> requires_where;  // parallel to requires_any
  std::vector<SourceLocation> example_where;   // parallel to examples
};

// A global intent: small talk, requests for a person, refusals, or the start of
// a flow.
struct IntentSpec {
  enum class Kind {
    kSmallTalk,  // greeting, thanks, goodbye: loses to a confident FAQ answer
    kRequest,    // capabilities, a human: wins over FAQ retrieval
    kRefusal,    // diagnosis, dose changes: wins over everything but a red flag
    kFlow,       // starts a dialog state when no FAQ answer is confident
  };
  std::string id;
  std::string topic;
  Kind kind = Kind::kSmallTalk;
  std::vector<std::string> patterns;  // re2, matched against the canonical text
  // Concept combinations (knowledge/concepts.json): each matches when all its
  // concepts occur within concept_window words ("can I" + a medicine + a
  // change), across sentences.
  std::vector<std::vector<std::string>> concepts;
  std::vector<SourceLocation> concepts_where;  // parallel to concepts
  std::vector<std::string> unless;             // re2: any match cancels this intent
  std::string reply;
  std::vector<std::string> quick_replies;
  std::string next_state;  // empty: stay in / return to the start state
  // The message it matches asks about something to come ("is it ok to double
  // my gabapentin tonight?"), not what has happened: when no red-flag rule
  // saw a symptom, the red-flag classifier may add the screening questions
  // but does not escalate on its own. Requests are always read this way.
  bool question_only = false;
  SourceLocation where;
  std::vector<SourceLocation> pattern_where;
};

// What a state does when it is entered through a transition.
struct Action {
  std::string escalate;  // a red-flag kind id to escalate to, or empty
  // A slot whose value names the red-flag kind to escalate to (the screening
  // slot: the kind the classifier suspected); when the slot names no kind, the
  // transition goes on to `next`.
  std::string escalate_slot;
  std::string answer;  // an FAQ entry id to answer with, or empty
  std::string reply;   // text to say before the next state's prompt, or empty
  // Ask the clinic to call the person back (Reply::callback), with the values of these
  // slots; `callback` false: no request. Taken only as the answer "yes" to asking consent
  // (flow.json), so a request always carries the person's consent.
  bool callback = false;
  std::string callback_first_name_slot;
  std::string callback_phone_slot;          // E.164
  std::string callback_phone_display_slot;  // as read back to the person
  std::string callback_best_time_slot;
};

// A state that takes a free-text answer (flow.json "capture"): what the person types, when it
// is an answer of this kind (engine/capture.h), fills `slot` and leads to `next`. A message
// that is not one goes on through the turn as any other message would (a question gets its
// answer, a request its reply); when nothing else fits, the state's `ask_again` is said and
// its prompt asked again. The state's transitions ("Cancel", a choice) are matched first.
struct CaptureSpec {
  enum class Kind { kName, kPhone, kText };
  std::string slot;
  Kind kind = Kind::kText;
  // For kPhone: the slot that gets the number as read back to the person ("07700 900123"),
  // while `slot` gets it in E.164 ("+447700900123"). May be empty.
  std::string display_slot;
  std::string next;        // state id; empty means the start state
  std::string reply;       // said before the next state's prompt, or empty
  size_t max_length = 80;  // kText: the longest answer taken, in bytes
  SourceLocation where;
};

// An expected answer in a state and where it leads.
struct Transition {
  std::string on;                     // "yes", "no", or a choice label the person can type or tap
  std::vector<std::string> patterns;  // extra re2 patterns that count as this answer
  std::string set_slot;               // slot to set, or empty
  std::string slot_value;
  std::string next;  // state id; empty means the start state
  Action action;
  SourceLocation where;
};

struct DialogStateSpec {
  std::string id;
  std::string prompt;                   // said on entry (after any action text)
  std::string topic;                    // the topic of the prompt reply
  SourceLocation topic_where;           // where `topic` is written
  std::vector<Transition> transitions;  // the expected answers
  // When this slot already has a value, entering the state takes the transition
  // whose `on` equals that value at once, without asking again.
  std::string skip_if_slot;
  bool terminal = false;  // a state that is meant to have no way out
  // Its prompt asks the red-flag screening questions: a reply that enters it
  // carries "screening": true (contract section 2).
  bool screening = false;
  // The state takes a free-text answer into a slot; nullopt: it takes only its transitions.
  std::optional<CaptureSpec> capture;
  // Said, with the prompt again, when a message fits nothing in this state (no transition,
  // no capture, no question the turn could answer), instead of the clarify or fallback reply
  // that would leave the state. Empty: the message leaves the state as any other would.
  // Required for a state that captures.
  std::string ask_again;
  // The state is part of a flow that holds personal slots (a name, a phone number): a turn
  // that ends in a state without this mark clears every personal slot (SlotSpec::personal),
  // whether the flow was completed, cancelled or interrupted by a red flag or a question.
  bool personal = false;
  SourceLocation where;
};

struct SlotSpec {
  std::string id;
  std::string question;
  std::vector<std::string> values;
  SourceLocation where;
  // Identifying (a name, a phone number): kept in the session state only while the dialog is
  // in a state marked `personal`, and only captured by such states.
  bool personal = false;
};

struct DialogSpec {
  std::string start_state = "idle";
  std::string escalated_state;  // entered after any red-flag reply; empty: start state
  // Entered after an urgent (not emergency) red-flag reply, whose next steps
  // differ: nobody is on the way, the team calls back. Empty: escalated_state.
  std::string urgent_escalated_state;
  // Entered when a message may report a red flag that no rule names (the
  // classifier's safety net, engine/classifier.h); empty: no safety net.
  std::string screening_state;
  // The slot the safety net fills with the kind the classifier suspects, for a
  // screening answer's "escalate_slot"; empty: not kept.
  std::string screening_slot;
  // The slot the engine keeps the FAQ entry answered last in, so that a short
  // follow-up ("is it safe with chemo?" after a question about ibuprofen) is
  // read with that entry's words; empty: no follow-ups.
  std::string context_slot;
  std::vector<DialogStateSpec> states;
  std::vector<SlotSpec> slots;
  std::vector<std::string> yes_patterns;
  std::vector<std::string> no_patterns;
  std::map<std::string, std::string> messages;  // welcome, fallback, clarify, ...
  SourceLocation where;
};

// One of a clinic's webhook endpoints (issue 22): where its events are POSTed, signed with
// the shared secret. Validated and resolved by the dialogs loader: the URL is https (plain
// http only to localhost, 127.0.0.1 or [::1]) and is split into its parts here; the secret is
// read from `secret_file` (mode 0600/0400) or the environment variable `secret_env` at load
// time, and never comes from a file in the repository. Never log `secret`.
struct WebhookEndpoint {
  std::string id;                   // unique within the clinic, e.g. "oncology-triage"
  std::string url;                  // as written
  bool tls = true;                  // https
  std::string host;                 // "triage.example.org", "127.0.0.1", "::1" (no brackets)
  std::string port;                 // "443" unless given
  std::string target;               // path and query, "/" when empty
  std::vector<std::string> events;  // "escalation", "callback_request", "feedback", ...
  std::string secret_file;          // one of these two named where the secret is
  std::string secret_env;
  std::string secret;  // the resolved secret (trailing whitespace removed)
  SourceLocation where;
};

// A clinic's details, filled into replies.
struct Clinic {
  std::string id = "default";
  std::string name = "your cancer centre";
  std::string care_team_phone;
  std::string after_hours_phone;
  std::string emergency_number = "911";
  std::string crisis_line = "988";
  std::vector<std::string> allowed_origins;
  // The CSP frame-ancestors sources for this clinic's pages (?clinic=ID): "'self'", "'none'"
  // (alone) or https origins. Validated by the dialogs loader.
  std::vector<std::string> frame_ancestors = {"'self'"};
  // Where the clinic's events go (issue 22); empty: nowhere.
  std::vector<WebhookEndpoint> webhooks;
  int retention_days = 30;
  // Where the chat widget keeps the conversation's session id: 0, for this browser tab only
  // (sessionStorage: closing the tab ends the conversation on that device); N, on this device
  // for N hours after the last reply (localStorage), so that it survives closing the browser.
  int remember_conversation_hours = 0;
  // ISO 3166 country code ("GB", "US"): the words replies use for the
  // emergency department ({emergency_department}: "A&E", "ER").
  std::string country = "US";
  // How soon the team calls back after a callback request, as the clinic states it:
  // "within one working day" ({callback_response_time} in replies).
  std::string callback_response_time = "as soon as they can";
  SourceLocation where;
};

// Thresholds for answer / clarify / fallback.
struct RetrievalSpec {
  double answer_coverage = 0.5;   // share of the question's weight the top entry must cover
  double clarify_coverage = 0.3;  // below this: fallback
  double clarify_margin = 0.08;   // top two within this (relative) and different: clarify
  int clarify_options = 3;
  // The least IDF weight an answer must match: one distinctive word is not
  // enough to answer
  // ("good morning" must not answer an entry that mentions mornings); it
  // clarifies instead.
  double min_evidence = 3.5;
  // Messages with more content words than this are also ranked clause by
  // clause, and the clause that asks a question is preferred: long messages
  // bury the question.
  int long_message_terms = 8;
  // Or: at least this coverage, twice min_evidence, and a BM25 score this many
  // times the next candidate's (one entry clearly stands out in a long, chatty
  // message).
  double dominant_coverage = 0.25;
  double dominant_ratio = 1.3;
  // A candidate with this BM25 score is worth offering (clarify) even at low
  // coverage: a long message that names several of an entry's words is not "out
  // of scope".
  double clarify_score = 7.0;
  // ...but never on less evidence than this unless the message names something
  // the content is about (a keyword or synonym target): "what time is it"
  // matches one common word, "morphine" one word that many entries share.
  double clarify_evidence = 2.5;
  // A message of at most this many content words that the ranking cannot
  // place alone is ranked again with the words of the entry answered last
  // (DialogSpec::context_slot): a follow-up question.
  int follow_up_terms = 5;
  // A clarifying question is offered only to a message that names something in
  // this concept (knowledge/concepts.json: the body, pain, cancer, treatment,
  // medicines, coping); without one ("how do I book a holiday to Spain?") a
  // message of three or more content words is out of scope and gets the
  // fallback. Empty: no such check.
  std::string clarify_concept;
  SourceLocation clarify_concept_where;
};

// Thresholds of the content lint (engine/lint.h), from language.json "lint".
struct LintSpec {
  // Flesch-Kincaid grade above which an answer is hard to read. Patient
  // materials aim at grade 6-8.
  double max_grade = 8.0;
  // A phone screen of text, in characters: an answer longer than this needs
  // scrolling before the person reaches its end (engine/lint.h shows the
  // arithmetic).
  int max_answer_chars = 800;
  // Days after "reviewed" before an entry is due for clinical review again.
  int max_review_age_days = 365;
  // Two paraphrases of different entries whose content-term sets overlap this
  // much (Jaccard, 0..1) are likely to be confused.
  double max_paraphrase_overlap = 0.8;
};

struct ContentSpec {
  // Real English words (from the dictionaries named in LanguageSpec): spelling
  // repair never changes them ("folding" is not a misspelling of "holding").
  std::vector<std::string> known_words;
  std::vector<TopicSpec> topics;  // in file order: FAQ topics first, as the contract lists them
  std::vector<FaqEntry> entries;
  std::vector<SynonymGroup> synonyms;
  LanguageSpec language;
  std::vector<RedFlagKind> red_flag_kinds;
  std::vector<RedFlagRule> red_flag_rules;
  std::vector<Concept> concepts;
  std::vector<IntentSpec> intents;
  DialogSpec dialog;
  RetrievalSpec retrieval;
  LintSpec lint;
  ClassifierSpec classifier;
};

}  // namespace backline::engine

#endif  // BACKLINE_ENGINE_CONTENT_H_
