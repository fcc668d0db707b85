// /kinds/<kind>: where the status page's kind links go. What the kind checks, every setting
// with its default, every metric, all from the kind's declarations (what docs/checks/<kind>.md's
// generated tables hold too), so the reference is there offline, through a port-forward.
#include "sidecar/http/render.hpp"

namespace vitals {

std::string render_kind_page(const std::string& kind, const KindReference& reference) {
    std::string html =
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta name=\"color-scheme\" content=\"light dark\"><title>vitals: the " +
        escape_html(kind) + " kind</title><style>" + std::string(page_style()) +
        "code{font:12px ui-monospace,monospace}</style></head><body><p><a href=\"/\">&larr; "
        "status</a></p><h1>" +
        escape_html(kind) + "</h1><p>" + escape_html(reference.summary) +
        "</p><p>The whole text, with when it fails and what it costs a fleet: "
        "<code>docs/checks/" +
        escape_html(kind) +
        ".md</code> in vitals' source.</p><h2>Settings</h2><div class=\"scroll\"><table>"
        "<tr><th>setting</th><th>type</th><th>default</th><th>meaning</th></tr>";
    for (const Setting& s : reference.settings) {
        html += "<tr><td><code>" + escape_html(s.key) + "</code></td><td>" +
                escape_html(setting_type_text(s)) + "</td><td>" +
                escape_html(setting_default_text(s)) + "</td><td>" + escape_html(s.help) +
                "</td></tr>";
    }
    html +=
        "</table></div><h2>Metrics</h2><div class=\"scroll\"><table><tr><th>metric</th>"
        "<th>type</th><th>meaning</th></tr>";
    if (reference.observations) {
        for (const ObservationSpec& o : *reference.observations) {
            html += "<tr><td><code>vitals_" + escape_html(kind) + "_" + escape_html(o.name) +
                    "</code></td><td>" + std::string(metric_type_name(o.type)) + "</td><td>" +
                    escape_html(o.help) + "</td></tr>";
        }
    }
    return html + "</table></div></body></html>\n";
}

const Response& kind_page(const Rendered& pages, std::string_view kind) {
    static const Response none{404,
                               "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                               "<title>vitals: no such kind</title></head><body><p>No check of "
                               "that kind is configured here. <a href=\"/\">Status</a></p>"
                               "</body></html>\n"};
    if (!pages.kind_pages) return none;
    const auto it = pages.kind_pages->find(kind);
    return it == pages.kind_pages->end() ? none : it->second;
}

}  // namespace vitals
