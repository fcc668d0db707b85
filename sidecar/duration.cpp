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
    // One or more <number>[.<fraction>]<unit>, as Prometheus and Go write them: "250ms",
    // "1m30s", "1.5s", "1h30m". The total must be whole milliseconds.
    if (text.empty() || text.size() > 40) return std::nullopt;
    std::int64_t total = 0;
    while (!text.empty()) {
        std::size_t digits = 0;
        while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
            ++digits;
        if (digits == 0 || digits > 12) return std::nullopt;
        std::int64_t whole = 0;
        for (std::size_t i = 0; i < digits; ++i)
            whole = whole * 10 + (text[i] - '0');
        text.remove_prefix(digits);
        // A fraction, kept as numerator / 10^places.
        std::int64_t numerator = 0;
        std::int64_t scale = 1;
        if (!text.empty() && text.front() == '.') {
            text.remove_prefix(1);
            std::size_t places = 0;
            while (places < text.size() && text[places] >= '0' && text[places] <= '9') {
                if (places >= 6) return std::nullopt;
                numerator = numerator * 10 + (text[places] - '0');
                scale *= 10;
                ++places;
            }
            if (places == 0) return std::nullopt;
            text.remove_prefix(places);
        }
        const Unit* unit = nullptr;
        for (const Unit& u : kUnits) {
            if (text.substr(0, u.suffix.size()) == u.suffix) {
                unit = &u;
                break;
            }
        }
        if (unit == nullptr) return std::nullopt;
        text.remove_prefix(unit->suffix.size());
        if (whole > std::numeric_limits<std::int64_t>::max() / unit->millis) return std::nullopt;
        const std::int64_t part = numerator * unit->millis;
        if (part % scale != 0) return std::nullopt;  // finer than a millisecond
        const std::int64_t millis = whole * unit->millis + part / scale;
        if (millis > std::numeric_limits<std::int64_t>::max() - total) return std::nullopt;
        total += millis;
    }
    return Millis(total);
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
