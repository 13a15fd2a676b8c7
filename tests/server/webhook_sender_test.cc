// WebhookSender (server/webhooks.h) end to end: events recorded in a MemoryStore's outbox,
// delivered to receivers this test starts (small synchronous Beast HTTP servers on 127.0.0.1),
// with the retry schedule shortened to milliseconds. No assertion is about elapsed time: each
// wait has a generous limit that only a broken sender reaches.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>  // Boost 1.74's asio uses std::exchange without including it
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/metrics.h"
#include "server/webhook_events.h"
#include "server/webhooks.h"
#include "store/memory_store.h"
#include "tests/server/webhook_receiver.h"

namespace backline::server {
namespace {

using e2e::FreePort;
using e2e::Receiver;

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using json = nlohmann::json;

constexpr char kSecretA[] = "secret-for-clinic-a-0123456789abcdef0123456789";
constexpr char kSecretB[] = "secret-for-clinic-b-0123456789abcdef0123456789";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Waits until `done()` or a limit no working sender comes near (20 s). Returns done().
bool WaitFor(const std::function<bool()>& done) {
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > limit) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A temp folder with a self-signed certificate for `name` (and 127.0.0.1): cert.pem, key.pem.
class Certificate {
 public:
  explicit Certificate(const std::string& name) {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("backline-webhook-tls-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(dir_);
    const std::string d = dir_.string();
    ok_ = std::system(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
                       " -keyout " +
                       d + "/key.pem -out " + d + "/cert.pem -days 2 -subj /CN=" + name +
                       " -addext subjectAltName=DNS:" + name + " >/dev/null 2>&1")
                          .c_str()) == 0;
  }
  ~Certificate() { std::filesystem::remove_all(dir_); }
  bool ok() const { return ok_; }
  std::string cert() const { return (dir_ / "cert.pem").string(); }
  std::string key() const { return (dir_ / "key.pem").string(); }

  std::unique_ptr<ssl::context> ServerContext() const {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    ctx->use_certificate_chain_file(cert());
    ctx->use_private_key_file(key(), ssl::context::pem);
    return ctx;
  }

 private:
  std::filesystem::path dir_;
  bool ok_ = false;
};

engine::Clinic ClinicWithWebhook(const std::string& id, const std::string& secret,
                                 unsigned short port) {
  engine::Clinic c;
  c.id = id;
  engine::WebhookEndpoint w;
  w.id = "triage";
  w.url = "http://127.0.0.1:" + std::to_string(port) + "/hooks/backline";
  w.tls = false;
  w.host = "127.0.0.1";
  w.port = std::to_string(port);
  w.target = "/hooks/backline";
  w.events = {"escalation", "feedback"};
  w.secret = secret;
  c.webhooks = {w};
  return c;
}

class WebhookSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::MemoryStore::Open();
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    store_->SetAfterCallbacks([]() {});
    options_.retry.base_ms = 20;
    options_.retry.max_ms = 100;
    options_.connect_timeout_ms = 2000;
    options_.response_timeout_ms = 300;
    options_.poll_interval_ms = 20;
    options_.outbox_stats_interval_ms = 20;
  }

  void TearDown() override {
    sender_.reset();  // stops it before the store goes
    store_.reset();
  }

  void SetClinics(std::vector<engine::Clinic> clinics) {
    std::lock_guard<std::mutex> lock(clinics_mu_);
    clinics_ = std::move(clinics);
  }

  void StartSender() {
    auto sender = WebhookSender::Create(
        store_.get(),
        [this](const std::string& clinic, const std::string& endpoint) {
          std::lock_guard<std::mutex> lock(clinics_mu_);
          return FindWebhook(clinics_, clinic, endpoint);
        },
        options_, &metrics_);
    ASSERT_TRUE(sender.ok()) << sender.status().ToString();
    sender_ = std::move(sender).value();
    sender_->Start();
  }

