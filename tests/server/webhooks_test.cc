// Webhook signing, the retry schedule, the outcome of an attempt, and the event bodies
// (server/webhooks.h, server/webhook_events.h), without a network or a store.
#include "server/webhooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/webhook_events.h"
#include "tests/support/build_paths.h"

namespace backline::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

constexpr char kSecret[] = "whsec_test_0123456789abcdef0123456789abcdef";
constexpr char kBody[] = R"({"id":"evt_0123","type":"escalation"})";

// Computed independently of OpenSSL's C API:
//   printf '%s' '1733616000.{"id":"evt_0123","type":"escalation"}' |
//       openssl dgst -sha256 -hmac 'whsec_test_0123456789abcdef0123456789abcdef'
//   python3 -c 'import hmac, hashlib;
//   print(hmac.new(b"whsec_test_0123456789abcdef0123456789abcdef",
//       b"1733616000.{\"id\":\"evt_0123\",\"type\":\"escalation\"}", hashlib.sha256).hexdigest())'
constexpr char kExpectedMac[] = "abd635498678fa1da9dc0e0cde62549e954095411f38c36c3b6b3c83605f9cfc";

TEST(WebhookSignatureTest, MatchesAVectorComputedWithOpensslAndPython) {
  EXPECT_EQ(WebhookSignature(kSecret, 1733616000, kBody),
            std::string("t=1733616000,v1=") + kExpectedMac);
}

TEST(WebhookSignatureTest, Rfc4231Vector) {
  // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookSignatureTest, VerificationAcceptsTheSignatureAndRejectsTampering) {
  const int64_t t = 1733616000;
  const std::string header = WebhookSignature(kSecret, t, kBody);
  EXPECT_TRUE(VerifyWebhookSignature(kSecret, header, kBody, t + 10));
  // A body changed by one character.
  std::string tampered = kBody;
  tampered[tampered.size() - 3] = 'X';
  EXPECT_FALSE(VerifyWebhookSignature(kSecret, header, tampered, t + 10));
  // Another secret.
  EXPECT_FALSE(
      VerifyWebhookSignature("whsec_other_0123456789abcdef0123456789ab", header, kBody, t + 10));
  // A signature with one hex digit changed.
  std::string bad_sig = header;
  bad_sig.back() = bad_sig.back() == '0' ? '1' : '0';
  EXPECT_FALSE(VerifyWebhookSignature(kSecret, bad_sig, kBody, t + 10));
  // A replay outside the tolerance (either side), and a timestamp changed to look fresh.
  EXPECT_FALSE(VerifyWebhookSignature(kSecret, header, kBody, t + 301));
  EXPECT_FALSE(VerifyWebhookSignature(kSecret, header, kBody, t - 301));
  std::string moved = header;
  moved.replace(2, 10, std::to_string(t + 100));
  EXPECT_FALSE(VerifyWebhookSignature(kSecret, moved, kBody, t + 100));
  // Malformed headers.
  EXPECT_FALSE(VerifyWebhookSignature(kSecret, "", kBody, t));
  EXPECT_FALSE(VerifyWebhookSignature(kSecret, std::string("v1=") + kExpectedMac, kBody, t));
  EXPECT_FALSE(VerifyWebhookSignature(kSecret, "t=abc,v1=00", kBody, t));
  // Several v1 values (a secret being rotated): one match is enough.
  EXPECT_TRUE(VerifyWebhookSignature(
      kSecret, "t=1733616000,v1=00ff,v1=" + std::string(kExpectedMac), kBody, t));
}

// The README's Python check (tools/verify-webhook is that function) accepts what the server
// signs now, and refuses a tampered body.
TEST(WebhookSignatureTest, TheDocumentedPythonCheckAgrees) {
  if (std::system("python3 -c 'import hmac' 2>/dev/null") != 0) GTEST_SKIP() << "no python3";
  const std::string dir =
      std::filesystem::temp_directory_path() / ("backline-verify-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/secret") << kSecret << "\n";
  std::ofstream(dir + "/body") << kBody;
  std::ofstream(dir + "/tampered") << kBody << " ";
  const std::string header = WebhookSignature(kSecret, time(nullptr), kBody);
  const std::string tool = std::string(build::kSourceDir) + "/tools/verify-webhook --secret-file " +
                           dir + "/secret --signature '" + header + "' >/dev/null < " + dir;
  EXPECT_EQ(std::system((tool + "/body").c_str()), 0);
  EXPECT_NE(std::system((tool + "/tampered").c_str()), 0);
  std::filesystem::remove_all(dir);
}

