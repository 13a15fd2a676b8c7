// `backline serve --tls-cert --tls-key`: HTTPS and WSS on one port, with a self-signed
// certificate this test makes with the openssl command in a temp folder. A plain HTTP request
// to the TLS port gets a 400 that says to use https; bad TLS files are startup errors.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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
namespace websocket = e2e::websocket;
namespace ssl = net::ssl;
using json = nlohmann::json;
using tcp = e2e::tcp;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

const std::string kRoot = build::kSourceDir;

// A temp folder with cert.pem + key.pem (a self-signed P-256 certificate for "localhost" and
// 127.0.0.1), other-key.pem (a key of another certificate) and encrypted-key.pem.
class Certificates {
 public:
  Certificates() {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("backline-tls-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(dir_);
    const std::string d = dir_.string();
    ok_ = Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
              " -keyout " +
              d + "/key.pem -out " + d +
              "/cert.pem -days 2 -subj /CN=localhost"
              " -addext subjectAltName=DNS:localhost,IP:127.0.0.1") &&
          Run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + d +
              "/other-key.pem") &&
          Run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes256"
              " -pass pass:secret -out " +
              d + "/encrypted-key.pem");
  }
  ~Certificates() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  bool ok() const { return ok_; }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  static bool Run(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
  }
  fs::path dir_;
  bool ok_ = false;
};

Config BaseConfig(const std::string& db) {
  Config c;
  c.address = "127.0.0.1";
  c.port = 0;
  c.threads = 2;
  c.database = db;
  c.knowledge = kRoot + "/knowledge";
  c.dialogs = kRoot + "/dialogs";
  c.limits.handshake_timeout_seconds = 3;
  return c;
}

// Runs an asynchronous operation on `ioc` for at most `timeout`; false on timeout.
template <typename Start>
bool Await(net::io_context& ioc, beast::error_code* ec, Start start,
           std::chrono::milliseconds timeout = 5s) {
  bool done = false;
  *ec = {};
  start([&](beast::error_code e, auto&&...) {
    *ec = e;
    done = true;
  });
  return e2e::RunUntil(ioc, &done, std::chrono::steady_clock::now() + timeout);
}

// A TLS client that trusts only the test's certificate and checks the name "localhost".
class TlsClient {
 public:
  explicit TlsClient(const std::string& ca) : ctx_(ssl::context::tls_client) {
    ctx_.load_verify_file(ca);
    ctx_.set_verify_mode(ssl::verify_peer);
  }

  // TCP connect + TLS handshake to 127.0.0.1:port.
  bool Connect(unsigned short port, beast::ssl_stream<beast::tcp_stream>& stream) {
    stream.set_verify_callback(ssl::host_name_verification("localhost"));
    SSL_set_tlsext_host_name(stream.native_handle(), "localhost");
    beast::get_lowest_layer(stream).expires_after(5s);
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    if (!Await(ioc_, &ec_,
               [&](auto done) { beast::get_lowest_layer(stream).async_connect(endpoint, done); }) ||
        ec_) {
      return false;
    }
    return Await(ioc_, &ec_,
                 [&](auto done) { stream.async_handshake(ssl::stream_base::client, done); }) &&
           !ec_;
  }

  net::io_context& ioc() { return ioc_; }
  ssl::context& ctx() { return ctx_; }
  beast::error_code& ec() { return ec_; }

 private:
  net::io_context ioc_;
  ssl::context ctx_;
  beast::error_code ec_;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(certs_.ok()) << "the openssl command could not make a certificate";
    db_ = fs::temp_directory_path() /
          ("backline-tls-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
  }
  void TearDown() override {
    if (server_) {
      server_->Stop();
      thread_.join();
      EXPECT_EQ(run_result_, 0);
    }
    std::error_code ec;
    for (const char* s : {"", "-wal", "-shm"}) fs::remove(db_.string() + s, ec);
  }

  // Server::Create with these TLS files; the status (and, when OK, a running server).
  engine::Status Start(const std::string& cert, const std::string& key) {
    Config config = BaseConfig(db_.string());
    config.tls_cert = cert;
    config.tls_key = key;
    auto store = store::SqliteStore::Open(db_.string());
    if (!store.ok()) return store.status();
    auto server = Server::Create(config, std::move(store).value());
    if (!server.ok()) return server.status();
    server_ = std::move(server).value();
    port_ = server_->port();
    thread_ = std::thread([this]() { run_result_ = server_->Run(); });
    return engine::Status::Ok();
  }

