#include "dialogs/loader.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/analyzer.h"
#include "engine/dialogue.h"
#include "tests/support/build_paths.h"

namespace backline::dialogs {
namespace {

using engine::ContentSpec;
using engine::Diagnostic;
using ::testing::EndsWith;
using ::testing::HasSubstr;

std::string Fixture(const std::string& rel) {
  return std::string(build::kSourceDir) + "/tests/dialogs/fixtures/" + rel;
}

std::string Join(const std::vector<Diagnostic>& diags) {
  std::string s;
  for (const auto& d : diags) s += "  " + d.ToString() + "\n";
  return s;
}

std::vector<Diagnostic> OfSeverity(const std::vector<Diagnostic>& diags,
                                   Diagnostic::Severity severity) {
  std::vector<Diagnostic> out;
  for (const auto& d : diags) {
    if (d.severity == severity) out.push_back(d);
  }
  return out;
}

std::vector<Diagnostic> Errors(const std::vector<Diagnostic>& diags) {
  return OfSeverity(diags, Diagnostic::Severity::kError);
}

// The graph checks of Engine::Compile, run on a loaded flow (no knowledge base needed).
std::vector<Diagnostic> BuildGraph(const ContentSpec& spec, bool* ok) {
  const engine::Analyzer analyzer(engine::LanguageSpec{}, {}, {});
  std::vector<std::string> entered;
  for (const auto& i : spec.intents) {
    if (!i.next_state.empty()) entered.push_back(i.next_state);
  }
  std::vector<Diagnostic> diags;
  *ok = engine::DialogGraph::Build(spec.dialog, analyzer, entered, {}, {}, &diags) != nullptr;
  return diags;
}

// ---- The shipped dialogs -----------------------------------------------------------------

TEST(ShippedDialogsTest, LoadWithNoProblems) {
  const std::string dir = std::string(build::kSourceDir) + "/dialogs";
  ContentSpec spec;
  std::vector<Diagnostic> diags;
  ASSERT_TRUE(LoadDialogs(dir, &spec, &diags)) << Join(diags);
  std::vector<engine::Clinic> clinics;
  ASSERT_TRUE(LoadClinics(dir, &clinics, &diags)) << Join(diags);
  EXPECT_TRUE(diags.empty()) << Join(diags);
  EXPECT_EQ(spec.dialog.start_state, "idle");
  EXPECT_EQ(spec.dialog.escalated_state, "escalated");
  EXPECT_FALSE(spec.dialog.yes_patterns.empty());
  EXPECT_FALSE(spec.dialog.no_patterns.empty());
  for (const char* key : {"welcome", "fallback", "clarify", "empty"}) {
    EXPECT_TRUE(spec.dialog.messages.count(key)) << key;
  }
  // A list of quick replies is kept as "a|b|c".
  EXPECT_EQ(std::count(spec.dialog.messages["welcome_quick_replies"].begin(),
                       spec.dialog.messages["welcome_quick_replies"].end(), '|'),
            2);
  std::set<std::string> ids;
  for (const auto& c : clinics) ids.insert(c.id);
  EXPECT_TRUE(ids.count("default"));
  for (const auto& c : clinics) {
    EXPECT_FALSE(c.emergency_number.empty()) << c.id;
    EXPECT_GE(c.retention_days, 1) << c.id;
  }
  // The callback request's states capture into personal slots, and every clinic says how
  // soon it calls back.
  const auto name = std::find_if(spec.dialog.states.begin(), spec.dialog.states.end(),
                                 [](const auto& st) { return st.id == "callback-name"; });
  ASSERT_NE(name, spec.dialog.states.end());
  ASSERT_TRUE(name->capture.has_value());
  EXPECT_EQ(name->capture->kind, engine::CaptureSpec::Kind::kName);
  EXPECT_EQ(name->capture->slot, "callback_name");
  EXPECT_TRUE(name->personal);
  const auto phone_slot = std::find_if(spec.dialog.slots.begin(), spec.dialog.slots.end(),
                                       [](const auto& sl) { return sl.id == "callback_phone"; });
  ASSERT_NE(phone_slot, spec.dialog.slots.end());
  EXPECT_TRUE(phone_slot->personal);
  for (const auto& c : clinics) {
    if (c.id == "demo" || c.id == "uk-example") {
      EXPECT_EQ(c.callback_response_time, "within one working day") << c.id;
    }
    EXPECT_FALSE(c.callback_response_time.empty()) << c.id;
  }
  // The graph checks need the knowledge base (entries, red-flag kinds): they run on the whole
  // shipped content in tests/knowledge/loader_test.cc and tests/engine/.
}

TEST(DialogsLoaderTest, CaptureAndCallbackProblemsHaveLocations) {
  ContentSpec spec;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(LoadDialogs(Fixture("bad-capture"), &spec, &diags));
  const auto errors = Errors(diags);
  auto find = [&](const std::string& text) {
    for (const auto& d : errors) {
      if (d.message.find(text) != std::string::npos) return d.where.ToString();
    }
    return std::string("<not reported>");
  };
  EXPECT_THAT(find("\"email\""), HasSubstr("bad-capture/flow.json:12:")) << Join(diags);
  EXPECT_THAT(find("\"max_length\""), HasSubstr("bad-capture/flow.json:13:")) << Join(diags);
  EXPECT_THAT(find("missing field \"kind\""), HasSubstr("bad-capture/flow.json:14:"))
      << Join(diags);
  EXPECT_THAT(find("missing field \"phone\""), HasSubstr("bad-capture/flow.json:17:"))
      << Join(diags);
  EXPECT_THAT(find("\"personal\" must be true or false"), HasSubstr("bad-capture/flow.json:19:"))
      << Join(diags);
}

TEST(ClinicsLoaderTest, EmptyCallbackResponseTimeIsAnErrorAndItHasADefault) {
  std::vector<engine::Clinic> clinics;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(LoadClinics(Fixture("bad-callback-time"), &clinics, &diags));
  const auto errors = Errors(diags);
  // The clinic is refused, so the folder also has no default clinic.
  ASSERT_EQ(errors.size(), 2u) << Join(diags);
  EXPECT_THAT(errors[0].message, HasSubstr("callback_response_time"));
  EXPECT_EQ(errors[0].where.line, 6);
  EXPECT_EQ(errors[0].where.column, 29);
  EXPECT_EQ(engine::Clinic().callback_response_time, "as soon as they can");
}

// ---- flow.json and intents.json ------------------------------------------------------------

TEST(DialogsLoaderTest, UnknownIntentKindIsAnErrorAtTheKind) {
  ContentSpec spec;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(LoadDialogs(Fixture("bad-intent-kind"), &spec, &diags));
  const auto errors = Errors(diags);
  ASSERT_EQ(errors.size(), 1u) << Join(diags);
  EXPECT_THAT(errors[0].where.file, EndsWith("bad-intent-kind/intents.json"));
  EXPECT_EQ(errors[0].where.line, 6);
  EXPECT_EQ(errors[0].where.column, 56);
  EXPECT_THAT(errors[0].message, HasSubstr("chitchat"));
  // The good intents are still loaded.
  EXPECT_EQ(spec.intents.size(), 2u);
  EXPECT_EQ(spec.intents[1].kind, engine::IntentSpec::Kind::kFlow);
  EXPECT_EQ(spec.intents[1].next_state, "ask");
}

TEST(DialogsLoaderTest, LoaderLevelFlowProblemsHaveLocations) {
  ContentSpec spec;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(LoadDialogs(Fixture("bad-flow"), &spec, &diags));
  const auto errors = Errors(diags);
  const auto warnings = OfSeverity(diags, Diagnostic::Severity::kWarning);
  auto find = [&](const std::vector<Diagnostic>& list, const std::string& text) {
    for (const auto& d : list) {
      if (d.message.find(text) != std::string::npos) return d.where.ToString();
    }
    return std::string("<not reported>");
  };
  EXPECT_THAT(find(errors, "\"terminal\""), EndsWith("bad-flow/flow.json:15:19")) << Join(diags);
  EXPECT_THAT(find(errors, "messages"), HasSubstr("bad-flow/flow.json")) << Join(diags);
  EXPECT_THAT(find(warnings, "nxt"), EndsWith("bad-flow/flow.json:13:39")) << Join(diags);
}

TEST(DialogsLoaderTest, MissingFilesAndFolders) {
  ContentSpec spec;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(LoadDialogs(Fixture("no-such-folder"), &spec, &diags));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_THAT(diags[0].where.file, HasSubstr("no-such-folder"));
  diags.clear();
  // A folder with clinics but no flow.json or intents.json.
  EXPECT_FALSE(LoadDialogs(Fixture("bad-retention"), &spec, &diags));
  EXPECT_EQ(Errors(diags).size(), 2u) << Join(diags);
}

TEST(DialogsLoaderTest, StateWithNoWayOutIsAnErrorAtTheState) {
  ContentSpec spec;
  std::vector<Diagnostic> diags;
  ASSERT_TRUE(LoadDialogs(Fixture("no-way-out"), &spec, &diags)) << Join(diags);
  bool ok = true;
  const auto errors = Errors(BuildGraph(spec, &ok));
  EXPECT_FALSE(ok);
  ASSERT_EQ(errors.size(), 1u) << Join(errors);
  EXPECT_THAT(errors[0].message, HasSubstr("'stuck'"));
  EXPECT_THAT(errors[0].message, HasSubstr("no way out"));
  EXPECT_THAT(errors[0].where.ToString(), EndsWith("no-way-out/flow.json:20:5"));
}

TEST(DialogsLoaderTest, UnreachableStateAndUnknownTargetAreErrorsWithLocations) {
  ContentSpec spec;
  std::vector<Diagnostic> diags;
  ASSERT_TRUE(LoadDialogs(Fixture("unreachable"), &spec, &diags)) << Join(diags);
  bool ok = true;
  const auto errors = Errors(BuildGraph(spec, &ok));
  EXPECT_FALSE(ok);
  ASSERT_EQ(errors.size(), 2u) << Join(errors);
  std::set<std::string> got;
  for (const auto& e : errors) {
    if (e.message.find("'orphan'") != std::string::npos &&
        e.message.find("unreachable") != std::string::npos) {
      got.insert("orphan@" + e.where.ToString().substr(e.where.ToString().rfind('/') + 1));
    }
    if (e.message.find("'nowhere'") != std::string::npos) {
      got.insert("nowhere@" + e.where.ToString().substr(e.where.ToString().rfind('/') + 1));
    }
  }
  EXPECT_EQ(got, (std::set<std::string>{"orphan@flow.json:18:5", "nowhere@flow.json:14:9"}))
      << Join(errors);
}

// ---- clinics/*.json -------------------------------------------------------------------------

TEST(ClinicsLoaderTest, MissingDefaultClinicIsAnError) {
  std::vector<engine::Clinic> clinics;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(LoadClinics(Fixture("no-default-clinic"), &clinics, &diags));
  const auto errors = Errors(diags);
  ASSERT_EQ(errors.size(), 1u) << Join(diags);
  EXPECT_THAT(errors[0].message, HasSubstr("\"default\""));
  EXPECT_THAT(errors[0].where.file, EndsWith("no-default-clinic/clinics"));
  ASSERT_EQ(clinics.size(), 1u);
  EXPECT_EQ(clinics[0].id, "demo");
}

TEST(ClinicsLoaderTest, BadRetentionIsAnErrorAtTheValue) {
  std::vector<engine::Clinic> clinics;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(LoadClinics(Fixture("bad-retention"), &clinics, &diags));
  const auto errors = Errors(diags);
  ASSERT_GE(errors.size(), 1u) << Join(diags);
  EXPECT_THAT(errors[0].message, HasSubstr("retention_days"));
  EXPECT_THAT(errors[0].where.ToString(), EndsWith("bad-retention/clinics/default.json:6:21"));
}

TEST(ClinicsLoaderTest, RememberConversationHoursIsAnErrorOutOfRangeAndZeroByDefault) {
  std::vector<engine::Clinic> clinics;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(LoadClinics(Fixture("bad-remember"), &clinics, &diags));
  const auto errors = Errors(diags);
  ASSERT_GE(errors.size(), 1u) << Join(diags);
  EXPECT_THAT(errors[0].message, HasSubstr("remember_conversation_hours"));
  EXPECT_THAT(errors[0].where.ToString(), EndsWith("bad-remember/clinics/default.json:6:34"));
  EXPECT_EQ(engine::Clinic().remember_conversation_hours, 0) << "this browser tab only";
}

TEST(ClinicsLoaderTest, DuplicateClinicIdIsAnErrorAtTheSecondId) {
  std::vector<engine::Clinic> clinics;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(LoadClinics(Fixture("duplicate-clinic"), &clinics, &diags));
  const auto errors = Errors(diags);
  ASSERT_EQ(errors.size(), 1u) << Join(diags);
  EXPECT_THAT(errors[0].message, HasSubstr("duplicate clinic id 'default'"));
  EXPECT_THAT(errors[0].where.ToString(), EndsWith("duplicate-clinic/clinics/b.json:3:9"));
  ASSERT_EQ(clinics.size(), 1u);
  EXPECT_EQ(clinics[0].name, "A");
}

TEST(ClinicsLoaderTest, FolderWithoutClinicsHasNoDefault) {
  std::vector<engine::Clinic> clinics;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(LoadClinics(Fixture("no-way-out"), &clinics, &diags));
  EXPECT_TRUE(clinics.empty());
  ASSERT_EQ(Errors(diags).size(), 1u) << Join(diags);
}

}  // namespace
}  // namespace backline::dialogs

