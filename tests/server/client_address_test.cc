#include "server/client_address.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace backline::server {
namespace {

TrustedProxies Trust(const std::vector<std::string>& entries) {
  auto t = TrustedProxies::Parse(entries);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(t).value() : TrustedProxies();
}

std::string Resolve(const std::string& peer, const std::vector<std::string>& xff,
                    const std::vector<std::string>& forwarded, const TrustedProxies& trusted) {
  return ClientAddress(peer, xff, forwarded, trusted);
}

TEST(ClientAddressTest, HeadersFromAnUntrustedPeerAreIgnored) {
  // No trusted proxies (the default): whatever the client says, the peer is the client.
  EXPECT_EQ(Resolve("198.51.100.7", {"1.2.3.4"}, {"for=5.6.7.8"}, TrustedProxies()),
            "198.51.100.7");
  // Trusted proxies, but this peer is not one of them: a spoofed header is ignored.
  const TrustedProxies trusted = Trust({"10.0.0.0/8"});
  EXPECT_EQ(Resolve("198.51.100.7", {"10.1.1.1"}, {}, trusted), "198.51.100.7");
  EXPECT_EQ(Resolve("198.51.100.7", {}, {"for=10.1.1.1"}, trusted), "198.51.100.7");
}

TEST(ClientAddressTest, OneTrustedProxy) {
  const TrustedProxies trusted = Trust({"10.0.0.5"});
  EXPECT_EQ(Resolve("10.0.0.5", {"203.0.113.9"}, {}, trusted), "203.0.113.9");
  // What the client wrote itself is left of the proxy's entry and never believed.
  EXPECT_EQ(Resolve("10.0.0.5", {"1.1.1.1, 203.0.113.9"}, {}, trusted), "203.0.113.9");
  // Two header fields are one list, in order.
  EXPECT_EQ(Resolve("10.0.0.5", {"1.1.1.1", "203.0.113.9"}, {}, trusted), "203.0.113.9");
  // No header from the proxy: the proxy is all we know.
  EXPECT_EQ(Resolve("10.0.0.5", {}, {}, trusted), "10.0.0.5");
  // A port on the forwarded address is not part of it.
  EXPECT_EQ(Resolve("10.0.0.5", {"203.0.113.9:51234"}, {}, trusted), "203.0.113.9");
}

TEST(ClientAddressTest, AChainThroughTwoProxies) {
  // client -> CDN edge (192.0.2.10) -> load balancer (10.0.0.5) -> backline
  const TrustedProxies trusted = Trust({"10.0.0.0/8", "192.0.2.0/24"});
  EXPECT_EQ(Resolve("10.0.0.5", {"203.0.113.9, 192.0.2.10"}, {}, trusted), "203.0.113.9");
  EXPECT_EQ(Resolve("10.0.0.5", {"6.6.6.6, 203.0.113.9, 192.0.2.10"}, {}, trusted), "203.0.113.9");
  // Only proxies in the list: the left-most is the nearest to the client we know.
  EXPECT_EQ(Resolve("10.0.0.5", {"192.0.2.11, 192.0.2.10"}, {}, trusted), "192.0.2.11");
  // The edge is not trusted here: it is the client.
  const TrustedProxies lb_only = Trust({"10.0.0.0/8"});
  EXPECT_EQ(Resolve("10.0.0.5", {"203.0.113.9, 192.0.2.10"}, {}, lb_only), "192.0.2.10");
}

TEST(ClientAddressTest, IPv6) {
  const TrustedProxies trusted = Trust({"fd00::/8", "::1"});
  EXPECT_EQ(Resolve("fd12::1", {"2001:db8::abcd"}, {}, trusted), "2001:db8::abcd");
  EXPECT_EQ(Resolve("::1", {"2001:DB8:0:0::ABCD"}, {}, trusted), "2001:db8::abcd");  // canonical
  EXPECT_EQ(Resolve("fd12::1", {"[2001:db8::1]:443"}, {}, trusted), "2001:db8::1");
  EXPECT_EQ(Resolve("fd12::1", {}, {"for=\"[2001:db8::1]:4711\""}, trusted), "2001:db8::1");
  // An IPv4 client through an IPv6 proxy, and an IPv4-mapped peer.
  EXPECT_EQ(Resolve("fd12::1", {"::ffff:203.0.113.9"}, {}, trusted), "203.0.113.9");
  const TrustedProxies v4 = Trust({"10.0.0.5"});
  EXPECT_EQ(Resolve("::ffff:10.0.0.5", {"2001:db8::1"}, {}, v4), "2001:db8::1");
  EXPECT_FALSE(trusted.Contains("fe80::1"));
  EXPECT_TRUE(trusted.Contains("fdff:ffff::1"));
}

TEST(ClientAddressTest, ForwardedHeader) {
  const TrustedProxies trusted = Trust({"10.0.0.0/8"});
  EXPECT_EQ(Resolve("10.0.0.5", {}, {"for=203.0.113.9;proto=https;by=10.0.0.5"}, trusted),
            "203.0.113.9");
  EXPECT_EQ(Resolve("10.0.0.5", {}, {"for=1.1.1.1, FOR=203.0.113.9, for=10.2.2.2"}, trusted),
            "203.0.113.9");
  // X-Forwarded-For wins when both are present.
  EXPECT_EQ(Resolve("10.0.0.5", {"198.51.100.1"}, {"for=203.0.113.9"}, trusted), "198.51.100.1");
}

TEST(ClientAddressTest, MalformedHeadersStopAtTheNearestTrustedHop) {
  const TrustedProxies trusted = Trust({"10.0.0.0/8"});
  for (const std::string& bad : std::vector<std::string>{
           "not-an-address", "unknown", "_hidden", "203.0.113.9.1", "2001:db8::1%eth0", "[::1",
           "[203.0.113.9]", "203.0.113.9:port", "\"", "1.2.3.4:99999999", std::string(5000, '1'),
           std::string("203.0.113.9\0", 12)}) {
    SCOPED_TRACE(bad.substr(0, 40));
    EXPECT_EQ(Resolve("10.0.0.5", {bad}, {}, trusted), "10.0.0.5");
    EXPECT_EQ(Resolve("10.0.0.5", {"203.0.113.9, " + bad}, {}, trusted), "10.0.0.5");
    EXPECT_EQ(Resolve("10.0.0.5", {bad + ", 10.0.0.7"}, {}, trusted), "10.0.0.7");
    EXPECT_EQ(Resolve("10.0.0.5", {}, {"for=" + bad}, trusted), "10.0.0.5");
  }
  // Empty list items are skipped; an element without for= is a hop we cannot read.
  EXPECT_EQ(Resolve("10.0.0.5", {" , 203.0.113.9,,"}, {}, trusted), "203.0.113.9");
  EXPECT_EQ(Resolve("10.0.0.5", {}, {"for=203.0.113.9, proto=http"}, trusted), "10.0.0.5");
  EXPECT_EQ(Resolve("10.0.0.5", {}, {"for=\"203.0.113.9"}, trusted), "10.0.0.5");
}

TEST(ClientAddressTest, TrustedProxiesParse) {
  for (const char* good : {"10.0.0.1", "10.0.0.0/8", "0.0.0.0/0", "::1", "fd00::/8", "::/0",
                           "192.168.1.0/24", "2001:db8::/32"}) {
    EXPECT_TRUE(TrustedProxies::Parse({good}).ok()) << good;
  }
  for (const char* bad : {"", "10.0.0.1/33", "10.0.0.1/8", "fd00::/129", "10.0.0.0/", "10.0.0.0/x",
                          "proxy.example", "10.0.0.0/8/8", "::1/-1", " 10.0.0.1"}) {
    auto p = TrustedProxies::Parse({bad});
    EXPECT_FALSE(p.ok()) << bad;
    if (!p.ok()) EXPECT_NE(p.status().message().find("trusted_proxies"), std::string::npos);
  }
  const TrustedProxies t = Trust({"192.168.1.0/24"});
  EXPECT_TRUE(t.Contains("192.168.1.255"));
  EXPECT_FALSE(t.Contains("192.168.2.1"));
  EXPECT_TRUE(t.Contains("::ffff:192.168.1.7"));
  EXPECT_FALSE(t.Contains("garbage"));
  EXPECT_EQ(CanonicalAddress(" \"[::FFFF:1.2.3.4]:80\" "), "1.2.3.4");
  EXPECT_FALSE(CanonicalAddress("").has_value());
}

}  // namespace
}  // namespace backline::server
