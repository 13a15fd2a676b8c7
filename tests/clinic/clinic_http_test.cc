// The clinicians' page API over real HTTP (clinic/clinic_routes.h): a server in this process
// on 127.0.0.1 port 0 with a temporary database; items are written through the store as the
// server's turns write them (TurnRecord::handoffs), and the page's requests are sent as the
// browser sends them.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "clinic/clinic_routes.h"
#include "server/config.h"
#include "server/server.h"
#include "store/sqlite_store.h"
#include "tests/server/ws_client.h"
#include "tests/support/build_paths.h"

namespace backline::clinic {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using server::Config;
using server::Server;
using server::e2e::HttpHeaders;
using server::e2e::HttpResult;
namespace beast = server::e2e::beast;
namespace http = server::e2e::http;
namespace net = server::e2e::net;
using tcp = server::e2e::tcp;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using namespace std::chrono_literals;

const std::string kRoot = build::kSourceDir;
const std::string kToken = "ada-0123456789-abcdef";
const std::string kViewerToken = "val-0123456789-abcdef";
const std::string kOtherToken = "oz-0123456789-abcdef";
constexpr const char* kClinic = "demo";
constexpr const char* kOtherClinic = "uk-example";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

fs::path TempPath(const std::string& suffix) {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return fs::temp_directory_path() / ("backline-clinic-" + std::to_string(::getpid()) + "-" +
                                      info->name() + "-" + std::to_string(counter++) + suffix);
}

json JsonOf(const HttpResult& r) { return json::parse(r.body, nullptr, false); }
std::string HeaderOf(const HttpResult& r, http::field f) {
  auto it = r.headers.find(f);
  return it == r.headers.end() ? std::string() : std::string(it->value());
}

// An event stream read off a raw connection: the response as it arrives.
class EventStream {
 public:
  EventStream(unsigned short port, const std::string& cookie) : stream_(ioc_) {
    stream_.expires_after(30s);
    stream_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    const std::string req =
        "GET /clinic/api/events HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
        "\r\nAccept: text/event-stream\r\nCookie: " + cookie + "\r\n\r\n";
    net::write(stream_.socket(), net::buffer(req));
  }
  // Reads until `text` has arrived (true) or the connection ends or 30 s pass (false): a
  // bound for a broken server, not a measurement.
  bool WaitFor(const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (received_.find(text, scanned_) == std::string::npos) {
      if (std::chrono::steady_clock::now() >= deadline || ReadSome()) return false;
    }
    scanned_ = received_.find(text, scanned_) + text.size();
    return true;
  }
  // True when the server closes the connection within 30 s (whatever it sends before).
  bool WaitForEnd() {
    beast::error_code ec;
    while (!(ec = ReadSome())) {
    }
    return ec == net::error::eof || ec == net::error::connection_reset;
  }
  const std::string& received() const { return received_; }

 private:
  // One read of what has arrived, within 30 s; the error that ended it, if any.
  beast::error_code ReadSome() {
    beast::error_code result;
    size_t got = 0;
    stream_.expires_after(30s);
    stream_.async_read_some(net::buffer(buffer_), [&](beast::error_code ec, size_t n) {
      result = ec;
      got = n;
    });
    ioc_.restart();
    ioc_.run();
    received_.append(buffer_.data(), got);
    return result;
  }

  net::io_context ioc_;
  beast::tcp_stream stream_;
  std::array<char, 4096> buffer_{};
  std::string received_;
  size_t scanned_ = 0;
};

class ClinicHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempPath(".d");
    fs::create_directories(dir_);
    config_.address = "127.0.0.1";
    config_.port = 0;
    config_.threads = 2;
    config_.database = (dir_ / "t.db").string();
    config_.web = kRoot + "/web";
    config_.limits.handshake_timeout_seconds = 3;
    config_.clinicians.accounts = {{"Dr Ada", kToken, kClinic, "clinician"},
                                   {"Val Viewer", kViewerToken, kClinic, "viewer"},
                                   {"Dr Oz", kOtherToken, kOtherClinic, "clinician"}};
    config_.clinicians.login_attempts = 3;
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
    // A status change's webhook event, as the webhook code makes one: the test reads it back
    // from the store's outbox.
    StatusEvents events = [](const engine::Clinic& clinic, const store::HandoffRecord& item,
                             const std::string& status, const std::string& who) {
      EXPECT_EQ(clinic.id, item.clinic);
      store::EventRecord e;
      e.key = "status-" + item.reference + "-" + status;
      e.clinic = item.clinic;
      e.session_id = item.session_id;
      e.type = "handoff_status";
      e.body = json{{"reference", item.reference}, {"status", status}, {"by", who}}.dump();
      e.created_ms = NowMs();
      e.endpoints = {"ehr"};
      return std::vector<store::EventRecord>{e};
    };
    ClinicRouteOptions options;
    options.poll_interval = 100ms;  // quick passes keep the test short; the logic is the same
    ASSERT_TRUE(AddClinicRoutes(*server_, events, options).ok());
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