namespace backline::dialogs {
namespace {

// frame_ancestors goes into a Content-Security-Policy header: only 'self', 'none' (alone) and
// plain https origins pass, each bad item reported at its own location.
TEST(ClinicsLoaderTest, BadFrameAncestorsAreErrorsAtEachItem) {
  std::vector<engine::Clinic> clinics;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(LoadClinics(Fixture("bad-frame-ancestors"), &clinics, &diags));
  const auto errors = Errors(diags);
  // Four bad items, then: the folder's only clinic failed, so there is no "default".
  ASSERT_EQ(errors.size(), 5u) << Join(diags);
  EXPECT_THAT(errors[0].message, HasSubstr("http://portal.example.org"));
  EXPECT_THAT(errors[0].where.ToString(),
              EndsWith("bad-frame-ancestors/clinics/default.json:6:54"));
  EXPECT_THAT(errors[1].message, HasSubstr("https://*.example.org"));
  EXPECT_THAT(errors[2].message, HasSubstr("must be the only item"));
  EXPECT_THAT(errors[3].message, HasSubstr("script-src"));
  EXPECT_THAT(errors[4].message, HasSubstr("no clinic with id \"default\""));
  EXPECT_TRUE(clinics.empty());
}

TEST(ClinicsLoaderTest, FrameAncestorsDefaultToSelfAndShippedOnesLoad) {
  std::vector<engine::Clinic> clinics;
  std::vector<Diagnostic> diags;
  LoadClinics(Fixture("duplicate-clinic"), &clinics, &diags);  // one good clinic, no setting
  ASSERT_FALSE(clinics.empty()) << Join(diags);
  EXPECT_THAT(clinics[0].frame_ancestors, ::testing::ElementsAre("'self'"));
  clinics.clear();
  diags.clear();
  ASSERT_TRUE(LoadClinics(std::string(build::kSourceDir) + "/dialogs", &clinics, &diags))
      << Join(diags);
  for (const auto& c : clinics) EXPECT_FALSE(c.frame_ancestors.empty()) << c.id;
}

// ---- Webhooks (issue 22) -----------------------------------------------------------------

// A temp dialogs folder whose clinics/default.json has `webhooks` (JSON text) on line 2, and
// a secret file (mode `mode`) beside it.
class WebhookClinic {
 public:
  WebhookClinic() {
    char tmpl[] = "/tmp/backline-webhooks-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::filesystem::create_directories(dir_ + "/clinics");
  }
  ~WebhookClinic() { std::filesystem::remove_all(dir_); }

