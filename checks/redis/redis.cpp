// redis: the cache answers PING and a SET/GET round trip of a short-lived key (the article's
// cache check), and INFO shows how full it is: memory vs maxmemory, evictions, rejected
// connections, clients vs maxclients, keyspace hit ratio.
#include <hiredis/hiredis.h>

#include <cerrno>
#include <cmath>
#include <map>
#include <memory>
#include <sstream>

#include "checks/builtin.hpp"
#include "checks/redis/cluster.hpp"
#include "sidecar/clients/redis_client.hpp"

namespace vitals::checks {

namespace {

using SteadyClock = std::chrono::steady_clock;

std::map<std::string, std::string> parse_info(const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto colon = line.find(':');
        if (line.empty() || line[0] == '#' || colon == std::string::npos) continue;
        out[line.substr(0, colon)] = line.substr(colon + 1);
    }
    return out;
}

double number(const std::map<std::string, std::string>& info, const std::string& key) {
    const auto it = info.find(key);
    if (it == info.end()) return -1;
    try {
        return std::stod(it->second);
    } catch (const std::exception&) {
        return -1;
    }
}

struct Limits {
    double memory_warn = 0;  // each read from the settings, whose declarations hold the defaults
    double memory_fail = 0;
    double clients_warn = 0;
    double hit_ratio_warn = 0;
    Millis key_ttl{};
};

// A cache that evicts (allkeys-lru, volatile-ttl, ...) is full by design; one that does not
// (noeviction, the default) refuses writes once it reaches maxmemory.
bool evicts(const std::string& policy) {
    return policy.rfind("allkeys-", 0) == 0 || policy.rfind("volatile-", 0) == 0;
}

// Lookups in a window smaller than this say nothing about the hit ratio.
constexpr double kMinLookupsForRatio = 100;

class RedisCheck final : public Check {
  public:
    RedisCheck(Url url, std::string key, Limits limits)
        : url_(std::move(url)), key_(std::move(key)), limits_(limits) {}

    CheckResult run(const Deadline& deadline) override {
        std::unique_ptr<RedisClient> client;
        try {
            client = std::make_unique<RedisClient>(url_, deadline);
        } catch (const RedisError& e) {
            return verdict(Status::fail, e.what());
        }
        RedisClient& c = *client;
        const double connect_seconds = c.connect_seconds();
        try {
            const auto ping_started = SteadyClock::now();
            c.command({"PING"}, "PING");
            const double ping_seconds =
                std::chrono::duration<double>(SteadyClock::now() - ping_started).count();

            const auto rt_started = SteadyClock::now();
            const std::string token = std::to_string(++runs_) + ":" +
                                      std::to_string(rt_started.time_since_epoch().count());
            std::optional<std::string> key = cluster_key_ ? cluster_key_ : key_;
            try {
                set_and_get(c, *key, token);
            } catch (const RedisError& e) {
                // A cluster node answers MOVED for a key another node owns: the key becomes
                // one this node owns, and the round trip is tried once more.
                if (!is_redirect(e.what())) throw;
                cluster_key_ = key = owned_key(c);
                if (key) set_and_get(c, *key, token);
            }
            const double roundtrip_seconds =
                std::chrono::duration<double>(SteadyClock::now() - rt_started).count();
            const RedisClient::Reply info = c.command({"INFO"}, "INFO");
            CheckResult result =
                key ? verdict(Status::ok, "PING and SET/GET in " +
                                              format_millis(ping_seconds + roundtrip_seconds))
                    : verdict(Status::ok, "PING in " + format_millis(ping_seconds) +
                                              " (a cluster node without slots: no SET/GET)");
            if (cluster_key_ || !key) {
                result.details["cluster_mode"] = true;
                if (key) result.details["cluster_key"] = *key;
            }
            result.observe("connect_seconds", connect_seconds)
                .observe("ping_seconds", ping_seconds)
                .observe("roundtrip_seconds", roundtrip_seconds);
            judge(parse_info(RedisClient::text(*info)), result);
            return result;
        } catch (const std::exception& e) {
            // Full under noeviction: every pod's writes are refused alike (Cause::shared).
            const bool full = std::string_view(e.what()).find("OOM command not allowed") !=
                              std::string_view::npos;
            return verdict(Status::fail, std::string(e.what()) + " (" + c.where() + ")",
                           full ? Cause::shared : Cause::here)
                .observe("connect_seconds", connect_seconds);
        }
    }

