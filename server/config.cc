#include "server/config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace backline::server {
namespace {

using json = nlohmann::json;
using engine::Status;

template <typename T>
Status Read(const json& obj, const char* key, T* out, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::Ok();
  try {
    *out = it->get<T>();
  } catch (const json::exception&) {
    return Status::InvalidArgument(where + ": \"" + key + "\" has the wrong type");
  }
  return Status::Ok();
}

Status CheckKnown(const json& obj, std::initializer_list<const char*> keys, const std::string& where) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool known = it.key() == "$comment";
    for (const char* k : keys) known |= it.key() == k;
    if (!known) return Status::InvalidArgument(where + ": unknown setting \"" + it.key() + "\"");
  }
  return Status::Ok();
}

}  // namespace

Status Config::LoadFile(const std::string& path, Config* c) {
  std::ifstream in(path);
  if (!in) return Status::IOError("cannot open config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false, true);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument(path + ": not a JSON object");
  }
  Status s = CheckKnown(j,
                        {"address", "port", "threads", "database", "store", "knowledge", "dialogs", "web",
                         "log_patient_text", "retention_check_minutes", "limits"},
                        path);
  if (!s.ok()) return s;
  for (Status r : {Read(j, "address", &c->address, path), Read(j, "port", &c->port, path),
                   Read(j, "threads", &c->threads, path), Read(j, "database", &c->database, path),
                   Read(j, "store", &c->store, path),
                   Read(j, "knowledge", &c->knowledge, path), Read(j, "dialogs", &c->dialogs, path),
                   Read(j, "web", &c->web, path),
                   Read(j, "log_patient_text", &c->log_patient_text, path),
                   Read(j, "retention_check_minutes", &c->retention_check_minutes, path)}) {
    if (!r.ok()) return r;
  }
  if (c->store != "sqlite" && c->store != "memory") {
    return Status::InvalidArgument(path + ": \"store\" must be \"sqlite\" or \"memory\"");
  }
  if (auto l = j.find("limits"); l != j.end()) {
    if (!l->is_object()) return Status::InvalidArgument(path + ": \"limits\" must be an object");
    const std::string where = path + " limits";
    s = CheckKnown(*l,
                   {"max_message_bytes", "messages_per_minute", "connections_per_address",
                    "max_connections", "idle_timeout_seconds", "handshake_timeout_seconds",
                    "write_queue_soft", "write_queue_hard", "max_http_request_bytes",
                    "session_resume_hours", "history_turns"},
                   where);
    if (!s.ok()) return s;
    Limits& L = c->limits;
    for (Status r : {Read(*l, "max_message_bytes", &L.max_message_bytes, where),
                     Read(*l, "messages_per_minute", &L.messages_per_minute, where),
                     Read(*l, "connections_per_address", &L.connections_per_address, where),
                     Read(*l, "max_connections", &L.max_connections, where),
                     Read(*l, "idle_timeout_seconds", &L.idle_timeout_seconds, where),
                     Read(*l, "handshake_timeout_seconds", &L.handshake_timeout_seconds, where),
                     Read(*l, "write_queue_soft", &L.write_queue_soft, where),
                     Read(*l, "write_queue_hard", &L.write_queue_hard, where),
                     Read(*l, "max_http_request_bytes", &L.max_http_request_bytes, where),
                     Read(*l, "session_resume_hours", &L.session_resume_hours, where),
                     Read(*l, "history_turns", &L.history_turns, where)}) {
      if (!r.ok()) return r;
    }
  }
  return Status::Ok();
}

Status Config::ApplyArgs(const std::vector<std::string>& args, std::string* config_file,
                         Config* c) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    std::string v;
    auto number = [&](long lo, long hi, long* out) {
      if (!value(&v)) return false;
      try {
        size_t used = 0;
        const long n = std::stol(v, &used);
        if (used != v.size() || n < lo || n > hi) return false;
        *out = n;
        return true;
      } catch (const std::exception&) {
        return false;
      }
    };
    long n = 0;
    if (a == "--config") {
      if (!value(config_file)) return Status::InvalidArgument("--config needs a file");
    } else if (a == "--port") {
      if (!number(0, 65535, &n)) return Status::InvalidArgument("--port needs a number 0-65535");
      c->port = static_cast<unsigned short>(n);
    } else if (a == "--address") {
      if (!value(&c->address)) return Status::InvalidArgument("--address needs a value");
    } else if (a == "--threads") {
      if (!number(0, 256, &n)) return Status::InvalidArgument("--threads needs a number 0-256");
      c->threads = static_cast<int>(n);
    } else if (a == "--db" || a == "--database") {
      if (!value(&c->database)) return Status::InvalidArgument(a + " needs a path");
    } else if (a == "--store") {
      if (!value(&c->store) || (c->store != "sqlite" && c->store != "memory")) {
        return Status::InvalidArgument("--store needs sqlite or memory");
      }
    } else if (a == "--kb") {
      if (!value(&c->knowledge)) return Status::InvalidArgument("--kb needs a folder");
    } else if (a == "--dialogs") {
      if (!value(&c->dialogs)) return Status::InvalidArgument("--dialogs needs a folder");
    } else if (a == "--web") {
      if (!value(&c->web)) return Status::InvalidArgument("--web needs a folder");
    } else if (a == "--log-patient-text") {
      c->log_patient_text = true;
    } else if (a == "--max-message-bytes") {
      if (!number(64, 1 << 20, &n)) return Status::InvalidArgument(a + " needs 64..1048576");
      c->limits.max_message_bytes = static_cast<size_t>(n);
    } else if (a == "--messages-per-minute") {
      if (!number(1, 100000, &n)) return Status::InvalidArgument(a + " needs 1..100000");
      c->limits.messages_per_minute = static_cast<int>(n);
    } else if (a == "--connections-per-address") {
      if (!number(1, 1000000, &n)) return Status::InvalidArgument(a + " needs 1..1000000");
      c->limits.connections_per_address = static_cast<int>(n);
    } else if (a == "--max-connections") {
      if (!number(1, 1000000, &n)) return Status::InvalidArgument(a + " needs 1..1000000");
      c->limits.max_connections = static_cast<int>(n);
    } else if (a == "--idle-timeout") {
      if (!number(1, 86400, &n)) return Status::InvalidArgument(a + " needs seconds 1..86400");
      c->limits.idle_timeout_seconds = static_cast<int>(n);
    } else if (a == "--handshake-timeout") {
      if (!number(1, 600, &n)) return Status::InvalidArgument(a + " needs seconds 1..600");
      c->limits.handshake_timeout_seconds = static_cast<int>(n);
    } else {
      return Status::InvalidArgument("unknown option '" + a + "'");
    }
  }
  return Status::Ok();
}

}  // namespace backline::server
