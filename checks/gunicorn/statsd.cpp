#include "checks/gunicorn/statsd.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace vitals {

namespace {

constexpr double kBaseMs = 0.05;
constexpr double kGrowth = 1.1;
constexpr double kMaxSampleCount = 1e6;

bool parse_number(std::string_view text, double* out) {
    if (text.empty() || text.size() > 40) return false;
    char buf[48];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(buf, &end);
    if (end != buf + text.size() || errno != 0 || !std::isfinite(v)) return false;
    *out = v;
    return true;
}

// "gunicorn.request.status.503" -> the part after "gunicorn.", whatever prefix stands before.
std::string_view gunicorn_metric(std::string_view name) {
    const auto at = name.find("gunicorn.");
    if (at == std::string_view::npos || (at > 0 && name[at - 1] != '.')) return {};
    return name.substr(at + 9);
}

std::int64_t whole_seconds(SteadyTime t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

std::vector<StatsdSample> parse_statsd(std::string_view datagram, std::size_t* malformed) {
    std::vector<StatsdSample> out;
    while (!datagram.empty()) {
        const auto nl = datagram.find('\n');
        std::string_view line = datagram.substr(0, nl);
        datagram = nl == std::string_view::npos ? std::string_view() : datagram.substr(nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) continue;
        // name:value|type[|@rate][|#tag:value,...]: DogStatsD's tags (Gunicorn's
        // --dogstatsd-tags) and its container id (|c:...) are accepted and not used.
        const auto colon = line.rfind(':', line.find('|'));
        const auto bar = line.find('|');
        StatsdSample s;
        bool ok = colon != std::string_view::npos && bar != std::string_view::npos && colon > 0 &&
                  colon < bar;
        if (ok) {
            s.name = std::string(line.substr(0, colon));
            ok = parse_number(line.substr(colon + 1, bar - colon - 1), &s.value);
        }
        if (ok) {
            std::string_view rest = line.substr(bar + 1);
            auto field_end = rest.find('|');
            s.type = std::string(rest.substr(0, field_end));
            ok = s.type == "c" || s.type == "ms" || s.type == "g" || s.type == "h" || s.type == "s";
            bool rated = false;
            while (ok && field_end != std::string_view::npos) {
                rest = rest.substr(field_end + 1);
                field_end = rest.find('|');
                const std::string_view field = rest.substr(0, field_end);
                if (!rated && field.size() > 1 && field[0] == '@') {
                    ok = parse_number(field.substr(1), &s.rate) && s.rate > 0 && s.rate <= 1;
                    rated = true;
                } else {
                    ok = field.size() > 1 && (field[0] == '#' || field.substr(0, 2) == "c:");
                }
            }
        }
        if (ok) {
            for (char c : s.name) {
                if (c <= ' ' || c == '|' || c == ':') ok = false;
            }
        }
        if (ok) {
            out.push_back(std::move(s));
        } else if (malformed != nullptr) {
            ++*malformed;
        }
    }
    return out;
}

int GunicornStats::bucket_of(double ms) {
    if (!(ms > kBaseMs)) return 0;
    const int b = 1 + static_cast<int>(std::log(ms / kBaseMs) / std::log(kGrowth));
    return b >= kBuckets ? kBuckets - 1 : b;
}

double GunicornStats::bucket_upper_ms(int bucket) {
    return kBaseMs * std::pow(kGrowth, bucket);
}

GunicornStats::Second& GunicornStats::slot(SteadyTime now) {
    const std::int64_t s = whole_seconds(now);
    Second& slot = seconds_[static_cast<std::size_t>(s % kWindowSeconds)];
    if (slot.second != s) slot = Second{s};
    return slot;
}

void GunicornStats::count_datagram(std::size_t malformed) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++datagrams_total_;
    malformed_total_ += static_cast<double>(malformed);
}

void GunicornStats::add(const StatsdSample& sample, SteadyTime now) {
    const std::string_view metric = gunicorn_metric(sample.name);
    if (metric.empty()) return;
    const double count = sample.type == "c" ? sample.value / sample.rate : sample.value;
    // One datagram stands for a bounded number of events: a count of 1e300 at a rate of
    // 1e-300 would make the totals infinite for good. Such samples are dropped.
    if (!std::isfinite(count) || count < 0 || count > kMaxSampleCount) {
        std::lock_guard<std::mutex> lock(mutex_);
        malformed_total_ += 1;
        return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (metric == "requests") {
        slot(now).requests += count;
        requests_total_ += count;
    } else if (metric == "request.duration") {
        ++slot(now).latency[static_cast<std::size_t>(bucket_of(sample.value))];
        const double seconds = sample.value / 1000;
        const auto bound =
            std::lower_bound(kExportedBounds.begin(), kExportedBounds.end(), seconds);
        ++duration_counts_[static_cast<std::size_t>(bound - kExportedBounds.begin())];
        duration_sum_seconds_ += seconds;
    } else if (metric.rfind("request.status.", 0) == 0) {
        const std::string_view code = metric.substr(15);
        if (!code.empty() && code[0] == '5') {
            slot(now).s5xx += count;
            s5xx_total_ += count;
        }
        if (!code.empty() && code[0] == '4') {
            slot(now).s4xx += count;
            s4xx_total_ += count;
        }
    } else if (metric == "workers") {
        workers_ = sample.value;
    } else if (metric == "log.critical") {
        slot(now).critical += count;
        critical_total_ += count;
    } else if (metric == "log.error" || metric == "log.exception") {
        slot(now).errors += count;
        errors_total_ += count;
    }
}

GunicornSummary GunicornStats::summary(SteadyTime now) const {
    std::lock_guard<std::mutex> lock(mutex_);
    GunicornSummary sum;
    const std::int64_t newest = whole_seconds(now);
    std::array<std::uint64_t, kBuckets> latency{};
    std::uint64_t samples = 0;
    for (const Second& s : seconds_) {
        if (s.second < 0 || s.second > newest || newest - s.second >= kWindowSeconds) continue;
        sum.requests += s.requests;
        sum.status_5xx += s.s5xx;
        sum.status_4xx += s.s4xx;
        sum.worker_timeouts += s.critical;
        sum.log_errors += s.errors;
        for (int b = 0; b < kBuckets; ++b) {
            latency[static_cast<std::size_t>(b)] += s.latency[static_cast<std::size_t>(b)];
            samples += s.latency[static_cast<std::size_t>(b)];
        }
    }
    sum.window_seconds = kWindowSeconds;
    sum.requests_per_second = sum.requests / kWindowSeconds;
    // Sampled status counters (|@0.5) can outnumber the request counter: a share stays <= 1.
    sum.error_5xx_ratio = sum.requests > 0 ? std::min(1.0, sum.status_5xx / sum.requests) : 0;
    const auto quantile = [&](double q) -> std::optional<double> {
        if (samples == 0) return std::nullopt;
        const double rank = q * static_cast<double>(samples);
        double seen = 0;
        for (int b = 0; b < kBuckets; ++b) {
            seen += static_cast<double>(latency[static_cast<std::size_t>(b)]);
            if (seen >= rank) return bucket_upper_ms(b) / 1000;
        }
        return bucket_upper_ms(kBuckets - 1) / 1000;
    };
    sum.p50_seconds = quantile(0.50);
    sum.p95_seconds = quantile(0.95);
    sum.p99_seconds = quantile(0.99);
    sum.workers = workers_;
    sum.requests_total = requests_total_;
    sum.status_5xx_total = s5xx_total_;
    sum.status_4xx_total = s4xx_total_;
    sum.worker_timeouts_total = critical_total_;
    sum.log_errors_total = errors_total_;
    double cumulative = 0;
    for (std::size_t i = 0; i < duration_counts_.size(); ++i) {
        cumulative += duration_counts_[i];
        sum.duration_buckets.emplace_back(i < kExportedBounds.size()
                                              ? kExportedBounds[i]
                                              : std::numeric_limits<double>::infinity(),
                                          cumulative);
    }
    sum.duration_count = cumulative;
    sum.duration_sum_seconds = duration_sum_seconds_;
    sum.datagrams_total = datagrams_total_;
    sum.malformed_total = malformed_total_;
    return sum;
}

StatsdSink::StatsdSink(std::string host, std::uint16_t port, const Clock& clock)
    : host_(std::move(host)), port_(port), clock_(clock) {}

StatsdSink::~StatsdSink() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
}

std::optional<std::string> StatsdSink::start() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &found) != 0 ||
        found == nullptr) {
        return "statsd listen address " + host_ + " is not an IP address";
    }
    fd_ = ::socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const bool bound = fd_ >= 0 && ::bind(fd_, found->ai_addr, found->ai_addrlen) == 0;
    const std::string error = bound ? std::string()
                                    : std::string("cannot listen for statsd on UDP ") + host_ +
                                          ":" + std::to_string(port_) + ": " + std::strerror(errno);
    ::freeaddrinfo(found);
    if (!bound) return error;
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    thread_ = std::thread([this] { receive(); });
    return std::nullopt;
}

void StatsdSink::receive() {
    char buf[65536];
    while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
        if (n <= 0) continue;
        // Whatever one datagram does, the loop goes on: an exception here would end the
        // thread, and with it vitals.
        try {
            std::size_t malformed = 0;
            const auto samples =
                parse_statsd(std::string_view(buf, static_cast<std::size_t>(n)), &malformed);
            const SteadyTime now = clock_.now();
            for (const auto& s : samples)
                stats_.add(s, now);
            stats_.count_datagram(malformed);
        } catch (const std::exception&) {
            stats_.count_datagram(1);
        }
    }
}

}  // namespace vitals
