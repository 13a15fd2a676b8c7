// Webhook delivery (issue 22): signing, the retry schedule, and WebhookSender, which delivers
// the store's outbox to the clinics' endpoints (engine::WebhookEndpoint, from the clinic
// files). Event bodies are built by server/webhook_events.h.
//
// A delivery is an HTTP/1.1 POST of the event's body, exactly as stored, with
//   Content-Type: application/json
//   Backline-Event-Id: <the event's key>       (also Idempotency-Key: the same on every retry)
//   Backline-Event-Type: <type>
//   Backline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
// (re-signed with a new t on every attempt). Outcome of an attempt:
//   2xx                          delivered;
//   408, 429, 5xx, no response   retried with full-jitter exponential backoff (RetryPolicy),
//   (timeouts, refused, TLS)     for at least `give_up_after_ms` after the event was created,
//                                then given up ("failed");
//   other 1xx/3xx/4xx            retried the same way but only `client_error_attempts` times
//                                in all (a receiver that refuses the request as it is, e.g. a
//                                401 from a wrong secret or a 404 from a route not deployed
//                                yet, is most often fixed within the hour; redirects are not
//                                followed), then given up.
// Every attempt's outcome is recorded with Store::UpdateDelivery. Delivery is at least once:
// an attempt cut by shutdown or a crash is not recorded, so it is made again after a restart
// with the same key.
//
// Thread safety: the free functions may be called from any thread; so may WebhookSender's
// Start, Wake and Stop.
#ifndef BACKLINE_SERVER_WEBHOOKS_H_
#define BACKLINE_SERVER_WEBHOOKS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/content.h"
#include "engine/status.h"
#include "server/metrics.h"
#include "store/store.h"

namespace backline::server {

// Lowercase hex HMAC-SHA256 of `message` under `key` (OpenSSL).
std::string HmacSha256Hex(std::string_view key, std::string_view message);

// The Backline-Signature header's value: "t=<unix_seconds>,v1=<HMAC of "<t>.<body>">".
std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view body);

// The receiver's check, as the README documents it: `header` has a t and at least one v1 that
// matches (compared in constant time), and t is within `tolerance_seconds` of `now_seconds`.
bool VerifyWebhookSignature(std::string_view secret, std::string_view header, std::string_view body,
                            int64_t now_seconds, int64_t tolerance_seconds = 300);

struct RetryPolicy {
  // The delay after the n-th failed attempt is uniform in [0, min(max_ms, base_ms * 2^(n-1))]
  // ("full jitter": receivers coming back up are not hit by every sender at once).
  int64_t base_ms = 30 * 1000;
  int64_t max_ms = 60 * 60 * 1000;
  // A retryable failure this long after the event was created is the last: then "failed".
  int64_t give_up_after_ms = 24 * 60 * 60 * 1000;
  // Attempts in all for a refusal (1xx, 3xx, 4xx other than 408 and 429).
  int client_error_attempts = 8;
};

// The upper bound of the delay after `failed_attempts` (>= 1) failed attempts.
int64_t BackoffCeilingMs(const RetryPolicy& policy, int failed_attempts);
// The delay itself: `random` (any 64-bit value) picks it uniformly in [0, the ceiling].
int64_t BackoffDelayMs(const RetryPolicy& policy, int failed_attempts, uint64_t random);

// What one attempt got: an HTTP status, or 0 with what went wrong ("timed out",
// "connection refused", "TLS handshake: certificate verify failed", ...).
struct AttemptResult {
  int http_status = 0;
  std::string error;
};

// `d` after an attempt that ended at `now_ms` with `result`: attempts + 1, last_attempt_ms,
// last_error ("" when delivered, "HTTP 503", or result.error), status and next_attempt_ms
// as the header comment says.
store::DeliveryRecord AfterAttempt(store::DeliveryRecord d, const AttemptResult& result,
                                   int64_t now_ms, const RetryPolicy& policy, uint64_t random);

// An endpoint by clinic and webhook id, from the content being served now (so that SIGHUP
// applies a changed URL or secret to the next attempt); nullopt when the clinic no longer has
// it (the delivery is then retried like a failed attempt: a webhook removed by mistake and
// put back within the retry period still gets its events).
using WebhookLookup = std::function<std::optional<engine::WebhookEndpoint>(
    const std::string& clinic, const std::string& endpoint)>;

// The endpoints of the content `clinics` (what the server passes as its lookup).
std::optional<engine::WebhookEndpoint> FindWebhook(const std::vector<engine::Clinic>& clinics,
                                                   const std::string& clinic,
                                                   const std::string& endpoint);

struct WebhookSenderOptions {
  RetryPolicy retry;
  // Resolving and connecting (with the TLS handshake), then writing the request and reading
  // the response: past either, the attempt is cut and retried.
  int64_t connect_timeout_ms = 10 * 1000;
  int64_t response_timeout_ms = 30 * 1000;
  // Attempts in flight to one endpoint at once, and in all: a dead or hanging receiver holds
  // at most this many of the sender's slots, and the others' deliveries go on.
  size_t per_endpoint_in_flight = 2;
  size_t max_in_flight = 64;
  // The outbox is read when woken (Wake) and at least this often.
  int64_t poll_interval_ms = 1000;
  // The outbox's depth and age for /metrics are read this often.
  int64_t outbox_stats_interval_ms = 15 * 1000;
  // A PEM file of the certificate authorities trusted for https endpoints instead of the
  // system's (a hospital's private CA; the tests' own CA). Empty: the system's store.
  std::string ca_file;
  // The receiver's response body is read up to this size and dropped.
  size_t max_response_bytes = 64 * 1024;
};

// Delivers the outbox on its own thread and io_context: a slow, failing or hanging receiver
// delays neither a chat reply nor another endpoint's deliveries. Logs (stderr, the server's
// format) the clinic, endpoint, event key and outcome of each failed attempt; never a body,
// a URL's query or a secret.
class WebhookSender {
 public:
  // REQUIRES: `store` outlives the sender; `metrics` is null or outlives it. Fails when
  // `ca_file` cannot be loaded.
  static engine::StatusOr<std::unique_ptr<WebhookSender>> Create(store::Store* store,
                                                                 WebhookLookup lookup,
                                                                 WebhookSenderOptions options,
                                                                 Metrics* metrics);
  ~WebhookSender();  // Stop()s
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Starts the sender's thread. At most once.
  void Start();
  // Reads the outbox now (call after recording events): no waiting for the next poll.
  void Wake();
  // Cuts the attempts in flight (not recorded: they are made again after a restart), waits
  // for the outcomes already being recorded, and joins the thread. The store must still be
  // running. Idempotent.
  void Stop();

  // Attempts started so far (tests).
  int64_t attempts_started() const;

  class Impl;

 private:
  explicit WebhookSender(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace backline::server

#endif  // BACKLINE_SERVER_WEBHOOKS_H_