  // Records an escalation of `clinic` with a turn of a new conversation; returns its key.
  std::string RecordEscalation(const engine::Clinic& clinic) {
    const int64_t now = NowMs();
    auto ev = BuildEscalationEvent(
        clinic, "", {"BL-" + std::to_string(++n_), "E1", "emergency", now, false, {}}, now);
    EXPECT_TRUE(ev.has_value());
    store::TurnRecord turn;
    turn.session_id = "session-" + std::to_string(n_);
    turn.seq = 1;
    turn.user_text = "my legs are numb";
    turn.reply_text = "Call 999 now.";
    turn.urgency = "emergency";
    turn.kind = "escalation";
    turn.received_ms = now;
    turn.replied_ms = now;
    turn.events.push_back(*ev);
    store::SessionRecord session;
    session.id = turn.session_id;
    session.clinic = clinic.id;
    session.state = "{}";
    session.created_ms = now;
    session.updated_ms = now;
    std::promise<engine::Status> done;
    store_->AppendTurn(std::move(turn), std::move(session),
                       [&done](engine::Status st) { done.set_value(st); });
    const engine::Status st = done.get_future().get();
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (sender_) sender_->Wake();
    return ev->key;
  }

  store::OutboxStats Outbox() {
    std::promise<engine::StatusOr<store::OutboxStats>> p;
    store_->Outbox([&p](engine::StatusOr<store::OutboxStats> s) { p.set_value(std::move(s)); });
    auto s = p.get_future().get();
    EXPECT_TRUE(s.ok());
    return s.ok() ? s.value() : store::OutboxStats{};
  }

  std::unique_ptr<store::MemoryStore> store_;
  WebhookSenderOptions options_;
  Metrics metrics_;
  std::unique_ptr<WebhookSender> sender_;
  std::mutex clinics_mu_;
  std::vector<engine::Clinic> clinics_;
  int n_ = 0;
};

std::string Header(const http::request<http::string_body>& req, const char* name) {
  return std::string(req[name]);
}

TEST_F(WebhookSenderTest, DeliversAnEventExactlyOnceWithAVerifiableSignature) {
  Receiver receiver([](int) { return Receiver::Answer{204}; });
  const engine::Clinic clinic = ClinicWithWebhook("north", kSecretA, receiver.port());
  SetClinics({clinic});
  StartSender();
  const std::string key = RecordEscalation(clinic);
  ASSERT_TRUE(WaitFor([&]() { return metrics_.webhook_delivered.load() == 1; }));
  sender_->Stop();  // nothing more can be sent: a duplicate would already be counted
  EXPECT_EQ(Outbox().pending, 0);
  EXPECT_EQ(Outbox().failed, 0);

  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& req = requests[0];
  EXPECT_EQ(req.method(), http::verb::post);
  EXPECT_EQ(req.target(), "/hooks/backline");
  EXPECT_EQ(Header(req, "Content-Type"), "application/json");
  EXPECT_EQ(Header(req, "Backline-Event-Id"), key);
  EXPECT_EQ(Header(req, "Idempotency-Key"), key);
  EXPECT_EQ(Header(req, "Backline-Event-Type"), "escalation");
  EXPECT_EQ(Header(req, "Host"), "127.0.0.1:" + std::to_string(receiver.port()));
  const json body = json::parse(req.body());
  EXPECT_EQ(body["id"], key);
  EXPECT_EQ(body["data"]["kind"], "E1");
  EXPECT_TRUE(VerifyWebhookSignature(kSecretA, Header(req, "Backline-Signature"), req.body(),
                                     NowMs() / 1000));
  // The documented check catches a body changed on the way, or the wrong secret.
  std::string tampered = req.body();
  tampered.replace(tampered.find("E1"), 2, "U1");
  EXPECT_FALSE(VerifyWebhookSignature(kSecretA, Header(req, "Backline-Signature"), tampered,
                                      NowMs() / 1000));
  EXPECT_FALSE(VerifyWebhookSignature(kSecretB, Header(req, "Backline-Signature"), req.body(),
                                      NowMs() / 1000));
  EXPECT_EQ(metrics_.webhook_retries.load(), 0);
  EXPECT_EQ(metrics_.webhook_failed.load(), 0);
}

