#include "store/internal/session_hash.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace backline::store::internal {

std::string SessionIdHash(std::string_view id) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  // OpenSSL's one-shot digest fails only when memory runs out, which ends the process here as
  // it would anywhere else (content/content.cc does the same).
  if (EVP_Digest(id.data(), id.size(), digest, &size, EVP_sha256(), nullptr) != 1) std::abort();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

}  // namespace backline::store::internal