  std::string WriteSecret(const std::string& text, mode_t mode) {
    const std::string path = dir_ + "/secret";
    std::ofstream(path) << text;
    chmod(path.c_str(), mode);
    return path;
  }

  bool Load(const std::string& webhooks, std::vector<engine::Clinic>* clinics,
            std::vector<Diagnostic>* diags) {
    std::ofstream(dir_ + "/clinics/default.json")
        << "{\"id\": \"default\", \"name\": \"Test\", \"emergency_number\": \"999\",\n"
        << "  \"webhooks\": " << webhooks << "}\n";
    return LoadClinics(dir_, clinics, diags);
  }

 private:
  std::string dir_;
};

constexpr char kGoodSecret[] = "0123456789abcdef0123456789abcdef0123456789abcdef\n";

TEST(ClinicsLoaderTest, WebhooksLoadWithTheirUrlSplitAndTheSecretFromAFile) {
  WebhookClinic clinic;
  const std::string secret = clinic.WriteSecret(kGoodSecret, 0600);
  std::vector<engine::Clinic> clinics;
  std::vector<Diagnostic> diags;
  ASSERT_TRUE(clinic.Load(
      R"([{"id": "triage", "url": "https://triage.example.org:8443/hooks/backline?x=1",
           "events": ["escalation", "callback_request"], "secret_file": ")" +
          secret + R"("},
         {"id": "local", "url": "http://[::1]:9000", "events": ["feedback"],
          "secret_file": ")" +
          secret + R"("}])",
      &clinics, &diags))
      << Join(diags);
  ASSERT_EQ(clinics.size(), 1u);
  ASSERT_EQ(clinics[0].webhooks.size(), 2u);
  const engine::WebhookEndpoint& w = clinics[0].webhooks[0];
  EXPECT_EQ(w.id, "triage");
  EXPECT_TRUE(w.tls);
  EXPECT_EQ(w.host, "triage.example.org");
  EXPECT_EQ(w.port, "8443");
  EXPECT_EQ(w.target, "/hooks/backline?x=1");
  EXPECT_THAT(w.events, ::testing::ElementsAre("escalation", "callback_request"));
  EXPECT_EQ(w.secret, "0123456789abcdef0123456789abcdef0123456789abcdef");  // newline dropped
  const engine::WebhookEndpoint& local = clinics[0].webhooks[1];
  EXPECT_FALSE(local.tls);
  EXPECT_EQ(local.host, "::1");
  EXPECT_EQ(local.port, "9000");
  EXPECT_EQ(local.target, "/");
}

