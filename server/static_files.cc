#include "server/static_files.h"

#include <filesystem>
#include <fstream>
#include <iterator>

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

}  // namespace

std::shared_ptr<const StaticFiles> StaticFiles::Load(const std::string& root) {
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
    out->files_["/" + fs::relative(p, root, ec).generic_string()] = std::move(f);
  }
  return out;
}

const StaticFile* StaticFiles::Find(const std::string& path) const {
  auto it = files_.find(path.empty() || path.back() == '/' ? path + "index.html" : path);
  return it == files_.end() ? nullptr : &it->second;
}

}  // namespace backline::server
