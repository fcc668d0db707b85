#include "sidecar/http/render.hpp"

#include <algorithm>

#include "sidecar/core/probes.hpp"
#include "sidecar/log.hpp"

namespace vitals {

namespace {

using nlohmann::ordered_json;

// Observations keyed as "name" or "name.label_value"; a histogram's buckets are left to
// /metrics.
ordered_json observations_json(const CheckResult& r) {
    ordered_json obs = ordered_json::object();
    for (const Observation& o : r.observations)
        if (!is_histogram_part(o)) obs[o.key()] = o.value;
    return obs;
}

ordered_json groups_json(std::uint8_t groups) {
    ordered_json out = ordered_json::array();
    if (groups & kGroupLive) out.push_back("live");
    if (groups & kGroupReady) out.push_back("ready");
    return out;
}

Response probe_response(const ProbeVerdict& v, const char* waiting_key) {
    ordered_json body;
    body["status"] = v.pass ? "ok" : "fail";
    if (!v.pass) body[waiting_key] = v.failing;
    return {v.pass ? 200 : 503, json_text(body)};
}

ordered_json pod_json(const PodIdentity& id) {
    ordered_json out = ordered_json::object();
    for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"name", &id.pod},
                                     {"namespace", &id.namespace_},
                                     {"node", &id.node},
                                     {"app_version", &id.app_version}})
        if (!value->empty()) out[key] = *value;
    return out;
}

Response health_response(const Snapshot& s, bool trusted, const PodIdentity& identity) {
    const Status overall = overall_health(s.checks);
    ordered_json body;
    body["status"] = status_name(overall);
    body["version"] = VITALS_VERSION;
    body["started"] = format_timestamp(s.started);
    if (trusted && !identity.empty()) body["pod"] = pod_json(identity);
    // A liveness probe that cannot fail replaces the app's own probe with nothing: said.
    const bool any_live = std::any_of(s.checks.begin(), s.checks.end(), [](const CheckState& c) {
        return (c.policy.groups & kGroupLive) != 0;
    });
    if (const auto why = unfailable_probes(s.checks.size(), any_live))
        body["warnings"] = ordered_json::array({*why});
    body["checks"] = ordered_json::object();
    for (const CheckState& c : s.checks)
        body["checks"][c.name] = check_json(c, trusted, false);
    return {overall == Status::fail ? 503 : 200, json_text(body)};
}

Response detail_response(const CheckState& c, bool trusted) {
    ordered_json body;
    body["name"] = c.name;
    const ordered_json fields = check_json(c, trusted, true);
    for (const auto& item : fields.items())
        body[item.key()] = item.value();
    return {check_passes(c) ? 200 : 503, json_text(body)};
}

std::string clipped(const std::string& text, std::size_t limit) {
    if (text.size() <= limit) return text;
    std::size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
        --cut;  // not inside a UTF-8 sequence
    return text.substr(0, cut) + "…";
}

Response history_response(const Snapshot& s, bool trusted) {
    ordered_json list = ordered_json::array();
    if (s.incidents) {
        for (const Incident& incident : *s.incidents) {
            ordered_json item;
            item["at"] = format_timestamp(incident.at);
            item["check"] = incident.check;
            item["from"] = status_name(incident.from);
            item["to"] = status_name(incident.to);
            ordered_json checks = ordered_json::object();
            for (const Incident::Seen& seen : incident.checks) {
                ordered_json c;
                c["status"] = status_name(seen.status);
                if (seen.last) {
                    if (trusted && !seen.last->message.empty())
                        c["message"] = clipped(seen.last->message, 300);
                    c["observations"] = observations_json(*seen.last);
                }
                if (seen.name == incident.check && c.contains("message"))
                    item["message"] = c["message"];
                checks[seen.name] = c;
            }
            item["checks"] = checks;
            list.push_back(item);
        }
    }
    ordered_json body;
    body["kept"] = kIncidentsKept;
    body["incidents"] = list;
    return {200, json_text(body)};
}

}  // namespace

std::string json_text(const ordered_json& j) {
    return j.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

ordered_json check_json(const CheckState& c, bool trusted, bool with_history) {
    ordered_json out;
    out["status"] = status_name(c.effective());
    out["kind"] = c.kind;
    out["groups"] = groups_json(c.policy.groups);
    out["critical"] = c.policy.critical;
    out["stale"] = c.stale;
    if (!c.blocked_by.empty()) out["blocked_by"] = c.blocked_by;
    if (c.since) out["since"] = format_timestamp(*c.since);
    if (c.last_run) out["last_run"] = format_timestamp(*c.last_run);
    if (c.last_success) out["last_success"] = format_timestamp(*c.last_success);
    if (c.has_run()) {
        out["duration_seconds"] = c.last_duration_seconds;
        out["timed_out"] = c.last_timed_out;
        if (trusted && !c.last->message.empty()) out["message"] = c.last->message;
        out["observations"] = observations_json(*c.last);
        if (trusted && !c.last->details.is_null()) out["details"] = ordered_json(c.last->details);
    }
    if (with_history) {
        out["interval_seconds"] = to_seconds(c.policy.interval);
        out["timeout_seconds"] = to_seconds(c.policy.timeout);
        out["failure_threshold"] = c.policy.failure_threshold;
        out["success_threshold"] = c.policy.success_threshold;
        out["consecutive_failures"] = c.consecutive_failures;
        ordered_json runs;
        for (std::size_t i = 0; i < kRunOutcomes; ++i)
            runs[std::string(outcome_name(static_cast<RunOutcome>(i)))] = c.runs[i];
        out["runs"] = runs;
        ordered_json history = ordered_json::array();
        for (const HistoryEntry& h : c.history) {
            history.push_back({{"at_unix_ms", h.at_unix_ms},
                               {"status", status_name(h.status)},
                               {"duration_seconds", h.duration_seconds}});
        }
        out["history"] = history;
    }
    return out;
}

Rendered render(const Snapshot& s, const Rendered* previous, const PageContext& context) {
    Rendered r;
    r.incidents = s.incidents;
    if (previous != nullptr && previous->kind_pages) {
        r.kind_pages = previous->kind_pages;
    } else {
        auto pages = std::make_shared<KindPages>();
        for (const auto& [kind, reference] : context.kinds)
            pages->emplace(kind, Response{200, render_kind_page(kind, reference)});
        r.kind_pages = std::move(pages);
    }
    if (previous != nullptr && previous->incidents == s.incidents &&
        !previous->history_public.body.empty()) {
        r.history_public = previous->history_public;
        r.history_trusted = previous->history_trusted;
    } else {
        r.history_public = history_response(s, false);
        r.history_trusted = history_response(s, true);
    }
    r.livez = probe_response(evaluate(Probe::live, s.checks), "failing");
    r.readyz = probe_response(evaluate(Probe::ready, s.checks), "failing");
    r.startupz = probe_response(evaluate(Probe::startup, s.checks), "waiting");
    r.health_public = health_response(s, false, context.identity);
    r.health_trusted = health_response(s, true, context.identity);
    r.metrics = {200, render_metrics(s)};
    r.page_public = {200, render_page(s, false, context)};
    r.page_trusted = {200, render_page(s, true, context)};
    r.page_json_public = {200, render_page_json(s, false)};
    r.page_json_trusted = {200, render_page_json(s, true)};
    r.check_detail.clear();
    for (const CheckState& c : s.checks) {
        r.check_detail.emplace(c.name,
                               std::make_pair(detail_response(c, false), detail_response(c, true)));
    }
    return r;
}

}  // namespace vitals
