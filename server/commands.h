// The `backline` subcommands that need no network: ask, chat, check.
//
// Each takes its arguments (after the subcommand name) and the streams to use,
// and returns the process exit code, so tests can run them in-process.
#ifndef BACKLINE_SERVER_COMMANDS_H_
#define BACKLINE_SERVER_COMMANDS_H_

#include <iosfwd>
#include <string>
#include <vector>

namespace backline::server {

// backline ask [--kb DIR] [--dialogs DIR] [--clinic ID] [--explain]
// JSON Lines in, JSON Lines out, one line per line; exit 0 (2 when content
// fails to load or an option is wrong).
int RunAsk(const std::vector<std::string>& args, std::istream& in,
           std::ostream& out, std::ostream& err);

// backline chat [--kb DIR] [--dialogs DIR] [--clinic ID] [--explain]
int RunChat(const std::vector<std::string>& args, std::istream& in,
            std::ostream& out, std::ostream& err);

// backline check [--kb DIR] [--dialogs DIR] [--strict]
// Prints every problem as file:line:column; exit 1 on any error (or warning
// with --strict).
int RunCheck(const std::vector<std::string>& args, std::ostream& out,
             std::ostream& err);

// backline serve [--config FILE] [--port N] [--address A] [--threads N] [--db PATH]
//                [--kb DIR] [--dialogs DIR] [--web DIR] [limits...]
//                [--tls-cert PEM --tls-key PEM]
// Serves HTTP and the WebSocket chat until SIGINT/SIGTERM; exit 0 after a clean shutdown,
// 2 when the configuration or content is wrong or the port cannot be bound.
int RunServe(const std::vector<std::string>& args, std::ostream& err);

// backline eval FILE.jsonl [--kb DIR] [--dialogs DIR] [--misses] [--min-topic
// PCT]
//              [--min-recall PCT] [--max-false-alarm PCT]
// Scores the content on a labelled set ({"id","text","topic","urgency"} per
// line): topic accuracy, red-flag recall, exact tier, under-triage and false
// alarms. Exit 1 when a threshold is not met or any red flag is under-triaged,
// 2 when the file cannot be read.
int RunEval(const std::vector<std::string>& args, std::ostream& out,
            std::ostream& err);

}  // namespace backline::server

#endif  // BACKLINE_SERVER_COMMANDS_H_
