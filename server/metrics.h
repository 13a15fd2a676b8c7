// Counters and a latency histogram, rendered in the Prometheus text format at /metrics.
// Thread safety: every member may be updated from any thread (atomics).
#ifndef BACKLINE_SERVER_METRICS_H_
#define BACKLINE_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace backline::server {

class Metrics {
 public:
  // Reply latency buckets (seconds): a turn plus its commit is usually a few milliseconds.
  static constexpr std::array<double, 10> kBuckets = {0.0005, 0.001, 0.002, 0.005, 0.01,
                                                      0.025,  0.05,  0.1,   0.25,  1.0};

  std::atomic<int64_t> connections_open{0};
  std::atomic<int64_t> connections_total{0};
  std::atomic<int64_t> connections_refused{0};
  // Every frame read from a client gets exactly one outcome: a reply (turns, counted once
  // committed), an error frame (protocol_errors, rate_limited) or a control answer (pong,
  // history, feedback saved, deleted). So, once no turn is waiting for its commit:
  // frames_received == turns + protocol_errors + rate_limited + control_frames.
  std::atomic<int64_t> frames_received{0};
  std::atomic<int64_t> control_frames{0};
  std::atomic<int64_t> turns{0};
  std::atomic<int64_t> escalations_urgent{0};
  std::atomic<int64_t> escalations_emergency{0};
  std::atomic<int64_t> unanswered{0};
  std::atomic<int64_t> protocol_errors{0};
  std::atomic<int64_t> rate_limited{0};
  std::atomic<int64_t> store_errors{0};
  std::atomic<int64_t> reloads_ok{0};
  std::atomic<int64_t> reloads_failed{0};
  // Times accept failed for lack of file descriptors (EMFILE, ENFILE) and the listener waited
  // before accepting again.
  std::atomic<int64_t> accept_backoffs{0};
  // Webhook delivery attempts by outcome (server/webhooks.h): delivered, failed and to be
  // retried, or failed and given up.
  std::atomic<int64_t> webhook_delivered{0};
  std::atomic<int64_t> webhook_retries{0};
  std::atomic<int64_t> webhook_failed{0};
  // The outbox as the webhook sender last read it (Store::Outbox): deliveries pending and
  // given up, and the creation time (Unix ms) of the oldest pending one, 0 when none.
  std::atomic<int64_t> webhook_outbox_pending{0};
  std::atomic<int64_t> webhook_outbox_failed{0};
  std::atomic<int64_t> webhook_outbox_oldest_ms{0};

  void ObserveLatency(double seconds);

  // What the caller reads for Render: gauges kept elsewhere.
  struct Gauges {
    size_t store_queue_depth = 0;
    bool ready = false;
    size_t live_sessions = 0;  // conversations kept in memory
    size_t addresses = 0;      // client addresses whose limits are tracked
    int64_t now_ms = 0;        // Unix time, for the outbox's age
  };
  // The exposition text.
  std::string Render(const Gauges& gauges) const;

 private:
  std::array<std::atomic<int64_t>, kBuckets.size()> buckets_{};
  std::atomic<int64_t> count_{0};
  std::atomic<int64_t> sum_micros_{0};
};

}  // namespace backline::server

#endif  // BACKLINE_SERVER_METRICS_H_
