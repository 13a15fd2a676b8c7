// The curator API over real HTTP (curator/curator_routes.h): a server in this process on
// 127.0.0.1 port 0, serving a temporary copy of knowledge/ and dialogs/ (edits change the
// copy, never the repository's files), with a temporary database. Plus unit tests of the
// sign-in pieces (curator/internal/curator_auth.h) with a hand-driven clock.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "curator/curator_routes.h"
#include "curator/internal/curator_auth.h"
#include "server/config.h"
#include "server/server.h"
#include "store/sqlite_store.h"
#include "tests/server/ws_client.h"
#include "tests/support/build_paths.h"

namespace backline::curator {
namespace {

using server::Config;
using server::CuratorSettings;
using server::Server;

namespace fs = std::filesystem;
using json = nlohmann::json;
namespace beast = server::e2e::beast;
namespace http = server::e2e::http;
namespace net = server::e2e::net;
using server::e2e::WsClient;
using tcp = server::e2e::tcp;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using namespace std::chrono_literals;

const std::string kRoot = build::kSourceDir;
const std::string kToken = "kim-0123456789-abcdef";
const std::string kOtherToken = "sam-9876543210-fedcba";
// Goes unanswered in the shipped content (a clarifying question), and the stretching entry
// is where a curator would put it.
const std::string kUnanswered = "can I use a foam roller on my back";
const std::string kStretching = "physical-therapy-stretching-stiffness";
const std::string kMassage = "Is it safe to have a massage during chemotherapy?";
const std::string kMassageEntry = "massage-safe-during-treatment";
const std::string kRedFlag = "I can't feel my legs and I've wet myself";

fs::path TempPath(const std::string& suffix) {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string test = info ? info->name() : "none";
  return fs::temp_directory_path() / ("backline-curator-" + std::to_string(::getpid()) + "-" +
                                      test + "-" + std::to_string(counter++) + suffix);
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Response {
  int status = 0;  // 0: no response
  std::string body;
  http::fields headers;
  json Json() const { return json::parse(body, nullptr, false); }
  std::string Header(http::field f) const {
    auto it = headers.find(f);
    return it == headers.end() ? std::string() : std::string(it->value());
  }
};

using Headers = std::map<std::string, std::string>;

// One request on a new connection. `body` non-empty: sent with the given headers only (the
// test decides Content-Type).
Response Send(unsigned short port, http::verb verb, const std::string& target,
              const std::string& body = "", const Headers& headers = {}) {
  Response result;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  // A bound, not a measurement: an edit copies and compiles the whole content, which can take
  // a while on a busy machine.
  stream.expires_after(60s);
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.keep_alive(false);
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  stream.async_connect(
      tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [&](beast::error_code ec) {
        if (ec) return;
        http::async_write(stream, req, [&](beast::error_code ec2, std::size_t) {
          if (ec2) return;
          http::async_read(stream, buffer, res, [&](beast::error_code ec3, std::size_t) {
            if (ec3) return;
            result.status = static_cast<int>(res.result_int());
            result.body = res.body();
            result.headers = res.base();
          });
        });
      });
  ioc.run();
  return result;
}

class CuratorHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempPath(".d");
    fs::create_directories(dir_);
    fs::copy(kRoot + "/knowledge", dir_ / "knowledge", fs::copy_options::recursive);
    fs::copy(kRoot + "/dialogs", dir_ / "dialogs", fs::copy_options::recursive);
    config_.address = "127.0.0.1";
    config_.port = 0;
    config_.threads = 2;
    config_.database = (dir_ / "t.db").string();
    config_.knowledge = (dir_ / "knowledge").string();
    config_.dialogs = (dir_ / "dialogs").string();
    config_.web = kRoot + "/web";
    config_.limits.handshake_timeout_seconds = 3;
    config_.curators.accounts = {{"Nurse Kim", kToken}, {"Sam Lee", kOtherToken}};
    config_.curators.login_attempts = 3;
  }

