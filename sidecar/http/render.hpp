// Turns a snapshot into every response body, once per publication, so that handlers only
// pick a prepared string. Untrusted variants carry statuses and numbers, never message text,
// details or host names.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sidecar/core/identity.hpp"
#include "sidecar/core/registry.hpp"
#include "sidecar/core/snapshot.hpp"

namespace vitals {

// A finished HTTP answer.
struct Response {
    int code = 200;
    std::string body;
};

// What the pages say besides the snapshot: which pod this is (trusted callers only), and the
// kinds configured, each with a reference page.
struct PageContext {
    PodIdentity identity;
    std::map<std::string, KindReference> kinds;
};

using KindPages = std::map<std::string, Response, std::less<>>;

// Every body, rendered once per publication; `trusted` variants carry messages and details.
struct Rendered {
    Response livez, readyz, startupz;
    Response health_public, health_trusted;
    Response metrics;
    Response page_public, page_trusted;
    Response page_json_public, page_json_trusted;  // what /page.js updates the page from
    Response history_public, history_trusted;
    std::map<std::string, std::pair<Response, Response>, std::less<>>
        check_detail;  // public, trusted
    // The incident list the history bodies were rendered from (unchanged: reused).
    std::shared_ptr<const std::vector<Incident>> incidents;
    // /kinds/<kind>: rendered with the first publication, then reused.
    std::shared_ptr<const KindPages> kind_pages;
};

// Renders every body of `snapshot`; what has not changed since `previous` (the incident
// history, the kind pages) is taken from it rather than rendered again.
Rendered render(const Snapshot& snapshot, const Rendered* previous = nullptr,
                const PageContext& context = {});

// Pieces, exposed for tests and for the other renderers.
nlohmann::ordered_json check_json(const CheckState& check, bool trusted, bool with_history);
std::string render_metrics(const Snapshot& snapshot);

// Every family the kinds in `registry` declare, as Markdown table rows:
// | `vitals_redis_used_memory_bytes` | gauge | `check` | Memory Redis uses ... |
std::string describe_metrics(const Registry& registry);
std::string render_page(const Snapshot& snapshot, bool trusted, const PageContext& context = {});
std::string render_page_json(const Snapshot& snapshot, bool trusted);
// /kinds/<kind>: what a kind checks, its settings and its metrics, from its declarations.
std::string render_kind_page(const std::string& kind, const KindReference& reference);
// The page of `kind` among `pages`, or a 404 page when no check of that kind is configured.
const Response& kind_page(const Rendered& pages, std::string_view kind);
// The same escaping the page uses, for the kind pages.
std::string escape_html(std::string_view text);
// /page.js: updates the page in place from /page.json; and the page's style sheet.
const std::string& page_script();
const char* page_style();
// A value as a person reads it, by its unit: "2.2 ms", "8.7 MB", "62 %", "in 60 days",
// "3 min ago" (timestamps relative to `now_unix`), "yes".
std::string format_value(double value, Unit unit, double now_unix);

// JSON as every body is written: two-space indent, so `"status": "ok"` has its space.
std::string json_text(const nlohmann::ordered_json& j);

}  // namespace vitals
