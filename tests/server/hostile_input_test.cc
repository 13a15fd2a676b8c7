// The bad-input catalogue: a table of hostile inputs, each with the answer the server must
// give, run against a real server on 127.0.0.1 port 0. README.md "## Security" points here.
//
// A row is {name, input, expected outcome}. Inputs:
//   Ws({frames...})   a WebSocket connection (plain upgrade to /ws) that sends the frames one
//                     at a time, reading the answer to each before the next (lockstep, so
//                     the outcome does not depend on timing)
//   Http("raw")       raw bytes on a new TCP connection; the HTTP response is read
//   Custom(fn)        anything else (several connections); fn returns the outcome
// Outcomes are short strings:
//   Ws:     the distinct answers, sorted and joined by ", ": "reply", "pong",
//           "error:<code>", ...; then "close:<code>" when the server closed the connection.
//           When it did not, a well-formed question is asked afterwards and must be answered
//           (otherwise "unusable" is added): bad input never breaks a connection silently.
//   Http:   "http:<status>", or "dropped" (closed without a response).
// To add a row, add a line to Rows(); the test's name is the row's name with non-alphanumeric
// characters as '_'. Every row also checks, on a fresh connection, that the server answers.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "server/config.h"
#include "server/server.h"
#include "store/sqlite_store.h"
#include "tests/server/ws_client.h"
#include "tests/support/build_paths.h"

namespace backline::server {
namespace {

namespace fs = std::filesystem;
namespace net = e2e::net;
namespace beast = e2e::beast;
namespace http = e2e::http;
using json = nlohmann::json;
using tcp = e2e::tcp;
using e2e::WsClient;
using namespace std::chrono_literals;

const std::string kRoot = build::kSourceDir;
const std::string kQuestion = "Is it safe to have a massage during chemotherapy?";

// The catalogue's server runs with these limits (the rows' expectations depend on them).
constexpr int kMessagesPerMinute = 5;  // frames of any type: 4x this
constexpr int kHandshakeTimeoutSeconds = 2;
constexpr size_t kMaxMessageBytes = 4096;  // the default

// ---- the server ----------------------------------------------------------------------------

class CatalogueServer {
 public:
  static CatalogueServer& Get() {
    static CatalogueServer* server = new CatalogueServer();  // lives until the process ends
    return *server;
  }
  unsigned short port() const { return port_; }
  const std::string& error() const { return error_; }

 private:
  CatalogueServer() {
    db_ = fs::temp_directory_path() / ("backline-hostile-" + std::to_string(::getpid()) + ".db");
    Config c;
    c.address = "127.0.0.1";
    c.port = 0;
    c.threads = 2;
    c.database = db_.string();
    c.knowledge = kRoot + "/knowledge";
    c.dialogs = kRoot + "/dialogs";
    c.web = kRoot + "/web";
    c.limits.messages_per_minute = kMessagesPerMinute;
    c.limits.handshake_timeout_seconds = kHandshakeTimeoutSeconds;
    c.limits.max_message_bytes = kMaxMessageBytes;
    c.limits.connections_per_address = 1000;
    auto store = store::SqliteStore::Open(db_.string());
    if (!store.ok()) {
      error_ = store.status().ToString();
      return;
    }
    auto server = Server::Create(c, std::move(store).value());
    if (!server.ok()) {
      error_ = server.status().ToString();
      return;
    }
    server_ = std::move(server).value();
    port_ = server_->port();
    thread_ = std::thread([this]() { server_->Run(); });
    std::atexit([]() { Get().Shutdown(); });
  }
  void Shutdown() {
    if (!server_) return;
    server_->Stop();
    thread_.join();
    server_.reset();
    std::error_code ec;
    for (const char* s : {"", "-wal", "-shm"}) fs::remove(db_.string() + s, ec);
  }

  fs::path db_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  unsigned short port_ = 0;
  std::string error_;
};

// A second server for the rows about limits per client address (issue 24): the same content
// with low per-address limits. Each such row connects from an address of its own (127.0.1.N;
// any 127.x.y.z reaches a server on 127.0.0.1), so the rows do not share their counts.
constexpr int kLimitsMessagesPerMinute = 4;         // per connection and per conversation
constexpr int kLimitsAddressMessagesPerMinute = 8;  // per address, across its connections
constexpr size_t kLimitsAddressBytesPerDay = 6000;  // typed text per address per day
constexpr int kLimitsUnansweredPerDay = 3;
constexpr int kLimitsFeedbackPerDay = 2;
constexpr int kLimitsConnectionsPerAddress = 5;

class LimitsServer {
 public:
  static LimitsServer& Get() {
    static LimitsServer* server = new LimitsServer();  // lives until the process ends
    return *server;
  }
  unsigned short port() const { return port_; }
  const std::string& error() const { return error_; }
  const fs::path& db() const { return db_; }

 private:
  LimitsServer() {
    db_ = fs::temp_directory_path() / ("backline-limits-" + std::to_string(::getpid()) + ".db");
    Config c;
    c.address = "127.0.0.1";
    c.port = 0;
    c.threads = 2;
    c.database = db_.string();
    c.knowledge = kRoot + "/knowledge";
    c.dialogs = kRoot + "/dialogs";
    c.web = kRoot + "/web";
    c.limits.messages_per_minute = kLimitsMessagesPerMinute;
    c.limits.handshake_timeout_seconds = kHandshakeTimeoutSeconds;
    c.limits.connections_per_address = kLimitsConnectionsPerAddress;
    c.limits.address_messages_per_minute = kLimitsAddressMessagesPerMinute;
    c.limits.address_bytes_per_day = kLimitsAddressBytesPerDay;
    c.limits.address_unanswered_per_day = kLimitsUnansweredPerDay;
    c.limits.address_feedback_per_day = kLimitsFeedbackPerDay;
    auto store = store::SqliteStore::Open(db_.string());
    if (!store.ok()) {
      error_ = store.status().ToString();
      return;
    }
    auto server = Server::Create(c, std::move(store).value());
    if (!server.ok()) {
      error_ = server.status().ToString();
      return;
    }
    server_ = std::move(server).value();
    port_ = server_->port();
    thread_ = std::thread([this]() { server_->Run(); });
    std::atexit([]() { Get().Shutdown(); });
  }
  void Shutdown() {
    if (!server_) return;
    server_->Stop();
    thread_.join();
    server_.reset();
    std::error_code ec;
    for (const char* s : {"", "-wal", "-shm"}) fs::remove(db_.string() + s, ec);
  }

