// The status page's sections around its rows: the fleet panel, the pod line, the recent
// changes with what every check showed then.
#include <algorithm>

#include "sidecar/http/page_parts.hpp"
#include "sidecar/http/render.hpp"
#include "sidecar/log.hpp"

namespace vitals::page {

std::optional<FleetRows> fleet_rows(const Snapshot& s, bool trusted) {
    if (!trusted) return std::nullopt;
    for (const CheckState& c : s.checks) {
        if (!c.has_run() || !c.last->details.is_object()) continue;
        const auto pods = c.last->details.find("pods");
        if (pods == c.last->details.end() || !pods->is_array()) continue;
        FleetRows out;
        out.from = c.name;
        for (const auto& p : *pods) {
            if (!p.is_object()) continue;
            std::string failing;
            if (const auto f = p.find("failing"); f != p.end() && f->is_array())
                for (const auto& name : *f)
                    if (name.is_string())
                        failing += (failing.empty() ? "" : ", ") + name.get<std::string>();
            const auto yes = [&](const char* key) {
                const auto it = p.find(key);
                return it != p.end() && it->is_boolean() && it->get<bool>() ? "yes" : "NO";
            };
            out.rows.push_back({text_in(p, "pod"), text_in(p, "fleet"), yes("ready"), yes("live"),
                                text_in(p, "app_version"), failing});
        }
        out.note = text_in(c.last->details, "app_versions");
        if (!out.note.empty()) out.note = "app versions differ: " + out.note;
        return out;
    }
    return std::nullopt;
}

std::string fleet_html(const Snapshot& s, bool trusted) {
    const auto fleet = fleet_rows(s, trusted);
    if (!fleet) return "";
    std::string html =
        "<section id=\"fleet\"><h2>Fleet <small>(" + std::to_string(fleet->rows.size()) +
        " pods, seen by check " + escape_html(fleet->from) +
        ")</small></h2><p id=\"fleet-note\" class=\"reason\">" + escape_html(fleet->note) +
        "</p><div class=\"scroll\"><table><thead><tr><th>pod</th><th>fleet</th>"
        "<th>ready</th><th>live</th><th>app</th><th>failing</th></tr></thead>"
        "<tbody id=\"fleet-rows\">";
    for (const auto& row : fleet->rows) {
        html += "<tr>";
        for (const std::string& cell : row)
            html += "<td>" + escape_html(cell) + "</td>";
        html += "</tr>";
    }
    return html + "</tbody></table></div></section>";
}

// "pod web-7d9f-x2 · namespace shop · node pool-1-a · app 1.4.2": who answered.
std::string identity_html(const PodIdentity& id) {
    std::string out;
    for (const auto& [label, value] : {std::pair<const char*, const std::string*>{"pod", &id.pod},
                                       {"namespace", &id.namespace_},
                                       {"node", &id.node},
                                       {"app", &id.app_version}}) {
        if (value->empty()) continue;
        out += std::string(out.empty() ? "" : " &middot; ") + label + " <b id=\"id-" + label +
               "\">" + escape_html(*value) + "</b>";
    }
    return out;
}

// The last transitions, each with what every check showed at that moment.
std::string incidents_html(const Snapshot& s, bool trusted) {
    constexpr std::size_t kShown = 6;
    if (!s.incidents || s.incidents->empty()) return "";
    const double now = unix_seconds(s.published);
    std::string html =
        "<h2>Recent changes</h2><p><small>the last " + std::to_string(kShown) + " of " +
        std::to_string(kIncidentsKept) +
        " kept; all at <a href=\"/health/history\">/health/history</a></small></p>"
        "<div class=\"scroll\"><table>"
        "<tr><th>at</th><th>check</th><th>change</th><th>what every check showed</th></tr>";
    for (std::size_t i = 0; i < s.incidents->size() && i < kShown; ++i) {
        const Incident& incident = (*s.incidents)[i];
        html += "<tr class=\"incident\" data-check=\"" + escape_html(incident.check) + "\"><td>" +
                format_timestamp(incident.at) + "</td><td><b>" + escape_html(incident.check) +
                "</b></td><td>" + status_badge(incident.from, status_name(incident.from)) +
                " &rarr; " + status_badge(incident.to, status_name(incident.to)) +
                "</td><td><details><summary>" + std::to_string(incident.checks.size()) +
                " checks</summary><table>";
        for (const Incident::Seen& seen : incident.checks) {
            html += "<tr><td>" + escape_html(seen.name) + "</td><td>" +
                    status_badge(seen.status, status_name(seen.status)) + "</td><td>";
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
    return html + "</table></div>";
}

}  // namespace vitals::page
