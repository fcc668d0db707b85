// Explicit times for the heartbeat tests (no clock is read): a fixed start and an hourly rule
// with ten minutes' grace.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "checks/heartbeat/judge.hpp"

namespace vitals::testing {

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kT0 = 1'795'000'000'000;  // Unix milliseconds, in 2026

inline HeartbeatRule hourly(std::optional<Millis> expected = std::nullopt) {
    HeartbeatRule r;
    r.period = std::chrono::hours(1);
    r.grace = std::chrono::minutes(10);
    r.expected_duration = expected;
    return r;
}

}  // namespace vitals::testing
