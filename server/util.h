// Small helpers the server and the routes it hosts share: percent-decoding and random ids.
//
// Thread safety: every function may be called from any thread.
#ifndef BACKLINE_SERVER_UTIL_H_
#define BACKLINE_SERVER_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace backline::server {

// Decodes every %XX escape of `in` into `out` (other bytes are copied). False on a malformed
// escape (a % not followed by two hex digits) or an escape that decodes to NUL; `out` then
// holds what was decoded so far.
bool PercentDecode(std::string_view in, std::string* out);

// 2 * `bytes` lowercase hex digits from std::random_device, the kernel's generator
// (getrandom / /dev/urandom) on Linux: session ids and curator sessions.
// REQUIRES: `bytes` is a multiple of 4.
std::string RandomHex(size_t bytes);

// Now, as Unix time in milliseconds (the system clock): what records and events are stamped
// with.
int64_t NowMs();

}  // namespace backline::server

#endif  // BACKLINE_SERVER_UTIL_H_
