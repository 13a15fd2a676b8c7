// The public files of web/, read into memory at start and on reload, so serving them never
// touches the disk on a network thread. Server-private.
//
// Only files meant for browsers are published: by extension (.html .js .css .svg .png .ico
// .webp .woff2 .txt), never in a hidden, node_modules or tests folder, never package files.
#ifndef BACKLINE_SERVER_STATIC_FILES_H_
#define BACKLINE_SERVER_STATIC_FILES_H_

#include <map>
#include <memory>
#include <string>

namespace backline::server {

struct StaticFile {
  std::string body;
  std::string content_type;
  std::string etag;  // a strong validator: a hash of the body
};

class StaticFiles {
 public:
  // Reads the publishable files under `root` (a missing folder gives an empty set).
  static std::shared_ptr<const StaticFiles> Load(const std::string& root);

  // The file for a decoded URL path ("/" is "/index.html"), or nullptr.
  const StaticFile* Find(const std::string& path) const;
  size_t size() const { return files_.size(); }

 private:
  std::map<std::string, StaticFile> files_;  // "/widget.js" -> file
};

}  // namespace backline::server

#endif  // BACKLINE_SERVER_STATIC_FILES_H_