TEST(RetryPolicyTest, CeilingDoublesFromTheBaseUpToTheCap) {
  RetryPolicy p;  // 30 s ... 1 h
  EXPECT_EQ(BackoffCeilingMs(p, 1), 30000);
  EXPECT_EQ(BackoffCeilingMs(p, 2), 60000);
  EXPECT_EQ(BackoffCeilingMs(p, 3), 120000);
  EXPECT_EQ(BackoffCeilingMs(p, 7), 1920000);
  EXPECT_EQ(BackoffCeilingMs(p, 8), 3600000);
  EXPECT_EQ(BackoffCeilingMs(p, 500), 3600000);  // no overflow however many attempts
}

TEST(RetryPolicyTest, DelaysAreFullJitterWithinTheCeiling) {
  RetryPolicy p;
  std::mt19937_64 rng(42);
  for (int attempts = 1; attempts <= 20; ++attempts) {
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = 0;
    for (int i = 0; i < 2000; ++i) {
      const int64_t d = BackoffDelayMs(p, attempts, rng());
      ASSERT_GE(d, 0);
      ASSERT_LE(d, BackoffCeilingMs(p, attempts));
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    // Spread over the whole range, not clustered at the ceiling.
    EXPECT_LT(lo, BackoffCeilingMs(p, attempts) / 4) << attempts;
    EXPECT_GT(hi, BackoffCeilingMs(p, attempts) * 3 / 4) << attempts;
  }
  EXPECT_EQ(BackoffDelayMs(p, 1, 0), 0);
  EXPECT_EQ(BackoffDelayMs(p, 1, 30000), 30000);
  EXPECT_EQ(BackoffDelayMs(p, 1, std::numeric_limits<uint64_t>::max()),
            static_cast<int64_t>(std::numeric_limits<uint64_t>::max() % 30001));
}

// With the default policy, a receiver that never answers is tried for at least 24 hours,
// and then given up; the attempts stay at most an hour apart.
TEST(RetryPolicyTest, RetriesLastAtLeastADayThenGiveUp) {
  RetryPolicy p;
  std::mt19937_64 rng(7);
  store::DeliveryRecord d;
  d.created_ms = 1'000'000;
  int64_t now = d.created_ms;
  int n = 0;
  while (true) {
    d = AfterAttempt(d, {0, "timed out"}, now, p, rng());
    ++n;
    if (d.status == "failed") break;
    ASSERT_EQ(d.status, "pending");
    ASSERT_GE(d.next_attempt_ms, now);
    ASSERT_LE(d.next_attempt_ms - now, p.max_ms);
    now = d.next_attempt_ms;
    ASSERT_LT(n, 10000);
  }
  EXPECT_GE(now - d.created_ms, 24LL * 3600 * 1000);
  EXPECT_LT(now - d.created_ms, 25LL * 3600 * 1000);
  EXPECT_EQ(d.attempts, n);
  EXPECT_EQ(d.last_error, "timed out");
}

TEST(AfterAttemptTest, OutcomesByStatus) {
  RetryPolicy p;
  store::DeliveryRecord d;
  d.created_ms = 1000;
  d.attempts = 2;
  d.last_error = "HTTP 500";
  const store::DeliveryRecord ok = AfterAttempt(d, {204, ""}, 5000, p, 1);
  EXPECT_EQ(ok.status, "delivered");
  EXPECT_EQ(ok.attempts, 3);
  EXPECT_EQ(ok.last_attempt_ms, 5000);
  EXPECT_EQ(ok.last_error, "");
  for (int s : {500, 502, 503, 408, 429}) {
    const store::DeliveryRecord r = AfterAttempt(d, {s, ""}, 5000, p, 1);
    EXPECT_EQ(r.status, "pending") << s;
    EXPECT_EQ(r.last_error, "HTTP " + std::to_string(s));
    EXPECT_EQ(r.next_attempt_ms, 5001) << s;
  }
  const store::DeliveryRecord refused = AfterAttempt(d, {401, ""}, 5000, p, 1);
  EXPECT_EQ(refused.status, "pending");  // retried a few times: a wrong secret gets fixed
  d.attempts = p.client_error_attempts - 1;
  for (int s : {400, 401, 404, 410, 301}) {
    EXPECT_EQ(AfterAttempt(d, {s, ""}, 5000, p, 1).status, "failed") << s;
  }
  // A 5xx is not limited by the count, only by time.
  EXPECT_EQ(AfterAttempt(d, {500, ""}, 5000, p, 1).status, "pending");
  EXPECT_EQ(AfterAttempt(d, {500, ""}, 1000 + p.give_up_after_ms, p, 1).status, "failed");
}

// ---- Event bodies --------------------------------------------------------------------------

engine::Clinic ClinicWithWebhooks() {
  engine::Clinic c;
  c.id = "demo";
  engine::WebhookEndpoint all;
  all.id = "triage";
  all.events = {"escalation", "callback_request", "feedback", "handoff_status"};
  engine::WebhookEndpoint urgent;
  urgent.id = "pager";
  urgent.events = {"escalation"};
  c.webhooks = {all, urgent};
  return c;
}

constexpr int64_t kNow = 1765152000123;  // 2025-12-08T00:00:00.123Z
constexpr char kSession[] = "0123456789abcdef0123456789abcdef";

std::vector<ConversationLine> SomeConversation() {
  return {{"person", "my husband cannot feel his legs", kNow - 2000},
          {"backline", "Call 999 now.", kNow - 1990}};
}

TEST(WebhookEventsTest, EndpointsAreThoseThatTakeTheType) {
  const engine::Clinic c = ClinicWithWebhooks();
  EXPECT_THAT(WebhookEndpointsFor(c, "escalation"), ::testing::ElementsAre("triage", "pager"));
  EXPECT_THAT(WebhookEndpointsFor(c, "feedback"), ::testing::ElementsAre("triage"));
  engine::Clinic none;
  EXPECT_FALSE(BuildFeedbackEvent(none, kSession, {kNow, -1, "", "", "", ""}, kNow).has_value());
}

TEST(WebhookEventsTest, EscalationWithoutConsentCarriesNoConversationNorSession) {
  EscalationEvent e{"BL-7K2Q9", "E1", "emergency", kNow - 2000, false, SomeConversation()};
  const auto ev = BuildEscalationEvent(ClinicWithWebhooks(), kSession, e, kNow);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->type, "escalation");
  EXPECT_EQ(ev->clinic, "demo");
  EXPECT_EQ(ev->session_id, kSession);
  EXPECT_EQ(ev->created_ms, kNow);
  EXPECT_THAT(ev->endpoints, ::testing::ElementsAre("triage", "pager"));
  EXPECT_THAT(ev->key, ::testing::MatchesRegex("evt_[0-9a-f]{32}"));
  const json body = json::parse(ev->body);
  EXPECT_EQ(body["id"], ev->key);
  EXPECT_EQ(body["created"], "2025-12-08T00:00:00.123Z");
  EXPECT_EQ(body["data"]["kind"], "E1");
  EXPECT_EQ(body["data"]["tier"], "emergency");
  EXPECT_EQ(body["data"]["consent"], false);
  EXPECT_FALSE(body["data"].contains("conversation"));
  EXPECT_THAT(ev->body, Not(HasSubstr("legs")));
  EXPECT_THAT(ev->body, Not(HasSubstr(kSession)));

  e.consent = true;
  const auto shared = BuildEscalationEvent(ClinicWithWebhooks(), kSession, e, kNow);
  const json with = json::parse(shared->body);
  ASSERT_EQ(with["data"]["conversation"].size(), 2u);
  EXPECT_EQ(with["data"]["conversation"][0]["text"], "my husband cannot feel his legs");
  EXPECT_NE(shared->key, ev->key);  // every event its own key
  EXPECT_THAT(shared->body, Not(HasSubstr(kSession)));
}