  private:
    void set_and_get(RedisClient& c, const std::string& key, const std::string& token) const {
        c.command({"SET", key, token, "PX", std::to_string(limits_.key_ttl.count())}, "SET");
        const RedisClient::Reply got = c.command({"GET", key}, "GET");
        if (RedisClient::text(*got) != token)
            throw RedisError("GET did not return the value just SET (" + key + ")");
    }

    // A key in a slot this cluster node serves (CLUSTER MYID, CLUSTER SLOTS); nullopt for
    // a node that serves none (a replica).
    std::optional<std::string> owned_key(RedisClient& c) const {
        const std::string me = RedisClient::text(*c.command({"CLUSTER", "MYID"}, "CLUSTER MYID"));
        const RedisClient::Reply slots = c.command({"CLUSTER", "SLOTS"}, "CLUSTER SLOTS");
        std::vector<SlotRange> owned;
        if (slots->type == REDIS_REPLY_ARRAY) {
            for (std::size_t i = 0; i < slots->elements; ++i) {
                const redisReply& range = *slots->element[i];
                if (range.type != REDIS_REPLY_ARRAY || range.elements < 3) continue;
                const redisReply& master = *range.element[2];
                if (master.type != REDIS_REPLY_ARRAY || master.elements < 3) continue;
                if (RedisClient::text(*master.element[2]) != me) continue;
                owned.emplace_back(static_cast<int>(range.element[0]->integer),
                                   static_cast<int>(range.element[1]->integer));
            }
        }
        return key_in_slots(key_, owned);
    }

    void judge(const std::map<std::string, std::string>& info, CheckResult& result) {
        const double used = number(info, "used_memory");
        const double max = number(info, "maxmemory");
        const double evicted = number(info, "evicted_keys");
        const double rejected = number(info, "rejected_connections");
        const double clients = number(info, "connected_clients");
        const double max_clients = number(info, "maxclients");
        const double hits = number(info, "keyspace_hits");
        const double misses = number(info, "keyspace_misses");
        const auto now = SteadyClock::now();

        result.observe("used_memory_bytes", used);
        double memory_ratio = 0;
        if (max > 0) {
            memory_ratio = used / max;
            result.observe("maxmemory_bytes", max).observe("memory_used_ratio", memory_ratio);
        }
        result.observe("evicted_keys_total", evicted)
            .observe("rejected_connections_total", rejected);
        if (info.count("keyspace_hits") != 0) {
            result.observe("keyspace_hits_total", hits).observe("keyspace_misses_total", misses);
        }
        const double newly_rejected =
            last_sample_ && rejected > last_rejected_ ? rejected - last_rejected_ : 0;
        last_sample_ = now;
        last_rejected_ = rejected;
        result.observe("connected_clients", clients);
        double clients_ratio = 0;
        if (max_clients > 0) {
            clients_ratio = clients / max_clients;
            result.observe("maxclients", max_clients).observe("clients_used_ratio", clients_ratio);
        }
        if (hits + misses > 0) result.observe("keyspace_hit_ratio", hits / (hits + misses));
        result.details["maxmemory_policy"] =
            info.count("maxmemory_policy") ? info.at("maxmemory_policy") : "";
        result.details["redis_version"] =
            info.count("redis_version") ? info.at("redis_version") : "";

        const std::string policy =
            info.count("maxmemory_policy") ? info.at("maxmemory_policy") : "";
        // The hit ratio over the window since the last run, not since Redis started.
        const double window_hits = hits - last_hits_, window_misses = misses - last_misses_;
        const double window_evicted = evicted - last_evicted_seen_;
        const bool have_window = window_hits >= 0 && window_misses >= 0 && ran_before_;
        last_hits_ = hits;
        last_misses_ = misses;
        last_evicted_seen_ = evicted;
        ran_before_ = true;

        Findings findings;
        const std::string memory_text = "memory " + percent(memory_ratio) + " of maxmemory (" +
                                        format_bytes(used) + " of " + format_bytes(max) + ")";
        if (max > 0 && evicts(policy)) {
            // Full is normal under an eviction policy: what matters is whether the cache still
            // serves, i.e. evictions throwing away what is asked for again.
            if (have_window && window_evicted > 0 &&
                window_hits + window_misses >= kMinLookupsForRatio) {
                const double ratio = window_hits / (window_hits + window_misses);
                result.observe("window_hit_ratio", ratio);
                if (ratio < limits_.hit_ratio_warn)
                    findings.add(Status::warn,
                                 "hit ratio " + percent(ratio) + " while evicting " +
                                     std::to_string(static_cast<long long>(window_evicted)) +
                                     " keys since the last run (" + policy +
                                     "): the cache is too small for its working set",
                                 Cause::shared);
            }
        } else if (max > 0 && memory_ratio >= limits_.memory_fail) {
            findings.add(Status::fail,
                         memory_text + " under " + (policy.empty() ? "noeviction" : policy) +
                             ": writes will be refused",
                         Cause::shared);
        } else if (max > 0 && memory_ratio >= limits_.memory_warn) {
            findings.add(Status::warn, memory_text, Cause::shared);
        }
        if (newly_rejected > 0) {
            findings.add(Status::warn,
                         std::to_string(static_cast<long long>(newly_rejected)) +
                             " connections rejected since the last run (maxclients reached)",
                         Cause::shared);
        } else if (max_clients > 0 && clients_ratio >= limits_.clients_warn) {
            findings.add(Status::warn,
                         std::to_string(static_cast<long long>(clients)) + " of " +
                             std::to_string(static_cast<long long>(max_clients)) +
                             " clients connected",
                         Cause::shared);
        }
        const std::string ok_message = result.message;
        findings.conclude(result, ok_message);
    }

