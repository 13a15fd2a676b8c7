#include "content/content.h"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "dialogs/loader.h"
#include "knowledge/loader.h"

namespace backline::content {
namespace fs = std::filesystem;

namespace {

// SHA-256 through OpenSSL's EVP interface (libcrypto, which the server links for TLS too).
// Its calls fail only when memory runs out, which ends the process here as it would elsewhere.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) std::abort();
  }
  void Update(std::string_view data) {
    if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) std::abort();
  }
  std::string HexDigest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), digest, &size) != 1) std::abort();
    static const char* kHex = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (unsigned int i = 0; i < size; ++i) {
      out += kHex[digest[i] >> 4];
      out += kHex[digest[i] & 0xf];
    }
    return out;
  }

 private:
  struct Free {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
};

// Every *.json under `dir` (recursively), by path relative to it, sorted.
std::vector<std::pair<std::string, fs::path>> JsonFilesUnder(const std::string& dir,
                                                             const std::string& prefix) {
  std::vector<std::pair<std::string, fs::path>> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    // dialogs/tests/ holds the curators' conversation tests: they check the content, they
    // are not part of it, so adding a test does not change the content version.
    if (it->is_directory(ec) && it->path().filename() == "tests") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && it->path().extension() == ".json") {
      out.emplace_back(prefix + fs::relative(it->path(), dir, ec).generic_string(), it->path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string ContentVersion(const ContentPaths& paths) {
  auto files = JsonFilesUnder(paths.knowledge, "knowledge/");
  auto more = JsonFilesUnder(paths.dialogs, "dialogs/");
  files.insert(files.end(), std::make_move_iterator(more.begin()),
               std::make_move_iterator(more.end()));
  Sha256 sha;
  for (const auto& [name, path] : files) {
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Name and size first, so moving bytes between files changes the version.
    sha.Update(name);
    sha.Update(std::string_view("\0", 1));
    sha.Update(std::to_string(bytes.size()));
    sha.Update(std::string_view("\0", 1));
    sha.Update(bytes);
  }
  return sha.HexDigest();
}

std::string Sha256Hex(std::string_view bytes) {
  Sha256 sha;
  sha.Update(bytes);
  return sha.HexDigest();
}

const engine::Clinic& Content::ClinicOrDefault(const std::string& id) const {
  const engine::Clinic* fallback = nullptr;
  for (const auto& c : clinics) {
    if (c.id == id) return c;
    if (c.id == "default") fallback = &c;
  }
  static const engine::Clinic kBuiltIn;
  return fallback ? *fallback : kBuiltIn;
}

ContentPaths DefaultContentPaths() {
  std::error_code ec;
  auto both = [&](const fs::path& root) {
    return fs::is_directory(root / "knowledge", ec) && fs::is_directory(root / "dialogs", ec);
  };
  fs::path root = ".";
  if (!both(root)) {
    if (const char* home = std::getenv("BACKLINE_HOME"); home && both(home)) {
      root = home;
    } else {
#ifdef BACKLINE_SOURCE_DIR
      if (both(BACKLINE_SOURCE_DIR)) root = BACKLINE_SOURCE_DIR;
#endif
    }
  }
  return ContentPaths{(root / "knowledge").lexically_normal().string(),
                      (root / "dialogs").lexically_normal().string()};
}

namespace {

// LoadContent without the Status: null when any diagnostic is an error.
std::shared_ptr<const Content> Load(const ContentPaths& paths,
                                    std::vector<engine::Diagnostic>* diags) {
  engine::ContentSpec spec;
  auto content = std::make_shared<Content>();
  bool ok = knowledge::LoadKnowledge(paths.knowledge, &spec, diags);
  ok &= dialogs::LoadDialogs(paths.dialogs, &spec, diags);
  ok &= dialogs::LoadClinics(paths.dialogs, &content->clinics, diags);
  if (!ok) return nullptr;
  content->engine = engine::Engine::Compile(std::move(spec), diags);
  if (!content->engine) return nullptr;
  // A clinic without a number that some reply gives would send a frightened
  // person to "the number on your clinic card": an error for a real clinic;
  // a warning for the shipped "default", which an operator fills in.
  {
    const engine::ContentSpec& s = content->engine->content();
    std::vector<const std::string*> texts;
    for (const auto& e : s.entries) texts.push_back(&e.answer);
    for (const auto& k : s.red_flag_kinds) {
      for (const std::string* t : {&k.reply, &k.tell_them, &k.self_reply, &k.self_tell_them,
                                   &k.other_reply, &k.other_tell_them})
        texts.push_back(t);
    }
    for (const auto& i : s.intents) texts.push_back(&i.reply);
    for (const auto& st : s.dialog.states) texts.push_back(&st.prompt);
    for (const auto& [key, text] : s.dialog.messages) texts.push_back(&text);
    const auto used = [&](std::string_view placeholder) {
      return std::any_of(texts.begin(), texts.end(), [&](const std::string* t) {
        return t->find(placeholder) != std::string::npos;
      });
    };
    for (const auto& c : content->clinics) {
      std::vector<std::string> missing;
      if (c.care_team_phone.empty() && used("{care_team_phone}"))
        missing.push_back("care_team_phone");
      if (c.after_hours_phone.empty() && used("{after_hours_phone}"))
        missing.push_back("after_hours_phone");
      if (missing.empty()) continue;
      std::string names;
      for (const auto& m : missing) names += (names.empty() ? "" : " and ") + m;
      const std::string msg =
          "clinic '" + c.id + "' has no " + names +
          ", which replies give: patients would be told to find it on their clinic card";
      if (c.id == "default") {
        diags->push_back(engine::Diagnostic{engine::Diagnostic::Severity::kWarning, c.where,
                                            msg + " (set it before going live)"});
      } else {
        diags->push_back(engine::Diagnostic{engine::Diagnostic::Severity::kError, c.where, msg});
        return nullptr;
      }
    }
  }
  ContentStatus& st = content->status;
  const engine::ContentSpec& c = content->engine->content();
  st.version = ContentVersion(paths);
  st.entries = c.entries.size();
  std::set<std::string> topics;
  for (const auto& e : c.entries) topics.insert(e.topic);
  st.topics = topics.size();
  st.red_flag_kinds = c.red_flag_kinds.size();
  st.red_flag_rules = c.red_flag_rules.size();
  st.intents = c.intents.size();
  st.states = c.dialog.states.size();
  st.clinics = content->clinics.size();
  st.loaded_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  return content;
}

}  // namespace

engine::StatusOr<std::shared_ptr<const Content>> LoadContent(
    const ContentPaths& paths, std::vector<engine::Diagnostic>* diags) {
  std::vector<engine::Diagnostic> found;
  std::shared_ptr<const Content> content = Load(paths, &found);
  std::string errors;
  for (const auto& d : found) {
    if (d.severity == engine::Diagnostic::Severity::kError) errors += "\n  " + d.ToString();
  }
  if (diags) diags->insert(diags->end(), found.begin(), found.end());
  if (!content) {
    return engine::Status::DataError("the content has errors (run `backline check`):" + errors);
  }
  return content;
}

}  // namespace backline::content
