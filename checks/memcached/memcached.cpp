// memcached: every server Django's LOCATION lists answers a set/get round trip of a
// short-lived key (the article's cache check), and `stats` shows whether the cache still
// serves: evictions against the hit ratio (memcached evicts by design, so full is normal),
// connections against max_connections, connections refused.
#include <map>
#include <memory>

#include "checks/builtin.hpp"
#include "sidecar/clients/memcached_client.hpp"

namespace vitals::checks {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Lookups in a window smaller than this say nothing about the hit ratio.
constexpr double kMinLookupsForRatio = 100;

struct Limits {
    double clients_warn = 0;  // each read from the settings, whose declarations hold the defaults
    double hit_ratio_warn = 0;
    int key_ttl_seconds = 0;
};

double stat(const std::map<std::string, std::string>& stats, const std::string& key) {
    const auto it = stats.find(key);
    if (it == stats.end()) return -1;
    try {
        return std::stod(it->second);
    } catch (const std::exception&) {
        return -1;
    }
}

std::string percent(double ratio) {
    return std::to_string(std::llround(ratio * 100)) + "%";
}

// The servers of a memcache:// URL: each host:port, or the socket path when there is no host.
std::vector<MemcachedAddress> servers_of(const Url& url) {
    std::vector<MemcachedAddress> out;
    if (url.host.empty()) {
        out.push_back({"", 11211, url.path});
        return out;
    }
    out.push_back({url.host, url.port.value_or(11211), ""});
    for (const HostPort& h : url.more_hosts)
        out.push_back({h.host, h.port.value_or(11211), ""});
    return out;
}

class MemcachedCheck final : public Check {
  public:
    MemcachedCheck(std::vector<MemcachedAddress> servers, std::string key, Limits limits)
        : servers_(std::move(servers)), key_(std::move(key)), limits_(limits) {}

    CheckResult run(const Deadline& deadline) override {
        CheckResult result;
        Findings findings;
        std::vector<std::string> down;
        double slowest = 0;
        nlohmann::json servers = nlohmann::json::array();
        for (std::size_t i = 0; i < servers_.size(); ++i) {
            // Each server gets its share of what is left: one that hangs cannot starve the rest.
            const auto share = deadline.remaining() / static_cast<int>(servers_.size() - i);
            const Deadline mine = Deadline::in(std::max(share, Millis(1)));
            const std::string name = servers_[i].name();
            nlohmann::json about = {{"server", name}};
            try {
                slowest = std::max(slowest, probe(servers_[i], mine, result, findings, about));
                result.observe("up", "server", name, 1);
            } catch (const std::exception& e) {
                result.observe("up", "server", name, 0);
                about["error"] = e.what();
                down.emplace_back(e.what());
            }
            servers.push_back(std::move(about));
        }
        result.details["servers"] = servers;
        const std::size_t answering = servers_.size() - down.size();
        result.observe("servers_up", static_cast<double>(answering));
        if (answering > 0) result.observe("roundtrip_seconds", slowest);
        // Django spreads keys over every server: with some gone, their keys miss (or error);
        // with all gone, every cache call does.
        if (answering == 0) {
            findings.add(Status::fail,
                         servers_.size() == 1 ? down.front()
                                              : "no memcached server answers: " + down.front(),
                         Cause::elsewhere);
        } else if (!down.empty()) {
            findings.add(Status::warn,
                         std::to_string(down.size()) + " of " + std::to_string(servers_.size()) +
                             " memcached servers do not answer: " + down.front(),
                         Cause::elsewhere);
        }
        findings.conclude(result, "set/get on " + std::to_string(answering) +
                                      (answering == 1 ? " server" : " servers") + " in " +
                                      format_millis(slowest));
        return result;
    }

