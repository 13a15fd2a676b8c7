// Who a request comes from when the server sits behind reverse proxies. Every per-address
// rule (connection limits, rate limits, the curator sign-in limit, the logs) uses this address.
//
// The TCP peer is the client unless it is a trusted proxy (the configuration's
// "trusted_proxies"). A request from a trusted proxy names the client in X-Forwarded-For (each
// proxy appends the address it received the request from) or, when that header is absent, in
// Forwarded (RFC 7239, its for= parameters). The list is read from the right: the right-most
// address that is not itself a trusted proxy is the client; addresses left of it were written
// by the client and are never believed. From any other peer both headers are ignored, so a
// client cannot choose its own address by sending them.
//
// Thread safety: a TrustedProxies is immutable after Parse and may be shared across threads.
#ifndef BACKLINE_SERVER_CLIENT_ADDRESS_H_
#define BACKLINE_SERVER_CLIENT_ADDRESS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace backline::server {

class TrustedProxies {
 public:
  TrustedProxies() = default;  // trusts nobody: the TCP peer is always the client

  // Parses addresses and CIDR blocks: "10.0.0.5", "10.0.0.0/8", "::1", "fd00::/8". An IPv4
  // address also matches its IPv4-mapped IPv6 form (::ffff:10.0.0.5). kInvalidArgument names
  // the first bad entry.
  static engine::StatusOr<TrustedProxies> Parse(const std::vector<std::string>& entries);

  bool empty() const { return nets_.empty(); }
  // True when `address` (canonical text, as CanonicalAddress gives) is inside a trusted block.
  bool Contains(std::string_view address) const;

 private:
  struct Net {
    std::array<uint8_t, 16> bytes{};  // IPv4 as IPv4-mapped IPv6
    int prefix = 128;                 // in bits, over the 16 bytes
  };
  std::vector<Net> nets_;
};

// `text` as an IP address in canonical form ("2001:db8::1", IPv4-mapped IPv6 as IPv4), or
// nullopt when it is not one. Accepts "[v6]", "[v6]:port", "v4:port" and quotes around them,
// as X-Forwarded-For and Forwarded write them.
std::optional<std::string> CanonicalAddress(std::string_view text);

// The client's address for a request whose TCP peer is `peer` (canonical), given the values of
// its X-Forwarded-For and Forwarded header fields, in order (several fields of one name are
// one list). `peer` itself when it is not trusted or the headers name nobody. A malformed or
// obfuscated entry ("unknown", "_hidden", not an address) stops the walk: the client is then
// the nearest trusted hop, whose own address we know.
std::string ClientAddress(const std::string& peer, const std::vector<std::string>& forwarded_for,
                          const std::vector<std::string>& forwarded, const TrustedProxies& trusted);

}  // namespace backline::server

#endif  // BACKLINE_SERVER_CLIENT_ADDRESS_H_
