#include "server/config.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "server/client_address.h"

namespace backline::server {
namespace {

using json = nlohmann::json;
using engine::Status;

template <typename T>
Status Read(const json& obj, const char* key, T* out, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::Ok();
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // nlohmann::json converts a number by a plain cast: a port of 70000 would silently become
    // 4464, -1 a huge size, and a float out of range (1e10) is undefined behaviour.
    bool fits = false;
    if (it->is_number_unsigned()) {
      fits = std::in_range<T>(it->get<uint64_t>());
    } else if (it->is_number_integer()) {
      fits = std::in_range<T>(it->get<int64_t>());
    }
    if (!fits) {
      return Status::InvalidArgument(where + ": \"" + key + "\" must be a whole number from " +
                                     std::to_string(std::numeric_limits<T>::min()) + " to " +
                                     std::to_string(std::numeric_limits<T>::max()));
    }
  }
  try {
    *out = it->get<T>();
  } catch (const json::exception&) {
    return Status::InvalidArgument(where + ": \"" + key + "\" has the wrong type");
  }
  return Status::Ok();
}

Status CheckKnown(const json& obj, std::initializer_list<const char*> keys,
                  const std::string& where) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool known = it.key() == "$comment" || it.key() == "$schema";
    for (const char* k : keys) known |= it.key() == k;
    if (!known) return Status::InvalidArgument(where + ": unknown setting \"" + it.key() + "\"");
  }
  return Status::Ok();
}

// The session and login settings of a sign-in ("curator_session_minutes", ... for prefix
// "curator").
Status ReadSignInSettings(const json& j, const std::string& path, const std::string& prefix,
                          int* session_seconds, int* login_attempts, int* login_window_seconds) {
  const std::string session_key = prefix + "_session_minutes";
  const std::string window_key = prefix + "_login_window_minutes";
  const std::string attempts_key = prefix + "_login_attempts";
  int minutes = *session_seconds / 60;
  Status s = Read(j, session_key.c_str(), &minutes, path);
  if (!s.ok()) return s;
  if (minutes < 1 || minutes > 7 * 24 * 60) {
    return Status::InvalidArgument(path + ": \"" + session_key + "\" must be 1..10080");
  }
  if (j.contains(session_key)) *session_seconds = minutes * 60;
  minutes = *login_window_seconds / 60;
  s = Read(j, window_key.c_str(), &minutes, path);
  if (!s.ok()) return s;
  if (minutes < 1 || minutes > 24 * 60) {
    return Status::InvalidArgument(path + ": \"" + window_key + "\" must be 1..1440");
  }
  if (j.contains(window_key)) *login_window_seconds = minutes * 60;
  s = Read(j, attempts_key.c_str(), login_attempts, path);
  if (!s.ok()) return s;
  if (*login_attempts < 1 || *login_attempts > 1000) {
    return Status::InvalidArgument(path + ": \"" + attempts_key + "\" must be 1..1000");
  }
  return Status::Ok();
}

