// Curator (curator/curator.h) and the unanswered report (curator/unanswered_report.h).
//
// Every test that edits works on a temporary copy of the shipped knowledge/ and dialogs/ and a
// temporary database; the repository's content files are never written.
#include "curator/curator.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "cli/commands.h"
#include "content/content.h"
#include "curator/curator_routes.h"
#include "curator/unanswered_report.h"
#include "server/server.h"
#include "store/sqlite_store.h"
#include "tests/server/ws_client.h"
#include "tests/support/build_paths.h"

namespace backline::curator {
namespace {

using server::Config;
using server::Server;

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

const std::string kRoot = build::kSourceDir;
const std::string kMassageEntry = "massage-safe-during-treatment";
const std::string kMassage = "Is it safe to have a massage during chemotherapy?";
// No entry has this phrasing: it is not answered by the massage entry until a curator adds it.
const std::string kNewParaphrase = "my quokka wants to knead my shoulders";
const std::string kNsaidEntry = "nsaids-bone-pain";

fs::path TempPath(const std::string& suffix) {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string test = info ? info->name() : "none";
  return fs::temp_directory_path() / ("backline-curator-test-" + std::to_string(::getpid()) + "-" +
                                      test + "-" + std::to_string(counter++) + suffix);
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string Join(const std::vector<engine::Diagnostic>& diags) {
  std::string s;
  for (const auto& d : diags) s += "  " + d.ToString() + "\n";
  return s;
}

std::string EntryFor(const content::Content& c, const std::string& text) {
  return c.engine->Turn(engine::SessionState{}, text, c.ClinicOrDefault("default")).reply.entry_id;
}

// The shipped content, loaded once (read only).
const content::Content& Shipped() {
  static const std::shared_ptr<const content::Content> content = [] {
    std::vector<engine::Diagnostic> diags;
    auto c = content::LoadContent(content::ContentPaths{kRoot + "/knowledge", kRoot + "/dialogs"},
                                  &diags);
    if (!c.ok()) ADD_FAILURE() << Join(diags);
    return c.ok() ? std::move(c).value() : nullptr;
  }();
  return *content;
}

store::UnansweredRecord Rec(const std::string& text, int64_t at_ms) {
  store::UnansweredRecord r;
  r.session_id = "s";
  r.text = text;
  r.kind = "fallback";
  r.created_ms = at_ms;
  return r;
}

// --- Grouping ------------------------------------------------------------------------------

TEST(UnansweredReportTest, GroupsTyposWordOrderAndSynonyms) {
  const engine::Analyzer& analyzer = Shipped().engine->analyzer();
  const std::vector<store::UnansweredRecord> records = {
      Rec("can my dog sleep on the bed during chemotherapy", 1000),
      Rec("can my dog sleep on the bed during chemotherapy", 2000),
      // a typo the spelling repair fixes
      Rec("can my dog sleep on the bed during chemoterapy", 3000),
      // another word order, a stretched word
      Rec("during chemotherapy, can my dog sleeeep on the bed?", 4000),
      // a synonym: "chemotherapy" is "chemo" to the matcher
      Rec("Can my dog sleep on the bed during chemo", 5000),
      // something else entirely
      Rec("is the hospital car park free", 1500), Rec("is the hospital car park free?", 6000),
      Rec("   ", 7000),  // nothing to group
  };
  const std::vector<UnansweredGroup> groups = GroupUnanswered(analyzer, records, 0);
  ASSERT_THAT(groups, SizeIs(2)) << FormatUnansweredTable(groups);
  const UnansweredGroup& dog = groups[0];
  EXPECT_EQ(dog.count, 5);
  EXPECT_EQ(dog.example, "can my dog sleep on the bed during chemotherapy") << "the most frequent";
  EXPECT_EQ(dog.first_ms, 1000);
  EXPECT_EQ(dog.last_ms, 5000);
  EXPECT_THAT(dog.variants,
              UnorderedElementsAre("can my dog sleep on the bed during chemotherapy",
                                   "can my dog sleep on the bed during chemoterapy",
                                   "during chemotherapy, can my dog sleeeep on the bed?",
                                   "Can my dog sleep on the bed during chemo"));
  EXPECT_EQ(dog.variants.front(), dog.example);
  EXPECT_EQ(dog.key, "bed chemo dog sleep") << "stop words are not part of the key";

  const UnansweredGroup& park = groups[1];
  EXPECT_EQ(park.count, 2);
  EXPECT_EQ(park.first_ms, 1500);
  EXPECT_EQ(park.last_ms, 6000);
  EXPECT_EQ(park.example, "is the hospital car park free") << "a tie goes to the one seen first";

  // The limit keeps the biggest groups.
  EXPECT_THAT(GroupUnanswered(analyzer, records, 1), SizeIs(1));
  const std::string table = FormatUnansweredTable(groups);
  EXPECT_THAT(table, HasSubstr("    5  1970-01-01 00:00  1970-01-01 00:00  can my dog sleep"));
  EXPECT_THAT(table, HasSubstr("~ during chemotherapy, can my dog sleeeep on the bed?"));
}

TEST(UnansweredReportTest, MergesNearIdenticalButNotMerelySimilarQuestions) {
  const engine::Analyzer& analyzer = Shipped().engine->analyzer();
  // Five content words each; the second adds one more (Jaccard 5/6 >= 0.8): one group.
  // The third shares three of six (Jaccard 0.5): its own group.
  const std::vector<store::UnansweredRecord> records = {
      Rec("will my grandson catch radiation from my hugs at christmas", 1),
      Rec("will my grandson catch radiation from my hugs at christmas dinner", 2),
      Rec("will my grandson enjoy christmas presents", 3),
  };
  const auto groups = GroupUnanswered(analyzer, records, 0);
  ASSERT_THAT(groups, SizeIs(2)) << FormatUnansweredTable(groups);
  EXPECT_EQ(groups[0].count, 2);
  EXPECT_EQ(groups[1].count, 1);
  EXPECT_EQ(groups[1].example, "will my grandson enjoy christmas presents");
}

// --- Content status ------------------------------------------------------------------------

TEST(ContentStatusTest, VersionIsAHashOfTheFilesAndCountsAreFilled) {
  const content::ContentStatus& st = Shipped().status;
  EXPECT_THAT(st.version, ::testing::MatchesRegex("[0-9a-f]{64}"));
  EXPECT_EQ(st.version, content::ContentVersion(
                            content::ContentPaths{kRoot + "/knowledge", kRoot + "/dialogs"}));
  EXPECT_EQ(st.entries, Shipped().engine->content().entries.size());
  EXPECT_GT(st.topics, 10u);
  EXPECT_GT(st.red_flag_rules, 0u);
  EXPECT_GT(st.red_flag_kinds, 0u);
  EXPECT_GT(st.loaded_ms, 1700000000000);
  // SHA-256 test vectors (FIPS 180-2): empty, "abc", and two blocks.
  EXPECT_EQ(content::Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(content::Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(content::Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

// The FAQ files are written like Python's json.dumps(indent=2, ensure_ascii=False) plus a
// newline; the curator rewrites them with nlohmann's ordered_json dump(2). Both must agree
// byte for byte on every shipped file, or an edit's git diff would show more than the edit.
TEST(ContentStatusTest, ShippedFaqFilesRoundTripByteForByte) {
  int files = 0;
  for (const auto& e : fs::directory_iterator(kRoot + "/knowledge/faq")) {
    if (e.path().extension() != ".json") continue;
    const std::string bytes = ReadAll(e.path());
    const auto doc = nlohmann::ordered_json::parse(bytes);
    EXPECT_EQ(doc.dump(2, ' ', false) + "\n", bytes) << e.path();
    ++files;
  }
  EXPECT_GT(files, 10);
}

// --- Curator on its own: a temp copy of the content, a temp database -------------------------

class CuratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempPath(".d");
    fs::create_directories(dir_);
    paths_ = content::ContentPaths{(dir_ / "knowledge").string(), (dir_ / "dialogs").string()};
    fs::copy(kRoot + "/knowledge", paths_.knowledge, fs::copy_options::recursive);
    fs::copy(kRoot + "/dialogs", paths_.dialogs, fs::copy_options::recursive);
    auto store = store::SqliteStore::Open((dir_ / "test.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    std::vector<engine::Diagnostic> diags;
    auto loaded = content::LoadContent(paths_, &diags);
    ASSERT_TRUE(loaded.ok()) << Join(diags);
    content_ = std::move(loaded).value();
    auto curator = Curator::Create(
        paths_, store_.get(),
        [this]() {
          std::lock_guard<std::mutex> lock(mu_);
          return content_;
        },
        [this]() -> engine::StatusOr<content::ContentStatus> {
          ++reloads_;
          if (fail_reload_) return engine::Status::DataError("reload failed on purpose");
          std::vector<engine::Diagnostic> d;
          auto c = content::LoadContent(paths_, &d);
          if (!c.ok()) return engine::Status::DataError(Join(d));
          std::lock_guard<std::mutex> lock(mu_);
          content_ = c.value();
          return content_->status;
        });
    ASSERT_TRUE(curator.ok()) << curator.status().ToString();
    curator_ = std::move(curator).value();
  }

  void TearDown() override {
    curator_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::shared_ptr<const content::Content> content() {
    std::lock_guard<std::mutex> lock(mu_);
    return content_;
  }
  fs::path Faq(const std::string& name) const { return fs::path(paths_.knowledge) / "faq" / name; }
  std::vector<store::RevisionRecord> Revisions() {
    auto r = curator_->Revisions(100);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : std::vector<store::RevisionRecord>{};
  }
  // Every content file's bytes, to show that a refused edit changed nothing.
  std::string Snapshot() const { return content::ContentVersion(paths_); }

  fs::path dir_;
  content::ContentPaths paths_;
  std::unique_ptr<store::SqliteStore> store_;
  std::mutex mu_;
  std::shared_ptr<const content::Content> content_;
  std::unique_ptr<Curator> curator_;
  std::atomic<int> reloads_{0};
  std::atomic<bool> fail_reload_{false};
};

TEST_F(CuratorTest, AddParaphraseMakesThatPhrasingGetTheEntryAndRecordsTheRevision) {
  ASSERT_NE(EntryFor(*content(), kNewParaphrase), kMassageEntry);
  const fs::path file = Faq("massage.json");
  const std::string before = ReadAll(file);
  const std::string old_version = content()->status.version;

  const int64_t t0 = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  auto out = curator_->AddParaphrase("Nurse Kim", kMassageEntry, "  " + kNewParaphrase + " ");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(out->applied) << Join(out->errors);
  EXPECT_EQ(reloads_, 1);

  // Live: the phrasing now gets the entry.
  EXPECT_EQ(EntryFor(*content(), kNewParaphrase), kMassageEntry);
  EXPECT_EQ(out->status.version, content()->status.version);
  EXPECT_NE(out->status.version, old_version);

  // On disk: one line more, nothing else changed.
  const std::string after = ReadAll(file);
  std::vector<std::string> a = Lines(after), b = Lines(before);
  ASSERT_EQ(a.size(), b.size() + 1);
  auto added = std::find(a.begin(), a.end(), "        \"" + kNewParaphrase + "\"");
  ASSERT_NE(added, a.end()) << after;
  a.erase(added);
  // The line before it gained a comma.
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) {
      EXPECT_EQ(a[i], b[i] + ",");
    }
  }
  EXPECT_EQ(after.back(), '\n');

  // The revision: who, when, what.
  const auto revs = Revisions();
  ASSERT_THAT(revs, SizeIs(1));
  EXPECT_EQ(revs[0].id, out->revision);
  EXPECT_EQ(revs[0].who, "Nurse Kim");
  EXPECT_GE(revs[0].at_ms, t0);
  EXPECT_EQ(revs[0].file, "knowledge/faq/massage.json");
  EXPECT_EQ(revs[0].before, before);
  EXPECT_EQ(revs[0].after, after);
  EXPECT_EQ(revs[0].undoes, 0);
  EXPECT_THAT(revs[0].summary, AllOf(HasSubstr(kMassageEntry), HasSubstr(kNewParaphrase)));
}

TEST_F(CuratorTest, BrokenEditsAreRefusedWithTheErrorsAndNothingChanges) {
  const std::string files = Snapshot();
  const std::string massage = ReadAll(Faq("massage.json"));

  // An empty answer: `backline check` refuses it, so the curator does too.
  auto out = curator_->UpdateEntry("kim", kMassageEntry, {kMassage, "can I have a massage"}, "");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_FALSE(out->applied);
  ASSERT_THAT(out->errors, Not(IsEmpty()));
  EXPECT_EQ(out->errors[0].severity, engine::Diagnostic::Severity::kError);
  EXPECT_THAT(Join(out->errors), HasSubstr("answer"));
  EXPECT_THAT(out->errors[0].where.file, HasSubstr(paths_.knowledge)) << "the real file's name";
  EXPECT_THAT(Join(out->errors), Not(HasSubstr("backline-curator-XXXX")));

  // No questions at all.
  out = curator_->UpdateEntry("kim", kMassageEntry, {}, "Some answer.");
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->applied) << "an entry without questions";

  // A duplicate id.
  NewEntry dup;
  dup.topic = "massage";
  dup.id = kMassageEntry;
  dup.questions = {"can my cat give me a massage"};
  dup.answer = "No.";
  dup.sources = {{"NHS", "https://www.nhs.uk/"}};
  dup.reviewed_on = "2026-11-26";
  out = curator_->CreateEntry("kim", dup);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->applied);
  EXPECT_THAT(Join(out->errors), HasSubstr("already exists"));

  // An unknown topic.
  NewEntry odd = dup;
  odd.id = "cat-massage";
  odd.topic = "cat-grooming";
  out = curator_->CreateEntry("kim", odd);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->applied);
  EXPECT_THAT(Join(out->errors), HasSubstr("unknown topic 'cat-grooming'"));

  // A bad date, caught by the loader.
  NewEntry late = dup;
  late.id = "cat-massage";
  late.reviewed_on = "2026-02-30";
  out = curator_->CreateEntry("kim", late);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->applied);
  EXPECT_THAT(Join(out->errors), HasSubstr("reviewed"));

  // A paraphrase another entry already has (after normalisation: case, punctuation).
  out = curator_->AddParaphrase("kim", kNsaidEntry,
                                "IS IT SAFE to have a massage during chemotherapy");
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->applied);
  // (`backline check` itself refuses a question two entries share; the curator's own check
  // adds the comparison after spelling repair and synonyms.) Either names the other entry.
  EXPECT_THAT(Join(out->errors), HasSubstr("'" + kMassageEntry + "'"));

