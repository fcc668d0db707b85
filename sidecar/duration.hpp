// Durations as people write them in configuration: "250ms", "5s", "1m", "2h", "1d".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace vitals {

using Millis = std::chrono::milliseconds;

// Parses "<integer><unit>" with unit ms, s, m, h or d. Returns nullopt on anything else,
// including overflow, missing unit and fractional numbers.
std::optional<Millis> parse_duration(std::string_view text);

// The shortest exact spelling: 1500ms -> "1500ms", 60000ms -> "1m".
std::string format_duration(Millis d);
// A rough age for messages: "45s", "71m", "26h5m".
std::string format_age(Millis d);

// A measured time for messages: 0.25 -> "250.0ms".
std::string format_millis(double seconds);

// Seconds as a double, for JSON and Prometheus output.
template <typename Rep, typename Period>
double to_seconds(std::chrono::duration<Rep, Period> d) {
    return std::chrono::duration<double>(d).count();
}

}  // namespace vitals