// A list of accounts ("curators": [{"name": "Nurse Kim", "token": "..."}], "clinicians"),
// each an object with the `keys` given; `read` fills an account from one entry. Error
// messages name the entry, never the token. Names and tokens must be unique.
template <class Account>
Status ReadAccounts(const json& j, const std::string& path, const std::string& key,
                    std::initializer_list<const char*> keys,
                    const std::function<Status(const json&, const std::string&, Account*)>& read,
                    std::vector<Account>* out) {
  auto it = j.find(key);
  if (it == j.end()) return Status::Ok();
  if (!it->is_array()) {
    return Status::InvalidArgument(path + ": \"" + key + "\" must be a list of objects");
  }
  out->clear();
  for (size_t i = 0; i < it->size(); ++i) {
    const json& a = (*it)[i];
    const std::string where = path + ": " + key + "[" + std::to_string(i) + "]";
    if (!a.is_object()) return Status::InvalidArgument(where + " must be an object");
    Status known = CheckKnown(a, keys, where);
    if (!known.ok()) return known;
    auto name = a.find("name");
    auto token = a.find("token");
    if (name == a.end() || !name->is_string() || name->get<std::string>().empty()) {
      return Status::InvalidArgument(where + " needs a \"name\" (a non-empty string)");
    }
    if (token == a.end() || !token->is_string()) {
      return Status::InvalidArgument(where + " needs a \"token\" (a string)");
    }
    Account acc;
    acc.name = name->get<std::string>();
    acc.token = token->get<std::string>();
    if (acc.token.size() < 16) {
      return Status::InvalidArgument(where + " (" + acc.name +
                                     "): the token must be at least 16 characters");
    }
    Status s = read(a, where + " (" + acc.name + ")", &acc);
    if (!s.ok()) return s;
    for (const auto& other : *out) {
      if (other.name == acc.name) {
        return Status::InvalidArgument(where + ": the name \"" + acc.name + "\" is used twice");
      }
      if (other.token == acc.token) {
        return Status::InvalidArgument(where + " (" + acc.name + "): the token is the same as " +
                                       other.name + "'s");
      }
    }
    out->push_back(std::move(acc));
  }
  return Status::Ok();
}

Status ReadCurators(const json& j, const std::string& path, CuratorSettings* out) {
  Status s = ReadSignInSettings(j, path, "curator", &out->session_seconds, &out->login_attempts,
                                &out->login_window_seconds);
  if (!s.ok()) return s;
  return ReadAccounts<CuratorAccount>(
      j, path, "curators", {"name", "token"},
      [](const json&, const std::string&, CuratorAccount*) { return Status::Ok(); },
      &out->accounts);
}