TEST(ClinicsLoaderTest, WebhookSecretFromTheEnvironment) {
  WebhookClinic clinic;
  setenv("BACKLINE_TEST_WEBHOOK_SECRET", "abcdefghijklmnopqrstuvwxyz0123456789", 1);
  std::vector<engine::Clinic> clinics;
  std::vector<Diagnostic> diags;
  ASSERT_TRUE(clinic.Load(R"([{"id": "a", "url": "http://127.0.0.1:8000/x",
      "events": ["escalation"], "secret_env": "BACKLINE_TEST_WEBHOOK_SECRET"}])",
                          &clinics, &diags))
      << Join(diags);
  EXPECT_EQ(clinics[0].webhooks[0].secret, "abcdefghijklmnopqrstuvwxyz0123456789");
  unsetenv("BACKLINE_TEST_WEBHOOK_SECRET");
  clinics.clear();
  diags.clear();
  EXPECT_FALSE(clinic.Load(R"([{"id": "a", "url": "http://127.0.0.1:8000/x",
      "events": ["escalation"], "secret_env": "BACKLINE_TEST_WEBHOOK_SECRET"}])",
                           &clinics, &diags));
  EXPECT_THAT(Join(Errors(diags)), HasSubstr("BACKLINE_TEST_WEBHOOK_SECRET is not set"));
}