TEST_F(WebhookSenderTest, AReceiverReturning500GetsRetriesWithTheSameKeyThenTheEvent) {
  Receiver receiver([](int nth) { return Receiver::Answer{nth < 2 ? 500 : 200}; });
  const engine::Clinic clinic = ClinicWithWebhook("north", kSecretA, receiver.port());
  SetClinics({clinic});
  StartSender();
  const std::string key = RecordEscalation(clinic);
  ASSERT_TRUE(WaitFor([&]() { return metrics_.webhook_delivered.load() == 1; }));
  sender_->Stop();
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const auto& req : requests) {
    EXPECT_EQ(Header(req, "Idempotency-Key"), key);
    EXPECT_EQ(req.body(), requests[0].body());  // the same body, re-signed each time
    EXPECT_TRUE(VerifyWebhookSignature(kSecretA, Header(req, "Backline-Signature"), req.body(),
                                       NowMs() / 1000));
  }
  EXPECT_EQ(metrics_.webhook_retries.load(), 2);
  EXPECT_EQ(Outbox().pending, 0);
}

// One clinic's receiver hangs on every request; another clinic's gets its event all the same
// while the first is still hanging, and the hanging attempts are cut and retried.
TEST_F(WebhookSenderTest, AHangingReceiverIsCutAndRetriedWhileAnotherClinicGetsItsEvents) {
  options_.per_endpoint_in_flight = 2;
  Receiver hanging([](int) { return Receiver::Answer{200, true}; });
  Receiver good([](int) { return Receiver::Answer{200}; });
  const engine::Clinic a = ClinicWithWebhook("north", kSecretA, hanging.port());
  const engine::Clinic b = ClinicWithWebhook("south", kSecretB, good.port());
  SetClinics({a, b});
  StartSender();
  for (int i = 0; i < 5; ++i) RecordEscalation(a);  // older than b's: due first
  ASSERT_TRUE(WaitFor([&]() { return hanging.hanging() >= 2; }));
  const std::string key_b = RecordEscalation(b);
  ASSERT_TRUE(WaitFor([&]() { return good.count() == 1; }));
  EXPECT_EQ(Header(good.requests()[0], "Idempotency-Key"), key_b);
  // Cut by the response timeout and tried again: more requests than events reached it.
  ASSERT_TRUE(WaitFor([&]() { return hanging.count() > 5; }));
  EXPECT_GE(metrics_.webhook_retries.load(), 1);
  // The receiver recovers: every event arrives.
  hanging.set_behaviour([](int) { return Receiver::Answer{200}; });
  ASSERT_TRUE(WaitFor([&]() { return metrics_.webhook_delivered.load() == 6; }));
  EXPECT_EQ(Outbox().pending, 0);
}

// While two attempts hang on one endpoint (cut only by Stop here), no third is started on it,
// and another clinic's endpoint still gets its event.
TEST_F(WebhookSenderTest, AtMostThePerEndpointLimitIsInFlightToOneEndpoint) {
  options_.per_endpoint_in_flight = 2;
  options_.response_timeout_ms = 60 * 1000;
  Receiver hanging([](int) { return Receiver::Answer{200, true}; });
  Receiver good([](int) { return Receiver::Answer{200}; });
  const engine::Clinic a = ClinicWithWebhook("north", kSecretA, hanging.port());
  const engine::Clinic b = ClinicWithWebhook("south", kSecretB, good.port());
  SetClinics({a, b});
  StartSender();
  for (int i = 0; i < 5; ++i) RecordEscalation(a);
  ASSERT_TRUE(WaitFor([&]() { return hanging.hanging() == 2; }));
  RecordEscalation(b);
  ASSERT_TRUE(WaitFor([&]() { return metrics_.webhook_delivered.load() == 1; }));
  sender_->Stop();
  EXPECT_EQ(hanging.count(), 2u);
  EXPECT_EQ(good.count(), 1u);
  EXPECT_EQ(Outbox().pending, 5);
}

