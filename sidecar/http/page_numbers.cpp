// A check's numbers as people read them (8.7 MB, 2.2 ms, 62 %, "in 60 days"), its chart of
// the last hour and its bars of recent runs.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "sidecar/http/page_parts.hpp"
#include "sidecar/http/render.hpp"
#include "sidecar/log.hpp"

namespace vitals::page {

namespace {

// A name for people: "connections_used_ratio" without its unit suffix, spaced, with the
// label's value ("queue messages (celery)").
std::string display_name(const ObservationSpec& spec, const Observation& o) {
    std::string name = spec.name;
    for (std::string_view suffix : {"_timestamp_seconds", "_seconds", "_bytes", "_ratio"}) {
        if (name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            name.resize(name.size() - suffix.size());
            break;
        }
    }
    std::replace(name.begin(), name.end(), '_', ' ');
    if (!o.label.empty()) name += " (" + o.label_value + ")";
    return name;
}

}  // namespace

std::string display(const ObservationSpec& spec, const Observation& o, double now) {
    return display_name(spec, o) + " " + format_value(o.value, spec.unit, now);
}

namespace {

// What a heartbeat's details hold for people, for trusted callers: its last pings (when, what,
// exit status, run id, duration, the body's first line) and its last output.
void add_ping_lines(const nlohmann::json& details, std::vector<std::string>& lines) {
    if (!details.is_object()) return;
    const auto pings = details.find("pings");
    if (pings != details.end() && pings->is_array() && !pings->empty()) {
        lines.emplace_back("last pings:");
        for (const auto& p : *pings) {
            if (!p.is_object()) continue;
            const auto at = p.find("at");
            std::string line =
                at != p.end() && at->is_number()
                    ? format_timestamp(WallTime(std::chrono::milliseconds(at->get<std::int64_t>())))
                    : "-";
            line += " " + text_in(p, "kind");
            if (const auto exit = p.find("exit_status"); exit != p.end() && exit->is_number())
                line += " (exit " + printed("%.0f", exit->get<double>()) + ")";
            if (const std::string rid = text_in(p, "rid"); !rid.empty()) line += " rid " + rid;
            if (const auto took = p.find("duration_seconds"); took != p.end() && took->is_number())
                line += " after " + format_value(took->get<double>(), Unit::seconds, 0);
            if (const std::string first = text_in(p, "line"); !first.empty()) line += ": " + first;
            lines.push_back(std::move(line));
        }
    }
    if (const std::string output = text_in(details, "last_output"); !output.empty()) {
        lines.push_back("last output (" + text_in(details, "last_output_at") + "):");
        lines.push_back(output);
    }
}

}  // namespace

std::string text_in(const nlohmann::json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string printed(const char* format, double v) {
    char buf[48];
    std::snprintf(buf, sizeof(buf), format, v);
    return buf;
}

double unix_seconds(WallTime t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// The sparkline's bar colours; the badges' colours are the style sheet's (.st.ok, ...), chosen
// for contrast in both colour schemes.
const char* status_color(Status s) {
    switch (s) {
        case Status::ok:
            return "#2e7d32";
        case Status::warn:
            return "#f9a825";
        case Status::fail:
            return "#c62828";
        case Status::unknown:
            break;
    }
    return "#757575";
}

std::string status_badge(Status st, std::string_view text) {
    return "<span class=\"st " + std::string(status_name(st)) + "\">" + escape_html(text) +
           "</span>";
}

Shown shown(const CheckState& c, double now, bool trusted) {
    Shown out;
    if (!c.has_run()) return out;
    for (const Observation& o : c.last->observations) {
        if (is_histogram_part(o)) continue;
        const ObservationSpec* spec = c.observations ? find_spec(*c.observations, o) : nullptr;
        if (spec == nullptr) continue;
        if (spec->is_headline && !(spec->headline_unless_zero && o.value == 0)) {
            out.headline += (out.headline.empty() ? "" : " \u00b7 ") + display(*spec, o, now);
        } else {
            out.more.push_back(display(*spec, o, now));
        }
    }
    if (trusted) add_ping_lines(c.last->details, out.more);
    return out;
}

Chart chart(const CheckState& c, WallTime published) {
    Chart out;
    const ObservationSpec* spec = c.observations ? charted(*c.observations) : nullptr;
    if (spec == nullptr || c.trend.empty()) return out;
    float low = c.trend.front().value, high = low;
    for (const TrendPoint& p : c.trend) {
        low = std::min(low, p.value);
        high = std::max(high, p.value);
    }
    const double end_ms = unix_seconds(published) * 1000;
    const double hour_ms = std::chrono::duration<double, std::milli>(kTrendSpan).count();
    const double span_ms =
        std::clamp(end_ms - static_cast<double>(c.trend.front().at_unix_ms), 1'000.0, hour_ms);
    const auto y_of = [&](float value) {
        const double share = high > low ? (value - low) / (high - low) : 0.5;
        return 2 + (1 - share) * (kChartHeight - 4);
    };
    const auto add = [&](double x, double y) {
        out.points +=
            (out.points.empty() ? "" : " ") + printed("%.1f", x) + "," + printed("%.1f", y);
    };
    if (c.trend.size() == 1) {  // one value so far: a level line, not a dot
        add(0, y_of(low));
        add(kChartWidth, y_of(low));
    } else {
        for (const TrendPoint& p : c.trend) {
            const double x =
                std::clamp((static_cast<double>(p.at_unix_ms) - (end_ms - span_ms)) / span_ms, 0.0,
                           1.0) *
                kChartWidth;
            add(x, y_of(p.value));
        }
    }
    const double now = unix_seconds(published);
    const Observation named{spec->name, 0, "", ""};
    const std::string over = span_ms >= hour_ms
                                 ? "the last hour"
                                 : "the last " + format_value(span_ms / 1000, Unit::seconds, 0);
    const std::string from = format_value(low, spec->unit, now);
    const std::string to = format_value(high, spec->unit, now);
    out.label = display_name(*spec, named) + " over " + over + ": " + from +
                (to != from ? " to " + to : "");
    return out;
}

// One bar per recent run: height is its duration relative to the slowest, colour its status.
std::string sparkline(const CheckState& c) {
    float slowest = 0;
    for (const HistoryEntry& h : c.history)
        slowest = std::max(slowest, h.duration_seconds);
    std::string svg = "<svg class=\"runs\" width=\"" + std::to_string(kHistoryLength * 3) +
                      "\" height=\"16\" role=\"img\" aria-label=\"recent runs\">";
    int x = 0;
    for (const HistoryEntry& h : c.history) {
        const int height =
            slowest > 0 ? 2 + static_cast<int>(14 * h.duration_seconds / slowest) : 2;
        svg += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(16 - height) +
               "\" width=\"2\" height=\"" + std::to_string(height) + "\" fill=\"" +
               status_color(h.status) + "\"/>";
        x += 3;
    }
    return svg + "</svg>";
}

}  // namespace vitals::page
