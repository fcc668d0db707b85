// Values as people read them, by their declared unit: the status page's numbers.
#include <cmath>
#include <cstdio>
#include <string>

#include "sidecar/http/render.hpp"

namespace vitals {

namespace {

std::string printed(const char* format, double v) {
    char text[64];
    std::snprintf(text, sizeof text, format, v);
    return text;
}

}  // namespace

std::string format_value(double v, Unit unit, double now_unix) {
    const auto span = [](double seconds) {
        // Whole units, rounded down: a certificate with 59.9 days left has 59.
        if (seconds < 120) return printed("%.0f s", std::floor(seconds));
        if (seconds < 7200) return printed("%.0f min", std::floor(seconds / 60));
        if (seconds < 172800) return printed("%.0f h", std::floor(seconds / 3600));
        return printed("%.0f days", std::floor(seconds / 86400));
    };
    if (!std::isfinite(v)) return "-";
    switch (unit) {
        case Unit::seconds:
            if (v == 0) return "0 s";
            if (std::fabs(v) < 1) return printed("%.1f ms", v * 1000);
            if (std::fabs(v) < 120) return printed("%.1f s", v);
            return span(std::fabs(v));
        case Unit::bytes:
            if (v < 1e3) return printed("%.0f B", v);
            if (v < 1e6) return printed("%.1f kB", v / 1e3);
            if (v < 1e9) return printed("%.1f MB", v / 1e6);
            return printed("%.1f GB", v / 1e9);
        case Unit::ratio:
            if (v > 0 && v < 0.01) return printed("%.1f %%", v * 100);
            return printed("%.0f %%", v * 100);
        case Unit::timestamp:
            return v >= now_unix ? "in " + span(v - now_unix) : span(now_unix - v) + " ago";
        case Unit::boolean:
            return v != 0 ? "yes" : "no";
        case Unit::none:
            break;
    }
    if (v == std::floor(v) && std::fabs(v) < 1e15) return printed("%.0f", v);
    return printed("%.3g", v);
}

}  // namespace vitals