TEST_F(WebhookSenderTest, AReceiverThatIsDownGetsTheEventOnceItIsUp) {
  const unsigned short port = FreePort();
  const engine::Clinic clinic = ClinicWithWebhook("north", kSecretA, port);
  SetClinics({clinic});
  StartSender();
  const std::string key = RecordEscalation(clinic);
  ASSERT_TRUE(WaitFor([&]() { return metrics_.webhook_retries.load() >= 2; }));
  EXPECT_EQ(Outbox().pending, 1);
  Receiver receiver([](int) { return Receiver::Answer{200}; }, port);
  ASSERT_TRUE(WaitFor([&]() { return metrics_.webhook_delivered.load() == 1; }));
  sender_->Stop();
  ASSERT_EQ(receiver.count(), 1u);
  EXPECT_EQ(Header(receiver.requests()[0], "Idempotency-Key"), key);
}

// SIGTERM's path: Stop() cuts an attempt in flight without recording it, so the delivery is
// still pending with no attempt counted, and the next sender (after a restart) makes it again
// with the same key.
TEST_F(WebhookSenderTest, StopCutsAnAttemptInFlightAndTheNextSenderDeliversIt) {
  options_.response_timeout_ms = 60 * 1000;  // it hangs until Stop()
  auto receiver = std::make_unique<Receiver>([](int) { return Receiver::Answer{200, true}; });
  const engine::Clinic clinic = ClinicWithWebhook("north", kSecretA, receiver->port());
  SetClinics({clinic});
  StartSender();
  const std::string key = RecordEscalation(clinic);
  ASSERT_TRUE(WaitFor([&]() { return receiver->hanging() == 1; }));
  sender_->Stop();
  EXPECT_EQ(Outbox().pending, 1);
  EXPECT_EQ(metrics_.webhook_retries.load() + metrics_.webhook_failed.load() +
                metrics_.webhook_delivered.load(),
            0);
  receiver->set_behaviour([](int) { return Receiver::Answer{200}; });
  StartSender();
  ASSERT_TRUE(WaitFor([&]() { return metrics_.webhook_delivered.load() == 1; }));
  const auto requests = receiver->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(Header(requests[0], "Idempotency-Key"), key);
  EXPECT_EQ(Header(requests[1], "Idempotency-Key"), key);
}

TEST_F(WebhookSenderTest, ARefusingReceiverIsGivenUpAfterTheAttemptsAllowed) {
  options_.retry.client_error_attempts = 3;
  Receiver receiver([](int) { return Receiver::Answer{401}; });
  const engine::Clinic clinic = ClinicWithWebhook("north", kSecretA, receiver.port());
  SetClinics({clinic});
  StartSender();
  RecordEscalation(clinic);
  ASSERT_TRUE(WaitFor([&]() { return metrics_.webhook_failed.load() == 1; }));
  sender_->Stop();
  EXPECT_EQ(receiver.count(), 3u);
  EXPECT_EQ(Outbox().pending, 0);
  EXPECT_EQ(Outbox().failed, 1);
  std::promise<engine::StatusOr<std::vector<store::DeliveryRecord>>> p;
  store_->FailedDeliveries("north", 10, [&p](auto r) { p.set_value(std::move(r)); });
  auto failed = p.get_future().get();
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed.value().size(), 1u);
  EXPECT_EQ(failed.value()[0].last_error, "HTTP 401");
  EXPECT_EQ(failed.value()[0].attempts, 3);
}

engine::Clinic WithHttps(engine::Clinic c, const std::string& host) {
  engine::WebhookEndpoint& w = c.webhooks[0];
  w.tls = true;
  w.host = host;
  w.url = "https://" + host + ":" + w.port + w.target;
  return c;
}