  fs::path db_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  unsigned short port_ = 0;
  std::string error_;
};

// ---- inputs --------------------------------------------------------------------------------

struct Frame {
  std::string payload;
  bool binary = false;
};

struct Input {
  enum class Kind { kWs, kHttp, kCustom };
  Kind kind = Kind::kWs;
  std::string target = "/ws";  // kWs: the upgrade target
  std::vector<Frame> frames;   // kWs
  std::string raw;             // kHttp
  std::function<std::string(unsigned short port)> custom;
};

Input Ws(std::vector<Frame> frames, std::string target = "/ws") {
  Input in;
  in.kind = Input::Kind::kWs;
  in.frames = std::move(frames);
  in.target = std::move(target);
  return in;
}
Input Http(std::string raw) {
  Input in;
  in.kind = Input::Kind::kHttp;
  in.raw = std::move(raw);
  return in;
}
Input Custom(std::function<std::string(unsigned short)> fn) {
  Input in;
  in.kind = Input::Kind::kCustom;
  in.custom = std::move(fn);
  return in;
}

Frame Text(std::string payload) { return Frame{std::move(payload), false}; }
Frame Binary(std::string payload) { return Frame{std::move(payload), true}; }
Frame Message(const std::string& text) {
  return Text(json{{"type", "message"}, {"text", text}}.dump());
}
std::vector<Frame> Times(int n, const Frame& f) { return std::vector<Frame>(n, f); }

// A message frame of exactly `size` bytes (the question padded with spaces).
Frame MessageOfSize(size_t size) {
  const std::string empty = json{{"type", "message"}, {"text", kQuestion}}.dump();
  return Message(kQuestion + std::string(size - empty.size(), ' '));
}

std::string Nested(const std::string& open, const std::string& close, int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += open;
  for (int i = 0; i < depth; ++i) s += close;
  return s;
}

// A GET (or another request line) with a Host and whatever else is given.
std::string Get(const std::string& target, const std::string& headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + "\r\n";
}
std::string UpgradeRequest(const std::string& target, const std::string& headers) {
  return "GET " + target +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" + headers +
         "\r\n";
}
const std::string kKey = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
const std::string kVersion = "Sec-WebSocket-Version: 13\r\n";

// ---- running an input ------------------------------------------------------------------------

std::string Token(const json& j) {
  if (!j.is_object()) return "not-json";
  const std::string type = j.value("type", "?");
  if (type == "error") return "error:" + j.value("code", "?");
  return type;
}

std::string Summary(const std::set<std::string>& tokens, int close_code) {
  std::string out;
  for (const auto& t : tokens) out += (out.empty() ? "" : ", ") + t;
  if (close_code >= 0)
    out += (out.empty() ? "" : ", ") + std::string("close:") + std::to_string(close_code);
  return out;
}

// Reads one frame; false when the connection ended (*close_code set) or timed out.
bool ReadToken(WsClient& c, std::set<std::string>* tokens, int* close_code) {
  std::string payload;
  if (c.Read(&payload)) {
    tokens->insert(Token(json::parse(payload, nullptr, false)));
    return true;
  }
  if (c.timed_out()) {
    tokens->insert("timeout");
  } else if (c.closed_by_peer()) {
    *close_code = c.close_code();
  } else {
    tokens->insert("dropped");
  }
  return false;
}

std::string RunWs(unsigned short port, const Input& in) {
  WsClient c;
  if (!c.Connect(port, e2e::WithTarget(in.target))) {
    return "upgrade failed: http:" + std::to_string(c.http_status());
  }
  std::set<std::string> tokens;
  int close_code = -1;
  std::string welcome;
  if (!c.Read(&welcome)) return "no welcome";
  for (const Frame& f : in.frames) {
    if (!c.Send(f.payload, f.binary)) {
      // The server closed while we were sending (a frame too large): read what it said.
      while (ReadToken(c, &tokens, &close_code)) {
      }
      return Summary(tokens, close_code);
    }
    // A delete is answered twice: "deleted", then the new conversation's welcome.
    const bool is_delete = f.payload.find("\"delete\"") != std::string::npos;
    for (int k = 0; k < (is_delete ? 2 : 1); ++k) {
      if (!ReadToken(c, &tokens, &close_code)) return Summary(tokens, close_code);
    }
  }
  // Still open: it must still answer a well-formed question.
  if (!c.Send(Message(kQuestion).payload)) {
    tokens.insert("unusable");
  } else {
    std::string payload;
    const json r = c.Read(&payload) ? json::parse(payload, nullptr, false) : json();
    if (Token(r) != "reply") tokens.insert("unusable");
  }
  return Summary(tokens, close_code);
}

// Sends raw bytes and reads one HTTP response: "http:NNN", "dropped" or "timeout".
std::string RunHttp(unsigned short port, const std::string& raw,
                    http::response<http::string_body>* out = nullptr) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(10s);  // longer than the server's handshake timeout (slow loris rows)
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  if (raw.rfind("HEAD ", 0) == 0) parser.skip(true);
  std::string result = "dropped";
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
  stream.async_connect(endpoint, [&](beast::error_code ec) {
    if (ec) {
      result = "connect failed";
      return;
    }
    net::async_write(stream, net::buffer(raw), [&](beast::error_code ec2, std::size_t) {
      // A write error (the server closed early) still leaves a response to read.
      (void)ec2;
      http::async_read(stream, buffer, parser, [&](beast::error_code ec3, std::size_t) {
        if (ec3 == beast::error::timeout) {
          result = "timeout";
        } else if (!ec3) {
          result = "http:" + std::to_string(parser.get().result_int());
          if (out) *out = parser.release();
        }
      });
    });
  });
  ioc.run();
  return result;
}

// ---- custom rows -----------------------------------------------------------------------------

// Opens a conversation and returns its session id (asks one question first when `ask`).
std::string OpenSession(WsClient& c, unsigned short port, bool ask,
                        const std::string& target = "/ws") {
  if (!c.Connect(port, e2e::WithTarget(target))) return "";
  std::string payload;
  if (!c.Read(&payload)) return "";
  const json welcome = json::parse(payload, nullptr, false);
  if (ask) {
    if (!c.Send(Message(kQuestion).payload) || !c.Read(&payload)) return "";
  }
  return welcome.is_object() ? welcome.value("session", "") : "";
}

// What a resume with `id` gets: "welcome:new" (a new session) or "welcome:resumed".
std::string Resume(unsigned short port, const std::string& id) {
  WsClient c;
  if (!c.Connect(port, e2e::WithTarget("/ws?session=" + id))) {
    return "http:" + std::to_string(c.http_status());
  }
  std::string payload;
  if (!c.Read(&payload)) return "no welcome";
  const json w = json::parse(payload, nullptr, false);
  if (!w.is_object() || w.value("type", "") != "welcome") return "not a welcome";
  if (w.value("resumed", false)) {
    return w.value("session", "") == id ? "welcome:resumed" : "welcome:resumed another session";
  }
  return w.value("session", "") != id ? "welcome:new" : "welcome:new with the given id";
}

// B asks for the history (or deletes) naming A's session: B's own conversation is what is
// read (or deleted), and A's is untouched.
std::string ActOnAnotherSession(unsigned short port, const std::string& type) {
  WsClient a, b;
  const std::string id_a = OpenSession(a, port, true);
  const std::string id_b = OpenSession(b, port, false);
  if (id_a.empty() || id_b.empty()) return "setup failed";
  if (!b.Send(json{{"type", type}, {"session", id_a}}.dump())) return "send failed";
  std::string payload;
  if (!b.Read(&payload)) return "no answer";
  const json r = json::parse(payload, nullptr, false);
  std::string outcome;
  if (type == "history") {
    outcome = r.value("type", "") == "history" && r["turns"].empty() ? "history:own (empty)"
                                                                     : "history:" + r.dump();
  } else {
    outcome = r.value("type", "") == "deleted" && r.value("session", "") == id_b
                  ? "deleted:own"
                  : "deleted:" + r.dump();
  }
  // A's conversation still has its turn.
  a.Close();
  WsClient again;
  if (!again.Connect(port, e2e::WithTarget("/ws?session=" + id_a)) || !again.Read(&payload)) {
    return outcome + ", other lost";
  }
  const json w = json::parse(payload, nullptr, false);
  const bool intact = w.value("resumed", false) && w.value("turns", 0) == 1;
  return outcome + (intact ? ", other intact" : ", other changed: " + w.dump());
}

// ---- rows about limits per address (LimitsServer) ------------------------------------------

// Sends `text` and returns the answer's token ("reply", "error:rate_limited", ...).
std::string AskToken(WsClient& c, const std::string& text) {
  if (!c.Send(Message(text).payload)) return "send failed";
  std::string payload;
  if (!c.Read(&payload)) return c.closed_by_peer() ? "close" : "no answer";
  return Token(json::parse(payload, nullptr, false));
}

// Connects from `source` to the LimitsServer (`query` after /ws); "" when refused.
std::string OpenFrom(WsClient& c, const std::string& source, const std::string& query = "") {
  if (!c.Connect(LimitsServer::Get().port(), e2e::WithSource(source, "/ws" + query))) return "";
  std::string payload;
  if (!c.Read(&payload)) return "";
  const json w = json::parse(payload, nullptr, false);
  return w.is_object() ? w.value("session", "") : "";
}

// Connections of three messages each (under the per-connection limit), reconnecting, from
// one address: the address's limit holds across them. Returns the first answer that is not a
// reply and after how many replies it came.
std::string ReconnectFlood(const std::string& source, const std::string& text) {
  int replies = 0;
  for (int connection = 0; connection < 10; ++connection) {
    WsClient c;
    if (OpenFrom(c, source).empty()) return "refused after " + std::to_string(replies);
    for (int i = 0; i < 3; ++i) {
      const std::string token = AskToken(c, text);
      if (token != "reply") return token + " after " + std::to_string(replies) + " replies";
      ++replies;
    }
  }
  return "never limited: " + std::to_string(replies) + " replies";
}

int64_t CountRows(const fs::path& db, const std::string& sql, const std::string& arg) {
  sqlite3* h = nullptr;
  int64_t n = -1;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
      sqlite3_bind_text(st, 1, arg.c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return n;
}

// Questions nothing answers, from one address: each gets its reply and is stored, but the
// curators' list takes only the address's daily quota of them.
std::string UnansweredFlood(const std::string& source) {
  WsClient c;
  const std::string id = OpenFrom(c, source);
  if (id.empty()) return "refused";
  std::set<std::string> tokens;
  for (int i = 0; i < 3; ++i) tokens.insert(AskToken(c, "zorblax quintessa " + std::to_string(i)));
  WsClient d;  // a second connection: the quota is the address's
  const std::string id2 = OpenFrom(d, source);
  for (int i = 3; i < 6; ++i) tokens.insert(AskToken(d, "zorblax quintessa " + std::to_string(i)));
  std::string out;
  for (const auto& t : tokens) out += t + ", ";
  const fs::path& db = LimitsServer::Get().db();
  const char* kListed = "SELECT COUNT(*) FROM unanswered WHERE session_id = ?1";
  const char* kTurns = "SELECT COUNT(*) FROM turns WHERE session_id = ?1";
  return out + "stored " + std::to_string(CountRows(db, kTurns, id) + CountRows(db, kTurns, id2)) +
         ", listed " + std::to_string(CountRows(db, kListed, id) + CountRows(db, kListed, id2));
}

// Feedback frames past the address's daily quota get daily_limit and are not stored.
std::string FeedbackFlood(const std::string& source) {
  WsClient c;
  const std::string id = OpenFrom(c, source);
  if (id.empty()) return "refused";
  std::vector<std::string> tokens = {AskToken(c, kQuestion)};
  for (int i = 0; i < 4; ++i) {
    std::string payload;
    if (!c.Send(R"({"type":"feedback","seq":1,"rating":1})") || !c.Read(&payload)) {
      return "dropped";
    }
    tokens.push_back(Token(json::parse(payload, nullptr, false)));
  }
  std::string out;
  for (const auto& t : tokens) out += t + ", ";
  return out + "stored " +
         std::to_string(CountRows(LimitsServer::Get().db(),
                                  "SELECT COUNT(*) FROM feedback WHERE session_id = ?1", id));
}

// One conversation carried on from a second address: its own rate holds across both.
std::string OneConversationTwoAddresses() {
  WsClient a;
  const std::string id = OpenFrom(a, "127.0.1.5");
  if (id.empty()) return "refused";
  std::string out;
  for (int i = 0; i < 3; ++i) out += AskToken(a, kQuestion) + ", ";
  WsClient b;
  if (OpenFrom(b, "127.0.1.6", "?session=" + id) != id) return out + "not resumed";
  out += "resumed: ";
  for (int i = 0; i < 2; ++i) out += AskToken(b, kQuestion) + (i == 0 ? ", " : "");
  return out;
}

// Plain HTTP keep-alive connections count against connections_per_address like WebSocket
// ones: one client cannot hold every descriptor.
std::string KeepAliveHoard(const std::string& source) {
  net::io_context ioc;
  std::vector<std::unique_ptr<beast::tcp_stream>> held;
  std::string out;
  for (int i = 0; i <= kLimitsConnectionsPerAddress; ++i) {
    auto stream = std::make_unique<beast::tcp_stream>(ioc);
    beast::error_code ec;
    stream->socket().open(tcp::v4(), ec);
    stream->socket().bind(tcp::endpoint(net::ip::make_address(source), 0), ec);
    stream->socket().connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), LimitsServer::Get().port()), ec);
    if (ec) return "connect failed";
    http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(true);
    stream->expires_after(5s);
    http::write(*stream, req, ec);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(*stream, buffer, res, ec);
    out += ec ? std::string("dropped") : "http:" + std::to_string(res.result_int());
    out += i < kLimitsConnectionsPerAddress ? ", " : "";
    held.push_back(std::move(stream));
  }
  // Another address is not affected.
  return out + "; another address: http:" +
         std::to_string(
             e2e::HttpGet(LimitsServer::Get().port(), "/healthz", 5s, "127.0.1.9").status);
}

