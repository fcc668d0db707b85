// The status page at "/", for the engineer with 30 seconds after a `kubectl port-forward`:
// which pod this is, what is broken (failing rows first, then warnings, then the rest), since
// when and what it blocks; every check's key numbers, a chart of the last hour; a filter;
// everything else folded. Server-rendered with no external assets; /page.js then updates it
// in place from /page.json every 5 s and says so when vitals stops answering (CSP:
// script-src 'self'). Its parts: page_parts.hpp.
#include <algorithm>

#include "sidecar/core/probes.hpp"
#include "sidecar/http/page_parts.hpp"
#include "sidecar/http/render.hpp"
#include "sidecar/log.hpp"

namespace vitals {

namespace {

using nlohmann::ordered_json;
using namespace page;

// What a check's badge says: its status, and whether it is stale or blocked by another.
std::string badge_text(const CheckState& c) {
    return std::string(status_name(c.effective())) + (c.stale ? " (stale)" : "") +
           (c.blocked_by.empty() ? "" : " (blocked by " + c.blocked_by + ")");
}

// Failing rows first, then warnings, then the rest, each in configuration order; a check
// blocked by another's failure right under its root (roots.hpp), not among the roots.
std::vector<const CheckState*> in_page_order(const std::vector<CheckState>& checks) {
    std::vector<const CheckState*> ranked;
    ranked.reserve(checks.size());
    for (const CheckState& c : checks)
        ranked.push_back(&c);
    const auto rank = [](const CheckState* c) {
        const Status s = c->effective();
        return s == Status::fail ? 0 : s == Status::warn ? 1 : 2;
    };
    std::stable_sort(ranked.begin(), ranked.end(),
                     [&](const CheckState* a, const CheckState* b) { return rank(a) < rank(b); });
    const auto is_root = [&](const std::string& name) {
        return std::any_of(checks.begin(), checks.end(),
                           [&](const CheckState& c) { return c.name == name; });
    };
    std::vector<const CheckState*> out;
    out.reserve(checks.size());
    for (const CheckState* c : ranked) {
        if (!c->blocked_by.empty() && is_root(c->blocked_by)) continue;  // under its root
        out.push_back(c);
        for (const CheckState* blocked : ranked)
            if (blocked->blocked_by == c->name) out.push_back(blocked);
    }
    return out;
}

// "2 failing · 1 warning · 13 ok"
std::string counts_text(const std::vector<CheckState>& checks) {
    int fail = 0, warn = 0, ok = 0, other = 0;
    for (const CheckState& c : checks) {
        switch (c.effective()) {
            case Status::fail:
                ++fail;
                break;
            case Status::warn:
                ++warn;
                break;
            case Status::ok:
                ++ok;
                break;
            case Status::unknown:
                ++other;
                break;
        }
    }
    std::string out;
    const auto add = [&](int n, const char* what) {
        if (n > 0) out += (out.empty() ? "" : " \u00b7 ") + std::to_string(n) + " " + what;
    };
    add(fail, "failing");
    add(warn, warn == 1 ? "warning" : "warnings");
    add(ok, "ok");
    add(other, "not run yet");
    return out.empty() ? "no checks" : out;
}

// The probes a check counts for, and whether it decides /health: the row's group badges.
std::vector<const char*> group_names(const CheckState& c) {
    std::vector<const char*> out;
    if (c.policy.groups & kGroupLive) out.push_back("live");
    if (c.policy.groups & kGroupReady) out.push_back("ready");
    if (c.policy.critical) out.push_back("critical");
    return out;
}

// "since 3 min ago" for a past moment, relative to the publication.
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

std::string headline_of(const CheckState& c, const Shown& numbers) {
    if (!c.has_run()) return "not run yet";
    return numbers.headline;
}

std::string check_row(const CheckState& c, const Snapshot& s, bool trusted) {
    const double now = unix_seconds(s.published);
    const Status st = c.effective();
    const Shown numbers = shown(c, now, trusted);
    const Said words = said(c, trusted);
    const Chart trend = chart(c, s.published);
    std::string html =
        "<tr class=\"check\" data-check=\"" + escape_html(c.name) + "\" data-status=\"" +
        std::string(status_name(st)) + "\"" +
        (c.blocked_by.empty() ? "" : " data-root=\"" + escape_html(c.blocked_by) + "\"") +
        "><td><a class=\"name\" href=\"/health/" + escape_html(c.name) +
        "\" title=\"this check as JSON\"><b>" + escape_html(c.name) +
        "</b></a><br><small><a class=\"kind\" href=\"/kinds/" + escape_html(c.kind) +
        "\" title=\"what this kind checks\">" + escape_html(c.kind) +
        "</a></small><div class=\"groups\">";
    for (const char* group : group_names(c))
        html += std::string("<span class=\"grp\">") + group + "</span>";
    html += "</div></td><td>" + status_badge(st, badge_text(c)) + "<br><small class=\"since\">" +
            escape_html(ago(c.since, s.published)) + "</small></td>";
    html += "<td><div class=\"reason\">" + escape_html(words.reason) +
            "</div><div class=\"head\">" + escape_html(headline_of(c, numbers)) +
            "</div><div class=\"msg\">" + escape_html(words.message) +
            "</div><details class=\"more\"" + (numbers.more.empty() ? " hidden" : "") +
            "><summary><span class=\"more-count\">" + std::to_string(numbers.more.size()) +
            "</span> more</summary><div class=\"obs\">";
    for (const std::string& line : numbers.more)
        html += escape_html(line) + "\n";
    html += "</div></details></td><td class=\"charts\"><svg class=\"trend\" width=\"" +
            std::to_string(kChartWidth) + "\" height=\"" + std::to_string(kChartHeight) +
            "\" role=\"img\"><polyline points=\"" + trend.points +
            "\"/></svg><small class=\"trend-label\">" + escape_html(trend.label) + "</small>" +
            sparkline(c) + "</td></tr>";
    return html;
}

}  // namespace

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

std::string render_page(const Snapshot& s, bool trusted, const PageContext& context) {
    const Status overall = overall_health(s.checks);
    const std::string where = trusted ? context.identity.pod : "";
    std::string html =
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta name=\"color-scheme\" content=\"light dark\"><title>vitals: ";
    html += status_name(overall);
    if (!where.empty()) html += " \u00b7 " + escape_html(where);
    html += "</title><style>" + std::string(page_style()) +
            "</style></head><body data-updates=\"0\" data-incidents=\"" +
            std::to_string(s.incidents ? s.incidents->size() : 0) + "\">";
    html +=
        "<div id=\"disconnected\" role=\"alert\" hidden>disconnected: vitals has not answered "
        "for <span id=\"disconnected-for\">0 s</span>; last update <span "
        "id=\"last-update\"></span>. What follows is that update's state.</div>";
    html += "<h1>vitals <span id=\"overall\" class=\"st " + std::string(status_name(overall)) +
            "\">" + std::string(status_name(overall)) + "</span>" +
            (where.empty() ? "" : " <span class=\"where\">" + escape_html(where) + "</span>") +
            "</h1>";
    const std::string identity = trusted ? identity_html(context.identity) : "";
    if (!identity.empty()) html += "<p class=\"identity\">" + identity + "</p>";
    html += "<p><b id=\"probes\">" + probes_text(s) + "</b> &nbsp; updated <span id=\"updated\">" +
            format_timestamp(s.published) + "</span> &middot; vitals " VITALS_VERSION;
    if (!trusted) html += " &middot; details are shown to trusted networks only";
    html += "</p>" + fleet_html(s, trusted);
    html +=
        "<p class=\"tools\"><input id=\"filter\" type=\"search\" placeholder=\"filter: name, "
        "kind, status, group, message\" aria-label=\"filter checks\"> <span id=\"counts\">" +
        counts_text(s.checks) +
        "</span></p><table class=\"checks\"><thead><tr><th>check</th><th>status</th><th>now</th>"
        "<th class=\"charts\">last hour</th></tr></thead><tbody id=\"rows\">";
    for (const CheckState* c : in_page_order(s.checks))
        html += check_row(*c, s, trusted);
    html += "</tbody></table><p id=\"no-match\" hidden>no check matches the filter</p>" +
            incidents_html(s, trusted) + "<script src=\"/page.js\"></script></body></html>\n";
    return html;
}

std::string render_page_json(const Snapshot& s, bool trusted) {
    const Status overall = overall_health(s.checks);
    const double now = unix_seconds(s.published);
    ordered_json out;
    out["status"] = status_name(overall);
    out["probes"] = probes_text(s);
    out["updated"] = format_timestamp(s.published);
    out["counts"] = counts_text(s.checks);
    out["incidents"] = s.incidents ? s.incidents->size() : 0;
    if (const auto fleet = fleet_rows(s, trusted)) {
        ordered_json rows = ordered_json::array();
        for (const auto& row : fleet->rows)
            rows.push_back(row);
        out["fleet"] = {{"rows", rows}, {"note", fleet->note}};
    }
    ordered_json checks = ordered_json::array();
    for (const CheckState* state : in_page_order(s.checks)) {
        const CheckState& c = *state;
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
        checks.push_back({{"name", c.name},
                          {"status", status_name(c.effective())},
                          {"badge", badge_text(c)},
                          {"root", c.blocked_by},
                          {"since", ago(c.since, s.published)},
                          {"reason", words.reason},
                          {"headline", headline_of(c, numbers)},
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
