// The status page at "/": a person with `kubectl port-forward` sees every check, its numbers
// and its recent history. Server-rendered, no external assets, refreshes itself.
#include <algorithm>
#include <cstdio>

#include "sidecar/core/probes.hpp"
#include "sidecar/http/render.hpp"
#include "sidecar/log.hpp"

namespace vitals {

namespace {

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

std::string short_number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.4g", v);
    return buf;
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

// One bar per recent run: height is its duration relative to the slowest, colour its status.
std::string sparkline(const CheckState& c) {
    if (c.history.empty()) return "";
    float slowest = 0;
    for (const HistoryEntry& h : c.history)
        slowest = std::max(slowest, h.duration_seconds);
    std::string svg =
        "<svg width=\"" + std::to_string(kHistoryLength * 3) + "\" height=\"20\" role=\"img\">";
    int x = 0;
    for (const HistoryEntry& h : c.history) {
        const int height =
            slowest > 0 ? 2 + static_cast<int>(18 * h.duration_seconds / slowest) : 2;
        svg += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(20 - height) +
               "\" width=\"2\" height=\"" + std::to_string(height) + "\" fill=\"" +
               status_color(h.status) + "\"/>";
        x += 3;
    }
    return svg + "</svg>";
}

std::string status_badge(Status st, const char* suffix = "") {
    return "<span class=\"st\" style=\"background:" + std::string(status_color(st)) + "\">" +
           std::string(status_name(st)) + suffix + "</span>";
}

std::string observations_html(const CheckResult& r) {
    std::string html;
    for (const Observation& o : r.observations)
        if (!is_histogram_part(o))
            html += escape_html(o.key()) + " " + short_number(o.value) + "<br>";
    return html;
}

// The last transitions, each with what every check showed at that moment.
std::string incidents_html(const Snapshot& s, bool trusted) {
    constexpr std::size_t kShown = 6;
    if (!s.incidents || s.incidents->empty()) return "";
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
            html += "</td><td class=\"obs\">" + (seen.last ? observations_html(*seen.last) : "") +
                    "</td></tr>";
        }
        html += "</table></details></td></tr>";
    }
    return html + "</table>";
}

}  // namespace

std::string render_page(const Snapshot& s, bool trusted) {
    const Status overall = overall_health(s.checks);
    std::string html =
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"refresh\" content=\"5\"><title>vitals: ";
    html += status_name(overall);
    html +=
        "</title><style>"
        "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}"
        "table{border-collapse:collapse;width:100%}td,th{padding:.35em .6em;border-bottom:1px "
        "solid #ddd;"
        "text-align:left;vertical-align:top}.st{color:#fff;border-radius:3px;padding:.1em "
        ".5em;font-weight:600}"
        ".obs{font:12px ui-monospace,monospace;color:#444}.msg{color:#555}"
        "</style></head><body><h1>vitals <span class=\"st\" style=\"background:";
    html += status_color(overall);
    html += "\">" + std::string(status_name(overall)) + "</span></h1><p>";
    for (const auto& [name, probe] : {std::pair<const char*, Probe>{"live", Probe::live},
                                      {"ready", Probe::ready},
                                      {"startup", Probe::startup}}) {
        html += std::string(name) + ": <b>" + (evaluate(probe, s.checks).pass ? "pass" : "FAIL") +
                "</b> &nbsp; ";
    }
    html += "updated " + format_timestamp(s.published) + " &middot; version " VITALS_VERSION;
    if (!trusted) html += " &middot; details are shown to trusted networks only";
    html +=
        "</p><table><tr><th>check</th><th>status</th><th>since</th><th>last run</th><th>recent "
        "runs</th>"
        "<th>observations</th></tr>";
    for (const CheckState& c : s.checks) {
        const Status st = c.effective();
        html += "<tr class=\"check\" data-check=\"" + escape_html(c.name) + "\" data-status=\"" +
                std::string(status_name(st)) + "\"><td><b>" + escape_html(c.name) +
                "</b><br><small>" + escape_html(c.kind) + "</small></td>";
        html += "<td>" + status_badge(st, c.stale ? " (stale)" : "") + "</td>";
        html += "<td>" + (c.since ? format_timestamp(*c.since) : std::string("-")) + "</td><td>";
        if (c.has_run()) {
            html += short_number(c.last_duration_seconds * 1000) + " ms";
            if (trusted && !c.last->message.empty())
                html += "<br><span class=\"msg\">" + escape_html(c.last->message) + "</span>";
        } else {
            html += "not run yet";
        }
        html += "</td><td>" + sparkline(c) + "</td><td class=\"obs\">";
        if (c.has_run()) html += observations_html(*c.last);
        html += "</td></tr>";
    }
    html += "</table>" + incidents_html(s, trusted) + "</body></html>\n";
    return html;
}

}  // namespace vitals