  store::Store& Store() { return server_->host()->ConversationStore(); }

  // Writes a turn that raised `item` (as the server's escalation or callback turn would) and
  // returns the item's id.
  int64_t Insert(store::HandoffRecord item, const std::string& user_text = "help") {
    static std::atomic<int> session_counter{0};
    if (item.session_id.empty()) item.session_id = "s-" + std::to_string(session_counter++);
    if (item.created_ms == 0) item.created_ms = NowMs();
    store::TurnRecord turn;
    turn.session_id = item.session_id;
    turn.seq = 1;
    turn.user_text = user_text;
    turn.reply_text = "Call the emergency number now.";
    turn.urgency = item.urgency;
    turn.kind = "escalation";
    turn.received_ms = turn.replied_ms = item.created_ms;
    item.seq = 1;
    const std::string reference = item.reference;
    const std::string clinic = item.clinic;
    turn.handoffs.push_back(std::move(item));
    store::SessionRecord session{turn.session_id, clinic, "{}", turn.received_ms, turn.received_ms};
    std::promise<engine::Status> done;
    Store().AppendTurn(std::move(turn), std::move(session),
                       [&done](engine::Status s) { done.set_value(s); });
    const engine::Status s = done.get_future().get();
    EXPECT_TRUE(s.ok()) << s.ToString();
    // Its id, as the page sees it.
    std::promise<int64_t> id;
    store::HandoffFilter f;
    f.clinic = clinic;
    Store().Handoffs(f, [&](engine::StatusOr<std::vector<store::HandoffRecord>> r) {
      int64_t found = 0;
      if (r.ok()) {
        for (const auto& h : r.value()) {
          if (h.reference == reference) found = h.id;
        }
      }
      id.set_value(found);
    });
    return id.get_future().get();
  }

  static store::HandoffRecord Item(const std::string& reference, const std::string& clinic,
                                   const std::string& type = "escalation") {
    store::HandoffRecord h;
    h.reference = reference;
    h.clinic = clinic;
    h.type = type;
    h.urgency = type == "escalation" ? "emergency" : "none";
    h.red_flag_kind = type == "escalation" ? "E1" : "";
    return h;
  }

  // A request as the page sends it: same origin, JSON for a body.
  HttpResult Api(http::verb verb, const std::string& route, const json& body = nullptr,
                 const std::string& cookie = "", HttpHeaders headers = {}) {
    if (!cookie.empty()) headers.emplace_back("Cookie", cookie);
    std::string text;
    if (!body.is_null()) {
      const bool has_origin = std::any_of(headers.begin(), headers.end(),
                                          [](const auto& h) { return h.first == "Origin"; });
      if (!has_origin) headers.emplace_back("Origin", "http://127.0.0.1:" + std::to_string(port_));
      text = body.dump();
    }
    return server::e2e::HttpRequest(port_, verb, "/clinic/api/" + route, text, 10s, headers);
  }

  // Signs in; returns "backline_clinic=<id>" for the Cookie header.
  std::string Login(const std::string& token) {
    HttpResult r = Api(http::verb::post, "login", {{"token", token}});
    EXPECT_EQ(r.status, 200) << r.body;
    const std::string set = HeaderOf(r, http::field::set_cookie);
    return set.substr(0, set.find(';'));
  }

  std::vector<std::string> References(const HttpResult& r) {
    std::vector<std::string> out;
    for (const auto& i : JsonOf(r).value("items", json::array())) {
      out.push_back(i.value("reference", ""));
    }
    return out;
  }

  fs::path dir_;
  Config config_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::atomic<int> run_result_{-1};
  unsigned short port_ = 0;
};

