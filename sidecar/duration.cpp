#include "sidecar/duration.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>

namespace vitals {

namespace {

struct Unit {
    std::string_view suffix;
    std::int64_t millis;
};

// Longest suffix first so "ms" is not read as "m" followed by garbage.
constexpr Unit kUnits[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};

}  // namespace

std::optional<Millis> parse_duration(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
        ++digits;
    }
    if (digits == 0 || digits > 12) {
        return std::nullopt;
    }
    std::int64_t value = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        value = value * 10 + (text[i] - '0');
    }
    const std::string_view suffix = text.substr(digits);
    for (const Unit& unit : kUnits) {
        if (suffix == unit.suffix) {
            if (value > std::numeric_limits<std::int64_t>::max() / unit.millis) {
                return std::nullopt;
            }
            return Millis(value * unit.millis);
        }
    }
    return std::nullopt;
}

std::string format_millis(double seconds) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1fms", seconds * 1000);
    return buf;
}

std::string format_duration(Millis d) {
    const std::int64_t ms = d.count();
    for (auto it = std::rbegin(kUnits); it != std::rend(kUnits); ++it) {
        if (ms != 0 && ms % it->millis == 0) {
            return std::to_string(ms / it->millis) + std::string(it->suffix);
        }
    }
    return std::to_string(ms) + "ms";
}

std::string format_age(Millis d) {
    const long long s = std::max<long long>(0, d.count()) / 1000;
    if (s < 120) return std::to_string(s) + "s";
    if (s < 7200) return std::to_string(s / 60) + "m";
    return std::to_string(s / 3600) + "h" +
           (s % 3600 >= 60 ? std::to_string((s % 3600) / 60) + "m" : "");
}

}  // namespace vitals