  // A paraphrase that reports a red flag would be escalated, never answered.
  out = curator_->AddParaphrase("kim", kMassageEntry, "I can't feel my legs and I've wet myself");
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->applied);
  EXPECT_THAT(Join(out->errors), HasSubstr("red flag"));

  // An empty paraphrase.
  out = curator_->AddParaphrase("kim", kMassageEntry, "   ");
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->applied);

  // Unknown entry: an error, not a refusal.
  out = curator_->AddParaphrase("kim", "no-such-entry", "hello there");
  EXPECT_EQ(out.status().code(), engine::Status::Code::kNotFound);
  EXPECT_EQ(curator_->UpdateEntry("kim", "no-such-entry", {"a"}, "b").status().code(),
            engine::Status::Code::kNotFound);

  // Nothing written, nothing recorded, nothing reloaded.
  EXPECT_EQ(Snapshot(), files);
  EXPECT_EQ(ReadAll(Faq("massage.json")), massage);
  EXPECT_THAT(Revisions(), IsEmpty());
  EXPECT_EQ(reloads_, 0);
  EXPECT_FALSE(fs::exists(Faq("cat-grooming.json")));
}

TEST_F(CuratorTest, UpdateEntryChangesOnlyTheQuestionsAndAnswer) {
  const fs::path file = Faq("massage.json");
  ASSERT_NE(content()->engine->FindEntry(kMassageEntry), nullptr);
  // A copy: the reload frees the content it points into.
  const engine::FaqEntry old = *content()->engine->FindEntry(kMassageEntry);
  const engine::FaqEntry* e = &old;
  std::vector<std::string> questions = e->questions;
  questions.erase(questions.begin() + 1);  // drop one
  questions.push_back(kNewParaphrase);
  const std::string answer = e->answer + " Ask your care team first.";
  auto out = curator_->UpdateEntry("kim", kMassageEntry, questions, answer);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(out->applied) << Join(out->errors);
  const engine::FaqEntry* now = content()->engine->FindEntry(kMassageEntry);
  ASSERT_NE(now, nullptr);
  EXPECT_EQ(now->questions, questions);
  EXPECT_EQ(now->answer, answer);
  EXPECT_EQ(now->sources.size(), e->sources.size());
  EXPECT_EQ(now->keywords, e->keywords);
  EXPECT_EQ(EntryFor(*content(), kNewParaphrase), kMassageEntry);
  // Keys the curator does not edit ("$schema", unknown top-level keys) are kept, in order.
  EXPECT_EQ(ReadAll(file).substr(0, 25), Revisions()[0].before.substr(0, 25));
}

