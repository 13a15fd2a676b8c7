// backline serve: the chat server, with the store the configuration names (cli/commands.h).
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "clinic/clinic_routes.h"
#include "curator/curator_routes.h"
#include "server/config.h"
#include "server/server.h"
#include "server/util.h"
#include "server/webhook_events.h"
#include "store/memory_store.h"
#include "store/sqlite_store.h"

namespace backline::cli {

using server::Config;
using server::Server;

namespace {

constexpr const char* kServeUsage = R"(usage: backline serve [options]

The chat server: HTTP and WebSocket on one port (README.md, "Running the server").

  --config FILE    a JSON configuration file (README, "Configuration"); options below override it
  --port N         port (default 8080; 0 picks a free one)      --address A   (default 127.0.0.1)
  --threads N      network threads (default: one per core)      --db PATH     (default backline.db)
  --kb DIR         knowledge base folder (default: the shipped knowledge/)
  --dialogs DIR    dialog scripts folder (default: the shipped dialogs/)
  --web DIR        the widget and demo files (default: the shipped web/)
  --store KIND     sqlite (default: the --db file) or memory (nothing kept after a restart)
  --tls-cert FILE --tls-key FILE   serve HTTPS and WSS only (PEM chain and unencrypted key)
  --max-message-bytes N  --messages-per-minute N  --connections-per-address N
  --max-connections N    --idle-timeout SECONDS   --handshake-timeout SECONDS
  --log-patient-text     put what people type in the log (off by default: it is sensitive)
  --help                 this text

Signals: SIGTERM/SIGINT stop it cleanly; SIGHUP reloads the content.
)";

}  // namespace

int RunServe(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      out << kServeUsage;
      return 0;
    }
  }
  Config config;
  std::string config_file;
  // A --config file is read first, then the other options override it.
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--config") config_file = args[i + 1];
  }
  if (!config_file.empty()) {
    if (engine::Status s = Config::LoadFile(config_file, &config); !s.ok()) {
      err << "backline serve: " << s.message() << "\n";
      return 2;
    }
  }
  if (engine::Status s = Config::ApplyArgs(args, &config_file, &config); !s.ok()) {
    err << "backline serve: " << s.message() << "\n";
    return 2;
  }
  std::unique_ptr<store::Store> store;
  if (config.store == "memory") {
    auto memory = store::MemoryStore::Open();
    if (!memory.ok()) {
      err << "backline serve: " << memory.status().message() << "\n";
      return 2;
    }
    store = std::move(memory).value();
  } else {
    auto sqlite = store::SqliteStore::Open(config.database);
    if (!sqlite.ok()) {
      err << "backline serve: cannot open the database " << config.database << ": "
          << sqlite.status().message() << "\n";
      return 2;
    }
    store = std::move(sqlite).value();
  }
  auto server = Server::Create(config, std::move(store));
  if (!server.ok()) {
    err << "backline serve: " << server.status().message() << "\n";
    return 2;
  }
  // The curator page and its API (/curator/): the server hosts the route, curator/ answers.
  if (auto curator = curator::AddCuratorRoutes(*server.value()); !curator.ok()) {
    err << "backline serve: " << curator.status().message() << "\n";
    return 2;
  }
  // The clinicians' page (/clinic/). A status change there is sent to the clinic's
  // "handoff_status" webhooks.
  clinic::StatusEvents status_events = [](const engine::Clinic& clinic,
                                          const store::HandoffRecord& item,
                                          const std::string& new_status, const std::string& who) {
    std::vector<store::EventRecord> events;
    const int64_t now = server::NowMs();
    const server::HandoffStatusEvent e{.reference = item.reference,
                                       .type = item.type,
                                       .status = new_status,
                                       .by = who,
                                       .time_ms = now};
    if (auto event = server::BuildHandoffStatusEvent(clinic, item.session_id, e, now)) {
      events.push_back(std::move(*event));
    }
    return events;
  };
  if (engine::Status s = clinic::AddClinicRoutes(*server.value(), std::move(status_events));
      !s.ok()) {
    err << "backline serve: " << s.message() << "\n";
    return 2;
  }
  return server.value()->Run();
}

}  // namespace backline::cli
