// What `vitals --check-config` prints: the configuration as vitals will run it, every secret
// redacted and every value that came from ${VAR} masked.
#include "sidecar/config/config.hpp"
#include "sidecar/config/expand.hpp"

namespace vitals {

using nlohmann::json;

json Config::describe() const {
    json out;
    std::string host =
        listen.host.find(':') != std::string::npos ? "[" + listen.host + "]" : listen.host;
    out["listen"] = host + ":" + std::to_string(listen.port);
    json trusted_list = json::array();
    for (const Cidr& c : trusted.networks())
        trusted_list.push_back(c.text);
    out["trusted"] = trusted_list;
    out["http_threads"] = http_threads;
    out["max_connections"] = max_connections;
    out["keepalive_timeout"] = format_duration(keepalive_timeout);
    out["header_timeout"] = format_duration(header_timeout);
    out["stall_after"] = format_duration(stall_after);
    out["state_dir"] = state_dir;
    out["heartbeat_redis"] = heartbeat_redis ? heartbeat_redis->redacted() : "";
    out["heartbeat_prefix"] = heartbeat_prefix;
    out["fleet_redis"] = fleet_redis ? fleet_redis->redacted() : "";
    out["fleet"] = fleet;
    out["skipped"] = json::object();
    for (const SkippedCheck& skip : skipped)
        out["skipped"][skip.name] = skip.reason;
    out["environment"] = json::array();
    for (const auto& [kind, note] : env_notes)
        out["environment"].push_back(
            {{"kind", kind}, {"note", note.text}, {"warning", note.warning}});
    out["checks"] = json::object();
    for (const CheckConfig& c : checks) {
        json entry = c.described;
        entry["origin"] = c.origin;
        entry["shared"] = c.policy.shared;
        out["checks"][c.name] = entry;
    }
    mask_expanded(out, expanded);
    return out;
}

}  // namespace vitals