  Certificates certs_;
  fs::path db_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::atomic<int> run_result_{-1};
  unsigned short port_ = 0;
};

TEST_F(TlsTest, HttpsHealthzAnswersWithHstsAndNoServerBanner) {
  ASSERT_TRUE(Start(certs_.Path("cert.pem"), certs_.Path("key.pem")).ok());
  TlsClient client(certs_.Path("cert.pem"));
  beast::ssl_stream<beast::tcp_stream> stream(client.ioc(), client.ctx());
  ASSERT_TRUE(client.Connect(port_, stream)) << client.ec().message();

  http::request<http::string_body> req{http::verb::get, "/healthz", 11};
  req.set(http::field::host, "localhost:" + std::to_string(port_));
  req.keep_alive(false);
  ASSERT_TRUE(
      Await(client.ioc(), &client.ec(), [&](auto done) { http::async_write(stream, req, done); }));
  ASSERT_FALSE(client.ec()) << client.ec().message();
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  ASSERT_TRUE(Await(client.ioc(), &client.ec(),
                    [&](auto done) { http::async_read(stream, buffer, res, done); }));
  ASSERT_FALSE(client.ec()) << client.ec().message();
  EXPECT_EQ(res.result_int(), 200u);
  const json j = json::parse(res.body(), nullptr, false);
  EXPECT_EQ(j.value("status", ""), "ok") << res.body();
  EXPECT_EQ(res[http::field::strict_transport_security], "max-age=31536000");
  EXPECT_EQ(res.count(http::field::server), 0u);
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
}

TEST_F(TlsTest, WssConversation) {
  ASSERT_TRUE(Start(certs_.Path("cert.pem"), certs_.Path("key.pem")).ok());
  TlsClient client(certs_.Path("cert.pem"));
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(client.ioc(), client.ctx());
  ASSERT_TRUE(client.Connect(port_, ws.next_layer())) << client.ec().message();
  beast::get_lowest_layer(ws).expires_never();
  ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  ws.set_option(websocket::stream_base::decorator([](websocket::request_type& r) {
    r.set(http::field::origin, "https://localhost");  // our own origin (Host is localhost)
  }));
  websocket::response_type upgrade;
  ASSERT_TRUE(Await(client.ioc(), &client.ec(), [&](auto done) {
    ws.async_handshake(upgrade, "localhost", "/ws?clinic=demo", done);
  }));
  ASSERT_FALSE(client.ec()) << client.ec().message() << " status " << upgrade.result_int();

  auto read_json = [&]() {
    beast::flat_buffer buffer;
    if (!Await(client.ioc(), &client.ec(), [&](auto done) { ws.async_read(buffer, done); }) ||
        client.ec()) {
      return json();
    }
    return json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
  };
  const json welcome = read_json();
  EXPECT_EQ(welcome.value("type", ""), "welcome") << welcome.dump();
  EXPECT_EQ(welcome.value(json::json_pointer("/clinic/id"), ""), "demo") << welcome.dump();

  const std::string ask =
      json{{"type", "message"}, {"text", "Is it safe to have a massage during chemotherapy?"}}
          .dump();
  ASSERT_TRUE(Await(client.ioc(), &client.ec(),
                    [&](auto done) { ws.async_write(net::buffer(ask), done); }));
  ASSERT_FALSE(client.ec()) << client.ec().message();
  const json reply = read_json();
  EXPECT_EQ(reply.value("type", ""), "reply") << reply.dump();
  EXPECT_EQ(reply.value("topic", ""), "massage") << reply.dump();
  EXPECT_EQ(reply.value("seq", 0), 1) << reply.dump();

  ASSERT_TRUE(Await(client.ioc(), &client.ec(),
                    [&](auto done) { ws.async_close(websocket::close_code::normal, done); }));
  EXPECT_FALSE(client.ec()) << client.ec().message();
}

