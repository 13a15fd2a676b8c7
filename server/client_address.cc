#include "server/client_address.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstring>

namespace backline::server {
namespace {

using engine::Status;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// `text` as 16 bytes (IPv4 as IPv4-mapped IPv6); false when it is not a bare address.
bool ToBytes(const std::string& text, std::array<uint8_t, 16>* out, bool* v4) {
  // inet_pton reads a C string: a NUL inside, or anything else an address never has, is not one.
  if (text.empty() || text.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos) {
    return false;
  }
  in_addr a4{};
  if (inet_pton(AF_INET, text.c_str(), &a4) == 1) {
    out->fill(0);
    (*out)[10] = 0xff;
    (*out)[11] = 0xff;
    std::memcpy(out->data() + 12, &a4, 4);
    *v4 = true;
    return true;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, text.c_str(), &a6) == 1) {
    std::memcpy(out->data(), &a6, 16);
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    *v4 = std::memcmp(out->data(), kMapped, 12) == 0;
    return true;
  }
  return false;
}

std::string ToText(const std::array<uint8_t, 16>& bytes, bool v4) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (v4) {
    inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  }
  return buf;
}

// Splits `s` at `sep` outside double quotes.
std::vector<std::string_view> SplitOutsideQuotes(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"') quoted = !quoted;
    if (s[i] == '\\' && quoted) ++i;  // a quoted-pair
    if (i < s.size() && s[i] == sep && !quoted) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(std::min(start, s.size())));
  return out;
}

// The hops X-Forwarded-For lists, left (the first client) to right (the nearest proxy). A
// plain comma list: it has no quoted strings (a quote in it is a malformed entry).
std::vector<std::string_view> ForwardedForHops(const std::vector<std::string>& fields) {
  std::vector<std::string_view> hops;
  for (const std::string& field : fields) {
    const std::string_view f(field);
    size_t start = 0;
    while (start <= f.size()) {
      size_t end = f.find(',', start);
      if (end == std::string_view::npos) end = f.size();
      const std::string_view item = Trim(f.substr(start, end - start));
      if (!item.empty()) hops.push_back(item);
      start = end + 1;
    }
  }
  return hops;
}

// The for= value of each Forwarded element, in order; an element without one is an empty
// hop (malformed: the walk stops there).
std::vector<std::string_view> ForwardedHops(const std::vector<std::string>& fields) {
  std::vector<std::string_view> hops;
  for (const auto& field : fields) {
    for (std::string_view element : SplitOutsideQuotes(field, ',')) {
      element = Trim(element);
      if (element.empty()) continue;
      std::string_view value;
      for (std::string_view pair : SplitOutsideQuotes(element, ';')) {
        pair = Trim(pair);
        const size_t eq = pair.find('=');
        if (eq == std::string_view::npos) continue;
        std::string key(Trim(pair.substr(0, eq)));
        for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (key == "for") value = Trim(pair.substr(eq + 1));
      }
      hops.push_back(value);
    }
  }
  return hops;
}

}  // namespace

std::optional<std::string> CanonicalAddress(std::string_view text) {
  text = Trim(text);
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() > 64) return std::nullopt;
  std::string host;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !AllDigits(rest.substr(1)))) return std::nullopt;
    host = std::string(text.substr(1, close - 1));
    if (host.find(':') == std::string::npos) return std::nullopt;  // brackets are for IPv6
  } else if (const size_t colon = text.find(':');
             colon != std::string_view::npos &&
             text.find(':', colon + 1) == std::string_view::npos) {
    if (!AllDigits(text.substr(colon + 1))) return std::nullopt;  // IPv4 with a port
    host = std::string(text.substr(0, colon));
    if (host.find('.') == std::string::npos) return std::nullopt;
  } else {
    host = std::string(text);
  }
  std::array<uint8_t, 16> bytes{};
  bool v4 = false;
  if (!ToBytes(host, &bytes, &v4)) return std::nullopt;
  return ToText(bytes, v4);
}

engine::StatusOr<TrustedProxies> TrustedProxies::Parse(const std::vector<std::string>& entries) {
  TrustedProxies out;
  for (const std::string& entry : entries) {
    const auto bad = [&](const std::string& why) {
      return Status::InvalidArgument("\"trusted_proxies\": \"" + entry + "\" " + why);
    };
    const size_t slash = entry.find('/');
    const std::string host = entry.substr(0, slash);
    Net net;
    bool v4 = false;
    if (!ToBytes(host, &net.bytes, &v4)) {
      return bad("is not an IP address or CIDR block (\"10.0.0.0/8\", \"fd00::/8\")");
    }
    const bool v4_text = host.find(':') == std::string::npos;
    net.prefix = 128;
    if (slash != std::string::npos) {
      const std::string bits = entry.substr(slash + 1);
      if (!AllDigits(bits) || bits.size() > 3) return bad("has a bad prefix length");
      const int n = std::stoi(bits);
      if (n > (v4_text ? 32 : 128)) return bad("has a prefix longer than the address");
      net.prefix = v4_text ? 96 + n : n;
    }
    // Bits past the prefix must be zero ("10.0.0.1/8" is a typo for a host or for 10.0.0.0/8).
    for (int bit = net.prefix; bit < 128; ++bit) {
      if (net.bytes[bit / 8] & (0x80 >> (bit % 8))) return bad("has bits set past its prefix");
    }
    out.nets_.push_back(net);
  }
  return out;
}

bool TrustedProxies::Contains(std::string_view address) const {
  std::array<uint8_t, 16> bytes{};
  bool v4 = false;
  if (nets_.empty() || !ToBytes(std::string(address), &bytes, &v4)) return false;
  for (const Net& net : nets_) {
    bool match = true;
    for (int bit = 0; bit < net.prefix && match; bit += 8) {
      const int n = std::min(8, net.prefix - bit);
      const uint8_t mask = static_cast<uint8_t>(0xff << (8 - n));
      match = (bytes[bit / 8] & mask) == (net.bytes[bit / 8] & mask);
    }
    if (match) return true;
  }
  return false;
}

std::string ClientAddress(const std::string& peer, const std::vector<std::string>& forwarded_for,
                          const std::vector<std::string>& forwarded,
                          const TrustedProxies& trusted) {
  if (trusted.empty() || !trusted.Contains(peer)) return peer;
  std::vector<std::string_view> hops = ForwardedForHops(forwarded_for);
  if (hops.empty()) hops = ForwardedHops(forwarded);
  std::string nearest = peer;  // the nearest hop we know the address of, a trusted proxy
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    const auto address = CanonicalAddress(*it);
    if (!address) return nearest;
    if (!trusted.Contains(*address)) return *address;
    nearest = *address;
  }
  return nearest;
}

}  // namespace backline::server
