// Configuration: built-in defaults, then the JSON file (VITALS_CONFIG or --config), then
// VITALS_* environment variables; plus checks that kinds add from the environment Django
// already has (DATABASE_URL, ...). Every problem is collected; nothing stops at the first.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sidecar/registry.hpp"
#include "sidecar/settings.hpp"
#include "sidecar/trust.hpp"
#include "sidecar/url.hpp"

namespace vitals {

// Probe groups a check counts for. Startup is derived: every ready check has run once.
enum Group : std::uint8_t { kGroupLive = 1, kGroupReady = 2 };

// Policy the scheduler and probes apply to a check; the check itself never sees it.
struct CheckPolicy {
    Millis interval{10'000};
    Millis timeout{3'000};
    double jitter = 0.1;  // each interval varies by up to this fraction, either way
    int failure_threshold = 1;
    int success_threshold = 1;
    std::uint8_t groups = 0;
    bool critical = true;  // a failure makes /health answer 503
};

struct CheckConfig {
    std::string name;
    std::string kind;
    std::string origin;  // the file, or "environment"
    CheckPolicy policy;
    nlohmann::json described;  // effective settings, secrets redacted
    std::unique_ptr<Check> check;
};

struct ListenAddress {
    std::string host;
    std::uint16_t port = 0;
    static std::optional<ListenAddress> parse(const std::string& text);
};

struct Config {
    ListenAddress listen;
    TrustedNetworks trusted;
    int http_threads = 2;
    std::string state_dir;               // empty: heartbeat state lives in memory only
    std::optional<Url> heartbeat_redis;  // where replicas share heartbeat state
    std::string heartbeat_prefix;
    std::string config_file;
    std::vector<CheckConfig> checks;

    // The effective configuration as --check-config prints it.
    nlohmann::json describe() const;
};

struct ConfigLoad {
    std::optional<Config> config;
    ConfigErrors errors;
};

// vitals' own settings (listen, trusted, http_threads) and the settings every check has.
const SettingsTable& server_settings();
const SettingsTable& common_check_settings();

// `config_file` empty: no file. Never throws on bad input; look at `errors`.
ConfigLoad load_config(const Environment& env, const std::string& config_file,
                       const Registry& registry);
// The same, with the shared services check kinds may need (heartbeats).
ConfigLoad load_config(const Environment& env, const std::string& config_file,
                       const Registry& registry, const Services& services);

}  // namespace vitals
