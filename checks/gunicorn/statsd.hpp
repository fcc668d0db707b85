// A statsd receiver for Gunicorn's --statsd-host output: request counts, durations, status
// codes, worker count and log-level counters, aggregated over a sliding window whose memory
// does not grow with traffic (per-second buckets holding latency histograms).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sidecar/clock.hpp"

namespace vitals {

struct StatsdSample {
    std::string name;  // with any --statsd-prefix
    double value = 0;
    std::string type;  // c, ms, g, h, s
    double rate = 1;
};

// Parses one datagram (one or more newline-separated lines). Bad lines are counted in
// `malformed` and skipped; good ones are returned.
std::vector<StatsdSample> parse_statsd(std::string_view datagram, std::size_t* malformed);

struct GunicornSummary {
    double window_seconds = 0;
    double requests = 0;  // in the window
    double requests_per_second = 0;
    double status_5xx = 0;
    double status_4xx = 0;
    double error_5xx_ratio = 0;
    std::optional<double> p50_seconds, p95_seconds, p99_seconds;
    std::optional<double> workers;  // last gauge seen, ever
    double worker_timeouts = 0;     // gunicorn.log.critical in the window ("WORKER TIMEOUT")
    double log_errors = 0;          // gunicorn.log.error + .exception in the window
    // Since vitals started: what /metrics exports, for Prometheus' rate().
    double requests_total = 0;
    double status_5xx_total = 0, status_4xx_total = 0;
    double worker_timeouts_total = 0, log_errors_total = 0;
    double datagrams_total = 0;
    double malformed_total = 0;
    // Request times as a Prometheus histogram: (upper bound in seconds, cumulative count),
    // the last bound infinite; their sum in seconds and their count.
    std::vector<std::pair<double, double>> duration_buckets;
    double duration_sum_seconds = 0, duration_count = 0;
};

class GunicornStats {
  public:
    static constexpr int kWindowSeconds = 60;

    void add(const StatsdSample& sample, SteadyTime now);
    void count_datagram(std::size_t malformed);
    GunicornSummary summary(SteadyTime now) const;

    // Latency histogram: bucket i covers [kBase * kGrowth^(i-1), kBase * kGrowth^i) ms.
    static constexpr int kBuckets = 160;
    static int bucket_of(double ms);
    static double bucket_upper_ms(int bucket);
    // The histogram /metrics exports, in seconds (+Inf implied after the last).
    static constexpr std::array<double, 11> kExportedBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                               0.5,   1,    2.5,   5,    10};

  private:
    struct Second {
        std::int64_t second = -1;
        double requests = 0, s5xx = 0, s4xx = 0, critical = 0, errors = 0;
        std::array<std::uint32_t, kBuckets> latency{};
    };
    Second& slot(SteadyTime now);

    mutable std::mutex mutex_;
    std::array<Second, kWindowSeconds> seconds_{};
    std::optional<double> workers_;
    double requests_total_ = 0, datagrams_total_ = 0, malformed_total_ = 0;
    double s5xx_total_ = 0, s4xx_total_ = 0, critical_total_ = 0, errors_total_ = 0;
    std::array<double, kExportedBounds.size() + 1> duration_counts_{};  // per bound, not cumulative
    double duration_sum_seconds_ = 0;
};

// Receives datagrams on a UDP address on its own thread and feeds a GunicornStats.
class StatsdSink {
  public:
    StatsdSink(std::string host, std::uint16_t port, const Clock& clock);
    ~StatsdSink();
    StatsdSink(const StatsdSink&) = delete;
    StatsdSink& operator=(const StatsdSink&) = delete;

    // Binds and starts receiving; why it could not, or nullopt.
    std::optional<std::string> start();
    std::uint16_t port() const { return port_; }
    const GunicornStats& stats() const { return stats_; }

  private:
    void receive();
    std::string host_;
    std::uint16_t port_;
    const Clock& clock_;
    int fd_ = -1;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    GunicornStats stats_;
};

}  // namespace vitals