TEST_F(CuratorTest, UnknownTopLevelKeysAreKept) {
  const fs::path file = Faq("massage.json");
  std::string text = ReadAll(file);
  // Shipped files begin with their "$schema"; a curator may add a "$comment" by hand.
  const std::string head = "{\n  \"$schema\": \"../../schemas/faq.schema.json\",\n";
  ASSERT_EQ(text.rfind(head, 0), 0u);
  text.insert(head.size(), "  \"$comment\": \"Reviewed with Dr Osei\",\n");
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
  auto out = curator_->AddParaphrase("kim", kMassageEntry, kNewParaphrase);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // The loader may warn about the key; it must not refuse.
  ASSERT_TRUE(out->applied) << Join(out->errors);
  EXPECT_EQ(
      ReadAll(file).rfind(head + "  \"$comment\": \"Reviewed with Dr Osei\",\n  \"topic\"", 0), 0u);
}

TEST_F(CuratorTest, CreateEntryIsAnsweredAndUndoRemovesIt) {
  NewEntry n;
  n.topic = "massage";
  n.id = "massage-hot-stones";
  n.questions = {"what about stone massages for my back", "can I have a hot stone massage"};
  n.keywords = {"hot stone"};
  n.answer =
      "Hot stones can burn skin that radiotherapy or nerve damage has made less sensitive. "
      "Ask your care team first, and tell the therapist about your treatment.";
  n.sources = {{"NHS: Massage", "https://www.nhs.uk/"}};
  n.reviewed_on = "2026-11-26";
  const std::string before = ReadAll(Faq("massage.json"));
  auto out = curator_->CreateEntry("kim", n);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(out->applied) << Join(out->errors);
  EXPECT_EQ(EntryFor(*content(), "can I have a hot stone massage"), "massage-hot-stones");
  EXPECT_EQ(out->status.entries, Shipped().status.entries + 1);

  auto undo = curator_->UndoLast("lee");
  ASSERT_TRUE(undo.ok()) << undo.status().ToString();
  ASSERT_TRUE(undo->applied) << Join(undo->errors);
  EXPECT_EQ(ReadAll(Faq("massage.json")), before);
  EXPECT_EQ(content()->engine->FindEntry("massage-hot-stones"), nullptr);
}

