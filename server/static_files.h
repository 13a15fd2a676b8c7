// The public files of web/, read into memory at start and on reload, so serving them never
// touches the disk on a network thread. Server-private.
//
// Only files meant for browsers are published: by extension (.html .js .css .svg .png .ico
// .webp .woff2 .txt), never in a hidden, node_modules or tests folder, never package files.
//
// A file may come with copies compressed at build time (cmake/BacklineWeb.cmake): <file>.gz,
// <file>.br and <file>.sha256, the SHA-256 of the file they were made from. They are looked
// for beside the file and in the build tree's web/ folder, and used only when that hash is the
// file's own (an edited file is served uncompressed until the next build, never stale) and
// they are smaller than the file.
#ifndef BACKLINE_SERVER_STATIC_FILES_H_
#define BACKLINE_SERVER_STATIC_FILES_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace backline::server {

enum class Encoding { kIdentity, kGzip, kBrotli };

struct StaticFile {
  std::string body;
  std::string content_type;
  std::string etag;    // a strong validator: a hash of the body
  std::string gzip;    // the body gzip-compressed, or empty
  std::string brotli;  // the body Brotli-compressed, or empty

  // The bytes and the ETag of one representation (an empty copy falls back to the body).
  const std::string& Body(Encoding e) const;
  std::string Etag(Encoding e) const;  // each representation has its own strong ETag
};

// The representation to send for an Accept-Encoding header value (RFC 9110 12.5.3, with
// q-values; "*" covers codings not named): the acceptable coding with the highest q among
// those available, Brotli before gzip when q is equal; identity only when it is named with a
// higher q than both, or neither is acceptable. A missing or empty header is identity.
// Malformed items are ignored.
Encoding ChooseEncoding(std::string_view accept_encoding, bool have_gzip, bool have_brotli);

// "gzip", "br" or "" (identity): the Content-Encoding value.
const char* EncodingName(Encoding e);

class StaticFiles {
 public:
  // Reads the publishable files under `root` (a missing folder gives an empty set), with
  // their precompressed copies from beside them or from the build tree.
  static std::shared_ptr<const StaticFiles> Load(const std::string& root);
  // The same, looking for precompressed copies in `precompressed_dirs` (each mirrors `root`).
  static std::shared_ptr<const StaticFiles> Load(
      const std::string& root, const std::vector<std::string>& precompressed_dirs);

  // The file for a decoded URL path ("/" is "/index.html"), or nullptr.
  const StaticFile* Find(const std::string& path) const;
  size_t size() const { return files_.size(); }

 private:
  std::map<std::string, StaticFile> files_;  // "/widget.js" -> file
};

}  // namespace backline::server

#endif  // BACKLINE_SERVER_STATIC_FILES_H_