TEST_F(ClinicHttpTest, WithoutCliniciansTheApiIsOffAndThePageSaysSo) {
  config_.clinicians.accounts.clear();
  ASSERT_NO_FATAL_FAILURE(StartServer());
  HttpResult r = Api(http::verb::post, "login", {{"token", kToken}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(JsonOf(r).value("error", ""), "clinicians_off");
  HttpResult page = server::e2e::HttpGet(port_, "/clinic/");
  ASSERT_EQ(page.status, 200);
  EXPECT_THAT(page.body, HasSubstr("The clinicians' page is off"));
  EXPECT_THAT(std::string(page.headers["Content-Security-Policy"]),
              HasSubstr("default-src 'self'"));
}

TEST_F(ClinicHttpTest, SignInSetsAClinicCookieAndAWrongTokenIsRefused) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  HttpResult wrong = Api(http::verb::post, "login", {{"token", "not-the-token-0123456789"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(JsonOf(wrong).value("error", ""), "wrong_token");
  EXPECT_EQ(HeaderOf(wrong, http::field::set_cookie), "");

  HttpResult ok = Api(http::verb::post, "login", {{"token", kToken}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(JsonOf(ok).value("name", ""), "Dr Ada");
  EXPECT_EQ(JsonOf(ok).value("clinic", ""), kClinic);
  EXPECT_EQ(JsonOf(ok).value("role", ""), "clinician");
  const std::string cookie = HeaderOf(ok, http::field::set_cookie);
  EXPECT_THAT(cookie, MatchesRegex("backline_clinic=[0-9a-f]{64}; HttpOnly; SameSite=Strict; "
                                   "Path=/clinic; Max-Age=43200"));
  const std::string session = cookie.substr(0, cookie.find(';'));
  EXPECT_EQ(JsonOf(Api(http::verb::get, "me", nullptr, session)).value("name", ""), "Dr Ada");
  // The curator API does not know this session.
  HttpResult curator = server::e2e::HttpGet(port_, "/curator/api/me", {{"Cookie", session}});
  EXPECT_NE(curator.status, 200);

  EXPECT_EQ(Api(http::verb::get, "items").status, 401);  // no cookie
  EXPECT_EQ(Api(http::verb::post, "logout", json::object(), session).status, 200);
  EXPECT_EQ(Api(http::verb::get, "items", nullptr, session).status, 401);  // ended on the server
}

TEST_F(ClinicHttpTest, FailedSignInsAreLimitedPerAddress) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Api(http::verb::post, "login", {{"token", "wrong-0123456789abcdef"}}).status, 401);
  }
  HttpResult locked = Api(http::verb::post, "login", {{"token", kToken}});
  EXPECT_EQ(locked.status, 429);
  EXPECT_NE(HeaderOf(locked, http::field::retry_after), "");
}

TEST_F(ClinicHttpTest, ListsOwnClinicsItemsNewestFirstFilteredByStatusAndDate) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const int64_t now = NowMs();
  auto old_item = Item("BL-OLD01", kClinic);
  old_item.created_ms = now - 3 * 86400000LL;
  Insert(old_item);
  auto mid = Item("BL-MID01", kClinic, "callback");
  mid.created_ms = now - 2000;
  const int64_t mid_id = Insert(mid);
  auto recent = Item("BL-NEW01", kClinic);
  recent.created_ms = now - 1000;
  Insert(recent);
  auto theirs = Item("BL-OTH01", kOtherClinic);
  Insert(theirs);
  const std::string ada = Login(kToken);

  HttpResult open = Api(http::verb::get, "items", nullptr, ada);
  ASSERT_EQ(open.status, 200) << open.body;
  EXPECT_EQ(References(open), (std::vector<std::string>{"BL-NEW01", "BL-MID01", "BL-OLD01"}));
  EXPECT_FALSE(JsonOf(open)["items"][0].contains("session_id")) << "the session id stays here";

  // Closed items leave the open list and are found by their status.
  ASSERT_EQ(Api(http::verb::post, "items/" + std::to_string(mid_id) + "/status",
                {{"status", "closed"}}, ada)
                .status,
            200);
  EXPECT_EQ(References(Api(http::verb::get, "items", nullptr, ada)),
            (std::vector<std::string>{"BL-NEW01", "BL-OLD01"}));
  EXPECT_EQ(References(Api(http::verb::get, "items?status=closed", nullptr, ada)),
            (std::vector<std::string>{"BL-MID01"}));
  EXPECT_EQ(References(Api(http::verb::get, "items?status=all", nullptr, ada)).size(), 3u);
  // A date range: the last day only, then up to two days ago.
  EXPECT_EQ(
      References(Api(http::verb::get, "items?status=all&since=" + std::to_string(now - 86400000LL),
                     nullptr, ada)),
      (std::vector<std::string>{"BL-NEW01", "BL-MID01"}));
  EXPECT_EQ(References(Api(http::verb::get,
                           "items?status=all&until=" + std::to_string(now - 2 * 86400000LL),
                           nullptr, ada)),
            (std::vector<std::string>{"BL-OLD01"}));
  EXPECT_EQ(Api(http::verb::get, "items?status=bogus", nullptr, ada).status, 400);

  // The other clinic sees only its own.
  EXPECT_EQ(References(Api(http::verb::get, "items", nullptr, Login(kOtherToken))),
            (std::vector<std::string>{"BL-OTH01"}));
}

TEST_F(ClinicHttpTest, AStatusChangeIsRecordedWithItsEventAndOnlyByAClinicianOfTheClinic) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const int64_t id = Insert(Item("BL-ACK01", kClinic));
  const std::string route = "items/" + std::to_string(id) + "/status";

  // A viewer sees the item but cannot change it.
  const std::string val = Login(kViewerToken);
  EXPECT_EQ(References(Api(http::verb::get, "items", nullptr, val)),
            (std::vector<std::string>{"BL-ACK01"}));
  HttpResult viewer = Api(http::verb::post, route, {{"status", "acknowledged"}}, val);
  EXPECT_EQ(viewer.status, 403);
  EXPECT_EQ(JsonOf(viewer).value("error", ""), "role");
  // Another clinic's clinician is told there is no such item.
  const std::string oz = Login(kOtherToken);
  EXPECT_EQ(Api(http::verb::post, route, {{"status", "acknowledged"}}, oz).status, 404);
  EXPECT_EQ(
      Api(http::verb::get, "items/" + std::to_string(id) + "/conversation", nullptr, oz).status,
      404);

  const std::string ada = Login(kToken);
  // CSRF: a form post (not JSON) and another site's Origin are refused.
  EXPECT_EQ(Api(http::verb::post, route, {{"status", "acknowledged"}}, ada,
                {{"Content-Type", "text/plain"}})
                .status,
            403);
  EXPECT_EQ(Api(http::verb::post, route, {{"status", "acknowledged"}}, ada,
                {{"Origin", "https://evil.example"}})
                .status,
            403);
  EXPECT_EQ(Api(http::verb::post, route, {{"status", "new"}}, ada).status, 400);

  const int64_t before = NowMs();
  HttpResult ack = Api(http::verb::post, route, {{"status", "acknowledged"}}, ada);
  ASSERT_EQ(ack.status, 200) << ack.body;
  EXPECT_EQ(JsonOf(ack).value("status", ""), "acknowledged");

  // Recorded in the store: the list shows who and when.
  const json listed = JsonOf(Api(http::verb::get, "items", nullptr, val))["items"][0];
  EXPECT_EQ(listed.value("status", ""), "acknowledged");
  EXPECT_EQ(listed.value("status_by", ""), "Dr Ada");
  EXPECT_GE(listed.value("status_ms", int64_t{0}), before);

  // And its webhook event is in the outbox, for the endpoint the event names.
  std::promise<std::vector<store::DeliveryRecord>> due;
  Store().DueDeliveries(NowMs() + 86400000LL, 100, 100,
                        [&due](engine::StatusOr<std::vector<store::DeliveryRecord>> r) {
                          due.set_value(r.ok() ? r.value() : std::vector<store::DeliveryRecord>{});
                        });
  const auto deliveries = due.get_future().get();
  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_EQ(deliveries[0].type, "handoff_status");
  EXPECT_EQ(deliveries[0].endpoint, "ehr");
  EXPECT_EQ(deliveries[0].clinic, kClinic);
  const json body = json::parse(deliveries[0].body);
  EXPECT_EQ(body.value("reference", ""), "BL-ACK01");
  EXPECT_EQ(body.value("status", ""), "acknowledged");
  EXPECT_EQ(body.value("by", ""), "Dr Ada");
}

TEST_F(ClinicHttpTest, TheConversationAndContactAreSharedOnlyWithConsent) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  auto refused = Item("BL-NOC01", kClinic, "callback");
  const int64_t refused_id = Insert(refused, "please ring me, I cannot feel my legs");
  auto agreed = Item("BL-YES01", kClinic, "callback");
  agreed.consent = true;
  agreed.first_name = "Maria";
  agreed.phone = "+447700900123";
  agreed.best_time = "after 6 pm";
  const int64_t agreed_id = Insert(agreed, "my husband's back pain is worse tonight");
  const std::string ada = Login(kToken);

  HttpResult none =
      Api(http::verb::get, "items/" + std::to_string(refused_id) + "/conversation", nullptr, ada);
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_EQ(JsonOf(none).value("shared", true), false);
  EXPECT_THAT(none.body, Not(HasSubstr("legs")));

  HttpResult shared =
      Api(http::verb::get, "items/" + std::to_string(agreed_id) + "/conversation", nullptr, ada);
  ASSERT_EQ(shared.status, 200) << shared.body;
  EXPECT_EQ(JsonOf(shared).value("shared", false), true);
  ASSERT_EQ(JsonOf(shared)["turns"].size(), 1u);
  EXPECT_EQ(JsonOf(shared)["turns"][0].value("user_text", ""),
            "my husband's back pain is worse tonight");

  const HttpResult list = Api(http::verb::get, "items", nullptr, ada);
  const json listed = JsonOf(list);  // a range-for over a temporary's member would dangle
  for (const auto& item : listed["items"]) {
    if (item.value("reference", "") == "BL-YES01") {
      EXPECT_EQ(item.value("phone", ""), "+447700900123");
      EXPECT_EQ(item.value("first_name", ""), "Maria");
      EXPECT_EQ(item.value("best_time", ""), "after 6 pm");
    } else {
      EXPECT_FALSE(item.contains("phone")) << item.dump();
      EXPECT_FALSE(item.contains("first_name")) << item.dump();
    }
  }
  EXPECT_EQ(Api(http::verb::get, "items/999999/conversation", nullptr, ada).status, 404);
}

