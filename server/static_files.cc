#include "server/static_files.h"

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include "content/content.h"

namespace backline::server {
namespace {

namespace fs = std::filesystem;

const char* ContentType(const std::string& ext) {
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".webp") return "image/webp";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return nullptr;
}

// FNV-1a, 64 bits: enough to tell two versions of a file apart.
std::string Etag(const std::string& body) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : body) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

std::optional<std::string> ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Fills f->gzip and f->brotli from the first folder whose <rel>.sha256 names this body.
void LoadPrecompressed(StaticFile* f, const std::string& rel,
                       const std::vector<std::string>& dirs) {
  std::string hash;
  for (const auto& dir : dirs) {
    const fs::path base = fs::path(dir) / rel;
    auto sidecar = ReadFile(base.string() + ".sha256");
    if (!sidecar) continue;
    if (hash.empty()) hash = content::Sha256Hex(f->body);
    if (sidecar->compare(0, hash.size(), hash) != 0 || sidecar->size() < hash.size()) continue;
    // Kept only when smaller: a tiny file can grow when compressed.
    if (auto gz = ReadFile(base.string() + ".gz");
        gz && !gz->empty() && gz->size() < f->body.size()) {
      f->gzip = std::move(*gz);
    }
    if (auto br = ReadFile(base.string() + ".br");
        br && !br->empty() && br->size() < f->body.size()) {
      f->brotli = std::move(*br);
    }
    return;
  }
}

// One Accept-Encoding item's q, or nullopt when malformed: "q=" then 0, 1 or 0.ddd / 1.000.
std::optional<double> ParseQ(std::string_view params) {
  double q = 1.0;
  size_t start = 0;
  while (start < params.size()) {
    size_t end = params.find(';', start);
    if (end == std::string_view::npos) end = params.size();
    std::string_view p = params.substr(start, end - start);
    while (!p.empty() && (p.front() == ' ' || p.front() == '\t')) p.remove_prefix(1);
    while (!p.empty() && (p.back() == ' ' || p.back() == '\t')) p.remove_suffix(1);
    if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
      const std::string_view v = p.substr(2);
      if (v.empty() || v.size() > 5 || (v[0] != '0' && v[0] != '1')) return std::nullopt;
      if (v.size() > 1 && v[1] != '.') return std::nullopt;
      for (size_t i = 2; i < v.size(); ++i) {
        if (!std::isdigit(static_cast<unsigned char>(v[i]))) return std::nullopt;
      }
      q = std::strtod(std::string(v).c_str(), nullptr);
      if (q > 1.0) return std::nullopt;
    }
    start = end + 1;
  }
  return q;
}

}  // namespace

const std::string& StaticFile::Body(Encoding e) const {
  if (e == Encoding::kBrotli && !brotli.empty()) return brotli;
  if (e == Encoding::kGzip && !gzip.empty()) return gzip;
  return body;
}

std::string StaticFile::Etag(Encoding e) const {
  if (etag.size() < 2 || &Body(e) == &body) return etag;
  // "hash" -> "hash-br": the same file, another representation.
  return etag.substr(0, etag.size() - 1) + (e == Encoding::kBrotli ? "-br\"" : "-gz\"");
}

const char* EncodingName(Encoding e) {
  switch (e) {
    case Encoding::kBrotli:
      return "br";
    case Encoding::kGzip:
      return "gzip";
    case Encoding::kIdentity:
      break;
  }
  return "";
}

Encoding ChooseEncoding(std::string_view header, bool have_gzip, bool have_brotli) {
  std::optional<double> q_br, q_gzip, q_identity, q_star;
  size_t start = 0;
  while (start < header.size()) {
    size_t end = header.find(',', start);
    if (end == std::string_view::npos) end = header.size();
    const std::string_view item = header.substr(start, end - start);
    start = end + 1;
    const size_t semi = item.find(';');
    std::string name;
    for (char c : item.substr(0, semi)) {
      if (c != ' ' && c != '\t')
        name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    const auto q =
        ParseQ(semi == std::string_view::npos ? std::string_view() : item.substr(semi + 1));
    if (!q || name.empty()) continue;
    if (name == "br")
      q_br = q;
    else if (name == "gzip" || name == "x-gzip")
      q_gzip = q;
    else if (name == "identity")
      q_identity = q;
    else if (name == "*")
      q_star = q;
  }
  const double br = have_brotli ? q_br.value_or(q_star.value_or(0.0)) : 0.0;
  const double gz = have_gzip ? q_gzip.value_or(q_star.value_or(0.0)) : 0.0;
  // identity is acceptable unless refused ("identity;q=0", or "*;q=0" without it, RFC 9110
  // 12.5.3); it is preferred to a coding the client takes only when named with a higher q.
  const bool identity_named = q_identity.has_value();
  const double id = identity_named ? *q_identity : (q_star && *q_star <= 0 ? 0.0 : 1.0);
  const auto beats_identity = [&](double q) { return q > 0 && (!identity_named || q >= id); };
  if (br > 0 && br >= gz && beats_identity(br)) return Encoding::kBrotli;
  if (beats_identity(gz)) return Encoding::kGzip;
  // Nothing acceptable but identity refused: identity anyway (RFC 9110 allows it).
  if (id <= 0 && br > 0) return Encoding::kBrotli;
  if (id <= 0 && gz > 0) return Encoding::kGzip;
  return Encoding::kIdentity;
}

std::shared_ptr<const StaticFiles> StaticFiles::Load(const std::string& root) {
#ifdef BACKLINE_PRECOMPRESSED_DIR
  return Load(root, {root, BACKLINE_PRECOMPRESSED_DIR});
#else
  return Load(root, {root});
#endif
}

std::shared_ptr<const StaticFiles> StaticFiles::Load(
    const std::string& root, const std::vector<std::string>& precompressed_dirs) {
  auto out = std::make_shared<StaticFiles>();
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (it->is_directory(ec)) {
      if (name.empty() || name[0] == '.' || name == "node_modules" || name == "tests") {
        it.disable_recursion_pending();
      }
      continue;
    }
    if (!it->is_regular_file(ec) || name.empty() || name[0] == '.') continue;
    const char* type = ContentType(p.extension().string());
    if (!type || name.rfind("package", 0) == 0) continue;
    std::ifstream in(p, std::ios::binary);
    if (!in) continue;
    StaticFile f;
    f.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    f.content_type = type;
    f.etag = Etag(f.body);
    const std::string rel = fs::relative(p, root, ec).generic_string();
    LoadPrecompressed(&f, rel, precompressed_dirs);
    out->files_["/" + rel] = std::move(f);
  }
  return out;
}

const StaticFile* StaticFiles::Find(const std::string& path) const {
  auto it = files_.find(path.empty() || path.back() == '/' ? path + "index.html" : path);
  return it == files_.end() ? nullptr : &it->second;
}

}  // namespace backline::server
