#include "server/webhooks.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <utility>

namespace backline::server {

std::string HmacSha256Hex(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 0xF]);
  }
  return hex;
}

std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view body) {
  const std::string t = std::to_string(unix_seconds);
  std::string signed_text;
  signed_text.reserve(t.size() + 1 + body.size());
  signed_text.append(t).append(".").append(body);
  return "t=" + t + ",v1=" + HmacSha256Hex(secret, signed_text);
}

bool VerifyWebhookSignature(std::string_view secret, std::string_view header, std::string_view body,
                            int64_t now_seconds, int64_t tolerance_seconds) {
  std::string t;
  std::vector<std::string_view> v1s;
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view part = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.rfind("t=", 0) == 0) {
      t = std::string(part.substr(2));
    } else if (part.rfind("v1=", 0) == 0) {
      v1s.push_back(part.substr(3));
    }
  }
  if (t.empty() || t.size() > 18 || t.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const int64_t ts = std::stoll(t);
  if (ts < now_seconds - tolerance_seconds || ts > now_seconds + tolerance_seconds) return false;
  std::string signed_text = t + ".";
  signed_text.append(body);
  const std::string expected = HmacSha256Hex(secret, signed_text);
  bool ok = false;
  for (std::string_view v : v1s) {
    if (v.size() == expected.size() &&
        CRYPTO_memcmp(v.data(), expected.data(), expected.size()) == 0) {
      ok = true;
    }
  }
  return ok;
}

int64_t BackoffCeilingMs(const RetryPolicy& policy, int failed_attempts) {
  int64_t ceiling = std::max<int64_t>(policy.base_ms, 1);
  for (int i = 1; i < failed_attempts && ceiling < policy.max_ms; ++i) ceiling *= 2;
  return std::min(ceiling, std::max<int64_t>(policy.max_ms, 1));
}

int64_t BackoffDelayMs(const RetryPolicy& policy, int failed_attempts, uint64_t random) {
  const uint64_t ceiling = static_cast<uint64_t>(BackoffCeilingMs(policy, failed_attempts));
  return static_cast<int64_t>(random % (ceiling + 1));
}

store::DeliveryRecord AfterAttempt(store::DeliveryRecord d, const AttemptResult& result,
                                   int64_t now_ms, const RetryPolicy& policy, uint64_t random) {
  d.attempts += 1;
  d.last_attempt_ms = now_ms;
  const int s = result.http_status;
  if (s >= 200 && s <= 299) {
    d.status = "delivered";
    d.last_error.clear();
    return d;
  }
  d.last_error = s != 0 ? "HTTP " + std::to_string(s) : result.error;
  const bool refused = s != 0 && s != 408 && s != 429 && s < 500;
  const bool give_up = refused ? d.attempts >= policy.client_error_attempts
                               : now_ms - d.created_ms >= policy.give_up_after_ms;
  if (give_up) {
    d.status = "failed";
    return d;
  }
  d.status = "pending";
  d.next_attempt_ms = now_ms + BackoffDelayMs(policy, d.attempts, random);
  return d;
}

std::optional<engine::WebhookEndpoint> FindWebhook(const std::vector<engine::Clinic>& clinics,
                                                   const std::string& clinic,
                                                   const std::string& endpoint) {
  for (const auto& c : clinics) {
    if (c.id != clinic) continue;
    for (const auto& w : c.webhooks) {
      if (w.id == endpoint) return w;
    }
  }
  return std::nullopt;
}

}  // namespace backline::server