TEST_F(TlsTest, PlainHttpToTheTlsPortGetsA400SayingHttps) {
  ASSERT_TRUE(Start(certs_.Path("cert.pem"), certs_.Path("key.pem")).ok());
  const e2e::HttpResult r = e2e::HttpGet(port_, "/healthz");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("HTTPS only"));
  EXPECT_EQ(r.headers.count(http::field::strict_transport_security), 0u)
      << "HSTS over plain HTTP is ignored by browsers and means nothing";

  // A ws:// upgrade is refused the same way, before any WebSocket handshake.
  e2e::WsClient ws;
  EXPECT_FALSE(ws.Connect(port_));
  EXPECT_EQ(ws.http_status(), 400);

  // And the TLS side still works after both.
  TlsClient client(certs_.Path("cert.pem"));
  beast::ssl_stream<beast::tcp_stream> stream(client.ioc(), client.ctx());
  EXPECT_TRUE(client.Connect(port_, stream)) << client.ec().message();
}

TEST_F(TlsTest, AClientThatDoesNotTrustTheCertificateFailsTheHandshake) {
  ASSERT_TRUE(Start(certs_.Path("cert.pem"), certs_.Path("key.pem")).ok());
  TlsClient client(certs_.Path("cert.pem"));
  beast::ssl_stream<beast::tcp_stream> stream(client.ioc(), client.ctx());
  stream.set_verify_callback(ssl::host_name_verification("not-localhost.example"));
  beast::get_lowest_layer(stream).expires_after(5s);
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port_);
  ASSERT_TRUE(Await(client.ioc(), &client.ec(), [&](auto done) {
    beast::get_lowest_layer(stream).async_connect(endpoint, done);
  }));
  ASSERT_FALSE(client.ec());
  ASSERT_TRUE(Await(client.ioc(), &client.ec(),
                    [&](auto done) { stream.async_handshake(ssl::stream_base::client, done); }));
  EXPECT_TRUE(client.ec()) << "the wrong name must not verify";
}

// ---- startup errors ------------------------------------------------------------------------

TEST_F(TlsTest, ACertificateWithoutAKeyIsAStartupError) {
  const engine::Status s = Start(certs_.Path("cert.pem"), "");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), engine::Status::Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("tls_key"));
  const engine::Status t = Start("", certs_.Path("key.pem"));
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.message(), HasSubstr("tls_cert"));
}

TEST_F(TlsTest, AMissingKeyFileIsAStartupErrorNamingIt) {
  const std::string missing = certs_.Path("no-such-key.pem");
  const engine::Status s = Start(certs_.Path("cert.pem"), missing);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("cannot read the TLS private key file " + missing));
  EXPECT_THAT(s.message(), HasSubstr("No such file"));
}

TEST_F(TlsTest, AKeyThatDoesNotMatchTheCertificateIsAStartupError) {
  const engine::Status s = Start(certs_.Path("cert.pem"), certs_.Path("other-key.pem"));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("does not match the certificate"));
}

TEST_F(TlsTest, AKeyInTheCertificateSlotIsAStartupError) {
  const engine::Status s = Start(certs_.Path("key.pem"), certs_.Path("key.pem"));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("is not a PEM certificate"));
}

TEST_F(TlsTest, AnEncryptedKeyIsAStartupErrorNotAPrompt) {
  const engine::Status s = Start(certs_.Path("cert.pem"), certs_.Path("encrypted-key.pem"));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("not an unencrypted PEM private key"));
}

TEST(TlsConfigTest, OptionsAndConfigKeysSetTheFiles) {
  Config c;
  std::string file;
  ASSERT_TRUE(
      Config::ApplyArgs({"--tls-cert", "/x/cert.pem", "--tls-key", "/x/key.pem"}, &file, &c).ok());
  EXPECT_EQ(c.tls_cert, "/x/cert.pem");
  EXPECT_EQ(c.tls_key, "/x/key.pem");
  EXPECT_TRUE(c.Validate().ok());
  EXPECT_FALSE(Config::ApplyArgs({"--tls-cert"}, &file, &c).ok());

  const fs::path path =
      fs::temp_directory_path() / ("backline-tls-config-" + std::to_string(::getpid()) + ".json");
  std::ofstream(path) << R"({"tls_cert": "a.pem"})";
  Config d;
  ASSERT_TRUE(Config::LoadFile(path.string(), &d).ok());
  EXPECT_EQ(d.tls_cert, "a.pem");
  const engine::Status s = d.Validate();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("both"));
  fs::remove(path);
}

}  // namespace
}  // namespace backline::server
