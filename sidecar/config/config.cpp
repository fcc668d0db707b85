#include "sidecar/config/config.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "sidecar/clients/redis_client.hpp"
#include "sidecar/config/declarations.hpp"
#include "sidecar/config/expand.hpp"
#include "sidecar/core/roots.hpp"
#include "sidecar/json.hpp"

namespace vitals {

namespace {

using nlohmann::json;

bool valid_check_name(const std::string& name) {
    if (name.empty() || name.size() > 63) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

std::uint8_t group_bits(const std::vector<std::string>& names) {
    std::uint8_t bits = 0;
    for (const auto& n : names) {
        if (n == "live") bits |= kGroupLive;
        if (n == "ready") bits |= kGroupReady;
    }
    return bits;
}

// The common table with the kind's default groups filled in.
SettingsTable check_table(const CheckKind& kind) {
    SettingsTable table = common_check_settings();
    for (Setting& s : table) {
        if (s.key == "groups") s.default_value = kind.default_groups;
        if (s.key == "interval" && !kind.default_interval.empty())
            s.default_value = kind.default_interval;
    }
    table.insert(table.end(), kind.settings.begin(), kind.settings.end());
    return table;
}

// Makes the check, with every setting its factory refuses reported (not only the first).
std::unique_ptr<Check> make_reporting_all(const CheckKind& kind, const CheckContext& ctx,
                                          const std::string& where, const std::string& pointer,
                                          ConfigErrors& errors) {
    SettingProblems problems;
    std::unique_ptr<Check> made;
    try {
        made = kind.make(
            CheckContext{ctx.name, ctx.params, ctx.env, ctx.services, &problems, ctx.policy});
    } catch (const SettingError& e) {
        problems.add(e.key(), e.what());
    }
    for (const auto& [key, message] : problems.items()) {
        std::string at = pointer;
        at.append("/").append(key);
        errors.push_back({where, std::move(at), message});
    }
    return problems.items().empty() ? std::move(made) : nullptr;
}

std::optional<CheckConfig> read_check(const std::string& name, const json& spec,
                                      const std::string& where, const std::string& pointer,
                                      const Environment& env, const Registry& registry,
                                      const Services& services, ConfigErrors& errors) {
    if (!valid_check_name(name)) {
        errors.push_back({where, pointer, "check name must match [a-z0-9_-]{1,63}"});
    } else if (name == "history") {
        errors.push_back({where, pointer, "\"history\" is taken by /health/history"});
    }
    if (!spec.is_object()) {
        errors.push_back({where, pointer, "must be a JSON object with at least \"kind\""});
        return std::nullopt;
    }
    const auto kind_it = spec.find("kind");
    if (kind_it == spec.end() || !kind_it->is_string()) {
        errors.push_back({where, pointer + "/kind", "is required: one of " + registry.names()});
        return std::nullopt;
    }
    const CheckKind* kind = registry.find(kind_it->get<std::string>());
    if (kind == nullptr) {
        errors.push_back({where, pointer + "/kind",
                          "unknown check kind \"" + kind_it->get<std::string>() +
                              "\" (known: " + registry.names() + ")"});
        return std::nullopt;
    }
    if (const auto enabled = spec.find("enabled"); enabled != spec.end() && *enabled == false) {
        return std::nullopt;  // switched off: the rest of its settings need not be complete
    }
    const SettingsTable table = check_table(*kind);
    const std::size_t errors_before = errors.size();
    Params params = read_settings(spec, table, where, pointer, errors);
    if (params.has(policy_settings().interval) && params.has(policy_settings().timeout) &&
        params.duration(policy_settings().timeout) > params.duration(policy_settings().interval)) {
        if (spec.contains("timeout")) {
            errors.push_back({where, pointer + "/timeout", "must not be longer than interval"});
        } else {
            // The default timeout shrinks to a short interval rather than reject it.
            json values = params.values();
            values["timeout"] = values["interval"];
            params = Params(std::move(values));
        }
    }
    if (errors.size() != errors_before) return std::nullopt;

    CheckConfig check;
    check.name = name;
    check.kind = kind->name;
    check.observations = std::make_shared<const ObservationTable>(kind->observations);
    check.origin = where;
    check.policy.interval = params.duration(policy_settings().interval);
    check.policy.timeout = params.duration(policy_settings().timeout);
    check.policy.jitter = params.number(policy_settings().jitter);
    check.policy.failure_threshold =
        static_cast<int>(params.integer(policy_settings().failure_threshold));
    check.policy.success_threshold =
        static_cast<int>(params.integer(policy_settings().success_threshold));
    check.policy.groups = group_bits(params.strings(policy_settings().groups));
    check.policy.critical = params.boolean(policy_settings().critical);
    // A check that counts for /livez is about this container (a worker pod's celery_workers
    // pings its own worker): another pod's result for it would restart the wrong pod.
    const bool live = (check.policy.groups & kGroupLive) != 0;
    check.policy.shared = params.has(policy_settings().shared)
                              ? params.boolean(policy_settings().shared)
                              : kind->about == About::shared && kind->fleet_shares_runs && !live;
    if (check.policy.shared && live) {
        errors.push_back({where, pointer + "/shared",
                          "a check in group live is about this container and is never shared"});
        return std::nullopt;
    }
    check.described = describe_settings(params, table);
    check.policy.depends.about = kind->about;
    check.policy.depends.explained_by = kind->explained_by;
    check.policy.depends.endpoints = endpoints_of(check.described);
    if (params.has(policy_settings().depends_on))
        check.policy.depends.on = params.str(policy_settings().depends_on);
    check.policy.share_parts =
        params.has(policy_settings().shared) ? params.boolean(policy_settings().shared) : !live;
    check.check =
        make_reporting_all(*kind, CheckContext{name, params, env, services, nullptr, &check.policy},
                           where, pointer, errors);
    if (!check.check) return std::nullopt;
    return check;
}

std::optional<json> read_file(const std::string& path, ConfigErrors& errors) {
    std::ifstream in(path);
    if (!in) {
        errors.push_back({path, "", "cannot read the configuration file"});
        return std::nullopt;
    }
    std::stringstream text;
    text << in.rdbuf();
    if (json_depth(text.str()) > kMaxJsonDepth) {
        errors.push_back({path, "",
                          "nests deeper than " + std::to_string(kMaxJsonDepth) +
                              " levels of arrays and objects"});
        return std::nullopt;
    }
    try {
        return json::parse(text.str());
    } catch (const json::exception& e) {  // parse_error, and out_of_range for 1e400
        // nlohmann's message quotes what it last read, which may be a URL's password: keep
        // the position and the reason, drop the quote.
        std::string what = e.what();
        const auto quote = what.find("; last read: '");
        if (quote != std::string::npos) {
            const auto after = what.find("'; ", quote + 14);
            what.erase(quote, after == std::string::npos ? std::string::npos : after + 1 - quote);
        }
        errors.push_back({path, "", "not valid JSON: " + what});
        return std::nullopt;
    }
}

}  // namespace

ConfigLoad load_config(const Environment& env, const std::string& config_file,
                       const Registry& registry) {
    static const Services none;
    return load_config(env, config_file, registry, none);
}

namespace {

// A Redis URL vitals itself uses (shared heartbeats, the fleet's coordination), checked as
// the Redis client will read it; a problem's text starts with `context`.
Expected<Url> redis_url_setting(const std::string& text, const std::string& context) {
    Expected<Url> parsed = parse_url(text);
    if (!parsed) return parsed;
    try {
        validate_redis_url(*parsed);
    } catch (const std::invalid_argument& e) {
        return Failure{context + e.what()};
    }
    return parsed;
}

}  // namespace

ConfigLoad load_config(const Environment& env, const std::string& config_file,
                       const Registry& registry, const Services& services) {
    ConfigLoad load;
    ConfigErrors& errors = load.errors;
    json file = json::object();
    std::set<std::string> expanded;
    if (!config_file.empty()) {
        if (auto parsed = read_file(config_file, errors)) file = std::move(*parsed);
        if (!file.is_object()) {
            errors.push_back({config_file, "/", "must be a JSON object"});
            file = json::object();
        }
        expand_environment(file, env, config_file, "", expanded, errors);
    }

    // Server settings: defaults < file < VITALS_* environment.
    json server = file;
    server.erase("checks");
    for (const Setting& s : server_settings()) {
        const auto it = env.find(s.env_name);
        if (it == env.end()) continue;
        json v = setting_from_env(s, it->second);
        if (v.is_null()) {
            errors.push_back(
                {"environment", s.env_name, "must be a " + std::string(setting_type_name(s.type))});
            continue;
        }
        std::size_t before = errors.size();
        json probe = json::object({{s.key, v}});
        read_settings(probe, {s}, "environment", "", errors);
        for (std::size_t i = before; i < errors.size(); ++i)
            errors[i].pointer = s.env_name;
        if (errors.size() == before) server[s.key] = v;
    }
    const std::string where = config_file.empty() ? "defaults" : config_file;
    const Params params = read_settings(server, server_settings(), where, "", errors);

    Config config;
    config.config_file = config_file;
    config.identity = pod_identity(env);
    config.expanded = std::move(expanded);
    if (params.has(own_settings().listen)) {
        if (auto listen = ListenAddress::parse(params.str(own_settings().listen))) {
            config.listen = *listen;
        } else {
            errors.push_back({where, "/listen", "must be host:port, e.g. 0.0.0.0:8686"});
        }
    }
    if (params.has(own_settings().trusted)) {
        std::vector<Cidr> networks;
        const auto list = params.strings(own_settings().trusted);
        for (std::size_t i = 0; i < list.size(); ++i) {
            if (auto cidr = Cidr::parse(list[i])) {
                networks.push_back(*cidr);
            } else {
                errors.push_back({where, "/trusted/" + std::to_string(i),
                                  "\"" + list[i] + "\" is not an IP network in CIDR form"});
            }
        }
        config.trusted = TrustedNetworks(std::move(networks));
    }
    if (params.has(own_settings().http_threads))
        config.http_threads = static_cast<int>(params.integer(own_settings().http_threads));
    if (params.has(own_settings().detail_token))
        config.detail_token = params.str(own_settings().detail_token);
    config.keepalive_timeout = params.duration(own_settings().keepalive_timeout);
    config.max_connections =
        static_cast<std::size_t>(params.integer(own_settings().max_connections));
    config.header_timeout = params.duration(own_settings().header_timeout);
    config.stall_after = params.duration(own_settings().stall_after);
    if (params.has(own_settings().state_dir))
        config.state_dir = params.str(own_settings().state_dir);
    config.heartbeat_prefix = params.str(own_settings().heartbeat_prefix);
    std::string shared = params.has(own_settings().heartbeat_redis)
                             ? params.str(own_settings().heartbeat_redis)
                             : "";
    if (!params.has(own_settings().heartbeat_redis)) {
        if (const auto it = env.find("REDIS_URL"); it != env.end()) shared = it->second;
    }
    if (!shared.empty()) {
        Expected<Url> parsed = redis_url_setting(shared, "shared heartbeat state: ");
        if (parsed) {
            config.heartbeat_redis = *std::move(parsed);
        } else if (params.has(own_settings().heartbeat_redis)) {
            errors.push_back({where, "/heartbeat_redis", parsed.error().message});
        } else {
            // REDIS_URL from the environment: heartbeats stay per replica, and that is said.
            config.skipped.push_back({"heartbeat_redis", "REDIS_URL: " + parsed.error().message});
        }
    }

    // The fleet's coordination: its own setting, else wherever heartbeats are shared.
    if (params.has(own_settings().fleet_redis)) {
        const std::string text = params.str(own_settings().fleet_redis);
        if (!text.empty()) {
            Expected<Url> parsed = redis_url_setting(text, "");
            if (parsed) {
                config.fleet_redis = *std::move(parsed);
            } else {
                errors.push_back({where, "/fleet_redis", parsed.error().message});
            }
        }
    } else {
        config.fleet_redis = config.heartbeat_redis;
    }
    if (params.has(own_settings().fleet)) config.fleet = params.str(own_settings().fleet);

    // Checks from the file, then those the environment enables and the file does not name;
    // each may keep state in the state dir just read.
    Services with_state = services;
    with_state.state_dir = config.state_dir;
    json checks = file.contains("checks") ? file["checks"] : json::object();
    if (!checks.is_object()) {
        errors.push_back({where, "/checks", "must be a JSON object of name: settings"});
        checks = json::object();
    }
    for (const auto& item : checks.items()) {
        auto check = read_check(item.key(), item.value(), where, "/checks/" + item.key(), env,
                                registry, with_state, errors);
        if (check) config.checks.push_back(std::move(*check));
    }
    // The environment never stops vitals: a check derived from it that cannot run (a scheme
    // vitals does not speak, say) is skipped and said so, not a configuration error. What the
    // user wrote in the file stays strict.
    for (const auto& [kind_name, kind] : registry.kinds()) {
        if (kind.env_notes) {
            for (EnvNote& note : kind.env_notes(env))
                config.env_notes.emplace_back(kind_name, std::move(note));
        }
        std::map<std::string, json> wanted;
        if (kind.from_env) {
            if (auto spec = kind.from_env(env)) wanted[kind_name] = std::move(*spec);
        }
        if (kind.more_from_env) {
            for (auto& [name, spec] : kind.more_from_env(env))
                wanted.emplace(name, std::move(spec));
        }
        for (auto& [name, spec] : wanted) {
            if (checks.contains(name)) continue;  // the file names it: the file's settings
            spec["kind"] = kind_name;
            ConfigErrors problems;
            auto check = read_check(name, spec, "environment", "/checks/" + name, env, registry,
                                    with_state, problems);
            if (check && problems.empty()) {
                config.checks.push_back(std::move(*check));
            } else {
                std::string why;
                for (const ConfigError& e : problems)
                    why += (why.empty() ? "" : "; ") + e.message;
                config.skipped.push_back({name, why});
            }
        }
    }
    for (const CheckConfig& c : config.checks)
        if (const CheckKind* kind = registry.find(c.kind); config.kinds.count(c.kind) == 0 && kind)
            config.kinds[c.kind] = {kind->summary, kind->settings, c.observations};
    if (errors.empty()) load.config = std::move(config);
    return load;
}

}  // namespace vitals
