// vitals' own settings and the settings every check has, each declared once: the tables,
// --list-settings, the docs and load_config all read these members. Private to config/.
#pragma once

#include <string>
#include <vector>

#include "sidecar/core/settings.hpp"

namespace vitals {

// vitals' own settings, each declared once: the table lists them, load_config reads through them.
struct ServerSettings {
    Setting listen = Setting::of("listen", SettingType::string,
                                 "address:port the HTTP server listens on ([::]:8686 for IPv6)")
                         .defaults("0.0.0.0:8686")
                         .env("VITALS_LISTEN");
    Setting trusted = Setting::of("trusted", SettingType::string_list,
                                  "networks (CIDR) whose requests see error text and details")
                          .defaults(nlohmann::json::array({"127.0.0.1/32", "::1/128"}))
                          .env("VITALS_TRUSTED");
    Setting detail_token =
        Setting::of("detail_token", SettingType::string,
                    "when set, only requests with Authorization: Bearer <token> see details, "
                    "whatever their address (meshes where every caller is loopback)")
            .defaults("")
            .env("VITALS_DETAIL_TOKEN")
            .secret();
    Setting state_dir =
        Setting::of("state_dir", SettingType::string,
                    "directory for state that survives restarts (heartbeats); empty: memory only")
            .defaults("")
            .env("VITALS_STATE_DIR");
    Setting max_connections =
        Setting::of("max_connections", SettingType::integer,
                    "connections served at once, loopback and the rest each, a quarter from one "
                    "address; one more gets 503 and is closed, except on the probe paths")
            .defaults(1024)
            .range(16, 65536)
            .env("VITALS_MAX_CONNECTIONS");
    Setting keepalive_timeout = Setting::of("keepalive_timeout", SettingType::duration,
                                            "an idle keep-alive connection is closed after this")
                                    .defaults("10s")
                                    .range(1'000, 600'000)
                                    .env("VITALS_KEEPALIVE_TIMEOUT");
    Setting header_timeout =
        Setting::of("header_timeout", SettingType::duration,
                    "a request whose headers have not arrived by then gets 408 and is closed")
            .defaults("5s")
            .range(100, 60'000)
            .env("VITALS_HEADER_TIMEOUT");
    Setting stall_after =
        Setting::of("stall_after", SettingType::duration,
                    "/vitalz, /livez, /readyz and /health fail when the scheduler has not "
                    "ticked for this long")
            .defaults("10s")
            .range(2'000, 600'000)
            .env("VITALS_STALL_AFTER");
    Setting http_threads =
        Setting::of(
            "http_threads", SettingType::integer,
            "HTTP worker threads (one serves at the library's ceiling; see bench/README.md)")
            .defaults(1)
            .range(1, 16)
            .env("VITALS_HTTP_THREADS");
    Setting heartbeat_redis =
        Setting::of(
            "heartbeat_redis", SettingType::string,
            "redis:// (or rediss://) URL where replicas share heartbeat state; default REDIS_URL; "
            "\"\" keeps it per replica")
            .env("VITALS_HEARTBEAT_REDIS_URL")
            .secret();
    Setting heartbeat_prefix =
        Setting::of("heartbeat_prefix", SettingType::string, "key prefix of shared heartbeat state")
            .defaults("vitals:heartbeat:")
            .env("VITALS_HEARTBEAT_PREFIX");
    Setting fleet_redis =
        Setting::of("fleet_redis", SettingType::string,
                    "redis:// (or rediss://) URL where the pods of a fleet share the runs of "
                    "checks about shared dependencies; default heartbeat_redis's (REDIS_URL); "
                    "\"\" runs every check in every pod")
            .env("VITALS_FLEET_REDIS_URL")
            .secret();
    Setting fleet = Setting::of("fleet", SettingType::string,
                                "the fleet's name (pods of one name share runs); default from "
                                "the pod's name: web-7d9f8b6c4-x2x9z is web, worker-3 is worker")
                        .env("VITALS_FLEET");
    SettingsTable table() const {
        return {listen,
                trusted,
                detail_token,
                state_dir,
                max_connections,
                keepalive_timeout,
                header_timeout,
                stall_after,
                http_threads,
                heartbeat_redis,
                heartbeat_prefix,
                fleet_redis,
                fleet};
    }
};

const ServerSettings& own_settings();

// The settings every check has (policy), declared once.
struct CommonCheckSettings {
    Setting kind = Setting::of("kind", SettingType::string, "the check kind").required();
    Setting enabled = Setting::of("enabled", SettingType::boolean,
                                  "false drops the check (also one added from the environment)")
                          .defaults(true);
    Setting interval =
        Setting::of("interval", SettingType::duration, "time between the starts of two runs")
            .defaults("10s")
            .range(100, 86'400'000);
    Setting timeout = Setting::of("timeout", SettingType::duration,
                                  "deadline of one run; a run past it is a failure")
                          .defaults("3s")
                          .range(10, 600'000);
    Setting jitter = Setting::of("jitter", SettingType::number,
                                 "fraction by which each interval varies, either way")
                         .defaults(0.1)
                         .range(0, 0.5);
    Setting groups =
        Setting::of("groups", SettingType::string_list, "probes the check counts for: live, ready")
            .defaults(nlohmann::json::array())
            .choices({"live", "ready"});
    Setting critical =
        Setting::of("critical", SettingType::boolean, "a failure makes /health answer 503")
            .defaults(true);
    Setting failure_threshold = Setting::of("failure_threshold", SettingType::integer,
                                            "consecutive failed runs before the status turns fail")
                                    .defaults(1)
                                    .range(1, 100);
    Setting success_threshold = Setting::of("success_threshold", SettingType::integer,
                                            "consecutive good runs before a failed check recovers")
                                    .defaults(1)
                                    .range(1, 100);
    Setting shared =
        Setting::of("shared", SettingType::boolean,
                    "run once per fleet and serve the result in every pod (default: true for "
                    "kinds about a shared dependency's state, see docs/fleets.md)");
    Setting depends_on =
        Setting::of("depends_on", SettingType::string,
                    "the check whose failure explains this one's (blocked_by); by default "
                    "derived from the hosts and ports the checks connect to");
    SettingsTable table() const {
        return {kind,     enabled,           interval,          timeout, jitter,    groups,
                critical, failure_threshold, success_threshold, shared,  depends_on};
    }
};

const CommonCheckSettings& policy_settings();

}  // namespace vitals