TEST_F(CuratorTest, UndoRestoresTheBytesAndUndoesTheRevisionsInTurn) {
  const std::string massage = ReadAll(Faq("massage.json"));
  const std::string files = Snapshot();
  auto first = curator_->AddParaphrase("kim", kMassageEntry, kNewParaphrase);
  ASSERT_TRUE(first.ok() && first->applied);
  const std::string after_first = ReadAll(Faq("massage.json"));
  auto second = curator_->AddParaphrase("kim", kMassageEntry, "would a wombat massage be okay");
  ASSERT_TRUE(second.ok() && second->applied);

  // The last edit first.
  auto u1 = curator_->UndoLast("lee");
  ASSERT_TRUE(u1.ok()) << u1.status().ToString();
  ASSERT_TRUE(u1->applied) << Join(u1->errors);
  EXPECT_EQ(ReadAll(Faq("massage.json")), after_first);
  EXPECT_EQ(EntryFor(*content(), kNewParaphrase), kMassageEntry);
  // Then the one before it.
  auto u2 = curator_->UndoLast("lee");
  ASSERT_TRUE(u2.ok()) << u2.status().ToString();
  ASSERT_TRUE(u2->applied) << Join(u2->errors);
  EXPECT_EQ(ReadAll(Faq("massage.json")), massage);
  EXPECT_EQ(Snapshot(), files);
  EXPECT_NE(EntryFor(*content(), kNewParaphrase), kMassageEntry);
  // Nothing left.
  EXPECT_EQ(curator_->UndoLast("lee").status().code(), engine::Status::Code::kNotFound);

  const auto revs = Revisions();  // newest first
  ASSERT_THAT(revs, SizeIs(4));
  EXPECT_EQ(revs[0].undoes, first->revision);
  EXPECT_EQ(revs[1].undoes, second->revision);
  EXPECT_EQ(revs[0].who, "lee");
  EXPECT_EQ(revs[0].after, massage);
  EXPECT_THAT(revs[0].summary, HasSubstr("undo revision " + std::to_string(first->revision)));
}