  void TearDown() override {
    StopServer();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void StartServer() {
    auto store = store::SqliteStore::Open(config_.database);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto server = Server::Create(config_, std::move(store).value());
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    auto curator = AddCuratorRoutes(*server_);
    ASSERT_TRUE(curator.ok()) << curator.status().ToString();
    port_ = server_->port();
    thread_ = std::thread([this]() { run_result_ = server_->Run(); });
  }

  void StopServer() {
    if (!server_) return;
    server_->Stop();
    thread_.join();
    EXPECT_EQ(run_result_, 0);
    server_.reset();
  }

  // A JSON request as the page sends it (same-origin, Content-Type: application/json).
  Response Api(http::verb verb, const std::string& route, const json& body = nullptr,
               const std::string& cookie = "") {
    Headers h;
    if (!cookie.empty()) h["Cookie"] = cookie;
    std::string text;
    if (!body.is_null()) {
      h["Content-Type"] = "application/json";
      h["Origin"] = "http://127.0.0.1:" + std::to_string(port_);
      text = body.dump();
    }
    return Send(port_, verb, "/curator/api/" + route, text, h);
  }

  // Signs in; returns "backline_curator=<id>" for the Cookie header.
  std::string Login(const std::string& token = kToken) {
    Response r = Api(http::verb::post, "login", {{"token", token}});
    EXPECT_EQ(r.status, 200) << r.body;
    const std::string set = r.Header(http::field::set_cookie);
    const size_t semi = set.find(';');
    return set.substr(0, semi);
  }

  fs::path FaqFile(const std::string& name) { return dir_ / "knowledge" / "faq" / name; }

  fs::path dir_;
  Config config_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::atomic<int> run_result_{-1};
  unsigned short port_ = 0;
};

// ---- switched off --------------------------------------------------------------------------

TEST_F(CuratorHttpTest, WithoutCuratorsTheApiIsOffAndThePageSaysSo) {
  config_.curators.accounts.clear();
  ASSERT_NO_FATAL_FAILURE(StartServer());
  for (const char* route : {"me", "topics", "login"}) {
    Response r = Api(route == std::string("login") ? http::verb::post : http::verb::get, route,
                     route == std::string("login") ? json{{"token", kToken}} : json(nullptr));
    EXPECT_EQ(r.status, 404) << route;
    EXPECT_EQ(r.Json().value("error", ""), "curators_off") << r.body;
    EXPECT_EQ(r.Header(http::field::set_cookie), "");
  }
  Response page = Send(port_, http::verb::get, "/curator/");
  ASSERT_EQ(page.status, 200);
  EXPECT_THAT(page.body, HasSubstr("The curator tools are off"));
  EXPECT_EQ(page.Header(http::field::cache_control), "no-store");
  EXPECT_THAT(std::string(page.headers["Content-Security-Policy"]),
              HasSubstr("default-src 'self'"));
}

// ---- signing in ----------------------------------------------------------------------------

TEST_F(CuratorHttpTest, LoginSetsAStrictHttpOnlyCookieWithoutSecureOverPlainHttp) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  Response r = Api(http::verb::post, "login", {{"token", kToken}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json().value("name", ""), "Nurse Kim");
  EXPECT_EQ(r.Header(http::field::cache_control), "no-store");
  const std::string cookie = r.Header(http::field::set_cookie);
  EXPECT_THAT(cookie, MatchesRegex("backline_curator=[0-9a-f]{64}; HttpOnly; SameSite=Strict; "
                                   "Path=/curator; Max-Age=28800"));
  EXPECT_THAT(cookie, Not(HasSubstr("Secure")));

  const std::string session = cookie.substr(0, cookie.find(';'));
  Response me = Api(http::verb::get, "me", nullptr, session);
  EXPECT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.Json().value("name", ""), "Nurse Kim");

  // The other curator gets a session of their own.
  Response sam = Api(http::verb::get, "me", nullptr, Login(kOtherToken));
  EXPECT_EQ(sam.Json().value("name", ""), "Sam Lee");

