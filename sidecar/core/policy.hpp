// What the scheduler and the probes apply to a check: how often, how long, how many
// failures in a row, which probes it counts for. The check itself never sees it.
#pragma once

#include <cstdint>

#include "sidecar/duration.hpp"

namespace vitals {

// Probe groups a check counts for. Startup is derived: every ready check has run once.
enum Group : std::uint8_t { kGroupLive = 1, kGroupReady = 2 };

// Policy the scheduler and probes apply to a check; the check itself never sees it.
struct CheckPolicy {
    Millis interval{10'000};
    Millis timeout{3'000};
    double jitter = 0.1;  // each interval varies by up to this fraction, either way
    int failure_threshold = 1;
    int success_threshold = 1;
    std::uint8_t groups = 0;
    bool critical = true;  // a failure makes /health answer 503
};

}  // namespace vitals