TEST(WebhookEventsTest, CallbackRequestSharesNameAndNumberOnlyWithConsent) {
  CallbackRequestEvent e{"BL-AB12C",      kNow,        "urgent",          "U3", false, "Ann",
                         "+447700900123", "after 6pm", SomeConversation()};
  const json without =
      json::parse(BuildCallbackRequestEvent(ClinicWithWebhooks(), kSession, e, kNow)->body)["data"];
  EXPECT_FALSE(without.contains("phone"));
  EXPECT_FALSE(without.contains("first_name"));
  EXPECT_FALSE(without.contains("conversation"));
  EXPECT_EQ(without["reference"], "BL-AB12C");
  e.consent = true;
  const json with =
      json::parse(BuildCallbackRequestEvent(ClinicWithWebhooks(), kSession, e, kNow)->body)["data"];
  EXPECT_EQ(with["phone"], "+447700900123");
  EXPECT_EQ(with["first_name"], "Ann");
  EXPECT_EQ(with["best_time"], "after 6pm");
}

TEST(WebhookEventsTest, InvalidUtf8InPatientTextDoesNotThrow) {
  FeedbackEvent f{kNow, -1, "bad \xff\xfe bytes", "sleep", "sleep-positions", "answer"};
  const auto ev = BuildFeedbackEvent(ClinicWithWebhooks(), kSession, f, kNow);
  ASSERT_TRUE(ev.has_value());
  EXPECT_FALSE(json::parse(ev->body, nullptr, false).is_discarded());
}