// Each bad endpoint is refused with the file and line of what is wrong.
TEST(ClinicsLoaderTest, BadWebhooksAreErrorsAtTheirLocation) {
  WebhookClinic clinic;
  const std::string good = clinic.WriteSecret(kGoodSecret, 0600);
  struct Case {
    std::string webhook;  // one item, on line 2 of the file
    std::string says;
  };
  const std::vector<Case> cases = {
      {R"({"id": "a", "url": "http://triage.example.org/", "events": ["escalation"],
           "secret_file": "S"})",
       "is plain http to another host: use https"},
      {R"({"id": "a", "url": "http://10.0.0.5/", "events": ["escalation"], "secret_file": "S"})",
       "is plain http to another host"},
      {R"({"id": "a", "url": "ftp://x.org/", "events": ["escalation"], "secret_file": "S"})",
       "is not an https:// URL"},
      {R"({"id": "a", "url": "https://user:pw@x.org/", "events": ["escalation"],
           "secret_file": "S"})",
       "has user info"},
      {R"({"id": "a", "url": "https://x.org:99999/", "events": ["escalation"],
           "secret_file": "S"})",
       "has a port that is not 1-65535"},
      {R"({"id": "a", "url": "https://[2001:db8::1]/", "events": ["escalation"],
           "secret_file": "S"})",
       "names an IPv6 address other than [::1]"},
      {R"({"id": "a", "url": "https://X.org/", "events": ["escalation"], "secret_file": "S"})",
       "lowercase"},
      {R"({"id": "a", "url": "https://x.org/", "events": ["escalations"], "secret_file": "S"})",
       "unknown event \"escalations\""},
      {R"({"id": "a", "url": "https://x.org/", "events": [], "secret_file": "S"})",
       "names at least one event"},
      {R"({"id": "A b", "url": "https://x.org/", "events": ["feedback"], "secret_file": "S"})",
       "a webhook id is"},
      {R"({"id": "a", "url": "https://x.org/", "events": ["feedback"]})", "exactly one of"},
      {R"({"id": "a", "url": "https://x.org/", "events": ["feedback"], "secret_file": "S",
           "secret_env": "X"})",
       "exactly one of"},
      {R"({"id": "a", "url": "https://x.org/", "events": ["feedback"],
           "secret": "0123456789abcdef0123456789abcdef"})",
       "a secret never goes in a clinic file"},
      {R"({"id": "a", "url": "https://x.org/", "events": ["feedback"],
           "secret_file": "secrets/hook"})",
       "must be an absolute path"},
      {R"({"id": "a", "url": "https://x.org/", "events": ["feedback"],
           "secret_file": "/nonexistent/backline-secret"})",
       "is not a readable file"},
      {R"({"id": "a", "url": "https://x.org/", "events": ["feedback"], "secret_env": "lower"})",
       "is an environment variable name"},
  };
  for (const auto& c : cases) {
    std::string item = c.webhook;
    if (const size_t s = item.find("\"S\""); s != std::string::npos) {
      item.replace(s, 3, "\"" + good + "\"");
    }
    std::vector<engine::Clinic> clinics;
    std::vector<Diagnostic> diags;
    EXPECT_FALSE(clinic.Load("[" + item + "]", &clinics, &diags)) << c.webhook;
    const auto errors = Errors(diags);
    ASSERT_FALSE(errors.empty()) << c.webhook;
    EXPECT_THAT(errors[0].message, HasSubstr(c.says)) << c.webhook;
    EXPECT_EQ(errors[0].where.line >= 2 && errors[0].where.line <= 3, true)
        << c.webhook << ": " << errors[0].where.ToString();
    EXPECT_THAT(errors[0].where.file, EndsWith("clinics/default.json"));
  }
}