  // Signing out ends the session on the server, not only in the browser.
  Response out = Api(http::verb::post, "logout", json::object(), session);
  EXPECT_EQ(out.status, 200) << out.body;
  EXPECT_THAT(out.Header(http::field::set_cookie), HasSubstr("Max-Age=0"));
  EXPECT_EQ(Api(http::verb::get, "me", nullptr, session).status, 401);
}

TEST_F(CuratorHttpTest, MissingAndWrongCredentialsAreRefused) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  // No cookie at all.
  Response none = Api(http::verb::get, "topics");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.Json().value("error", ""), "not_signed_in") << none.body;
  // A made-up session.
  Response made_up =
      Api(http::verb::get, "topics", nullptr, "backline_curator=" + std::string(64, 'a'));
  EXPECT_EQ(made_up.status, 401);
  EXPECT_EQ(made_up.Json().value("error", ""), "session_expired");
  // A login without a token, with the wrong one, with a prefix of the right one, and with the
  // right one plus more: none gets a cookie.
  Response missing = Api(http::verb::post, "login", json::object());
  EXPECT_EQ(missing.status, 400) << missing.body;
  for (const std::string& token : {std::string("not-the-token-at-all"), kToken.substr(0, 10)}) {
    Response wrong = Api(http::verb::post, "login", {{"token", token}});
    EXPECT_EQ(wrong.status, 401) << token;
    EXPECT_EQ(wrong.Json().value("error", ""), "wrong_token");
    EXPECT_EQ(wrong.Header(http::field::set_cookie), "");
  }
  // Edits need a session too, and change nothing without one.
  const std::string before = ReadFile(FaqFile("physical-therapy.json"));
  Response edit =
      Api(http::verb::post, "entries/" + kStretching + "/paraphrases", {{"text", kUnanswered}});
  EXPECT_EQ(edit.status, 401);
  EXPECT_EQ(ReadFile(FaqFile("physical-therapy.json")), before);
}

TEST_F(CuratorHttpTest, AnExpiredSessionIsRefused) {
  config_.curators.session_seconds = 1;
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const std::string session = Login();
  EXPECT_EQ(Api(http::verb::get, "me", nullptr, session).status, 200);
  std::this_thread::sleep_for(1100ms);
  Response r = Api(http::verb::get, "me", nullptr, session);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Json().value("error", ""), "session_expired") << r.body;
}

TEST_F(CuratorHttpTest, FailedLoginsAreLimitedPerAddress) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Api(http::verb::post, "login", {{"token", "wrong-token-number-" + std::to_string(i)}})
                  .status,
              401);
  }
  // Past the limit even the right token is refused, with a time to come back.
  Response r = Api(http::verb::post, "login", {{"token", kToken}});
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.Json().value("error", ""), "too_many_attempts");
  const std::string retry = r.Header(http::field::retry_after);
  ASSERT_THAT(retry, MatchesRegex("[0-9]+"));
  EXPECT_GT(std::stoi(retry), 0);
  EXPECT_LE(std::stoi(retry), 900);
  EXPECT_EQ(r.Header(http::field::set_cookie), "");
}

// Behind a reverse proxy (trusted_proxies) every curator's connection comes from the proxy:
// the limit uses the address the proxy forwarded, so five wrong sign-ins from one curator's
// address do not lock out another. From a peer that is not trusted, X-Forwarded-For is
// ignored: a guesser cannot dodge the limit by inventing addresses.
TEST_F(CuratorHttpTest, FailedLoginsFromOneAddressBehindAProxyDoNotStopAnother) {
  config_.curators.login_attempts = 5;
  config_.trusted_proxies = {"127.0.0.1"};
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const auto login = [&](const std::string& token, const std::string& forwarded_for) {
    Headers h;
    h["Content-Type"] = "application/json";
    h["Origin"] = "http://127.0.0.1:" + std::to_string(port_);
    h["X-Forwarded-For"] = forwarded_for;
    return Send(port_, http::verb::post, "/curator/api/login", json{{"token", token}}.dump(), h);
  };
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(login("wrong-token-number-" + std::to_string(i), "203.0.113.7").status, 401);
  }
  EXPECT_EQ(login(kToken, "203.0.113.7").status, 429);
  Response other = login(kToken, "198.51.100.9");
  EXPECT_EQ(other.status, 200) << other.body;
  EXPECT_THAT(other.Header(http::field::set_cookie), HasSubstr("backline_curator="));
  // A client's own X-Forwarded-For in front of the proxy's entry is not believed.
  EXPECT_EQ(login(kToken, "198.51.100.9, 203.0.113.7").status, 429);
}