  private:
    // One server: the round trip, then its stats judged. Returns the round trip's seconds.
    double probe(const MemcachedAddress& server, const Deadline& deadline, CheckResult& result,
                 Findings& findings, nlohmann::json& about) {
        const std::string name = server.name();
        MemcachedClient client(server, deadline);
        result.observe("connect_seconds", "server", name, client.connect_seconds());
        const auto started = SteadyClock::now();
        const std::string token =
            std::to_string(++runs_) + ":" + std::to_string(started.time_since_epoch().count());
        client.set(key_, token, limits_.key_ttl_seconds);
        const auto got = client.get(key_);
        const double roundtrip =
            std::chrono::duration<double>(SteadyClock::now() - started).count();
        if (!got || *got != token)
            throw MemcachedError("get did not return the value just set (" + key_ + " on " + name +
                                 ")");
        about["roundtrip_seconds"] = std::round(roundtrip * 1e6) / 1e6;

        // A proxy in front of memcached (mcrouter, twemproxy) serves set/get and may refuse
        // `stats`: the round trip decides whether the server is up, stats only add to it.
        std::map<std::string, std::string> stats;
        try {
            stats = client.stats();
        } catch (const MemcachedError& e) {
            about["stats_unavailable"] = e.what();
            return roundtrip;
        }
        const double used = stat(stats, "bytes"), limit = stat(stats, "limit_maxbytes");
        const double evictions = stat(stats, "evictions");
        const double hits = stat(stats, "get_hits"), misses = stat(stats, "get_misses");
        const double connections = stat(stats, "curr_connections");
        const double max_connections = stat(stats, "max_connections");
        const double rejected = stat(stats, "rejected_connections");
        const auto observe = [&](const char* what, double value) {
            if (value >= 0) result.observe(what, "server", name, value);
        };
        observe("used_bytes", used);
        observe("limit_bytes", limit);
        observe("evictions_total", evictions);
        observe("get_hits_total", hits);
        observe("get_misses_total", misses);
        observe("connections", connections);
        observe("max_connections", max_connections);
        observe("rejected_connections_total", rejected);
        if (used >= 0 && limit > 0) about["memory_used_ratio"] = used / limit;
        if (const auto v = stats.find("version"); v != stats.end()) about["version"] = v->second;

        // Between two runs: evictions throwing away what is asked for again is the problem,
        // not a full cache.
        Window& last = windows_[name];
        if (last.seen && hits >= last.hits && misses >= last.misses) {
            const double window_hits = hits - last.hits, window_misses = misses - last.misses;
            const double window_evicted = evictions - last.evictions;
            if (window_hits + window_misses >= kMinLookupsForRatio) {
                const double ratio = window_hits / (window_hits + window_misses);
                observe("window_hit_ratio", ratio);
                if (window_evicted > 0 && ratio < limits_.hit_ratio_warn)
                    findings.add(Status::warn,
                                 name + ": hit ratio " + percent(ratio) + " while evicting " +
                                     std::to_string(std::llround(window_evicted)) +
                                     " items since the last run: the cache is too small for "
                                     "its working set",
                                 Cause::shared);
            }
            if (rejected > last.rejected)
                findings.add(Status::warn,
                             name + ": " + std::to_string(std::llround(rejected - last.rejected)) +
                                 " connections rejected since the last run (max_connections "
                                 "reached)",
                             Cause::shared);
        }
        if (max_connections > 0 && connections / max_connections >= limits_.clients_warn &&
            !(last.seen && rejected > last.rejected))
            findings.add(Status::warn,
                         name + ": " + std::to_string(std::llround(connections)) + " of " +
                             std::to_string(std::llround(max_connections)) + " connections in use",
                         Cause::shared);
        last = {true, hits, misses, evictions, rejected};
        return roundtrip;
    }

    struct Window {
        bool seen = false;
        double hits = 0, misses = 0, evictions = 0, rejected = 0;
    };

    std::vector<MemcachedAddress> servers_;
    std::string key_;
    Limits limits_;
    std::uint64_t runs_ = 0;
    std::map<std::string, Window> windows_;  // by server, from the last run
};

bool is_memcached_scheme(const std::string& scheme) {
    return scheme == "memcache" || scheme == "pymemcache" || scheme == "pylibmc";
}

}  // namespace

