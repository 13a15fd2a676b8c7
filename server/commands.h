// The `backline` subcommands that need no network: ask, chat, check.
//
// Each takes its arguments (after the subcommand name) and the streams to use, and returns
// the process exit code, so tests can run them in-process.
#ifndef BACKLINE_SERVER_COMMANDS_H_
#define BACKLINE_SERVER_COMMANDS_H_

#include <iosfwd>
#include <string>
#include <vector>

namespace backline::server {

// backline ask [--kb DIR] [--dialogs DIR] [--clinic ID] [--explain]
// JSON Lines in, JSON Lines out, one line per line; exit 0 (2 when content fails to load or
// an option is wrong).
int RunAsk(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
           std::ostream& err);

// backline chat [--kb DIR] [--dialogs DIR] [--clinic ID] [--explain]
int RunChat(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
            std::ostream& err);

// backline check [--kb DIR] [--dialogs DIR] [--strict]
// Prints every problem as file:line:column; exit 1 on any error (or warning with --strict).
int RunCheck(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace backline::server

#endif  // BACKLINE_SERVER_COMMANDS_H_
