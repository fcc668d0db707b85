#include "sidecar/heartbeat/codec.hpp"

#include "sidecar/text.hpp"

namespace vitals {

nlohmann::json to_json(const PingRecord& p) {
    nlohmann::json j = {{"at", p.at_ms}, {"kind", p.kind}};
    if (p.exit_status) j["exit_status"] = *p.exit_status;
    if (!p.run_id.empty()) j["rid"] = p.run_id;
    if (p.duration_seconds) j["duration_seconds"] = *p.duration_seconds;
    if (!p.first_line.empty()) j["line"] = p.first_line;
    return j;
}

nlohmann::json history_json(const std::vector<PingRecord>& history) {
    nlohmann::json list = nlohmann::json::array();
    for (const PingRecord& p : history)
        list.push_back(to_json(p));
    return list;
}

nlohmann::json to_json(const HeartbeatState& s) {
    nlohmann::json j = nlohmann::json::object();
    if (s.last_success_ms) j["last_success_ms"] = *s.last_success_ms;
    if (s.last_start_ms) j["last_start_ms"] = *s.last_start_ms;
    if (s.last_fail_ms) j["last_fail_ms"] = *s.last_fail_ms;
    if (!s.fail_message.empty()) j["fail_message"] = s.fail_message;
    if (s.last_duration_seconds) j["last_duration_seconds"] = *s.last_duration_seconds;
    if (s.last_body_ms) j["last_body_ms"] = *s.last_body_ms;
    if (!s.last_body.empty()) j["last_body"] = s.last_body;
    if (s.last_exit_status) j["last_exit_status"] = *s.last_exit_status;
    if (s.last_log_ms) j["last_log_ms"] = *s.last_log_ms;
    if (!s.runs.empty()) j["runs"] = s.runs;
    if (!s.ended.empty()) j["ended"] = s.ended;
    if (!s.history.empty()) j["history"] = history_json(s.history);
    return j;
}

std::map<std::string, std::int64_t> runs_from_json(const nlohmann::json& j) {
    std::vector<std::pair<std::string, std::int64_t>> runs;
    if (!j.is_object()) return {};
    for (const auto& run : j.items())
        if (run.value().is_number_integer() && !run.key().empty() &&
            run.key().size() <= kHeartbeatRunIdLimit)
            runs.emplace_back(run.key(), run.value().get<std::int64_t>());
    return newest_runs(std::move(runs));
}

std::vector<PingRecord> history_from_json(const nlohmann::json& list) {
    std::vector<PingRecord> out;
    if (!list.is_array()) return out;
    for (const auto& e : list) {
        if (!e.is_object()) continue;
        const auto at = e.find("at");
        const auto kind = e.find("kind");
        if (at == e.end() || !at->is_number() || kind == e.end() || !kind->is_string()) continue;
        // A time vitals could have written: Unix milliseconds, positive and before the year
        // 33658 (1e15); anything else (1.8e20 from a forged file) would not fit an int64.
        const double at_ms = at->get<double>();
        if (!(at_ms >= 0 && at_ms < 1e15)) continue;
        PingRecord p;
        p.at_ms = static_cast<std::int64_t>(at_ms);
        p.kind = kind->get<std::string>();
        if (const auto x = e.find("exit_status"); x != e.end() && x->is_number_integer() &&
                                                  x->get<std::int64_t>() >= 0 &&
                                                  x->get<std::int64_t>() <= 255)
            p.exit_status = x->get<int>();
        if (const auto x = e.find("rid");
            x != e.end() && x->is_string() && x->size() <= kHeartbeatRunIdLimit)
            p.run_id = x->get<std::string>();
        if (const auto x = e.find("duration_seconds"); x != e.end() && x->is_number())
            p.duration_seconds = x->get<double>();
        if (const auto x = e.find("line"); x != e.end() && x->is_string())
            p.first_line = clip_utf8(x->get_ref<const std::string&>(), kHeartbeatHistoryLine);
        out.push_back(std::move(p));
    }
    // The newest kHeartbeatHistory, so that no merge after this sees more.
    keep_newest_pings(out);
    return out;
}

HeartbeatState state_from_json(const nlohmann::json& j) {
    HeartbeatState s;
    const auto stamp = [&](const char* key) -> std::optional<std::int64_t> {
        const auto it = j.find(key);
        if (it == j.end() || !it->is_number_integer()) return std::nullopt;
        return it->get<std::int64_t>();
    };
    s.last_success_ms = stamp("last_success_ms");
    s.last_start_ms = stamp("last_start_ms");
    s.last_fail_ms = stamp("last_fail_ms");
    if (const auto it = j.find("fail_message"); it != j.end() && it->is_string())
        s.fail_message = it->get<std::string>();
    if (const auto it = j.find("last_duration_seconds"); it != j.end() && it->is_number())
        s.last_duration_seconds = it->get<double>();
    s.last_body_ms = stamp("last_body_ms");
    s.last_log_ms = stamp("last_log_ms");
    if (const auto it = j.find("last_body"); it != j.end() && it->is_string())
        s.last_body = it->get<std::string>();
    if (const auto exit = stamp("last_exit_status")) s.last_exit_status = static_cast<int>(*exit);
    if (const auto it = j.find("runs"); it != j.end()) s.runs = runs_from_json(*it);
    if (const auto it = j.find("ended"); it != j.end()) s.ended = runs_from_json(*it);
    if (const auto it = j.find("history"); it != j.end()) s.history = history_from_json(*it);
    return s;
}

}  // namespace vitals