TEST_F(CuratorTest, UndoIsRefusedWhenTheFileChangedSince) {
  auto first = curator_->AddParaphrase("kim", kMassageEntry, kNewParaphrase);
  ASSERT_TRUE(first.ok() && first->applied);
  // Someone edits the file by hand.
  const std::string by_hand = ReadAll(Faq("massage.json")) + "\n";
  std::ofstream(Faq("massage.json"), std::ios::binary | std::ios::trunc) << by_hand;
  auto undo = curator_->UndoLast("lee");
  ASSERT_TRUE(undo.ok()) << undo.status().ToString();
  EXPECT_FALSE(undo->applied);
  EXPECT_THAT(Join(undo->errors), HasSubstr("changed since"));
  EXPECT_EQ(ReadAll(Faq("massage.json")), by_hand);
  EXPECT_THAT(Revisions(), SizeIs(1));
}

TEST_F(CuratorTest, AFailedReloadRestoresTheFileAndDropsTheRevision) {
  const std::string massage = ReadAll(Faq("massage.json"));
  fail_reload_ = true;
  auto out = curator_->AddParaphrase("kim", kMassageEntry, kNewParaphrase);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_FALSE(out->applied);
  EXPECT_THAT(Join(out->errors),
              AllOf(HasSubstr("reload failed on purpose"), HasSubstr("the file was restored")));
  EXPECT_EQ(ReadAll(Faq("massage.json")), massage);
  EXPECT_THAT(Revisions(), IsEmpty());
}