// Every builder's output, with and without consent, validates against
// schemas/event.schema.json (python3-jsonschema, as tests/schemas/validate_content.py uses);
// and the schema rejects what it must (a conversation without consent, an unknown type).
TEST(WebhookEventsTest, BodiesValidateAgainstTheEventSchema) {
  if (std::system("python3 -c 'import jsonschema' 2>/dev/null") != 0) {
    GTEST_SKIP() << "python3-jsonschema is not installed (./test installs it)";
  }
  const engine::Clinic c = ClinicWithWebhooks();
  json good = json::array();
  for (bool consent : {false, true}) {
    good.push_back(json::parse(
        BuildEscalationEvent(
            c, kSession, {"BL-7K2Q9", "E1", "emergency", kNow, consent, SomeConversation()}, kNow)
            ->body));
    good.push_back(
        json::parse(BuildCallbackRequestEvent(c, kSession,
                                              {"BL-7K2Q9", kNow, "none", "", consent, "Ann",
                                               "+447700900123", "mornings", SomeConversation()},
                                              kNow)
                        ->body));
  }
  good.push_back(json::parse(
      BuildFeedbackEvent(c, kSession, {kNow, -1, "too vague", "sleep", "", "fallback"}, kNow)
          ->body));
  good.push_back(json::parse(
      BuildHandoffStatusEvent(c, kSession,
                              {"BL-7K2Q9", "escalation", "acknowledged", "Nurse Lee", kNow}, kNow)
          ->body));
  json bad = json::array();
  json leak = good[0];  // an escalation without consent...
  leak["data"]["conversation"] = good[1]["data"].value("conversation", json::array());
  bad.push_back(leak);  // ...that carries a conversation
  json unknown = good[0];
  unknown["type"] = "escalated";
  bad.push_back(unknown);
  json mismatched = good[0];
  mismatched["type"] = "feedback";  // escalation data under another type
  bad.push_back(mismatched);

  const std::string dir =
      std::filesystem::temp_directory_path() / ("backline-events-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/good.json") << good.dump();
  std::ofstream(dir + "/bad.json") << bad.dump();
  const std::string script =
      "import json, sys, jsonschema\n"
      "schema = json.load(open(sys.argv[1]))\n"
      "v = jsonschema.Draft202012Validator(schema)\n"
      "good = json.load(open(sys.argv[2])); bad = json.load(open(sys.argv[3]))\n"
      "errs = [str(e.message) for d in good for e in v.iter_errors(d)]\n"
      "errs += ['accepted bad #%d' % i for i, d in enumerate(bad) if v.is_valid(d)]\n"
      "print('\\n'.join(errs)); sys.exit(1 if errs else 0)\n";
  std::ofstream(dir + "/check.py") << script;
  const std::string cmd = "python3 " + dir + "/check.py " + build::kSourceDir +
                          "/schemas/event.schema.json " + dir + "/good.json " + dir +
                          "/bad.json 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  const int rc = pclose(p);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(rc, 0) << out;
}

}  // namespace
}  // namespace backline::server
