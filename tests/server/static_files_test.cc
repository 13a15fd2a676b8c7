#include "server/static_files.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "content/content.h"

namespace backline::server {
namespace {

namespace fs = std::filesystem;

TEST(ChooseEncodingTest, BrotliThenGzipThenIdentityWithQValues) {
  struct Case {
    const char* header;
    bool gzip, brotli;
    Encoding want;
  };
  const Case cases[] = {
      {"", true, true, Encoding::kIdentity},  // no header: identity
      {"gzip, deflate, br", true, true, Encoding::kBrotli},
      {"gzip, deflate, br, zstd", true, true, Encoding::kBrotli},  // Chrome's
      {"gzip, deflate", true, true, Encoding::kGzip},
      {"br", true, false, Encoding::kIdentity},  // no Brotli copy
      {"gzip, br", true, false, Encoding::kGzip},
      {"gzip, br", false, false, Encoding::kIdentity},
      {"br;q=0, gzip", true, true, Encoding::kGzip},
      {"br;q=0.5, gzip;q=0.8", true, true, Encoding::kGzip},
      {"br;q=0.8, gzip;q=0.8", true, true, Encoding::kBrotli},  // equal: Brotli first
      {"BR , GZIP", true, true, Encoding::kBrotli},             // case and spaces
      {"*", true, true, Encoding::kBrotli},
      {"*, br;q=0", true, true, Encoding::kGzip},  // * covers gzip, not br
      {"identity", true, true, Encoding::kIdentity},
      {"gzip;q=0.5, identity", true, true, Encoding::kIdentity},  // identity's q is higher
      {"gzip;q=0.5", true, true, Encoding::kGzip},  // identity unnamed: what it takes wins
      {"gzip;q=0.5, identity;q=0", true, true, Encoding::kGzip},
      {"gzip;q=0.5, *;q=0", true, true, Encoding::kGzip},
      {"gzip;q=0, br;q=0", true, true, Encoding::kIdentity},
      {"x-gzip", true, false, Encoding::kGzip},
      // Malformed items are ignored, never crash.
      {"br;q=2, gzip", true, true, Encoding::kGzip},
      {"br;q=abc, gzip", true, true, Encoding::kGzip},
      {"br;q=, gzip;q=0.1x", true, true, Encoding::kIdentity},
      {"br;q=0.12345", true, true, Encoding::kIdentity},
      {",,;;,= ,q=1", true, true, Encoding::kIdentity},
      {"br;level=5;q=1", true, true, Encoding::kBrotli},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string("Accept-Encoding: ") + c.header);
    EXPECT_EQ(ChooseEncoding(c.header, c.gzip, c.brotli), c.want);
  }
  EXPECT_STREQ(EncodingName(Encoding::kBrotli), "br");
  EXPECT_STREQ(EncodingName(Encoding::kGzip), "gzip");
  EXPECT_STREQ(EncodingName(Encoding::kIdentity), "");
}

void Write(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

// Precompressed copies are used only when their .sha256 names the file as it is now, and only
// when smaller; each representation has its own ETag.
TEST(StaticFilesTest, PrecompressedCopiesOnlyWhenCurrentAndSmaller) {
  const fs::path dir = fs::temp_directory_path() / ("backline-static-" + std::to_string(getpid()));
  fs::remove_all(dir);
  const fs::path root = dir / "web", built = dir / "build";
  const std::string js(4000, 'a'), css(3000, 'c'), tiny = "x";
  Write(root / "app.js", js);
  Write(built / "app.js.gz", "GZ");
  Write(built / "app.js.br", "BR");
  Write(built / "app.js.sha256", content::Sha256Hex(js) + "\n");
  Write(root / "sub" / "style.css", css);  // stale copies: made from another version
  Write(built / "sub" / "style.css.gz", "OLD");
  Write(built / "sub" / "style.css.sha256", content::Sha256Hex("older") + "\n");
  Write(root / "tiny.txt", tiny);  // copies larger than the file are not worth it
  Write(built / "tiny.txt.gz", "0123456789");
  Write(built / "tiny.txt.sha256", content::Sha256Hex(tiny) + "\n");

  auto files = StaticFiles::Load(root.string(), {root.string(), built.string()});
  const StaticFile* app = files->Find("/app.js");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->gzip, "GZ");
  EXPECT_EQ(app->brotli, "BR");
  EXPECT_EQ(app->Body(Encoding::kBrotli), "BR");
  EXPECT_EQ(app->Body(Encoding::kIdentity), js);
  EXPECT_NE(app->Etag(Encoding::kBrotli), app->Etag(Encoding::kGzip));
  EXPECT_NE(app->Etag(Encoding::kGzip), app->Etag(Encoding::kIdentity));
  EXPECT_EQ(app->Etag(Encoding::kIdentity), app->etag);
  const StaticFile* style = files->Find("/sub/style.css");
  ASSERT_NE(style, nullptr);
  EXPECT_TRUE(style->gzip.empty());
  EXPECT_EQ(style->Body(Encoding::kGzip), css);  // no copy: the file itself
  EXPECT_EQ(style->Etag(Encoding::kGzip), style->etag);
  const StaticFile* small = files->Find("/tiny.txt");
  ASSERT_NE(small, nullptr);
  EXPECT_TRUE(small->gzip.empty());
  // The sidecars and copies are never published themselves.
  EXPECT_EQ(StaticFiles::Load(built.string(), {})->size(), 0u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace backline::server
