// libFuzzer target: the server's configuration file (`backline serve --config FILE`).
//
// The bytes are written to a temporary file and read with Config::LoadFile over the defaults.
// Invariants: no crash or sanitizer report (a number that does not fit its setting included),
// and a file that is refused says why.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "server/config.h"

namespace {

namespace fs = std::filesystem;

std::string g_path;

void Check(bool ok) {
  if (!ok) std::abort();
}

void RemoveFile() {
  std::error_code ec;
  if (!g_path.empty()) fs::remove(g_path, ec);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  std::string tmpl = (fs::temp_directory_path() / "backline-config-fuzz-XXXXXX").string();
  const int fd = mkstemp(tmpl.data());
  if (fd < 0) {
    std::perror("config_fuzzer: mkstemp");
    std::abort();
  }
  close(fd);
  g_path = tmpl;
  std::atexit(RemoveFile);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream out(g_path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    Check(static_cast<bool>(out));
  }
  backline::server::Config config;
  const backline::engine::Status s = backline::server::Config::LoadFile(g_path, &config);
  if (!s.ok()) Check(!s.message().empty());
  return 0;
}