TEST_F(ClinicHttpTest, TheEventStreamSendsANewItemAndEndsWhenTheServerStops) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  Insert(Item("BL-BEFORE", kClinic));
  Insert(Item("BL-THEIRS", kOtherClinic));
  const std::string ada = Login(kToken);
  // Not signed in: a plain 401, no stream.
  EXPECT_EQ(Api(http::verb::get, "events").status, 401);

  EventStream events(port_, ada);
  ASSERT_TRUE(events.WaitFor("\r\n\r\n")) << events.received();
  EXPECT_THAT(events.received(), HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(events.received(), HasSubstr("text/event-stream"));
  EXPECT_THAT(events.received(), HasSubstr("Connection: close"));
  ASSERT_TRUE(events.WaitFor("event: ready")) << events.received();

  // An item written after the stream watches is announced; the one of before is not, nor the
  // other clinic's.
  Insert(Item("BL-LIVE01", kClinic));
  Insert(Item("BL-LIVE02", kOtherClinic));
  ASSERT_TRUE(events.WaitFor("event: change")) << events.received();
  ASSERT_TRUE(events.WaitFor("\n\n")) << events.received();
  EXPECT_THAT(events.received(), HasSubstr("BL-LIVE01"));
  EXPECT_THAT(events.received(), Not(HasSubstr("BL-BEFORE")));
  EXPECT_THAT(events.received(), Not(HasSubstr("BL-THEIRS")));
  EXPECT_THAT(events.received(), Not(HasSubstr("BL-LIVE02")));

  // A status change (here by another clinician) is announced as a change of that item.
  const int64_t id = JsonOf(Api(http::verb::get, "items", nullptr, ada))["items"][0].value("id", 0);
  ASSERT_EQ(Api(http::verb::post, "items/" + std::to_string(id) + "/status",
                {{"status", "acknowledged"}}, ada)
                .status,
            200);
  ASSERT_TRUE(events.WaitFor("\"changed\":[" + std::to_string(id) + "]")) << events.received();

  StopServer();
  EXPECT_TRUE(events.WaitForEnd());
}

TEST_F(ClinicHttpTest, SigningOutEndsTheEventStream) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const std::string ada = Login(kToken);
  EventStream events(port_, ada);
  ASSERT_TRUE(events.WaitFor("event: ready")) << events.received();
  ASSERT_EQ(Api(http::verb::post, "logout", json::object(), ada).status, 200);
  ASSERT_TRUE(events.WaitFor("event: signed_out")) << events.received();
  EXPECT_TRUE(events.WaitForEnd());
}

TEST_F(ClinicHttpTest, ThePageIsServedUnderAStrictPolicy) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  HttpResult page = server::e2e::HttpGet(port_, "/clinic/");
  ASSERT_EQ(page.status, 200);
  EXPECT_THAT(page.body, HasSubstr("clinic.js"));
  EXPECT_EQ(std::string(page.headers["Content-Security-Policy"]),
            "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  EXPECT_EQ(server::e2e::HttpGet(port_, "/clinic").status, 301);
  EXPECT_EQ(server::e2e::HttpGet(port_, "/clinic/clinic.js").status, 200);
}

}  // namespace
}  // namespace backline::clinic
