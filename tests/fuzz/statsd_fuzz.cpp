// libFuzzer target: a statsd datagram as Gunicorn (or anything on the UDP port) sends it, fed
// into the per-second aggregation the gunicorn check reads.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "checks/gunicorn/statsd.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view datagram(reinterpret_cast<const char*>(data), size);
    std::size_t malformed = 0;
    const auto samples = vitals::parse_statsd(datagram, &malformed);
    for (const vitals::StatsdSample& s : samples) {
        if (!std::isfinite(s.value) || !(s.rate > 0 && s.rate <= 1)) std::abort();
        if (s.name.empty() || s.type.empty()) std::abort();
    }
    static vitals::GunicornStats stats;
    const auto now = vitals::SteadyTime(std::chrono::seconds(size % 120));
    stats.count_datagram(malformed);
    for (const vitals::StatsdSample& s : samples)
        stats.add(s, now);
    const vitals::GunicornSummary summary = stats.summary(now);
    if (!std::isfinite(summary.requests) || summary.error_5xx_ratio < 0 ||
        summary.error_5xx_ratio > 1)
        std::abort();
    return 0;
}