TEST_F(CuratorHttpTest, ForwardedForFromAnUntrustedPeerIsIgnored) {
  config_.curators.login_attempts = 5;  // trusted_proxies empty: the default
  ASSERT_NO_FATAL_FAILURE(StartServer());
  for (int i = 0; i < 5; ++i) {
    Headers h;
    h["Content-Type"] = "application/json";
    h["Origin"] = "http://127.0.0.1:" + std::to_string(port_);
    h["X-Forwarded-For"] = "198.51.100." + std::to_string(i + 1);
    EXPECT_EQ(Send(port_, http::verb::post, "/curator/api/login",
                   json{{"token", "wrong-token-number-" + std::to_string(i)}}.dump(), h)
                  .status,
              401);
  }
  Headers h;
  h["Content-Type"] = "application/json";
  h["Origin"] = "http://127.0.0.1:" + std::to_string(port_);
  h["X-Forwarded-For"] = "192.0.2.200";
  EXPECT_EQ(
      Send(port_, http::verb::post, "/curator/api/login", json{{"token", kToken}}.dump(), h).status,
      429);
}

// ---- CSRF ----------------------------------------------------------------------------------

TEST_F(CuratorHttpTest, ChangesNeedJsonPostFromTheSameOrigin) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const std::string session = Login();
  const std::string body = json{{"text", kMassage}}.dump();
  // A form post (what another site can make a browser send).
  Response form = Send(port_, http::verb::post, "/curator/api/try", body,
                       {{"Cookie", session}, {"Content-Type", "text/plain"}});
  EXPECT_EQ(form.status, 403);
  EXPECT_EQ(form.Json().value("error", ""), "csrf") << form.body;
  // JSON, but from another site.
  Response cross = Send(port_, http::verb::post, "/curator/api/try", body,
                        {{"Cookie", session},
                         {"Content-Type", "application/json"},
                         {"Origin", "http://evil.example"}});
  EXPECT_EQ(cross.status, 403);
  // A login from another site is refused the same way.
  Response login =
      Send(port_, http::verb::post, "/curator/api/login", json{{"token", kToken}}.dump(),
           {{"Content-Type", "application/json"}, {"Origin", "http://evil.example"}});
  EXPECT_EQ(login.status, 403);
  EXPECT_EQ(login.Header(http::field::set_cookie), "");
  // A GET cannot change anything.
  Response get = Send(port_, http::verb::get, "/curator/api/undo", "", {{"Cookie", session}});
  EXPECT_EQ(get.status, 405);
  // The same request, same-origin JSON: accepted.
  Response ok = Send(port_, http::verb::post, "/curator/api/try", body,
                     {{"Cookie", session},
                      {"Content-Type", "application/json; charset=utf-8"},
                      {"Origin", "http://127.0.0.1:" + std::to_string(port_)}});
  EXPECT_EQ(ok.status, 200) << ok.body;
}

// ---- trying and browsing -------------------------------------------------------------------

TEST_F(CuratorHttpTest, TryShowsTheReplyAndTheExplanation) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const std::string session = Login();
  Response r = Api(http::verb::post, "try", {{"text", kMassage}}, session);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.Json();
  EXPECT_EQ(j["reply"].value("entry", ""), kMassageEntry) << r.body;
  EXPECT_EQ(j["reply"].value("kind", ""), "answer");
  ASSERT_TRUE(j["explain"]["candidates"].is_array());
  ASSERT_FALSE(j["explain"]["candidates"].empty());
  EXPECT_EQ(j["explain"]["candidates"][0].value("entry", ""), kMassageEntry);
  EXPECT_THAT(j["explain"].value("decision", ""), HasSubstr("answer"));
  EXPECT_FALSE(j.value("version", "").empty());

  Response flag = Api(http::verb::post, "try", {{"text", kRedFlag}}, session);
  ASSERT_EQ(flag.status, 200) << flag.body;
  json f = flag.Json();
  EXPECT_EQ(f["reply"].value("urgency", ""), "emergency") << flag.body;
  bool affirmed = false;
  for (const auto& m : f["explain"]["red_flags"]) affirmed |= m.value("affirmed", false);
  EXPECT_TRUE(affirmed) << f["explain"].dump();

  Response empty = Api(http::verb::post, "try", {{"text", ""}}, session);
  EXPECT_EQ(empty.status, 400);
  EXPECT_FALSE(empty.Json().value("message", "").empty());
}