TEST_F(CuratorTest, ConcurrentEditsAreSerialisedAndAllRecorded) {
  std::vector<std::future<engine::StatusOr<EditOutcome>>> edits;
  const std::vector<std::string> texts = {"could a platypus massage me", "is an emu massage ok",
                                          "may a koala massage my shoulders"};
  for (const auto& t : texts) {
    edits.push_back(std::async(std::launch::async, [this, t]() {
      return curator_->AddParaphrase("kim", kMassageEntry, t);
    }));
  }
  for (auto& f : edits) {
    auto out = f.get();
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_TRUE(out->applied) << Join(out->errors);
  }
  for (const auto& t : texts) EXPECT_EQ(EntryFor(*content(), t), kMassageEntry) << t;
  EXPECT_THAT(Revisions(), SizeIs(3));
}

TEST_F(CuratorTest, UnansweredGroupsWhatTheStoreHolds) {
  int64_t seq = 0;
  for (const char* text :
       {"can my dog sleep on the bed during chemotherapy",
        "can my dog sleep on the bed during chemoterapy", "is the hospital car park free"}) {
    store::TurnRecord t;
    t.session_id = "0123456789abcdef0123456789abcdef";
    t.seq = ++seq;
    t.user_text = text;
    t.reply_text = "I am not sure.";
    t.topic = "fallback";
    t.urgency = "none";
    t.kind = "fallback";
    t.unanswered = true;
    t.received_ms = 1000 * seq;
    t.replied_ms = t.received_ms;
    store::SessionRecord s{t.session_id, "default", "{}", 1000, t.received_ms};
    std::promise<engine::Status> done;
    store_->AppendTurn(t, s, [&done](engine::Status st) { done.set_value(st); });
    ASSERT_TRUE(done.get_future().get().ok());
  }
  auto groups = curator_->Unanswered(0, 10);
  ASSERT_TRUE(groups.ok()) << groups.status().ToString();
  ASSERT_THAT(groups.value(), SizeIs(2));
  EXPECT_EQ(groups.value()[0].count, 2);
  // --since leaves out what came before.
  groups = curator_->Unanswered(2500, 10);
  ASSERT_TRUE(groups.ok());
  ASSERT_THAT(groups.value(), SizeIs(1));
  EXPECT_EQ(groups.value()[0].example, "is the hospital car park free");

  // The command line reads the same database.
  store_->Flush();
  std::ostringstream out, err;
  const int code = cli::RunReport({"unanswered", "--database", (dir_ / "test.db").string(), "--kb",
                                   paths_.knowledge, "--dialogs", paths_.dialogs},
                                  out, err);
  EXPECT_EQ(code, 0) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("    2  1970-01-01 00:00  1970-01-01 00:00  can my dog sleep"));
  EXPECT_THAT(out.str(), HasSubstr("is the hospital car park free"));
  std::ostringstream out2, err2;
  EXPECT_EQ(cli::RunReport(
                {"unanswered", "--database", (dir_ / "test.db").string(), "--since", "2026-02-30"},
                out2, err2),
            2);
  EXPECT_THAT(err2.str(), HasSubstr("--since"));
  std::ostringstream out3, err3;
  EXPECT_EQ(
      cli::RunReport({"unanswered", "--database", (dir_ / "missing.db").string()}, out3, err3), 2);
  EXPECT_THAT(err3.str(), HasSubstr("no database"));
  EXPECT_FALSE(fs::exists(dir_ / "missing.db")) << "the report never creates a database";
  std::ostringstream out4, err4;
  EXPECT_EQ(cli::RunReport({"unanswered", "--database", (dir_ / "test.db").string(), "--since",
                            "2030-01-01", "--kb", paths_.knowledge, "--dialogs", paths_.dialogs},
                           out4, err4),
            0)
      << err4.str();
  EXPECT_THAT(out4.str(), HasSubstr("No unanswered questions"));
}

