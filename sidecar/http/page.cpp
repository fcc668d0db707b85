// The status page at "/": a person with `kubectl port-forward` sees every check, its key
// numbers written for people (8.7 MB, 2.2 ms, 62 %, "in 60 days"), a chart of its key number
// over the last hour, and why it fails, first. Server-rendered with no external assets;
// /page.js then updates it in place from /page.json every 5 s (CSP: script-src 'self').
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "sidecar/core/probes.hpp"
#include "sidecar/http/render.hpp"
#include "sidecar/log.hpp"

namespace vitals {

namespace {

using nlohmann::ordered_json;

std::string escape_html(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string printed(const char* format, double v) {
    char buf[48];
    std::snprintf(buf, sizeof(buf), format, v);
    return buf;
}

double unix_seconds(WallTime t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

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

std::string status_badge(Status st, const char* suffix = "") {
    return "<span class=\"st\" style=\"background:" + std::string(status_color(st)) + "\">" +
           std::string(status_name(st)) + suffix + "</span>";
}

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

std::string display(const ObservationSpec& spec, const Observation& o, double now) {
    return display_name(spec, o) + " " + format_value(o.value, spec.unit, now);
}

// What a row shows of a result: the headline numbers, the rest, and the charted one's label.
struct Shown {
    std::string headline;  // "connections used 62 % · query 2.2 ms"
    std::vector<std::string> more;
};

// A string member of a JSON object, or "" (details come from checks; never thrown on).
std::string text_in(const nlohmann::json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

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

Shown shown(const CheckState& c, double now, bool trusted) {
    Shown out;
    if (!c.has_run()) return out;
    for (const Observation& o : c.last->observations) {
        if (is_histogram_part(o)) continue;
        const ObservationSpec* spec = c.observations ? find_spec(*c.observations, o) : nullptr;
        if (spec == nullptr) continue;
        if (spec->is_headline) {
            out.headline += (out.headline.empty() ? "" : " \u00b7 ") + display(*spec, o, now);
        } else {
            out.more.push_back(display(*spec, o, now));
        }
    }
    if (trusted) add_ping_lines(c.last->details, out.more);
    return out;
}

constexpr int kChartWidth = 120, kChartHeight = 28;

// The trend as an SVG polyline's points over the last hour, and its label ("connections used
// over the last hour: 12 % to 62 %").
struct Chart {
    std::string points;
    std::string label;
};

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
    const double span_ms = std::chrono::duration<double, std::milli>(kTrendSpan).count();
    for (const TrendPoint& p : c.trend) {
        const double x =
            std::clamp((static_cast<double>(p.at_unix_ms) - (end_ms - span_ms)) / span_ms, 0.0,
                       1.0) *
            kChartWidth;
        const double share = high > low ? (p.value - low) / (high - low) : 0.5;
        const double y = 2 + (1 - share) * (kChartHeight - 4);
        out.points +=
            (out.points.empty() ? "" : " ") + printed("%.1f", x) + "," + printed("%.1f", y);
    }
    const double now = unix_seconds(published);
    const Observation named{spec->name, 0, "", ""};
    out.label = display_name(*spec, named) +
                " over the last hour: " + format_value(low, spec->unit, now) +
                (high > low ? " to " + format_value(high, spec->unit, now) : "");
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

// "3 min ago" for a past moment, relative to the publication.
std::string ago(const std::optional<WallTime>& at, WallTime published) {
    if (!at) return "-";
    return "since " + format_value(unix_seconds(*at), Unit::timestamp, unix_seconds(published));
}

std::string probes_text(const Snapshot& s) {
    std::string text;
    for (const auto& [name, probe] : {std::pair<const char*, Probe>{"live", Probe::live},
                                      {"ready", Probe::ready},
                                      {"startup", Probe::startup}}) {
        text += std::string(text.empty() ? "" : " \u00b7 ") + name + ": " +
                (evaluate(probe, s.checks).pass ? "pass" : "FAIL");
    }
    return text;
}

// What the row says, as text: the failing reason (trusted), or the message under the numbers.
struct Said {
    std::string reason, message;
};

Said said(const CheckState& c, bool trusted) {
    if (!trusted || !c.has_run() || c.last->message.empty()) return {};
    if (c.effective() == Status::ok) return {"", c.last->message};
    return {c.last->message, ""};
}

// The last transitions, each with what every check showed at that moment.
std::string incidents_html(const Snapshot& s, bool trusted) {
    constexpr std::size_t kShown = 6;
    if (!s.incidents || s.incidents->empty()) return "";
    const double now = unix_seconds(s.published);
    std::string html =
        "<h2>Recent changes</h2><p><small>the last " + std::to_string(kShown) + " of " +
        std::to_string(kIncidentsKept) +
        " kept; all at <a href=\"/health/history\">/health/history</a></small></p><table>"
        "<tr><th>at</th><th>check</th><th>change</th><th>what every check showed</th></tr>";
    for (std::size_t i = 0; i < s.incidents->size() && i < kShown; ++i) {
        const Incident& incident = (*s.incidents)[i];
        html += "<tr class=\"incident\" data-check=\"" + escape_html(incident.check) + "\"><td>" +
                format_timestamp(incident.at) + "</td><td><b>" + escape_html(incident.check) +
                "</b></td><td>" + status_badge(incident.from) + " &rarr; " +
                status_badge(incident.to) + "</td><td><details><summary>" +
                std::to_string(incident.checks.size()) + " checks</summary><table>";
        for (const Incident::Seen& seen : incident.checks) {
            html += "<tr><td>" + escape_html(seen.name) + "</td><td>" + status_badge(seen.status) +
                    "</td><td>";
            if (seen.last && trusted && !seen.last->message.empty())
                html += "<span class=\"msg\">" + escape_html(seen.last->message) + "</span>";
            html += "</td><td class=\"obs\">";
            const auto state =
                std::find_if(s.checks.begin(), s.checks.end(),
                             [&](const CheckState& c) { return c.name == seen.name; });
            if (seen.last && state != s.checks.end() && state->observations) {
                for (const Observation& o : seen.last->observations) {
                    const ObservationSpec* spec = find_spec(*state->observations, o);
                    if (spec != nullptr && !is_histogram_part(o))
                        html += escape_html(display(*spec, o, now)) + "<br>";
                }
            }
            html += "</td></tr>";
        }
        html += "</table></details></td></tr>";
    }
    return html + "</table>";
}

}  // namespace

std::string render_page(const Snapshot& s, bool trusted) {
    const Status overall = overall_health(s.checks);
    const double now = unix_seconds(s.published);
    std::string html =
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>vitals: ";
    html += status_name(overall);
    html += "</title><style>" + std::string(page_style()) +
            "</style></head><body data-updates=\"0\" data-incidents=\"" +
            std::to_string(s.incidents ? s.incidents->size() : 0) + "\">";
    html += "<h1>vitals <span id=\"overall\" class=\"st\" style=\"background:" +
            std::string(status_color(overall)) + "\">" + std::string(status_name(overall)) +
            "</span></h1><p><b id=\"probes\">" + probes_text(s) +
            "</b> &nbsp; updated <span id=\"updated\">" + format_timestamp(s.published) +
            "</span> &middot; version " VITALS_VERSION;
    if (!trusted) html += " &middot; details are shown to trusted networks only";
    html += "</p><table><tr><th>check</th><th>status</th><th>now</th><th>last hour</th></tr>";
    for (const CheckState& c : s.checks) {
        const Status st = c.effective();
        const Shown numbers = shown(c, now, trusted);
        const Said words = said(c, trusted);
        const Chart trend = chart(c, s.published);
        html += "<tr class=\"check\" data-check=\"" + escape_html(c.name) + "\" data-status=\"" +
                std::string(status_name(st)) + "\"><td><b>" + escape_html(c.name) +
                "</b><br><small>" + escape_html(c.kind) + "</small></td>";
        html += "<td>" + status_badge(st, c.stale ? " (stale)" : "") +
                "<br><small class=\"since\">" + escape_html(ago(c.since, s.published)) +
                "</small></td>";
        html += "<td><div class=\"reason\">" + escape_html(words.reason) +
                "</div><div class=\"head\">" +
                escape_html(c.has_run() ? numbers.headline : "not run yet") +
                "</div><div class=\"msg\">" + escape_html(words.message) +
                "</div><details><summary><span class=\"more-count\">" +
                std::to_string(numbers.more.size()) + "</span> more</summary><div class=\"obs\">";
        for (const std::string& line : numbers.more)
            html += escape_html(line) + "\n";
        html += "</div></details></td><td><svg class=\"trend\" width=\"" +
                std::to_string(kChartWidth) + "\" height=\"" + std::to_string(kChartHeight) +
                "\" role=\"img\"><polyline points=\"" + trend.points +
                "\"/></svg><small class=\"trend-label\">" + escape_html(trend.label) + "</small>" +
                sparkline(c) + "</td></tr>";
    }
    html += "</table>" + incidents_html(s, trusted) +
            "<script src=\"/page.js\"></script></body></html>\n";
    return html;
}

std::string render_page_json(const Snapshot& s, bool trusted) {
    const Status overall = overall_health(s.checks);
    const double now = unix_seconds(s.published);
    ordered_json out;
    out["status"] = status_name(overall);
    out["color"] = status_color(overall);
    out["probes"] = probes_text(s);
    out["updated"] = format_timestamp(s.published);
    out["incidents"] = s.incidents ? s.incidents->size() : 0;
    ordered_json checks = ordered_json::array();
    for (const CheckState& c : s.checks) {
        const Status st = c.effective();
        const Shown numbers = shown(c, now, trusted);
        const Said words = said(c, trusted);
        const Chart trend = chart(c, s.published);
        ordered_json runs = ordered_json::array();
        float slowest = 0;
        for (const HistoryEntry& h : c.history)
            slowest = std::max(slowest, h.duration_seconds);
        for (const HistoryEntry& h : c.history) {
            runs.push_back(
                {slowest > 0 ? 2 + static_cast<int>(14 * h.duration_seconds / slowest) : 2,
                 status_color(h.status)});
        }
        std::string more;
        for (const std::string& line : numbers.more)
            more += line + "\n";
        checks.push_back(
            {{"name", c.name},
             {"status", status_name(st)},
             {"badge", std::string(status_name(st)) + (c.stale ? " (stale)" : "") +
                           (c.blocked_by.empty() ? "" : " (blocked by " + c.blocked_by + ")")},
             {"color", status_color(st)},
             {"since", ago(c.since, s.published)},
             {"reason", words.reason},
             {"headline", c.has_run() ? numbers.headline : "not run yet"},
             {"message", words.message},
             {"more_count", std::to_string(numbers.more.size())},
             {"more", more},
             {"trend_points", trend.points},
             {"trend_label", trend.label},
             {"runs", runs}});
    }
    out["checks"] = checks;
    return out.dump();
}

}  // namespace vitals