TEST_F(CuratorHttpTest, EntriesCanBeBrowsedByTopic) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const std::string session = Login();
  Response r = Api(http::verb::get, "topics", nullptr, session);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.Json();
  std::set<std::string> ids;
  for (const auto& t : j["topics"]) {
    for (const auto& e : t["entries"]) {
      EXPECT_EQ(e.value("topic", ""), t.value("topic", ""));
      ids.insert(e.value("id", ""));
    }
  }
  EXPECT_TRUE(ids.count(kStretching));
  EXPECT_TRUE(ids.count(kMassageEntry));

  Response e = Api(http::verb::get, "entries/" + kMassageEntry, nullptr, session);
  ASSERT_EQ(e.status, 200) << e.body;
  EXPECT_EQ(e.Json().value("topic", ""), "massage");
  EXPECT_THAT(e.Json()["questions"].dump(), HasSubstr(kMassage));

  EXPECT_EQ(Api(http::verb::get, "entries/no-such-entry", nullptr, session).status, 404);
  EXPECT_EQ(Api(http::verb::get, "no-such-thing", nullptr, session).status, 404);
}

// ---- editing -------------------------------------------------------------------------------

// The whole loop: a question goes unanswered in a chat, the curator sees it, attaches it to
// an entry, and the next person who asks it that way gets that entry.
TEST_F(CuratorHttpTest, AttachingAnUnansweredQuestionAnswersItNextTime) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  {
    WsClient c;
    ASSERT_TRUE(c.Connect(port_)) << c.Describe();
    std::string frame;
    ASSERT_TRUE(c.Read(&frame));  // welcome
    ASSERT_TRUE(c.Send(json{{"type", "message"}, {"text", kUnanswered}}.dump()));
    ASSERT_TRUE(c.Read(&frame));
    json reply = json::parse(frame, nullptr, false);
    EXPECT_NE(reply.value("entry", ""), kStretching) << frame;
    EXPECT_THAT(reply.value("kind", ""), ::testing::AnyOf("clarify", "fallback")) << frame;
    c.Close();
  }
  const std::string session = Login();
  // The unanswered turn is committed before its reply is sent, so it is listed now.
  Response u = Api(http::verb::get, "unanswered", nullptr, session);
  ASSERT_EQ(u.status, 200) << u.body;
  bool listed = false;
  const json groups = u.Json()["groups"];
  for (const auto& g : groups) listed |= g.value("example", "") == kUnanswered;
  EXPECT_TRUE(listed) << u.body;

  const std::string before = ReadFile(FaqFile("physical-therapy.json"));
  Response a = Api(http::verb::post, "entries/" + kStretching + "/paraphrases",
                   {{"text", kUnanswered}}, session);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(a.Json().value("applied", false));
  EXPECT_GT(a.Json().value("revision", 0), 0);
  const std::string after = ReadFile(FaqFile("physical-therapy.json"));
  EXPECT_THAT(after, HasSubstr(kUnanswered));
  // Never the repository's own file.
  EXPECT_THAT(ReadFile(kRoot + "/knowledge/faq/physical-therapy.json"),
              Not(HasSubstr(kUnanswered)));

  // The next conversation gets the entry.
  WsClient c;
  ASSERT_TRUE(c.Connect(port_)) << c.Describe();
  std::string frame;
  ASSERT_TRUE(c.Read(&frame));
  ASSERT_TRUE(c.Send(json{{"type", "message"}, {"text", kUnanswered}}.dump()));
  ASSERT_TRUE(c.Read(&frame));
  json reply = json::parse(frame, nullptr, false);
  EXPECT_EQ(reply.value("entry", ""), kStretching) << frame;
  EXPECT_EQ(reply.value("kind", ""), "answer") << frame;
  c.Close();

  // The revision names who did it; undo puts the file back as it was.
  Response revs = Api(http::verb::get, "revisions", nullptr, session);
  ASSERT_EQ(revs.status, 200) << revs.body;
  ASSERT_FALSE(revs.Json()["revisions"].empty()) << revs.body;
  EXPECT_EQ(revs.Json()["revisions"][0].value("who", ""), "Nurse Kim");
  EXPECT_THAT(revs.Json()["revisions"][0]["diff"]["added"].dump(), HasSubstr(kUnanswered));

  Response undo = Api(http::verb::post, "undo", json::object(), session);
  ASSERT_EQ(undo.status, 200) << undo.body;
  EXPECT_EQ(ReadFile(FaqFile("physical-therapy.json")), before);
  Response again = Api(http::verb::post, "try", {{"text", kUnanswered}}, session);
  EXPECT_NE(again.Json()["reply"].value("entry", ""), kStretching) << again.body;
}