// A database written before revisions existed (schema version 1) keeps its data and gains the
// revisions table when opened.
TEST(RevisionStoreTest, AVersionOneDatabaseIsMigrated) {
  const fs::path db = TempPath(".db");
  {
    auto store = store::SqliteStore::Open(db.string());
    ASSERT_TRUE(store.ok());
    store::TurnRecord t;
    t.session_id = "0123456789abcdef0123456789abcdef";
    t.seq = 1;
    t.user_text = "hi";
    t.reply_text = "hello";
    t.topic = "greeting";
    t.urgency = "none";
    t.kind = "intent";
    store::SessionRecord s{t.session_id, "default", "{}", 1, 1};
    std::promise<engine::Status> done;
    store.value()->AppendTurn(t, s, [&done](engine::Status st) { done.set_value(st); });
    ASSERT_TRUE(done.get_future().get().ok());
  }
  {  // Back to what version 1 looked like.
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "DROP TABLE deliveries; DROP TABLE events; DROP TABLE handoffs;"
                           " DROP TABLE revisions; ALTER TABLE turns DROP COLUMN state;"
                           " DROP TABLE deleted_sessions; ALTER TABLE turns DROP COLUMN parts;"
                           " PRAGMA user_version = 1;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  auto store = store::SqliteStore::Open(db.string());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::promise<engine::StatusOr<std::optional<store::SessionRecord>>> loaded;
  store.value()->LoadSession("0123456789abcdef0123456789abcdef", 0,
                             [&loaded](auto r) { loaded.set_value(std::move(r)); });
  auto session = loaded.get_future().get();
  ASSERT_TRUE(session.ok());
  EXPECT_TRUE(session.value().has_value()) << "the old data is still there";

  store::RevisionRecord r;
  r.who = "kim";
  r.at_ms = 5;
  r.summary = "s";
  r.file = "knowledge/faq/x.json";
  r.before = "";
  r.after = "{}\n";
  std::promise<engine::StatusOr<int64_t>> added;
  store.value()->AddRevision(r, [&added](auto id) { added.set_value(std::move(id)); });
  auto id = added.get_future().get();
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id.value(), 1);
  std::promise<engine::StatusOr<std::vector<store::RevisionRecord>>> listed;
  store.value()->Revisions(10, [&listed](auto v) { listed.set_value(std::move(v)); });
  auto revs = listed.get_future().get();
  ASSERT_TRUE(revs.ok());
  ASSERT_THAT(revs.value(), SizeIs(1));
  EXPECT_EQ(revs.value()[0].after, "{}\n");
  EXPECT_EQ(revs.value()[0].who, "kim");
  store.value().reset();
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db.string() + suffix, ec);
}

// --- Through a running server ---------------------------------------------------------------

std::string MessageFrame(const std::string& text) {
  return json{{"type", "message"}, {"text", text}}.dump();
}

json Ask(server::e2e::WsClient& c, const std::string& text) {
  if (!c.Send(MessageFrame(text))) {
    ADD_FAILURE() << "sending failed: " << c.Describe();
    return nullptr;
  }
  std::string why;
  json j = c.ReadJson(&why);
  if (j.is_null()) ADD_FAILURE() << "no reply to \"" << text << "\": " << why;
  return j;
}