// HTTPS, with the certificate checked against the CA file given (the test's own certificate):
// delivered; the same receiver with the system's CAs, or under another name: never reached.
TEST_F(WebhookSenderTest, HttpsIsDeliveredOnlyToACertificateTrustedForTheName) {
  const Certificate cert("localhost");
  ASSERT_TRUE(cert.ok()) << "the openssl command could not make a certificate";
  auto server_ctx = cert.ServerContext();
  Receiver receiver([](int) { return Receiver::Answer{200}; }, 0, server_ctx.get());
  const engine::Clinic clinic =
      WithHttps(ClinicWithWebhook("north", kSecretA, receiver.port()), "localhost");
  SetClinics({clinic});
  options_.ca_file = cert.cert();
  StartSender();
  const std::string key = RecordEscalation(clinic);
  ASSERT_TRUE(WaitFor([&]() { return metrics_.webhook_delivered.load() == 1; }));
  ASSERT_EQ(receiver.count(), 1u);
  EXPECT_EQ(Header(receiver.requests()[0], "Idempotency-Key"), key);
  EXPECT_EQ(Header(receiver.requests()[0], "Host"), "localhost:" + std::to_string(receiver.port()));
  sender_->Stop();
}

TEST_F(WebhookSenderTest, HttpsToAnUntrustedOrMisnamedCertificateIsNeverSent) {
  const Certificate cert("localhost");
  const Certificate other("other.example");
  ASSERT_TRUE(cert.ok() && other.ok()) << "the openssl command could not make a certificate";
  for (const std::string& ca : {std::string(), other.cert()}) {
    auto server_ctx = (ca.empty() ? cert : other).ServerContext();
    Receiver receiver([](int) { return Receiver::Answer{200}; }, 0, server_ctx.get());
    const engine::Clinic clinic =
        WithHttps(ClinicWithWebhook("north", kSecretA, receiver.port()), "localhost");
    SetClinics({clinic});
    options_.ca_file = ca;  // empty: the system's CAs, which do not know the test's
    metrics_.webhook_retries = 0;
    StartSender();
    RecordEscalation(clinic);
    ASSERT_TRUE(WaitFor([&]() { return metrics_.webhook_retries.load() >= 2; })) << ca;
    sender_->Stop();
    sender_.reset();
    EXPECT_EQ(receiver.count(), 0u) << ca;  // no request ever reached it
    EXPECT_EQ(metrics_.webhook_delivered.load(), 0) << ca;
    // Drop what is left for the next round.
    std::promise<engine::StatusOr<int64_t>> p;
    store_->Purge("north", NowMs() + 1000, [&p](auto r) { p.set_value(std::move(r)); });
    ASSERT_TRUE(p.get_future().get().ok());
  }
}

TEST_F(WebhookSenderTest, OutboxDepthAndAgeReachTheMetrics) {
  const unsigned short port = FreePort();  // nobody listening: stays pending
  const engine::Clinic clinic = ClinicWithWebhook("north", kSecretA, port);
  SetClinics({clinic});
  StartSender();
  RecordEscalation(clinic);
  RecordEscalation(clinic);
  ASSERT_TRUE(WaitFor([&]() { return metrics_.webhook_outbox_pending.load() == 2; }));
  EXPECT_GT(metrics_.webhook_outbox_oldest_ms.load(), 0);
  Metrics::Gauges g;
  g.now_ms = NowMs();
  const std::string text = metrics_.Render(g);
  EXPECT_THAT(text, ::testing::HasSubstr("backline_webhook_outbox_pending 2\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("backline_webhook_attempts_total{outcome=\"retry\"}"));
  EXPECT_THAT(text, ::testing::HasSubstr("backline_webhook_outbox_oldest_seconds "));
}

}  // namespace
}  // namespace backline::server