TEST_F(CuratorHttpTest, ABrokenEditIsRefusedWithDiagnosticsAndNothingIsWritten) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const std::string session = Login();
  const std::string before = ReadFile(FaqFile("massage.json"));
  Response entry = Api(http::verb::get, "entries/" + kMassageEntry, nullptr, session);
  ASSERT_EQ(entry.status, 200);
  const std::string version =
      Api(http::verb::get, "status", nullptr, session).Json()["content"].value("version", "");
  ASSERT_FALSE(version.empty());

  // An empty answer does not pass `backline check`.
  Response r = Api(http::verb::put, "entries/" + kMassageEntry,
                   {{"questions", entry.Json()["questions"]}, {"answer", ""}}, session);
  EXPECT_EQ(r.status, 400) << r.body;
  json j = r.Json();
  EXPECT_EQ(j.value("error", ""), "refused") << r.body;
  ASSERT_TRUE(j["diagnostics"].is_array());
  ASSERT_FALSE(j["diagnostics"].empty()) << r.body;
  EXPECT_EQ(j["diagnostics"][0].value("severity", ""), "error");
  EXPECT_FALSE(j["diagnostics"][0].value("message", "").empty());
  EXPECT_EQ(ReadFile(FaqFile("massage.json")), before);

  // A paraphrase that belongs to another entry is refused too.
  Response taken = Api(http::verb::post, "entries/" + kStretching + "/paraphrases",
                       {{"text", kMassage}}, session);
  EXPECT_EQ(taken.status, 400) << taken.body;
  EXPECT_EQ(ReadFile(FaqFile("physical-therapy.json")),
            ReadFile(kRoot + "/knowledge/faq/physical-therapy.json"));

  // A body that is not JSON, and a wrong shape.
  Response bad = Send(port_, http::verb::put, "/curator/api/entries/" + kMassageEntry, "{nope",
                      {{"Cookie", session}, {"Content-Type", "application/json"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.Json().value("error", ""), "bad_json");
  Response shape = Api(http::verb::put, "entries/" + kMassageEntry,
                       {{"questions", "not a list"}, {"answer", 3}}, session);
  EXPECT_EQ(shape.status, 400);

  // Nothing changed: same content version, nothing to undo.
  EXPECT_EQ(Api(http::verb::get, "status", nullptr, session).Json()["content"].value("version", ""),
            version);
  EXPECT_EQ(Api(http::verb::post, "undo", json::object(), session).status, 404);
  EXPECT_EQ(ReadFile(FaqFile("massage.json")), before);
}

TEST_F(CuratorHttpTest, ReloadThroughTheApiReportsTheContentVersion) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const std::string session = Login();
  Response r = Api(http::verb::post, "reload", json::object(), session);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.Json()["content"].value("version", ""), MatchesRegex("[0-9a-f]{64}"));
  EXPECT_GT(r.Json()["content"].value("entries", 0), 50);
}

TEST_F(CuratorHttpTest, OversizedBodiesAreRefusedByTheHttpLayer) {
  config_.limits.max_http_request_bytes = 1024;
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const std::string session = Login();
  Response r = Api(http::verb::post, "try", {{"text", std::string(4000, 'a')}}, session);
  EXPECT_EQ(r.status, 413);
}

// ---- the sign-in pieces, with a hand-driven clock -------------------------------------------

