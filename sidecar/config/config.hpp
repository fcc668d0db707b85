// Configuration: built-in defaults, then the JSON file (VITALS_CONFIG or --config), then
// VITALS_* environment variables; plus checks that kinds add from the environment Django
// already has (DATABASE_URL, ...). Every problem is collected; nothing stops at the first.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sidecar/config/trust.hpp"
#include "sidecar/core/identity.hpp"
#include "sidecar/core/policy.hpp"
#include "sidecar/core/registry.hpp"
#include "sidecar/core/settings.hpp"
#include "sidecar/url.hpp"

namespace vitals {

struct CheckConfig {
    std::string name;
    std::string kind;
    std::shared_ptr<const ObservationTable> observations;  // the kind's declarations
    std::string origin;                                    // the file, or "environment"
    CheckPolicy policy;
    nlohmann::json described;  // effective settings, secrets redacted
    std::unique_ptr<Check> check;
};

// A check the environment asked for that vitals cannot run (a URL scheme it does not speak):
// logged at start and listed by --check-config, never an error.
struct SkippedCheck {
    std::string name;
    std::string reason;  // never holds a password
};

struct Config {
    ListenAddress listen;
    TrustedNetworks trusted;
    std::string detail_token;  // empty: trust by address (and Host) only
    PodIdentity identity;      // which pod this is, from the downward API's variables
    std::map<std::string, KindReference> kinds;  // of the checks configured, by kind
    int http_threads = 1;
    std::size_t max_connections = 1024;
    Millis keepalive_timeout{10'000};
    Millis header_timeout{5'000};
    Millis stall_after{10'000};
    std::string state_dir;               // empty: heartbeat state lives in memory only
    std::optional<Url> heartbeat_redis;  // where replicas share heartbeat state
    std::optional<Url> fleet_redis;      // where a fleet's pods share runs; none: not shared
    std::string fleet;                   // the fleet's name; empty: from the pod's name
    std::set<std::string> expanded;      // values ${VAR} put in: masked wherever printed
    std::string heartbeat_prefix;
    std::string config_file;
    std::vector<CheckConfig> checks;
    std::vector<SkippedCheck> skipped;
    // How the kinds read the environment, by kind (see CheckKind::env_notes).
    std::vector<std::pair<std::string, EnvNote>> env_notes;

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
// Every setting there is, as Markdown: vitals' own, every check's, then each kind's
// (`vitals --list-settings`).
std::string settings_reference(const Registry& registry);

// `config_file` empty: no file. Never throws on bad input; look at `errors`.
ConfigLoad load_config(const Environment& env, const std::string& config_file,
                       const Registry& registry);
// The same, with the shared services check kinds may need (heartbeats).
ConfigLoad load_config(const Environment& env, const std::string& config_file,
                       const Registry& registry, const Services& services);

}  // namespace vitals