// "clinicians": [{"name", "token", "clinic", "role"}]; role "clinician" (the default) or
// "viewer".
Status ReadClinicians(const json& j, const std::string& path, ClinicianSettings* out) {
  Status s = ReadSignInSettings(j, path, "clinician", &out->session_seconds, &out->login_attempts,
                                &out->login_window_seconds);
  if (!s.ok()) return s;
  return ReadAccounts<ClinicianAccount>(
      j, path, "clinicians", {"name", "token", "clinic", "role"},
      [](const json& a, const std::string& where, ClinicianAccount* acc) {
        auto clinic = a.find("clinic");
        if (clinic == a.end() || !clinic->is_string() || clinic->get<std::string>().empty()) {
          return Status::InvalidArgument(where + " needs a \"clinic\" (a clinic id)");
        }
        acc->clinic = clinic->get<std::string>();
        if (auto role = a.find("role"); role != a.end()) {
          if (!role->is_string() ||
              (role->get<std::string>() != "clinician" && role->get<std::string>() != "viewer")) {
            return Status::InvalidArgument(where +
                                           ": \"role\" must be \"clinician\" or \"viewer\"");
          }
          acc->role = role->get<std::string>();
        }
        return Status::Ok();
      },
      &out->accounts);
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
                        {"address",
                         "port",
                         "threads",
                         "database",
                         "store",
                         "knowledge",
                         "dialogs",
                         "web",
                         "log_patient_text",
                         "retention_check_minutes",
                         "limits",
                         "curators",
                         "curator_session_minutes",
                         "curator_login_attempts",
                         "curator_login_window_minutes",
                         "clinicians",
                         "clinician_session_minutes",
                         "clinician_login_attempts",
                         "clinician_login_window_minutes",
                         "tls_cert",
                         "tls_key",
                         "trusted_proxies",
                         "webhook_ca_file",
                         "webhook_retry_base_ms",
                         "webhook_retry_max_ms"},
                        path);
  if (!s.ok()) return s;
  for (Status r : {Read(j, "address", &c->address, path), Read(j, "port", &c->port, path),
                   Read(j, "threads", &c->threads, path), Read(j, "database", &c->database, path),
                   Read(j, "store", &c->store, path), Read(j, "knowledge", &c->knowledge, path),
                   Read(j, "dialogs", &c->dialogs, path), Read(j, "web", &c->web, path),
                   Read(j, "log_patient_text", &c->log_patient_text, path),
                   Read(j, "retention_check_minutes", &c->retention_check_minutes, path),
                   Read(j, "tls_cert", &c->tls_cert, path), Read(j, "tls_key", &c->tls_key, path),
                   Read(j, "trusted_proxies", &c->trusted_proxies, path),
                   Read(j, "webhook_ca_file", &c->webhook_ca_file, path),
                   Read(j, "webhook_retry_base_ms", &c->webhook_retry_base_ms, path),
                   Read(j, "webhook_retry_max_ms", &c->webhook_retry_max_ms, path)}) {
    if (!r.ok()) return r;
  }
  if (auto proxies = TrustedProxies::Parse(c->trusted_proxies); !proxies.ok()) {
    return Status::InvalidArgument(path + ": " + proxies.status().message());
  }
  s = ReadCurators(j, path, &c->curators);
  if (!s.ok()) return s;
  s = ReadClinicians(j, path, &c->clinicians);
  if (!s.ok()) return s;
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
                    "session_resume_hours", "history_turns", "address_messages_per_minute",
                    "address_turns_per_day", "address_bytes_per_day", "address_unanswered_per_day",
                    "address_feedback_per_day", "address_table_size", "live_sessions"},
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
                     Read(*l, "history_turns", &L.history_turns, where),
                     Read(*l, "address_messages_per_minute", &L.address_messages_per_minute, where),
                     Read(*l, "address_turns_per_day", &L.address_turns_per_day, where),
                     Read(*l, "address_bytes_per_day", &L.address_bytes_per_day, where),
                     Read(*l, "address_unanswered_per_day", &L.address_unanswered_per_day, where),
                     Read(*l, "address_feedback_per_day", &L.address_feedback_per_day, where),
                     Read(*l, "address_table_size", &L.address_table_size, where),
                     Read(*l, "live_sessions", &L.live_sessions, where)}) {
      if (!r.ok()) return r;
    }
    for (auto [key, value] :
         {std::pair{"address_messages_per_minute", int64_t{L.address_messages_per_minute}},
          std::pair{"address_turns_per_day", int64_t{L.address_turns_per_day}},
          std::pair{"address_unanswered_per_day", int64_t{L.address_unanswered_per_day}},
          std::pair{"address_feedback_per_day", int64_t{L.address_feedback_per_day}},
          std::pair{"address_table_size",
                    static_cast<int64_t>(std::min<size_t>(L.address_table_size, INT64_MAX))},
          std::pair{"live_sessions",
                    static_cast<int64_t>(std::min<size_t>(L.live_sessions, INT64_MAX))}}) {
      if (value < 1) return Status::InvalidArgument(where + ": \"" + key + "\" must be at least 1");
    }
  }
  return Status::Ok();
}

Status Config::Validate() const {
  if (auto proxies = TrustedProxies::Parse(trusted_proxies); !proxies.ok()) return proxies.status();
  if (tls_cert.empty() != tls_key.empty()) {
    return Status::InvalidArgument(
        tls_cert.empty()
            ? "tls_key is set but tls_cert is not: TLS needs both (--tls-cert FILE --tls-key FILE)"
            : "tls_cert is set but tls_key is not: TLS needs both (--tls-cert FILE --tls-key "
              "FILE)");
  }
  if (webhook_retry_base_ms < 1 || webhook_retry_max_ms < webhook_retry_base_ms) {
    return Status::InvalidArgument(
        "webhook_retry_base_ms must be at least 1 and webhook_retry_max_ms at least that");
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
    } else if (a == "--tls-cert") {
      if (!value(&c->tls_cert) || c->tls_cert.empty()) {
        return Status::InvalidArgument("--tls-cert needs a PEM certificate file");
      }
    } else if (a == "--tls-key") {
      if (!value(&c->tls_key) || c->tls_key.empty()) {
        return Status::InvalidArgument("--tls-key needs a PEM private key file");
      }
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