using internal::ConstantTimeEquals;
using internal::CuratorAuth;

TEST(CuratorAuthTest, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("0123456789abcdef", "0123456789abcdef"));
  EXPECT_FALSE(ConstantTimeEquals("0123456789abcdeF", "0123456789abcdef"));
  EXPECT_FALSE(ConstantTimeEquals("X123456789abcdef", "0123456789abcdef"));
  EXPECT_FALSE(ConstantTimeEquals("0123456789abcde", "0123456789abcdef"));
  EXPECT_FALSE(ConstantTimeEquals("0123456789abcdef0", "0123456789abcdef"));
  EXPECT_FALSE(ConstantTimeEquals("", "0123456789abcdef"));
  // A NUL where the secret has none.
  EXPECT_FALSE(ConstantTimeEquals(std::string("0123456789abcdef\0", 17), "0123456789abcdef"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(CuratorAuthTest, CookieIsSecureOnlyWhenTheServerServesTls) {
  Config plain;
  EXPECT_FALSE(internal::CookieSecure(plain));
  Config tls;
  tls.tls_cert = "/etc/backline/cert.pem";
  tls.tls_key = "/etc/backline/key.pem";
  EXPECT_TRUE(internal::CookieSecure(tls));
  EXPECT_EQ(internal::SessionCookie("ab", 60, false),
            "backline_curator=ab; HttpOnly; SameSite=Strict; Path=/curator; Max-Age=60");
  EXPECT_EQ(internal::SessionCookie("ab", 60, true),
            "backline_curator=ab; HttpOnly; SameSite=Strict; Path=/curator; Max-Age=60; Secure");
}

TEST(CuratorAuthTest, SessionIdsAreLongAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string id = internal::RandomSessionId();
    EXPECT_THAT(id, MatchesRegex("[0-9a-f]{64}"));
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(CuratorAuthTest, SessionsExpireAndFailedLoginsAreForgottenAfterTheWindow) {
  CuratorSettings s;
  s.accounts = {{"Nurse Kim", kToken}};
  s.session_seconds = 60;
  s.login_attempts = 2;
  s.login_window_seconds = 100;
  CuratorAuth auth(s);
  int64_t now = 1'000'000;
  auto ok = auth.SignIn("10.0.0.1", kToken, now);
  ASSERT_EQ(ok.result, CuratorAuth::LoginResult::kOk);
  EXPECT_EQ(ok.name, "Nurse Kim");
  EXPECT_TRUE(auth.Find(ok.session_id, now + 59'999).has_value());
  EXPECT_FALSE(auth.Find(ok.session_id, now + 60'000).has_value());

  EXPECT_EQ(auth.SignIn("10.0.0.2", "wrong", now).result, CuratorAuth::LoginResult::kWrongToken);
  EXPECT_EQ(auth.SignIn("10.0.0.2", "wrong", now + 10'000).result,
            CuratorAuth::LoginResult::kWrongToken);
  auto limited = auth.SignIn("10.0.0.2", kToken, now + 20'000);
  EXPECT_EQ(limited.result, CuratorAuth::LoginResult::kTooManyAttempts);
  EXPECT_EQ(limited.retry_after_ms, 80'000);  // the first failure leaves the window at now+100s
  // Another address is not affected.
  EXPECT_EQ(auth.SignIn("10.0.0.3", kToken, now + 20'000).result, CuratorAuth::LoginResult::kOk);
  // After the first failure leaves the window, one more attempt is allowed.
  EXPECT_EQ(auth.SignIn("10.0.0.2", kToken, now + 100'001).result, CuratorAuth::LoginResult::kOk);
}

// Lock-outs are per address: failures from one never stop a right token from another, and an
// address that keeps failing is locked out for twice as long each time.
TEST(CuratorAuthTest, LockoutsArePerAddressAndDoubleWhileAnAddressKeepsFailing) {
  CuratorSettings s;
  s.accounts = {{"Nurse Kim", kToken}, {"Sam Lee", kOtherToken}};
  s.login_attempts = 5;
  s.login_window_seconds = 100;
  CuratorAuth auth(s);
  const int64_t t0 = 1'000'000;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(auth.SignIn("203.0.113.7", "wrong", t0 + i).result,
              CuratorAuth::LoginResult::kWrongToken);
  }
  EXPECT_EQ(auth.SignIn("203.0.113.7", kToken, t0 + 10).result,
            CuratorAuth::LoginResult::kTooManyAttempts);
  // Every account signs in from an address that has not failed.
  EXPECT_EQ(auth.SignIn("198.51.100.9", kToken, t0 + 10).result, CuratorAuth::LoginResult::kOk);
  EXPECT_EQ(auth.SignIn("2001:db8::9", kOtherToken, t0 + 10).result, CuratorAuth::LoginResult::kOk);
  // The first lock-out ends with the window; the next failure locks for two windows...
  int64_t t = t0 + 100'000;
  EXPECT_EQ(auth.SignIn("203.0.113.7", "wrong", t).result, CuratorAuth::LoginResult::kWrongToken);
  auto locked = auth.SignIn("203.0.113.7", kToken, t + 1);
  ASSERT_EQ(locked.result, CuratorAuth::LoginResult::kTooManyAttempts);
  EXPECT_EQ(locked.retry_after_ms, 200'000 - 1);
  // ...and the next (five more failures, the window being empty by then) for four.
  t += 200'000;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(auth.SignIn("203.0.113.7", "wrong", t + i).result,
              CuratorAuth::LoginResult::kWrongToken);
  }
  locked = auth.SignIn("203.0.113.7", kToken, t + 5);
  ASSERT_EQ(locked.result, CuratorAuth::LoginResult::kTooManyAttempts);
  EXPECT_EQ(locked.retry_after_ms, 400'000 - 1);
  // Once it has passed, the right token signs in and the address starts afresh.
  t += 4 + 400'000;
  EXPECT_EQ(auth.SignIn("203.0.113.7", kToken, t).result, CuratorAuth::LoginResult::kOk);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(auth.SignIn("203.0.113.7", "wrong", t + 1 + i).result,
              CuratorAuth::LoginResult::kWrongToken);
  }
  EXPECT_EQ(auth.SignIn("203.0.113.7", kToken, t + 10).result, CuratorAuth::LoginResult::kOk);
}

TEST(CuratorConfigTest, CuratorsAreReadAndShortTokensRefused) {
  const fs::path p = TempPath(".json");
  auto write = [&](const std::string& text) { std::ofstream(p) << text; };
  write(R"({"curators": [{"name": "Nurse Kim", "token": "kim-0123456789-abcdef"}],
            "curator_session_minutes": 30, "curator_login_attempts": 4,
            "curator_login_window_minutes": 10})");
  Config c;
  ASSERT_TRUE(Config::LoadFile(p.string(), &c).ok());
  ASSERT_EQ(c.curators.accounts.size(), 1u);
  EXPECT_EQ(c.curators.accounts[0].name, "Nurse Kim");
  EXPECT_EQ(c.curators.session_seconds, 1800);
  EXPECT_EQ(c.curators.login_attempts, 4);
  EXPECT_EQ(c.curators.login_window_seconds, 600);

  write(R"({"curators": [{"name": "Nurse Kim", "token": "short-token"}]})");
  Config d;
  engine::Status s = Config::LoadFile(p.string(), &d);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("at least 16 characters"));
  EXPECT_THAT(s.message(), Not(HasSubstr("short-token")));  // never echo a secret

  write(R"({"curators": [{"name": "A", "token": "aaaaaaaaaaaaaaaaaaaa", "role": "x"}]})");
  EXPECT_FALSE(Config::LoadFile(p.string(), &d).ok());
  write(R"({"curators": {"name": "A"}})");
  EXPECT_FALSE(Config::LoadFile(p.string(), &d).ok());
  write(R"({"curators": [{"name": "A", "token": "aaaaaaaaaaaaaaaaaaaa"},
                         {"name": "B", "token": "aaaaaaaaaaaaaaaaaaaa"}]})");
  EXPECT_FALSE(Config::LoadFile(p.string(), &d).ok());
  std::error_code ec;
  fs::remove(p, ec);
}

}  // namespace
}  // namespace backline::curator
