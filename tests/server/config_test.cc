#include "server/config.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace backline::server {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "backline-config-test-XXXXXX").string();
    const int fd = mkstemp(tmpl.data());
    ASSERT_GE(fd, 0);
    close(fd);
    path_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  engine::Status Load(const std::string& text, Config* config) {
    std::ofstream(path_, std::ios::trunc) << text;
    return Config::LoadFile(path_, config);
  }
  std::string path_;
};

TEST_F(ConfigFileTest, ReadsNumbersThatFit) {
  Config c;
  ASSERT_TRUE(
      Load(R"({"port": 65535, "threads": 4, "limits": {"max_message_bytes": 8192}})", &c).ok());
  EXPECT_EQ(c.port, 65535);
  EXPECT_EQ(c.threads, 4);
  EXPECT_EQ(c.limits.max_message_bytes, 8192u);
}

// Found while writing tests/fuzz/config_fuzzer (tests/fuzz/regressions/config_fuzzer/ replays
// the float cases under UBSan): nlohmann::json converted these by a plain cast, so a port of
// 70000 became 4464, a negative size a huge one, and 1e10 was undefined behaviour.
TEST_F(ConfigFileTest, RefusesNumbersThatDoNotFitTheirSetting) {
  struct Case {
    const char* text;
    const char* key;
  };
  for (const Case& k :
       {Case{R"({"port": 70000})", "\"port\""}, Case{R"({"port": -1})", "\"port\""},
        Case{R"({"port": 1e10})", "\"port\""}, Case{R"({"port": 8080.5})", "\"port\""},
        Case{R"({"threads": 3000000000})", "\"threads\""},
        Case{R"({"limits": {"max_message_bytes": -1}})", "\"max_message_bytes\""},
        Case{R"({"limits": {"history_turns": 1e300}})", "\"history_turns\""}}) {
    Config c;
    const Config defaults;
    const engine::Status s = Load(k.text, &c);
    EXPECT_FALSE(s.ok()) << k.text;
    EXPECT_THAT(s.message(), HasSubstr(k.key)) << k.text;
    EXPECT_THAT(s.message(), HasSubstr("must be a whole number")) << k.text;
    EXPECT_EQ(c.port, defaults.port) << k.text;
    EXPECT_EQ(c.limits.max_message_bytes, defaults.limits.max_message_bytes) << k.text;
  }
}

TEST_F(ConfigFileTest, ReadsCliniciansWithTheirClinicAndRole) {
  Config c;
  ASSERT_TRUE(Load(R"({"clinicians": [
      {"name": "Dr Ada", "token": "ada-0123456789abcdef", "clinic": "demo"},
      {"name": "Val", "token": "val-0123456789abcdef", "clinic": "demo", "role": "viewer"}],
      "clinician_session_minutes": 60, "clinician_login_attempts": 3})",
                   &c)
                  .ok());
  ASSERT_EQ(c.clinicians.accounts.size(), 2u);
  EXPECT_EQ(c.clinicians.accounts[0].role, "clinician");  // the default
  EXPECT_EQ(c.clinicians.accounts[0].clinic, "demo");
  EXPECT_EQ(c.clinicians.accounts[1].role, "viewer");
  EXPECT_EQ(c.clinicians.session_seconds, 3600);
  EXPECT_EQ(c.clinicians.login_attempts, 3);
  EXPECT_TRUE(c.curators.accounts.empty());
}

TEST_F(ConfigFileTest, RefusesAClinicianWithoutClinicWithAnUnknownRoleOrAShortToken) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"clinicians": [{"name": "A", "token": "a-0123456789abcdef"}]})", "needs a \"clinic\""},
      {R"({"clinicians": [{"name": "A", "token": "a-0123456789abcdef", "clinic": "demo",
           "role": "admin"}]})",
       "\"role\" must be"},
      {R"({"clinicians": [{"name": "A", "token": "short", "clinic": "demo"}]})",
       "at least 16 characters"},
      {R"({"clinicians": [{"name": "A", "token": "a-0123456789abcdef", "clinic": "demo"},
                          {"name": "B", "token": "a-0123456789abcdef", "clinic": "demo"}]})",
       "the same as A's"},
      {R"({"clinician_login_attempts": 0})", "clinician_login_attempts"},
  };
  for (const auto& [text, message] : cases) {
    Config c;
    const engine::Status s = Load(text, &c);
    EXPECT_FALSE(s.ok()) << text;
    EXPECT_THAT(s.message(), HasSubstr(message)) << text;
    EXPECT_THAT(s.message(), Not(HasSubstr("0123456789abcdef"))) << "a token in an error";
  }
}

TEST_F(ConfigFileTest, RefusesAStringForANumber) {
  Config c;
  const engine::Status s = Load(R"({"port": "8080"})", &c);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("\"port\""));
}

TEST_F(ConfigFileTest, ReadsTheWebhookSettingsAndRefusesARetryCapBelowItsBase) {
  Config c;
  ASSERT_TRUE(Load(R"({"webhook_ca_file": "/etc/backline/ca.pem", "webhook_retry_base_ms": 50,
                       "webhook_retry_max_ms": 200})",
                   &c)
                  .ok());
  EXPECT_EQ(c.webhook_ca_file, "/etc/backline/ca.pem");
  EXPECT_EQ(c.webhook_retry_base_ms, 50);
  EXPECT_EQ(c.webhook_retry_max_ms, 200);
  EXPECT_TRUE(c.Validate().ok());
  c.webhook_retry_max_ms = 10;
  EXPECT_THAT(c.Validate().message(), HasSubstr("webhook_retry_max_ms"));
  c.webhook_retry_base_ms = 0;
  EXPECT_FALSE(c.Validate().ok());
  const Config defaults;
  EXPECT_EQ(defaults.webhook_retry_base_ms, 30000);
  EXPECT_EQ(defaults.webhook_retry_max_ms, 3600000);
  EXPECT_TRUE(defaults.Validate().ok());
}

TEST_F(ConfigFileTest, ReadsTrustedProxiesAndRefusesOneThatIsNotAnAddress) {
  Config c;
  EXPECT_TRUE(c.trusted_proxies.empty()) << "nobody is trusted by default";
  ASSERT_TRUE(Load(R"({"trusted_proxies": ["127.0.0.1", "10.0.0.0/8", "fd00::/8"]})", &c).ok());
  EXPECT_EQ(c.trusted_proxies.size(), 3u);
  for (const char* text :
       {R"({"trusted_proxies": ["10.0.0.0/33"]})", R"({"trusted_proxies": ["proxy.internal"]})",
        R"({"trusted_proxies": "10.0.0.1"})", R"({"trusted_proxies": [1]})"}) {
    Config bad;
    const engine::Status s = Load(text, &bad);
    EXPECT_FALSE(s.ok()) << text;
    EXPECT_THAT(s.message(), HasSubstr("trusted_proxies")) << text;
  }
  Config direct;
  direct.trusted_proxies = {"not an address"};
  EXPECT_FALSE(direct.Validate().ok());
}

}  // namespace
}  // namespace backline::server
