// Golden conversation tests that curators write (`backline test`).
//
// A test file (dialogs/tests/*.json, JSON with // comments) holds conversations;
// each conversation is a list of turns, each turn what the person types and what
// the reply must be:
//
//   {"$schema": "../../schemas/conversation-test.schema.json",
//    "clinic": "default",
//    "conversations": [
//      {"name": "addiction worry",
//       "turns": [
//         {"say": "will i get hooked on morphine",
//          "topic": "opioids", "urgency": "none", "entry": "opioids-addiction",
//          "contains": ["addiction"], "not_contains": ["call 911"]}]}]}
//
// Every key is described in dialogs/tests/README.md and
// schemas/conversation-test.schema.json. Unknown keys, values of the wrong type
// and names that the content does not know (an entry id, a red-flag kind, a
// dialog state, a clinic, a topic) are errors with their file:line:column, so a
// curator's typo never silently skips a check.
//
// Each conversation starts from a fresh session state and the clinic's welcome;
// its turns run in order through engine::Engine::Turn. A conversation stops at
// its first failing turn (later turns would depend on a state the test did not
// expect).
#ifndef BACKLINE_CLI_CONVERSATION_TESTS_H_
#define BACKLINE_CLI_CONVERSATION_TESTS_H_

#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "content/content.h"
#include "engine/status.h"

namespace backline::cli {

// What one turn says and expects; an expectation left unset is not checked.
struct ConversationTurn {
  engine::SourceLocation where;  // the turn's opening brace
  std::string say;
  std::optional<std::string> topic;
  std::optional<std::string> urgency;  // "none", "urgent", "emergency"
  std::optional<std::string> kind;
  std::optional<std::string> state;                       // dialog state after the turn
  std::optional<std::string> entry;                       // "" expects no entry
  std::optional<std::string> intent;                      // "" expects no intent
  std::optional<std::string> red_flag;                    // "" expects no red flag
  std::optional<bool> screening;                          // the reply asks the screening questions
  std::vector<std::string> contains;                      // case-insensitive substrings
  std::vector<std::string> not_contains;                  // case-insensitive substrings
  std::optional<std::vector<std::string>> quick_replies;  // exactly, in order
  std::vector<std::string> quick_replies_include;         // among them
  // Slots after the turn: a value, or nullopt for "not set".
  std::map<std::string, std::optional<std::string>> slots;
  // The callback request the reply makes (engine::Reply::callback): when `check_callback`,
  // nullopt expects none, and a map the fields named in it ("first_name", "phone",
  // "phone_display", "best_time"), each exactly.
  bool check_callback = false;
  std::optional<std::map<std::string, std::string>> callback;
};

struct Conversation {
  engine::SourceLocation where;
  std::string name;
  std::string clinic;  // the file's clinic unless the conversation sets one
  std::vector<ConversationTurn> turns;
};

struct ConversationTestFile {
  std::string display;  // the path as shown in messages
  std::vector<Conversation> conversations;
};

// Reads and validates one test file against the loaded content. Every problem
// is appended to diags as an error with its location; returns false when there
// is any.
bool LoadConversationTestFile(const std::string& path, const std::string& display,
                              const content::Content& content, ConversationTestFile* out,
                              std::vector<engine::Diagnostic>* diags);
// The same, for text already in memory.
bool ParseConversationTestFile(std::string text, const std::string& display,
                               const content::Content& content, ConversationTestFile* out,
                               std::vector<engine::Diagnostic>* diags);

struct ConversationResult {
  bool passed = true;
  int turns_run = 0;
};

// Runs one conversation; writes "ok ..." or the failure (file:line of the
// failing turn, what was said, each failed expectation as `expected X, got Y`,
// and the whole reply text) to out.
ConversationResult RunConversation(const content::Content& content,
                                   const ConversationTestFile& file,
                                   const Conversation& conversation, std::ostream& out);

struct ConversationTestSummary {
  int files = 0;
  int conversations = 0;
  int turns = 0;
  int failed = 0;     // conversations with a failing turn
  int malformed = 0;  // files that could not be read or had errors
};

// The test files named by `paths` (files, or folders whose *.json files are
// all taken, sorted by name). A path that does not exist counts as malformed.
std::vector<std::string> ExpandTestPaths(const std::vector<std::string>& paths,
                                         std::vector<std::string>* missing);

// Loads and runs every file, writes the report and the summary line
// ("N conversations, M turns, K failed"), and returns the exit code: 0 when all
// pass, 1 on a failed conversation, 2 on a malformed file (the well-formed
// files still run).
int RunConversationTestFiles(const content::Content& content, const std::vector<std::string>& files,
                             std::ostream& out, ConversationTestSummary* summary = nullptr);

}  // namespace backline::cli

#endif  // BACKLINE_CLI_CONVERSATION_TESTS_H_
