#include "content/content.h"

#include <algorithm>
#include <array>
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

// SHA-256 (FIPS 180-4), enough for a content version; no crypto library needed.
class Sha256 {
 public:
  void Update(std::string_view data) {
    for (unsigned char c : data) {
      block_[used_++] = c;
      if (used_ == 64) {
        Compress();
        used_ = 0;
      }
    }
    bits_ += uint64_t{data.size()} * 8;
  }
  std::string HexDigest() {
    const uint64_t bits = bits_;
    block_[used_++] = 0x80;
    if (used_ > 56) {
      while (used_ < 64) block_[used_++] = 0;
      Compress();
      used_ = 0;
    }
    while (used_ < 56) block_[used_++] = 0;
    for (int i = 7; i >= 0; --i) block_[used_++] = static_cast<uint8_t>(bits >> (i * 8));
    Compress();
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (uint32_t v : h_) {
      for (int i = 28; i >= 0; i -= 4) out += kHex[(v >> i) & 0xf];
    }
    return out;
  }

 private:
  static uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
  void Compress() {
    static constexpr uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    uint32_t w[64];
    for (int i = 0; i < 16; ++i) {
      w[i] = (uint32_t{block_[i * 4]} << 24) | (uint32_t{block_[i * 4 + 1]} << 16) |
             (uint32_t{block_[i * 4 + 2]} << 8) | uint32_t{block_[i * 4 + 3]};
    }
    for (int i = 16; i < 64; ++i) {
      const uint32_t s0 = Rotr(w[i - 15], 7) ^ Rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const uint32_t s1 = Rotr(w[i - 2], 17) ^ Rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6],
             h = h_[7];
    for (int i = 0; i < 64; ++i) {
      const uint32_t s1 = Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25);
      const uint32_t ch = (e & f) ^ (~e & g);
      const uint32_t t1 = h + s1 + ch + k[i] + w[i];
      const uint32_t s0 = Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22);
      const uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
      const uint32_t t2 = s0 + maj;
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h_[0] += a;
    h_[1] += b;
    h_[2] += c;
    h_[3] += d;
    h_[4] += e;
    h_[5] += f;
    h_[6] += g;
    h_[7] += h;
  }

  std::array<uint32_t, 8> h_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<uint8_t, 64> block_{};
  size_t used_ = 0;
  uint64_t bits_ = 0;
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
    return fs::is_directory(root / "knowledge", ec) &&
           fs::is_directory(root / "dialogs", ec);
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

std::shared_ptr<const Content> LoadContent(
    const ContentPaths& paths, std::vector<engine::Diagnostic>* diags) {
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
      texts.push_back(&k.reply);
      texts.push_back(&k.tell_them);
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
        diags->push_back(
            engine::Diagnostic{engine::Diagnostic::Severity::kError, c.where, msg});
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

}  // namespace backline::content
