// The `backline` subcommands that need no network: ask, chat, check.
//
// Each takes its arguments (after the subcommand name) and the streams to use,
// and returns the process exit code, so tests can run them in-process.
#ifndef BACKLINE_CLI_COMMANDS_H_
#define BACKLINE_CLI_COMMANDS_H_

#include <iosfwd>
#include <string>
#include <vector>

namespace backline::cli {

// backline ask [--kb DIR] [--dialogs DIR] [--clinic ID] [--explain]
// JSON Lines in, JSON Lines out, one line per line; exit 0 (2 when content
// fails to load or an option is wrong).
int RunAsk(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
           std::ostream& err);

// backline chat [--kb DIR] [--dialogs DIR] [--clinic ID] [--explain]
int RunChat(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
            std::ostream& err);

// backline check [--kb DIR] [--dialogs DIR] [--strict] [--today YYYY-MM-DD]
// Loads, compiles and lints the content (engine/lint.h; review dates aged to
// --today, default today's UTC date). Prints "== errors (N) ==" and
// "== warnings (N) ==" groups, one file:line:column line per problem, then
// the lint counts per check; exit 1 on any error (or warning with --strict),
// 2 on a bad option.
int RunCheck(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// backline serve [--config FILE] [--port N] [--address A] [--threads N] [--db PATH]
//                [--kb DIR] [--dialogs DIR] [--web DIR] [limits...]
//                [--tls-cert PEM --tls-key PEM]
// Serves HTTP and the WebSocket chat until SIGINT/SIGTERM; exit 0 after a clean shutdown,
// 2 when the configuration or content is wrong or the port cannot be bound. --help (or -h)
// prints the serve usage to `out` and exits 0.
int RunServe(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// backline eval FILE.jsonl [--kb DIR] [--dialogs DIR] [--misses] [--min-topic
// PCT]
//              [--min-recall PCT] [--max-false-alarm PCT]
// Scores the content on a labelled set ({"id","text","topic","urgency"} per
// line): topic accuracy, red-flag recall, exact tier, under-triage and false
// alarms. Exit 1 when a threshold is not met or any red flag is under-triaged,
// 2 when the file cannot be read.
int RunEval(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// backline test [--kb DIR] [--dialogs DIR] [FILE_OR_DIR...]
// Runs the golden conversation tests (cli/conversation_tests.h; default:
// every <dialogs>/tests/*.json). Exit 0 when all pass, 1 on a failed
// conversation, 2 on a malformed test file or content that fails to load.
int RunTest(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// backline export review [--out FILE] [--kb DIR] [--dialogs DIR] [--today DATE]
// Writes the clinical review sheet: one self-contained HTML page (no scripts,
// nothing loaded from elsewhere) with every answer by topic (sources,
// reviewed-on date, lint findings), every red-flag kind with its rules' notes
// and sample phrasings, the escalation text rendered for each clinic, and a
// sign-off block. --out - writes to `out`. Exit 0; 1 when the file cannot be
// written; 2 on a bad option or content with errors (listed on err).
int RunExport(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// backline report unanswered [--since YYYY-MM-DD] [--database FILE] [--limit N] [--json]
//                           [--kb DIR] [--dialogs DIR]
// The unanswered questions in the database (default backline.db), grouped
// (curator/unanswered_report.h), biggest group first. Shows patient text: it reads
// the database file directly. Exit 2 on a wrong option, a missing database or
// content that fails to load. (cli/report.cc)
int RunReport(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// backline concepts list | backline concepts propose ID [--review] [--wordnet DIR]
//                                                     [--limit N] [--kb DIR] [--dialogs DIR]
// The red-flag concept lists for curators: which rules use each, and words WordNet
// (knowledge/wordnet.h) relates to a concept's words; with --review, a yes or no for each,
// the accepted ones added to concepts.json and the labelled messages whose reply changes.
// Exit 2 on a wrong option, an unknown concept or no WordNet; 1 when the edit cannot be
// written or would not load (nothing is written then). (cli/concepts.cc)
int RunConcepts(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                std::ostream& err);

}  // namespace backline::cli

#endif  // BACKLINE_CLI_COMMANDS_H_