std::string EntryOf(const json& j) {
  return j.is_object() && j.contains("entry") && j["entry"].is_string()
             ? j["entry"].get<std::string>()
             : "";
}

json Open(server::e2e::WsClient& c, unsigned short port) {
  if (!c.Connect(port)) {
    ADD_FAILURE() << "upgrade failed: " << c.Describe();
    return nullptr;
  }
  std::string why;
  json j = c.ReadJson(&why);
  EXPECT_EQ(j.value("type", ""), "welcome") << why;
  return j;
}

TEST(CuratorServerTest, AnEditGoesLiveWhileOpenConversationsKeepGoing) {
  const fs::path dir = TempPath(".d");
  fs::create_directories(dir);
  Config config;
  config.address = "127.0.0.1";
  config.port = 0;
  config.threads = 2;
  config.database = (dir / "server.db").string();
  config.knowledge = (dir / "knowledge").string();
  config.dialogs = (dir / "dialogs").string();
  fs::copy(kRoot + "/knowledge", config.knowledge, fs::copy_options::recursive);
  fs::copy(kRoot + "/dialogs", config.dialogs, fs::copy_options::recursive);
  auto store = store::SqliteStore::Open(config.database);
  ASSERT_TRUE(store.ok());
  auto created = Server::Create(config, std::move(store).value());
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  std::unique_ptr<Server> server = std::move(created).value();
  auto added = AddCuratorRoutes(*server);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  Curator& curator = *added.value();
  std::atomic<int> run_result{-1};
  std::thread runner([&]() { run_result = server->Run(); });
  const unsigned short port = server->port();

  auto health = [&]() {
    server::e2e::HttpResult r = server::e2e::HttpGet(port, "/healthz");
    EXPECT_EQ(r.status, 200);
    return json::parse(r.body, nullptr, false);
  };
  const json h0 = health();
  ASSERT_TRUE(h0.contains("content")) << h0.dump();
  EXPECT_EQ(h0["content"]["version"], curator.CurrentStatus().version);
  EXPECT_EQ(h0["content"]["entries"], curator.CurrentStatus().entries);

  // A conversation open before the edit.
  server::e2e::WsClient before;
  Open(before, port);
  EXPECT_EQ(EntryOf(Ask(before, kMassage)), kMassageEntry);
  EXPECT_NE(EntryOf(Ask(before, kNewParaphrase)), kMassageEntry);

  // The edit, through the server's own curator and reload path.
  auto out = curator.AddParaphrase("Nurse Kim", kMassageEntry, kNewParaphrase);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(out->applied) << Join(out->errors);

  // /healthz reports the new version.
  const json h1 = health();
  EXPECT_EQ(h1["content"]["version"], out->status.version);
  EXPECT_NE(h1["content"]["version"], h0["content"]["version"]);
  EXPECT_GE(h1["content"]["loaded_ms"].get<int64_t>(), h0["content"]["loaded_ms"].get<int64_t>());

  // A new conversation gets the entry for that phrasing...
  server::e2e::WsClient fresh;
  Open(fresh, port);
  EXPECT_EQ(EntryOf(Ask(fresh, kNewParaphrase)), kMassageEntry);
  // ...and the one that was open keeps going, on the content it started with.
  json r = Ask(before, kMassage);
  EXPECT_EQ(r.value("type", ""), "reply") << r.dump();
  EXPECT_EQ(EntryOf(r), kMassageEntry);
  // A reload through Server::Reload (the SIGHUP path) and an undo: still going.
  EXPECT_TRUE(server->Reload().ok());
  auto undo = curator.UndoLast("Nurse Kim");
  ASSERT_TRUE(undo.ok()) << undo.status().ToString();
  EXPECT_TRUE(undo->applied) << Join(undo->errors);
  EXPECT_EQ(EntryOf(Ask(before, kMassage)), kMassageEntry);
  EXPECT_EQ(EntryOf(Ask(fresh, kMassage)), kMassageEntry);
  server::e2e::WsClient last;
  Open(last, port);
  EXPECT_NE(EntryOf(Ask(last, kNewParaphrase)), kMassageEntry) << "undone";
  EXPECT_EQ(health()["content"]["version"], h0["content"]["version"]) << "the same bytes again";
  before.Close();
  fresh.Close();
  last.Close();

  server->Stop();
  runner.join();
  EXPECT_EQ(run_result, 0);
  server.reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace backline::curator