// The memcached kind's settings, each declared once.
struct MemcachedSettings {
    Setting url = Setting::of("url", SettingType::url,
                              "memcache://host:port[,host:port...] (also pymemcache://, "
                              "pylibmc://), or memcache:///path/to.sock, as in CACHE_URL")
                      .required();
    Setting connections_warn_ratio = Setting::of("connections_warn_ratio", SettingType::number,
                                                 "curr_connections / max_connections: warn at")
                                         .defaults(0.9)
                                         .range(0, 1);
    Setting hit_ratio_warn =
        Setting::of("hit_ratio_warn", SettingType::number,
                    "hit ratio between two runs that warns while items are evicted")
            .defaults(0.5)
            .range(0, 1);
    Setting key_prefix = Setting::of("key_prefix", SettingType::string,
                                     "prefix of the probe key; the pod name follows")
                             .defaults("vitals:probe:");
    Setting key_ttl =
        Setting::of("key_ttl", SettingType::duration, "expiry of the probe key (whole seconds)")
            .defaults("10s")
            .range(1'000, 2'592'000'000);
    SettingsTable table() const {
        return {url, connections_warn_ratio, hit_ratio_warn, key_prefix, key_ttl};
    }
};

CheckKind memcached_kind() {
    static const MemcachedSettings s;
    CheckKind kind;
    kind.name = "memcached";
    kind.summary = "Memcached cache: set/get round trip on every server, evictions, connections";
    kind.about = About::reach;  // what this pod reaches
    kind.default_groups = {"ready"};
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::gauge("servers_up", U::none, "Servers that answered the set/get round trip."),
        O::gauge("up", U::boolean, "1 when the server answered the round trip.").by("server"),
        O::gauge("roundtrip_seconds", U::seconds,
                 "Slowest time to set and get back the short-lived probe key.")
            .headline(),
        O::gauge("connect_seconds", U::seconds, "Time to connect.").by("server"),
        O::gauge("used_bytes", U::bytes, "Memory used for items (stats bytes).").by("server"),
        O::gauge("limit_bytes", U::bytes, "The memory limit (limit_maxbytes).").by("server"),
        O::counter("evictions_total", U::none, "Items evicted to make room.").by("server"),
        O::counter("get_hits_total", U::none, "Lookups that found the item.").by("server"),
        O::counter("get_misses_total", U::none, "Lookups that did not.").by("server"),
        O::gauge("connections", U::none, "Open connections (curr_connections).").by("server"),
        O::gauge("max_connections", U::none, "The connection limit (-c).").by("server"),
        O::counter("rejected_connections_total", U::none, "Connections refused at the limit.")
            .by("server"),
        O::gauge("window_hit_ratio", U::ratio, "Hits / lookups over the check's window.")
            .by("server"),
    };
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        const Url url = ctx.params.url(s.url);
        if (!is_memcached_scheme(url.scheme))
            throw SettingError(s.url.key, "must be a memcache://, pymemcache:// or pylibmc:// URL");
        if (url.host.empty() && url.path.size() < 2)
            throw SettingError(s.url.key, "names no server (memcache://host:11211)");
        Limits limits;
        limits.clients_warn = ctx.params.number(s.connections_warn_ratio);
        limits.hit_ratio_warn = ctx.params.number(s.hit_ratio_warn);
        limits.key_ttl_seconds =
            static_cast<int>(std::max<long long>(ctx.params.duration(s.key_ttl).count() / 1000, 1));
        const std::string pod = ctx.pod_name();
        std::string key = ctx.params.str(s.key_prefix) + pod;
        // The text protocol's keys: up to 250 bytes, no spaces or control characters.
        for (char& c : key)
            if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) c = '_';
        if (key.size() > 250) key.resize(250);
        return std::make_unique<MemcachedCheck>(servers_of(url), std::move(key), limits);
    };
    kind.from_env = [](const Environment& env) -> std::optional<nlohmann::json> {
        const auto it = env.find("CACHE_URL");
        if (it == env.end() || it->second.empty()) return std::nullopt;
        const auto parsed = parse_url(it->second);
        if (!parsed || !is_memcached_scheme(parsed->scheme)) return std::nullopt;
        return nlohmann::json{{"url", it->second}};
    };
    kind.env_notes = [](const Environment& env) {
        std::vector<EnvNote> notes;
        if (env.count("CACHE_URL") == 0 && env.count("MEMCACHIER_SERVERS") != 0)
            notes.push_back(
                {"found MEMCACHIER_SERVERS; vitals reads CACHE_URL: set "
                 "CACHE_URL=pymemcache://<the servers> for the cache to be checked "
                 "(MemCachier's SASL login is not spoken: add a tcp check instead)"});
        return notes;
    };
    return kind;
}

}  // namespace vitals::checks
