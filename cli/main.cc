// backline: the one executable. `backline help` lists the subcommands.
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

constexpr const char* kUsage = R"(usage: backline <command> [options]

commands:
  serve    the chat server: HTTP and WebSocket on one port (README, "Running the server")
  chat     a conversation in the terminal
  ask      JSON Lines in, JSON Lines out: {"id": "1", "text": "..."} per line
  check    validate the knowledge base and dialog scripts; exit 1 on any error
  export review   write the clinical review sheet (one HTML page): --out FILE (default
                  backline-review.html)
  eval     score the content on a labelled JSON Lines set (topic accuracy, red-flag recall,
           false alarms); --misses lists what it got wrong; --min-topic, --min-recall,
           --max-false-alarm set thresholds (percent) that make it exit 1
  test     run the golden conversation tests (default: every dialogs/tests/*.json, or the
           files and folders given); exit 1 on a failed turn, 2 on a malformed test file
  concepts `concepts list`: the red-flag concept lists and the rules that combine them;
           `concepts propose ID [--review]`: words WordNet relates to a concept (wordnet-base),
           each accepted or rejected with --review, and the labelled messages that then change
  report   `report unanswered [--since YYYY-MM-DD] [--database FILE] [--limit N] [--json]`:
           what went unanswered, similar questions grouped, biggest group first
           (shows patient text: operator access to the database file)

options (serve):
  --config FILE    a JSON configuration file (README, "Configuration"); options below override it
  --port N         port (default 8080; 0 picks a free one)      --address A   (default 127.0.0.1)
  --threads N      network threads (default: one per core)      --db PATH     (default backline.db)
  --web DIR        the widget and demo files (default: the shipped web/)
  --store KIND     sqlite (default: the --db file) or memory (nothing kept after a restart)
  --max-message-bytes N  --messages-per-minute N  --connections-per-address N
  --max-connections N    --idle-timeout SECONDS   --handshake-timeout SECONDS
  --log-patient-text     put what people type in the log (off by default: it is sensitive)
options (all commands):
  --kb DIR         knowledge base folder (default: the shipped knowledge/)
  --dialogs DIR    dialog scripts folder (default: the shipped dialogs/)
options (ask, chat):
  --clinic ID      the clinic whose phone numbers replies use (default: default)
  --explain        add why each reply was chosen
options (check):
  --strict         warnings fail too
  --today DATE     age review dates against DATE (YYYY-MM-DD) instead of today (also export)
)";

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "serve") return backline::cli::RunServe(args, std::cout, std::cerr);
  if (command == "ask") return backline::cli::RunAsk(args, std::cin, std::cout, std::cerr);
  if (command == "chat") return backline::cli::RunChat(args, std::cin, std::cout, std::cerr);
  if (command == "check") return backline::cli::RunCheck(args, std::cout, std::cerr);
  if (command == "export") return backline::cli::RunExport(args, std::cout, std::cerr);
  if (command == "eval") return backline::cli::RunEval(args, std::cout, std::cerr);
  if (command == "test") return backline::cli::RunTest(args, std::cout, std::cerr);
  if (command == "report") return backline::cli::RunReport(args, std::cout, std::cerr);
  if (command == "concepts")
    return backline::cli::RunConcepts(args, std::cin, std::cout, std::cerr);
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "backline: unknown command '" << command << "'\n\n" << kUsage;
  return 2;
}
