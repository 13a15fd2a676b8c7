#include "server/metrics.h"

#include <cstdio>

namespace backline::server {

void Metrics::ObserveLatency(double seconds) {
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) buckets_[i].fetch_add(1, std::memory_order_relaxed);
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<int64_t>(seconds * 1e6), std::memory_order_relaxed);
}

std::string Metrics::Render(const Gauges& gauges) const {
  const size_t store_queue_depth = gauges.store_queue_depth;
  const bool ready = gauges.ready;
  std::string out;
  char buf[256];
  auto line = [&](const char* name, const char* help, const char* type, int64_t value) {
    std::snprintf(buf, sizeof buf, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help, name, type,
                  name, static_cast<long long>(value));
    out += buf;
  };
  line("backline_ready", "1 when content is loaded and the server accepts conversations", "gauge",
       ready ? 1 : 0);
  line("backline_connections_open", "WebSocket connections open now", "gauge",
       connections_open.load());
  line("backline_connections_total", "WebSocket connections accepted", "counter",
       connections_total.load());
  line("backline_connections_refused_total",
       "Upgrades refused (origin, per-address or total limit)", "counter",
       connections_refused.load());
  line("backline_frames_received_total", "WebSocket frames read from clients", "counter",
       frames_received.load());
  line("backline_control_frames_total",
       "Frames answered with a pong, the history, a saved feedback or a deletion", "counter",
       control_frames.load());
  line("backline_turns_total", "Messages answered with a reply", "counter", turns.load());
  out +=
      "# HELP backline_red_flag_escalations_total Replies that escalated a red flag, by tier\n"
      "# TYPE backline_red_flag_escalations_total counter\n";
  std::snprintf(buf, sizeof buf,
                "backline_red_flag_escalations_total{tier=\"urgent\"} %lld\n"
                "backline_red_flag_escalations_total{tier=\"emergency\"} %lld\n",
                static_cast<long long>(escalations_urgent.load()),
                static_cast<long long>(escalations_emergency.load()));
  out += buf;
  line("backline_unanswered_turns_total", "Turns answered with a fallback or a clarifying reply",
       "counter", unanswered.load());
  line("backline_protocol_errors_total", "Frames answered with an error", "counter",
       protocol_errors.load());
  line("backline_rate_limited_total",
       "Frames refused by a rate limit (per connection, conversation or address) or a daily "
       "limit of the address",
       "counter", rate_limited.load());
  line("backline_store_errors_total", "Store operations that failed", "counter",
       store_errors.load());
  line("backline_store_queue_depth", "Writes waiting to be committed", "gauge",
       static_cast<int64_t>(store_queue_depth));
  line("backline_live_sessions", "Conversations kept in memory (those with a turn)", "gauge",
       static_cast<int64_t>(gauges.live_sessions));
  line("backline_tracked_addresses", "Client addresses whose per-address limits are kept", "gauge",
       static_cast<int64_t>(gauges.addresses));
  line("backline_accept_backoffs_total",
       "Times accept failed for lack of file descriptors and the listener paused", "counter",
       accept_backoffs.load());
  line("backline_reloads_total", "Content reloads that succeeded", "counter", reloads_ok.load());
  line("backline_reloads_failed_total", "Content reloads refused by validation", "counter",
       reloads_failed.load());
  out +=
      "# HELP backline_webhook_attempts_total Webhook delivery attempts, by outcome "
      "(delivered; retry: failed, tried again later; failed: given up)\n"
      "# TYPE backline_webhook_attempts_total counter\n";
  std::snprintf(buf, sizeof buf,
                "backline_webhook_attempts_total{outcome=\"delivered\"} %lld\n"
                "backline_webhook_attempts_total{outcome=\"retry\"} %lld\n"
                "backline_webhook_attempts_total{outcome=\"failed\"} %lld\n",
                static_cast<long long>(webhook_delivered.load()),
                static_cast<long long>(webhook_retries.load()),
                static_cast<long long>(webhook_failed.load()));
  out += buf;
  line("backline_webhook_outbox_pending", "Webhook deliveries not yet delivered nor given up",
       "gauge", webhook_outbox_pending.load());
  line("backline_webhook_outbox_failed", "Webhook deliveries given up (shown to clinicians)",
       "gauge", webhook_outbox_failed.load());
  const int64_t oldest = webhook_outbox_oldest_ms.load();
  line("backline_webhook_outbox_oldest_seconds",
       "Age of the oldest pending webhook delivery (0 when none)", "gauge",
       oldest > 0 && gauges.now_ms > oldest ? (gauges.now_ms - oldest) / 1000 : 0);
  out +=
      "# HELP backline_reply_latency_seconds From a message's arrival to its reply being queued "
      "(after commit)\n# TYPE backline_reply_latency_seconds histogram\n";
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    std::snprintf(buf, sizeof buf, "backline_reply_latency_seconds_bucket{le=\"%g\"} %lld\n",
                  kBuckets[i], static_cast<long long>(buckets_[i].load()));
    out += buf;
  }
  std::snprintf(buf, sizeof buf,
                "backline_reply_latency_seconds_bucket{le=\"+Inf\"} %lld\n"
                "backline_reply_latency_seconds_sum %.6f\n"
                "backline_reply_latency_seconds_count %lld\n",
                static_cast<long long>(count_.load()),
                static_cast<double>(sum_micros_.load()) / 1e6,
                static_cast<long long>(count_.load()));
  out += buf;
  return out;
}

}  // namespace backline::server