// A flood of WebSocket ping control frames (answered by the WebSocket layer itself) counts
// against the frame rate like any other frame: it is closed with 1008.
std::string PingControlFlood(unsigned short port) {
  WsClient c;
  if (!c.Connect(port)) return "upgrade failed";
  std::string payload;
  if (!c.Read(&payload)) return "no welcome";
  // The frame limit is 4 x 5 a minute here, and the connection is closed at the 16th frame
  // over it: 40 pings pass that, and few enough arrive after the close that the server's
  // close frame is read before any reset.
  for (int i = 0; i < 40; ++i) {
    if (!c.Ping()) break;  // closed under us
  }
  std::set<std::string> tokens;
  int close_code = -1;
  while (ReadToken(c, &tokens, &close_code)) {
  }
  return Summary(tokens, close_code);
}

// The live-sessions gauge of /metrics (-1 when absent).
int64_t LiveSessionsGauge(unsigned short port) {
  const std::string body = e2e::HttpGet(port, "/metrics").body;
  const std::string name = "\nbackline_live_sessions ";
  const size_t at = body.find(name);
  return at == std::string::npos ? -1 : std::stoll(body.substr(at + name.size()));
}

// Connections that say nothing leave nothing behind (issue 24: 98,000 such cycles kept 27 MB
// for a day).
std::string SilentConnections(unsigned short port) {
  const int64_t before = LiveSessionsGauge(port);
  for (int i = 0; i < 200; ++i) {
    WsClient c;
    if (!c.Connect(port)) return "upgrade failed";
    std::string payload;
    if (!c.Read(&payload)) return "no welcome";
  }
  const int64_t after = LiveSessionsGauge(port);
  if (before < 0 || after < 0) return "no backline_live_sessions gauge";
  return "sessions kept: +" + std::to_string(after - before);
}