TEST(ClinicsLoaderTest, WebhookSecretFileReadableByOthersOrShortIsRefused) {
  WebhookClinic clinic;
  const std::string item_head =
      R"([{"id": "a", "url": "https://x.org/", "events": ["feedback"], "secret_file": ")";
  for (mode_t mode : {0640, 0604, 0660}) {
    const std::string path = clinic.WriteSecret(kGoodSecret, mode);
    std::vector<engine::Clinic> clinics;
    std::vector<Diagnostic> diags;
    EXPECT_FALSE(clinic.Load(item_head + path + "\"}]", &clinics, &diags)) << mode;
    EXPECT_THAT(Join(Errors(diags)), HasSubstr("chmod 600")) << mode;
    // The message names the file, never its contents.
    EXPECT_THAT(Join(diags), ::testing::Not(HasSubstr("0123456789abcdef")));
  }
  const std::string path = clinic.WriteSecret("too-short\n", 0400);
  std::vector<engine::Clinic> clinics;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(clinic.Load(item_head + path + "\"}]", &clinics, &diags));
  EXPECT_THAT(Join(Errors(diags)), HasSubstr("shorter than 32 characters"));
  EXPECT_THAT(Join(diags), ::testing::Not(HasSubstr("too-short")));
}

TEST(ClinicsLoaderTest, DuplicateWebhookIdIsAnError) {
  WebhookClinic clinic;
  const std::string secret = clinic.WriteSecret(kGoodSecret, 0600);
  const std::string item = R"({"id": "a", "url": "https://x.org/", "events": ["feedback"],
      "secret_file": ")" + secret +
                           "\"}";
  std::vector<engine::Clinic> clinics;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(clinic.Load("[" + item + ", " + item + "]", &clinics, &diags));
  EXPECT_THAT(Join(Errors(diags)), HasSubstr("duplicate webhook id 'a'"));
}

}  // namespace
}  // namespace backline::dialogs