    static std::string percent(double ratio) {
        return std::to_string(std::llround(ratio * 100)) + "%";
    }
    static std::string format_bytes(double bytes) {
        return std::to_string(static_cast<long long>(bytes)) + " bytes";
    }

    Url url_;
    std::string key_;
    std::optional<std::string> cluster_key_;  // on a cluster: key_ with a tag this node owns
    Limits limits_;
    std::uint64_t runs_ = 0;
    std::optional<SteadyClock::time_point> last_sample_;
    double last_rejected_ = 0;
    double last_hits_ = 0, last_misses_ = 0, last_evicted_seen_ = 0;
    bool ran_before_ = false;
};

}  // namespace

// The redis kind's settings, each declared once: the table lists these members and the
// factory reads its values through them.
struct RedisSettings {
    Setting url =
        Setting::of("url", SettingType::url,
                    "redis://[user:password@]host[:port][/db], as in REDIS_URL; rediss:// for TLS")
            .required();
    Setting memory_warn_ratio =
        Setting::of("memory_warn_ratio", SettingType::number, "used_memory / maxmemory: warn at")
            .defaults(0.8)
            .range(0, 1);
    Setting memory_fail_ratio =
        Setting::of("memory_fail_ratio", SettingType::number, "used_memory / maxmemory: fail at")
            .defaults(0.95)
            .range(0, 1);
    Setting clients_warn_ratio = Setting::of("clients_warn_ratio", SettingType::number,
                                             "connected_clients / maxclients: warn at")
                                     .defaults(0.9)
                                     .range(0, 1);
    Setting hit_ratio_warn =
        Setting::of("hit_ratio_warn", SettingType::number,
                    "under an eviction policy: hit ratio between two runs that warns while "
                    "keys are evicted")
            .defaults(0.5)
            .range(0, 1);
    Setting key_prefix = Setting::of("key_prefix", SettingType::string,
                                     "prefix of the probe key; the pod name follows")
                             .defaults("vitals:probe:");
    Setting key_ttl = Setting::of("key_ttl", SettingType::duration, "expiry of the probe key")
                          .defaults("10s")
                          .range(1'000, 86'400'000);
    SettingsTable table() const {
        return {url,
                memory_warn_ratio,
                memory_fail_ratio,
                clients_warn_ratio,
                hit_ratio_warn,
                key_prefix,
                key_ttl};
    }
};

CheckKind redis_kind() {
    static const RedisSettings s;
    CheckKind kind;
    kind.name = "redis";
    kind.summary = "Redis cache: PING, SET/GET round trip, memory, evictions, clients";
    kind.about = About::reach;  // what this pod reaches
    kind.default_groups = {"ready"};
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::gauge("connect_seconds", U::seconds, "Time to connect (and authenticate)."),
        O::gauge("ping_seconds", U::seconds, "Time of PING.").headline(),
        O::gauge("roundtrip_seconds", U::seconds,
                 "Time to SET and GET back the short-lived probe key."),
        O::gauge("used_memory_bytes", U::bytes, "Memory Redis uses (INFO used_memory).").headline(),
        O::gauge("maxmemory_bytes", U::bytes, "maxmemory, when set."),
        O::gauge("memory_used_ratio", U::ratio, "used_memory / maxmemory."),
        O::counter("evicted_keys_total", U::none, "Keys evicted to stay under maxmemory."),
        O::counter("rejected_connections_total", U::none, "Connections refused for maxclients."),
        O::counter("keyspace_hits_total", U::none, "Key lookups that found the key."),
        O::counter("keyspace_misses_total", U::none, "Key lookups that did not."),
        O::gauge("connected_clients", U::none, "Client connections."),
        O::gauge("maxclients", U::none, "The maxclients setting."),
        O::gauge("clients_used_ratio", U::ratio, "connected_clients / maxclients."),
        O::gauge("keyspace_hit_ratio", U::ratio, "Hits / lookups since the server started."),
        O::gauge("window_hit_ratio", U::ratio, "Hits / lookups over the check's window."),
    };
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        Url url = ctx.params.url(s.url);
        try {
            validate_redis_url(url);
        } catch (const std::invalid_argument& e) {
            throw SettingError(s.url.key, e.what());
        }
        Limits limits;
        limits.memory_warn = ctx.params.number(s.memory_warn_ratio);
        limits.memory_fail = ctx.params.number(s.memory_fail_ratio);
        limits.clients_warn = ctx.params.number(s.clients_warn_ratio);
        limits.hit_ratio_warn = ctx.params.number(s.hit_ratio_warn);
        limits.key_ttl = ctx.params.duration(s.key_ttl);
        if (limits.memory_warn > limits.memory_fail)
            ctx.refuse(s.memory_warn_ratio.key, "must not be above memory_fail_ratio");
        const std::string pod = ctx.pod_name();
        return std::make_unique<RedisCheck>(std::move(url), ctx.params.str(s.key_prefix) + pod,
                                            limits);
    };
    kind.from_env = [](const Environment& env) -> std::optional<nlohmann::json> {
        for (const char* name : {"REDIS_URL", "CACHE_URL"}) {
            const auto it = env.find(name);
            if (it == env.end() || it->second.empty()) continue;
            const auto parsed = parse_url(it->second);
            if (parsed && !redis_transport(parsed->scheme))
                continue;  // memcache://, locmem://, dummy://
            return nlohmann::json{{"url", it->second}};
        }
        return std::nullopt;
    };
    kind.env_notes = [](const Environment& env) {
        std::vector<EnvNote> notes;
        for (const char* name : {"REDIS_URL", "CACHE_URL"}) {
            const auto it = env.find(name);
            if (it == env.end()) continue;
            const auto parsed = parse_url(it->second);
            if (parsed && parsed->scheme == "sentinel")
                notes.push_back({std::string(name) +
                                 " is a sentinel:// URL: not checked (vitals does not ask "
                                 "Sentinel for the primary); add a redis check with the "
                                 "primary's address"});
            if (parsed && parsed->scheme == "rediscache" && !parsed->more_hosts.empty())
                notes.push_back({std::string(name) +
                                 " lists several servers: the first, which django-redis writes "
                                 "to, is checked; the others (its read replicas) are not"});
        }
        const bool any = env.count("REDIS_URL") != 0 || env.count("CACHE_URL") != 0;
        for (const char* other : {"REDIS_TLS_URL", "REDISCLOUD_URL", "REDISTOGO_URL"}) {
            if (!any && env.count(other) != 0)
                notes.push_back({std::string("found ") + other +
                                 "; vitals reads REDIS_URL (or CACHE_URL): set it to the value "
                                 "the app's settings read for the cache to be checked"});
        }
        return notes;
    };
    return kind;
}

}  // namespace vitals::checks