// ---- the catalogue ---------------------------------------------------------------------------

struct Row {
  std::string name;
  Input input;
  std::string expected;
};

// How GoogleTest (and so CTest's test list) shows a row: its name, not its bytes.
void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

std::vector<Row> Rows() {
  const std::string huge_header = "X-Filler: " + std::string(9000, 'a') + "\r\n";
  const std::string big_body(100000, 'x');
  return {
      // -- the chat protocol: malformed frames get a specific error, the connection lives on
      {"malformed JSON", Ws({Text(R"({"type": "message", "text": )")}), "error:invalid_json"},
      {"JSON array", Ws({Text(R"(["message", "hi"])")}), "error:invalid_json"},
      {"JSON string", Ws({Text(R"("hello")")}), "error:invalid_json"},
      {"JSON null", Ws({Text("null")}), "error:invalid_json"},
      {"empty frame", Ws({Text("")}), "error:invalid_json"},
      {"trailing garbage after JSON", Ws({Text(R"({"type":"ping"} x)")}), "error:invalid_json"},
      {"missing type", Ws({Text(R"({"text":"hi"})")}), "error:missing_type"},
      {"type not a string", Ws({Text(R"({"type":1,"text":"hi"})")}), "error:missing_type"},
      {"unknown type", Ws({Text(R"({"type":"shout","text":"hi"})")}), "error:unknown_type"},
      {"type of 3000 characters", Ws({Text(json{{"type", std::string(3000, 't')}}.dump())}),
       "error:unknown_type"},
      {"message without text", Ws({Text(R"({"type":"message"})")}), "error:bad_field"},
      {"text is a number", Ws({Text(R"({"type":"message","text":42})")}), "error:bad_field"},
      {"text is null", Ws({Text(R"({"type":"message","text":null})")}), "error:bad_field"},
      {"text is an object", Ws({Text(R"({"type":"message","text":{"a":1}})")}), "error:bad_field"},
      {"empty text", Ws({Text(R"({"type":"message","text":""})")}), "error:empty_message"},
      {"whitespace text", Ws({Text(R"({"type":"message","text":" \t\r\n "})")}),
       "error:empty_message"},
      {"raw NUL byte in the frame",
       Ws({Text(std::string(R"({"type":"message","text":"a)") + '\0' + R"(b"})")}),
       "error:invalid_json"},
      {"escaped NUL in the text", Ws({Text(R"({"type":"message","text":"back\u0000pain"})")}),
       "reply"},
      {"lone surrogate escape", Ws({Text(R"({"type":"message","text":"\ud800"})")}),
       "error:invalid_json"},
      {"invalid UTF-8 in a text frame", Ws({Text("{\"type\":\"message\",\"text\":\"caf\xe9\"}")}),
       "close:1007"},
      {"invalid UTF-8 in a binary frame",
       Ws({Binary("{\"type\":\"message\",\"text\":\"\xff\xfe\"}")}), "error:invalid_utf8"},
      {"overlong NUL in a binary frame",
       Ws({Binary("{\"type\":\"message\",\"text\":\"\xc0\x80\"}")}), "error:invalid_utf8"},
      {"UTF-8 encoded surrogate in a binary frame",
       Ws({Binary("{\"type\":\"message\",\"text\":\"\xed\xa0\x80\"}")}), "error:invalid_utf8"},
      {"well-formed binary frame", Ws({Binary(Message(kQuestion).payload)}), "reply"},
      {"unknown extra fields", Ws({Text(R"({"type":"ping","admin":true,"session":"x"})")}), "pong"},
      {"duplicate keys, the last wins",
       Ws({Text(R"({"type":"message","text":"x","type":"ping"})")}), "pong"},
      {"feedback seq 1e30", Ws({Text(R"({"type":"feedback","seq":1e30,"rating":1})")}),
       "error:bad_field"},
      {"feedback seq 2^64-1",
       Ws({Text(R"({"type":"feedback","seq":18446744073709551615,"rating":1})")}),
       "error:bad_field"},
      {"feedback seq past 2^64",
       Ws({Text(R"({"type":"feedback","seq":99999999999999999999999,"rating":1})")}),
       "error:bad_field"},
      {"feedback seq negative", Ws({Text(R"({"type":"feedback","seq":-1,"rating":1})")}),
       "error:bad_field"},
      // 2^32 + 1 truncated to an int is 1: a valid rating, if the parser narrowed first.
      {"feedback rating 2^32+1",
       Ws({Message(kQuestion), Text(R"({"type":"feedback","seq":1,"rating":4294967297})")}),
       "error:bad_field, reply"},
      {"feedback rating 2^64-1",
       Ws({Message(kQuestion),
           Text(R"({"type":"feedback","seq":1,"rating":18446744073709551615})")}),
       "error:bad_field, reply"},
      {"feedback rating 1 is saved",
       Ws({Message(kQuestion), Text(R"({"type":"feedback","seq":1,"rating":1})")}),
       "feedback_saved, reply"},
      {"feedback rating 0", Ws({Text(R"({"type":"feedback","seq":1,"rating":0})")}),
       "error:bad_field"},
      {"feedback for a turn that is not there",
       Ws({Text(R"({"type":"feedback","seq":7,"rating":1})")}), "error:bad_field"},
      {"deeply nested arrays", Ws({Text(Nested("[", "]", 2000))}), "error:invalid_json"},
      {"deeply nested objects, innermost without a value", Ws({Text(Nested("{\"a\":", "}", 600))}),
       "error:invalid_json"},
      {"frame of exactly 4096 bytes", Ws({MessageOfSize(kMaxMessageBytes)}), "reply"},
      {"frame of 4097 bytes", Ws({MessageOfSize(kMaxMessageBytes + 1)}), "close:1009"},
      // The server refuses a frame from its header, before reading the payload; closing with
      // 64 KiB still unread makes the kernel reset the connection, which may reach the client
      // before the close frame does (seen under ASan). Either is the refusal; an answer, or a
      // connection left open, is not.
      {"frame of 64 KiB", Ws({MessageOfSize(64 << 10)}), "close:1009|dropped"},
      {"one long word of 4000 letters", Ws({Message(std::string(4000, 'a'))}), "reply"},
      {"message flood", Ws(Times(40, Message(kQuestion))), "error:rate_limited, reply, close:1008"},
      {"ping flood", Ws(Times(60, Text(R"({"type":"ping"})"))),
       "error:rate_limited, pong, close:1008"},
      {"junk flood", Ws(Times(60, Text("}{"))),
       "error:invalid_json, error:rate_limited, close:1008"},
      {"history naming another session",
       Custom([](unsigned short p) { return ActOnAnotherSession(p, "history"); }),
       "history:own (empty), other intact"},
      {"delete naming another session",
       Custom([](unsigned short p) { return ActOnAnotherSession(p, "delete"); }),
       "deleted:own, other intact"},
      {"resume frame without a session", Ws({Text(R"({"type":"resume"})")}), "error:bad_field"},
      {"resume frame with a number for the session",
       Ws({Text(R"({"type":"resume","session":42})")}), "error:bad_field"},
      {"resume frame of an unknown id",
       Ws({Text(R"({"type":"resume","session":"0123456789abcdef0123456789abcdef"})")}), "welcome"},
      {"resume frame of a path", Ws({Text(R"({"type":"resume","session":"../../etc/passwd"})")}),
       "welcome"},
      {"resume frame of 3000 characters",
       Ws({Text(json{{"type", "resume"}, {"session", std::string(3000, 'a')}}.dump())}), "welcome"},
      {"resume frame after another frame",
       Ws({Text(R"({"type":"ping"})"),
           Text(R"({"type":"resume","session":"0123456789abcdef0123456789abcdef"})")}),
       "error:bad_field, pong"},
      {"resume of an unknown session id",
       Custom([](unsigned short p) { return Resume(p, std::string(32, 'a')); }), "welcome:new"},
      {"resume of a malformed session id",
       Custom([](unsigned short p) { return Resume(p, "..%2F..%2Fetc%2Fpasswd"); }), "welcome:new"},
      {"resume of an uppercase session id", Custom([](unsigned short p) {
         WsClient a;
         std::string id = OpenSession(a, p, true);
         std::transform(id.begin(), id.end(), id.begin(), ::toupper);
         return Resume(p, id);
       }),
       "welcome:new"},
      {"resume of a 4000-character session id",
       Custom([](unsigned short p) { return Resume(p, std::string(4000, 'f')); }), "welcome:new"},

      {"WebSocket ping control-frame flood",
       Custom([](unsigned short p) { return PingControlFlood(p); }), "close:1008"},
      {"200 connections that say nothing",
       Custom([](unsigned short p) { return SilentConnections(p); }), "sessions kept: +0"},

      // -- limits per client address, across connections (LimitsServer, issue 24)
      {"reconnecting from one address to reset the rate",
       Custom([](unsigned short) { return ReconnectFlood("127.0.1.1", kQuestion); }),
       "error:rate_limited after 8 replies"},
      {"a day's typed text from one address, across connections", Custom([](unsigned short) {
         return ReconnectFlood("127.0.1.2", kQuestion + std::string(1400, ' ') + "?");
       }),
       "error:daily_limit after 4 replies"},
      {"unanswered questions from one address",
       Custom([](unsigned short) { return UnansweredFlood("127.0.1.3"); }),
       "reply, stored 6, listed 3"},
      {"feedback flood from one address",
       Custom([](unsigned short) { return FeedbackFlood("127.0.1.4"); }),
       "reply, feedback_saved, feedback_saved, error:daily_limit, error:daily_limit, stored 2"},
      {"one conversation from two addresses",
       Custom([](unsigned short) { return OneConversationTwoAddresses(); }),
       "reply, reply, reply, resumed: reply, error:rate_limited"},
      {"keep-alive HTTP connections past the per-address limit",
       Custom([](unsigned short) { return KeepAliveHoard("127.0.1.7"); }),
       "http:200, http:200, http:200, http:200, http:200, http:429; another address: http:200"},

      // -- paths: traversal in every encoding is refused with 404, the answer of a missing file
      // (a prober learns nothing about which rule matched); the path is decoded exactly once
      {"dot-dot path", Http(Get("/../../etc/passwd")), "http:404"},
      {"encoded dot-dot", Http(Get("/%2e%2e/%2e%2e/etc/passwd")), "http:404"},
      {"encoded dot-dot, uppercase", Http(Get("/%2E%2E/%2E%2E/etc/passwd")), "http:404"},
      {"encoded slash after dot-dot", Http(Get("/..%2f..%2fetc%2fpasswd")), "http:404"},
      {"half-encoded dot-dot", Http(Get("/.%2e/.%2e/etc/passwd")), "http:404"},
      {"double-encoded dot-dot is a plain name", Http(Get("/%252e%252e/%252e%252e/etc/passwd")),
       "http:404"},
      {"backslash dot-dot", Http(Get("/..\\..\\etc\\passwd")), "http:404"},
      {"encoded backslash dot-dot", Http(Get("/..%5c..%5cetc%5cpasswd")), "http:404"},
      {"overlong UTF-8 dot-dot", Http(Get("/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd")), "http:404"},
      {"overlong UTF-8 slash", Http(Get("/..%c0%af..%c0%afetc%c0%afpasswd")), "http:404"},
      {"encoded NUL", Http(Get("/index.html%00.js")), "http:404"},
      {"malformed escape", Http(Get("/%zz")), "http:404"},
      {"truncated escape", Http(Get("/index.html%2")), "http:404"},
      {"encoded control character", Http(Get("/index%0d%0aX-Injected:%201.html")), "http:404"},
      {"absolute path outside web/", Http(Get("//etc/passwd")), "http:404"},
      {"hidden file", Http(Get("/.git/config")), "http:404"},
      {"package file", Http(Get("/package.json")), "http:404"},
      {"test folder", Http(Get("/tests/widget.test.mjs")), "http:404"},
      {"absolute-form target", Http(Get("http://evil.example/index.html")), "http:404"},
      {"asterisk target", Http(Get("*")), "http:404"},

      // -- sizes and timeouts
      {"9 KiB of headers", Http(Get("/", huge_header)), "http:431"},
      {"10 KiB URL", Http(Get("/?q=" + std::string(10240, 'q'))), "http:431"},
      {"100 KB body",
       Http("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n" + big_body),
       "http:413"},
      {"slow loris: headers never finished",
       Http("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: 1\r\n"), "dropped"},

      // -- methods
      {"POST to a page", Http("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}"),
       "http:405"},
      {"PUT the widget",
       Http("PUT /widget.js HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n\r\nx"),
       "http:405"},
      {"DELETE /healthz", Http("DELETE /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), "http:405"},
      {"OPTIONS", Http("OPTIONS / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), "http:405"},
      {"TRACE", Http("TRACE / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), "http:405"},
      {"unknown method", Http("BREW /pot HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), "http:405"},
      {"HEAD of the widget", Http("HEAD /widget.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
       "http:200"},

      // -- malformed HTTP
      {"garbage request line", Http("HELLO\r\n\r\n"), "http:400"},
      {"bare LF line endings", Http("GET / HTTP/1.1\nHost: 127.0.0.1\n\n"), "http:400"},
      {"HTTP/2 preface on HTTP/1", Http("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), "http:400"},
      {"HTTP/1.1 without Host", Http("GET /healthz HTTP/1.1\r\n\r\n"), "http:400"},
      {"two Host headers", Http(Get("/healthz", "Host: evil.example\r\n")), "http:400"},
      {"Host with markup", Http("GET / HTTP/1.1\r\nHost: x\"><script>\r\n\r\n"), "http:400"},
      {"HTTP/1.0 without Host", Http("GET /healthz HTTP/1.0\r\n\r\n"), "http:200"},
      {"NUL in a header value", Http(Get("/", std::string("X-A: a") + '\0' + "b\r\n")), "http:400"},
      {"space in a header name", Http(Get("/", "Bad Header: x\r\n")), "http:400"},
      {"negative Content-Length",
       Http("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n"), "http:400"},
      {"two different Content-Lengths",
       Http("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: "
            "2\r\n\r\nxx"),
       "http:400"},
      {"bad chunk",
       Http("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
       "http:400"},

      // -- the WebSocket upgrade
      {"upgrade without a key", Http(UpgradeRequest("/ws", kVersion)), "http:400"},
      {"upgrade with WebSocket version 12",
       Http(UpgradeRequest("/ws", kKey + "Sec-WebSocket-Version: 12\r\n")), "http:426"},
      {"upgrade from a foreign Origin",
       Http(UpgradeRequest("/ws", kKey + kVersion + "Origin: https://evil.example\r\n")),
       "http:403"},
      {"upgrade from a look-alike Origin",
       Http(UpgradeRequest("/ws", kKey + kVersion + "Origin: http://localhost.evil.example\r\n")),
       "http:403"},
      {"upgrade for an unknown clinic", Http(UpgradeRequest("/ws?clinic=nope", kKey + kVersion)),
       "http:400"},
      {"upgrade on another path", Http(UpgradeRequest("/chat", kKey + kVersion)), "http:404"},
      {"upgrade with a traversal path", Http(UpgradeRequest("/%2e%2e/ws", kKey + kVersion)),
       "http:404"},
      {"well-formed upgrade", Http(UpgradeRequest("/ws?clinic=demo", kKey + kVersion)), "http:101"},
      {"GET /ws without an upgrade", Http(Get("/ws")), "http:426"},
  };
}

std::string TestName(const ::testing::TestParamInfo<Row>& info) {
  std::string name = info.param.name;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class HostileInputTest : public ::testing::TestWithParam<Row> {};

TEST_P(HostileInputTest, GetsItsExpectedAnswer) {
  CatalogueServer& server = CatalogueServer::Get();
  ASSERT_TRUE(server.error().empty()) << server.error();
  const Row& row = GetParam();
  std::string outcome;
  switch (row.input.kind) {
    case Input::Kind::kWs:
      outcome = RunWs(server.port(), row.input);
      break;
    case Input::Kind::kHttp:
      outcome = RunHttp(server.port(), row.input.raw);
      break;
    case Input::Kind::kCustom:
      outcome = row.input.custom(server.port());
      break;
  }
  // "a|b": either outcome is right (a race the row explains).
  std::vector<std::string> allowed;
  for (size_t start = 0;;) {
    const size_t bar = row.expected.find('|', start);
    allowed.push_back(row.expected.substr(start, bar - start));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  EXPECT_NE(std::find(allowed.begin(), allowed.end(), outcome), allowed.end())
      << row.name << ": got " << outcome << ", expected " << row.expected;
  // And the server as a whole still answers a well-formed question on a new connection.
  WsClient c;
  ASSERT_TRUE(c.Connect(server.port())) << "after " << row.name << ": " << c.Describe();
  std::string payload;
  ASSERT_TRUE(c.Read(&payload));
  ASSERT_TRUE(c.Send(Message(kQuestion).payload));
  ASSERT_TRUE(c.Read(&payload)) << c.Describe();
  EXPECT_EQ(Token(json::parse(payload, nullptr, false)), "reply") << payload;
}

INSTANTIATE_TEST_SUITE_P(Catalogue, HostileInputTest, ::testing::ValuesIn(Rows()), TestName);

TEST(HostileInputCatalogueTest, HasAtLeastFortyRowsWithUniqueNames) {
  const auto rows = Rows();
  EXPECT_GE(rows.size(), 40u);
  std::set<std::string> names;
  for (const auto& r : rows) {
    EXPECT_TRUE(names.insert(TestName(::testing::TestParamInfo<Row>(r, 0))).second)
        << "duplicate row name: " << r.name;
  }
}

// ---- the headers every response carries ------------------------------------------------------

std::string Header(const http::response<http::string_body>& res, http::field f) {
  auto it = res.find(f);
  return it == res.end() ? "<none>" : std::string(it->value());
}
std::string Header(const http::response<http::string_body>& res, const char* name) {
  auto it = res.find(name);
  return it == res.end() ? "<none>" : std::string(it->value());
}

TEST(SecurityHeadersTest, PagesGetACspWithTheClinicsFrameAncestors) {
  CatalogueServer& server = CatalogueServer::Get();
  ASSERT_TRUE(server.error().empty()) << server.error();
  http::response<http::string_body> res;
  ASSERT_EQ(RunHttp(server.port(), Get("/"), &res), "http:200");
  const std::string csp = Header(res, "Content-Security-Policy");
  EXPECT_THAT(csp, ::testing::HasSubstr("default-src 'self'"));
  EXPECT_THAT(csp, ::testing::HasSubstr("object-src 'none'"));
  EXPECT_THAT(csp, ::testing::EndsWith("frame-ancestors 'self'"));
  EXPECT_EQ(Header(res, "X-Frame-Options"), "SAMEORIGIN");
  EXPECT_EQ(Header(res, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(Header(res, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(Header(res, http::field::server), "<none>");
  EXPECT_EQ(Header(res, http::field::strict_transport_security), "<none>") << "plain HTTP";

  // dialogs/clinics/demo.json lists a portal that may frame the demo clinic's pages.
  ASSERT_EQ(RunHttp(server.port(), Get("/?clinic=demo"), &res), "http:200");
  EXPECT_THAT(Header(res, "Content-Security-Policy"),
              ::testing::EndsWith("frame-ancestors 'self' https://riverside-portal.example"));
  EXPECT_EQ(Header(res, "X-Frame-Options"), "<none>") << "it cannot express a list";
  // An unknown clinic gets the strict default, not an error.
  ASSERT_EQ(RunHttp(server.port(), Get("/?clinic=nope"), &res), "http:200");
  EXPECT_THAT(Header(res, "Content-Security-Policy"),
              ::testing::EndsWith("frame-ancestors 'self'"));
}

TEST(SecurityHeadersTest, TheWidgetScriptCanBeLoadedByOtherSites) {
  CatalogueServer& server = CatalogueServer::Get();
  ASSERT_TRUE(server.error().empty()) << server.error();
  http::response<http::string_body> res;
  ASSERT_EQ(
      RunHttp(server.port(), Get("/widget.js", "Origin: https://portal.example.org\r\n"), &res),
      "http:200");
  EXPECT_EQ(Header(res, "Cross-Origin-Resource-Policy"), "cross-origin");
  EXPECT_EQ(Header(res, http::field::access_control_allow_origin), "*");
  EXPECT_EQ(Header(res, http::field::access_control_allow_credentials), "<none>");
  EXPECT_THAT(Header(res, http::field::content_type), ::testing::StartsWith("text/javascript"));
  EXPECT_EQ(Header(res, "X-Content-Type-Options"), "nosniff");
  // The page itself is not: only same-origin documents may embed it as a resource.
  ASSERT_EQ(RunHttp(server.port(), Get("/index.html"), &res), "http:200");
  EXPECT_EQ(Header(res, "Cross-Origin-Resource-Policy"), "same-origin");
}

TEST(SecurityHeadersTest, ErrorsAndJsonGetTheStrictPolicy) {
  CatalogueServer& server = CatalogueServer::Get();
  ASSERT_TRUE(server.error().empty()) << server.error();
  for (const std::string& raw :
       {Get("/healthz"), Get("/nope"), Get("/%2e%2e/"),
        std::string("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"),
        Get("/", "X-Filler: " + std::string(9000, 'a') + "\r\n")}) {
    SCOPED_TRACE(raw.substr(0, 40));
    http::response<http::string_body> res;
    ASSERT_THAT(RunHttp(server.port(), raw, &res), ::testing::StartsWith("http:"));
    EXPECT_EQ(Header(res, "Content-Security-Policy"),
              "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    EXPECT_EQ(Header(res, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(Header(res, "Referrer-Policy"), "no-referrer");
    EXPECT_EQ(Header(res, http::field::server), "<none>");
  }
}

TEST(SecurityHeadersTest, TheUpgradeResponseHasNoVersionBanner) {
  CatalogueServer& server = CatalogueServer::Get();
  ASSERT_TRUE(server.error().empty()) << server.error();
  http::response<http::string_body> res;
  ASSERT_EQ(RunHttp(server.port(), UpgradeRequest("/ws", kKey + kVersion), &res), "http:101");
  // Beast would write "Boost.Beast/<version>"; the server names itself without a version.
  EXPECT_EQ(Header(res, http::field::server), "backline");
}

}  // namespace
}  // namespace backline::server
