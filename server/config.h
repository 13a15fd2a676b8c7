// The server's configuration: a JSON file (`backline serve --config FILE`) with command-line
// overrides. Every limit has a default that protects a small server; see limits below.
#ifndef BACKLINE_SERVER_CONFIG_H_
#define BACKLINE_SERVER_CONFIG_H_

#include <string>
#include <vector>

#include "engine/status.h"

namespace backline::server {

struct Limits {
  // A chat line is short; 4 KiB holds a long, rambling message. Larger frames are refused
  // by the WebSocket layer and the connection is closed with code 1009 (message too big).
  size_t max_message_bytes = 4096;
  // A person types a few messages a minute; a script floods. Past this, messages get a
  // "rate_limited" error; past three times this, the connection is closed (policy).
  int messages_per_minute = 30;
  // Open connections per client address, plain HTTP (keep-alive) and WebSocket alike: one
  // household or ward behind one address may open several tabs, and a browser keeps a few
  // HTTP connections per page; a flood opens hundreds. Past it: HTTP 429, then closed.
  int connections_per_address = 20;
  // All connections at once, HTTP and WebSocket: the server refuses more (503) instead of
  // running out of memory or file descriptors. Clamped at start under the process's
  // descriptor limit (RLIMIT_NOFILE, whose soft limit is first raised to the hard one), with
  // room left for the database, the listener and the refusals themselves; a log line says so.
  int max_connections = 10000;
  // Per client address, across all its connections, so that reconnecting resets nothing
  // (issue 24: 20 threads reconnecting stored 37,000 turns in 6 s). An IPv6 address counts
  // per /64. Messages past the rate get "rate_limited"; past the daily turns or bytes of
  // typed text (UTC days), "daily_limit". A ward of several patients stays well under them.
  int address_messages_per_minute = 120;
  int address_turns_per_day = 2000;
  size_t address_bytes_per_day = 1 << 20;
  // Unanswered questions listed for the curators, and feedback records, per address per day:
  // past them the turn is still stored but not listed again, and feedback gets "daily_limit".
  int address_unanswered_per_day = 100;
  int address_feedback_per_day = 200;
  // Addresses whose counts are kept at once (about 200 bytes each); past it, the one seen
  // least recently with no open connection is forgotten.
  size_t address_table_size = 100000;
  // Conversations kept in memory for resuming and numbering turns (a few hundred bytes
  // each); past it, those idle longest are dropped from memory (the database keeps them,
  // and a resume reads them back). Only conversations with a turn are kept.
  size_t live_sessions = 100000;
  // A conversation with no message for this long is closed (the person can resume it).
  int idle_timeout_seconds = 600;
  // The HTTP request and WebSocket upgrade must complete within this.
  int handshake_timeout_seconds = 10;
  // Replies waiting to be written to one connection: past the soft limit the server stops
  // reading from it (TCP pushes back); past the hard limit it closes it (try again later).
  size_t write_queue_soft = 8;
  size_t write_queue_hard = 32;
  // HTTP requests (not WebSocket): header and body size.
  size_t max_http_request_bytes = 16 * 1024;
  // How long a session can be resumed after its last message.
  int session_resume_hours = 24;
  // How many turns a client can ask for with {"type": "history"}.
  size_t history_turns = 50;
};

// A person allowed into the curator page (web/curator/). The token is a shared secret of at
// least 16 characters (a config error otherwise); it is compared in constant time and never
// logged. `name` is recorded with every edit the curator makes.
struct CuratorAccount {
  std::string name;
  std::string token;
};

// The curator page and its API (/curator/, /curator/api/). No accounts: the tools are off
// (the API answers 404 and the page says so).
struct CuratorSettings {
  std::vector<CuratorAccount> accounts;
  int session_seconds = 8 * 3600;  // a signed-in curator's session lasts a working day
  int login_attempts = 5;          // failed logins allowed per address per window...
  int login_window_seconds = 900;  // ...after which the address gets 429 until the window ends
};

// A clinician allowed into the clinicians' page (web/clinic/) of one clinic. The token is a
// shared secret of at least 16 characters, compared in constant time and never logged; `name`
// is recorded with every status the clinician sets. Roles: "clinician" sees the clinic's
// escalations and callback requests and sets their status; "viewer" only sees them.
struct ClinicianAccount {
  std::string name;
  std::string token;
  std::string clinic;  // the clinic id (dialogs/clinics/ID.json) whose items they see
  std::string role = "clinician";
};

// The clinicians' page and its API (/clinic/, /clinic/api/). No accounts: the page is off
// (the API answers 404 and the page says so).
struct ClinicianSettings {
  std::vector<ClinicianAccount> accounts;
  int session_seconds = 12 * 3600;  // a signed-in clinician's session lasts a shift
  int login_attempts = 5;           // failed logins allowed per address per window...
  int login_window_seconds = 900;   // ...after which the address gets 429 until the window ends
};

struct Config {
  std::string address = "127.0.0.1";
  unsigned short port = 8080;
  int threads = 0;  // 0: one per core
  std::string database = "backline.db";
  // Where conversations are kept: "sqlite" (the database file above) or "memory" (nothing
  // survives a restart; for benchmarks and trying the server out).
  std::string store = "sqlite";
  std::string knowledge;             // empty: the shipped folder
  std::string dialogs;               // empty: the shipped folder
  std::string web;                   // empty: the shipped web/ folder
  bool log_patient_text = false;     // never on by default: patient text is sensitive
  int retention_check_minutes = 60;  // how often old turns are deleted
  // TLS without a reverse proxy: a PEM certificate chain and its PEM private key. Both or
  // neither; with both, the port speaks HTTPS/WSS only (a plain HTTP request gets a 400
  // saying so). Checked by Server::Create: unreadable files and a key that does not match
  // the certificate are startup errors.
  std::string tls_cert;
  std::string tls_key;
  // Reverse proxies in front of the server (addresses and CIDR blocks, server/client_address.h):
  // from these peers the client's address is read from X-Forwarded-For or Forwarded. Empty
  // (the default): those headers are ignored and the TCP peer is the client.
  std::vector<std::string> trusted_proxies;
  Limits limits;
  // Webhooks to the clinics (issue 22, server/webhooks.h): a PEM file of the certificate
  // authorities trusted for https endpoints instead of the system's (a hospital's private CA);
  // empty, the system's. The retry schedule's first delay and cap, in milliseconds (a failed
  // delivery is retried for 24 hours whatever these are; tests shorten them).
  std::string webhook_ca_file;
  int webhook_retry_base_ms = 30 * 1000;
  int webhook_retry_max_ms = 60 * 60 * 1000;
  // JSON: "curators": [{"name", "token"}], "curator_session_minutes",
  // "curator_login_attempts", "curator_login_window_minutes".
  CuratorSettings curators;
  // JSON: "clinicians": [{"name", "token", "clinic", "role"}], "clinician_session_minutes",
  // "clinician_login_attempts", "clinician_login_window_minutes".
  ClinicianSettings clinicians;

  // Reads a JSON config file over the defaults; unknown keys are errors (a typo must not
  // silently leave a limit at its default).
  static engine::Status LoadFile(const std::string& path, Config* config);
  // Checks what no single setting can: tls_cert and tls_key are both set or both empty.
  engine::Status Validate() const;
  bool tls() const { return !tls_cert.empty(); }
  // Applies "--port N"-style overrides; unknown options are errors.
  static engine::Status ApplyArgs(const std::vector<std::string>& args, std::string* config_file,
                                  Config* config);
};

}  // namespace backline::server

#endif  // BACKLINE_SERVER_CONFIG_H_
