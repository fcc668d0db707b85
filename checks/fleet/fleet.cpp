// The fleet kind: each pod publishes a summary of itself (ready, live, failing checks,
// versions) to Redis with a TTL and reads every other pod's, so /health, the status page and
// `vitals status --fleet` show the whole deployment from any pod; and web and worker pods
// running different app versions for longer than a rollout takes warn.
#include <hiredis/hiredis.h>

#include <algorithm>

#include "checks/builtin.hpp"
#include "checks/fleet/judge.hpp"
#include "sidecar/clients/kept_redis.hpp"
#include "sidecar/clients/redis_client.hpp"
#include "sidecar/core/identity.hpp"
#include "sidecar/core/probes.hpp"
#include "sidecar/fleet/runs.hpp"
#include "sidecar/json.hpp"

namespace vitals::checks {

namespace {

// A pod that has not said anything for this long has left the view.
constexpr std::int64_t kSummaryTtlMs = 30'000;
// At most this many pods are read per run (ZRANGE, MGET).
constexpr int kMaxPods = 200;
constexpr std::size_t kMaxSummaryBytes = std::size_t{16} * 1024;

std::int64_t unix_ms(WallTime t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

struct FleetOptions {
    Url redis;
    std::string key_prefix;
    std::string fleet;
    std::string pod;
    std::string app_version;
    Millis skew_after{};
};

class FleetCheck final : public Check {
  public:
    FleetCheck(std::string name, FleetOptions o, const SnapshotView* snapshots, const Clock& clock)
        : name_(std::move(name)),
          o_(std::move(o)),
          snapshots_(snapshots),
          clock_(clock),
          redis_(o_.redis) {}

    CheckResult run(const Deadline& deadline) override {
        // The view is informational: Redis gone is the redis check's failure to report, and
        // here a warning, so that /health's answer does not turn on it twice.
        try {
            return view(deadline);
        } catch (const RedisError& e) {
            return verdict(Status::warn, std::string("the fleet view is unavailable: ") + e.what(),
                           Cause::elsewhere);
        }
    }

  private:
    CheckResult view(const Deadline& deadline) {
        const std::int64_t now = unix_ms(clock_.wall());
        const std::string index = o_.key_prefix + "pods";
        std::vector<PodSummary> pods;
        redis_.exchange(deadline, [&](RedisClient& redis) {
            redis.command({"SET", key(o_.pod), summary_json(self(now)).dump(), "PX",
                           std::to_string(kSummaryTtlMs)},
                          "SET");
            redis.command({"ZADD", index, std::to_string(now), o_.pod}, "ZADD");
            redis.command({"ZREMRANGEBYSCORE", index, "-inf", std::to_string(now - kSummaryTtlMs)},
                          "ZREMRANGEBYSCORE");
            const RedisClient::Reply names =
                redis.command({"ZRANGE", index, "0", std::to_string(kMaxPods - 1)}, "ZRANGE");
            std::vector<std::string> mget = {"MGET"};
            for (std::size_t i = 0; names->type == REDIS_REPLY_ARRAY && i < names->elements; ++i)
                mget.push_back(key(RedisClient::text(*names->element[i])));
            if (mget.size() == 1) return;
            const RedisClient::Reply values = redis.command(mget, "MGET");
            for (std::size_t i = 0; values->type == REDIS_REPLY_ARRAY && i < values->elements;
                 ++i) {
                const std::string text = RedisClient::text(*values->element[i]);
                if (text.empty() || text.size() > kMaxSummaryBytes) continue;
                if (auto pod = summary_of(parse_json(text))) pods.push_back(std::move(*pod));
            }
        });
        std::sort(pods.begin(), pods.end(),
                  [](const PodSummary& a, const PodSummary& b) { return a.pod < b.pod; });

        const SteadyTime steady = clock_.now();
        if (version_skew(pods).empty()) {
            skew_since_.reset();
        } else if (!skew_since_) {
            skew_since_ = steady;
        }
        const Millis skewed_for =
            skew_since_ ? std::chrono::duration_cast<Millis>(steady - *skew_since_) : Millis(0);
        CheckResult result = judge_fleet(pods, skewed_for, o_.skew_after);
        nlohmann::json list = nlohmann::json::array();
        for (const PodSummary& p : pods) {
            nlohmann::json entry = summary_json(p);
            entry["age_seconds"] =
                static_cast<double>(std::max<std::int64_t>(0, now - p.at_ms)) / 1000;
            list.push_back(std::move(entry));
        }
        result.details["pods"] = std::move(list);
        result.details["fleet"] = o_.fleet;
        const std::string skew = version_skew(pods);
        if (!skew.empty()) result.details["app_versions"] = skew;
        return result;
    }

    std::string key(const std::string& pod) const { return o_.key_prefix + "pod:" + pod; }

    PodSummary self(std::int64_t now) const {
        PodSummary me;
        me.pod = o_.pod;
        me.fleet = o_.fleet;
        me.vitals_version = VITALS_VERSION;
        me.app_version = o_.app_version;
        me.at_ms = now;
        const auto snapshot = snapshots_ != nullptr ? snapshots_->load() : nullptr;
        if (snapshot) {
            me.ready = evaluate(Probe::ready, snapshot->checks).pass;
            me.live = evaluate(Probe::live, snapshot->checks).pass;
            for (const CheckState& c : snapshot->checks)
                if (c.name != name_ && c.effective() == Status::fail) me.failing.push_back(c.name);
        }
        return me;
    }

    std::string name_;
    FleetOptions o_;
    const SnapshotView* snapshots_;
    const Clock& clock_;
    std::optional<SteadyTime> skew_since_;
    KeptRedis redis_;  // one connection between runs: reconnecting each interval, per pod, adds up
};

}  // namespace

// The fleet kind's settings, each declared once.
struct FleetSettings {
    Setting url = Setting::of("url", SettingType::url,
                              "redis:// URL where the pods publish their summaries (the one "
                              "fleet_redis uses)")
                      .required();
    Setting fleet = Setting::of("fleet", SettingType::string,
                                "this pod's fleet; default from the pod's name, as fleet_redis");
    Setting app_version =
        Setting::of("app_version", SettingType::string,
                    "the app's version this pod runs; default APP_VERSION, GIT_SHA or "
                    "VITALS_APP_VERSION");
    Setting skew_after = Setting::of("skew_after", SettingType::duration,
                                     "app versions differing longer than this warn (a rollout "
                                     "takes less)")
                             .defaults("15m")
                             .range(1'000, 86'400'000);
    Setting key_prefix = Setting::of("key_prefix", SettingType::string, "prefix of its keys")
                             .defaults("vitals:fleet:");
    SettingsTable table() const { return {url, fleet, app_version, skew_after, key_prefix}; }
};

CheckKind fleet_kind() {
    static const FleetSettings s;
    CheckKind kind;
    kind.name = "fleet";
    kind.summary =
        "every pod's summary (ready, live, failing checks, versions) from Redis; warns when the "
        "app's versions differ longer than a rollout takes";
    kind.about = About::shared;  // the deployment's state
    // Every pod publishes its own summary: the run is per pod by nature.
    kind.fleet_shares_runs = false;
    kind.default_groups = {};
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::gauge("pods", U::none, "Pods that published a summary in the last 30 s.").headline(),
        O::gauge("pods_unready", U::none, "Of those, pods whose /readyz fails."),
        O::gauge("version_skew_seconds", U::seconds,
                 "How long the pods' app versions have differed, as this pod saw; 0 when they "
                 "agree."),
    };
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        FleetOptions o;
        o.redis = ctx.params.url(s.url);
        try {
            validate_redis_url(o.redis);
        } catch (const std::invalid_argument& e) {
            ctx.refuse(s.url.key, e.what());
        }
        o.pod = ctx.pod_name();
        o.fleet = ctx.params.has(s.fleet) ? ctx.params.str(s.fleet) : fleet_of_pod(o.pod);
        o.app_version =
            ctx.params.has(s.app_version) ? ctx.params.str(s.app_version) : app_version_of(ctx.env);
        o.skew_after = ctx.params.duration(s.skew_after);
        o.key_prefix = ctx.params.str(s.key_prefix);
        return std::make_unique<FleetCheck>(ctx.name, std::move(o), ctx.services.snapshots,
                                            ctx.services.clock_or_system());
    };
    // On wherever fleets are: VITALS_FLEET_REDIS_URL, else REDIS_URL.
    kind.from_env = [](const Environment& env) -> std::optional<nlohmann::json> {
        const std::string url = first_set(env, {"VITALS_FLEET_REDIS_URL", "REDIS_URL"});
        if (url.empty()) return std::nullopt;
        return nlohmann::json{{"url", url}};
    };
    return kind;
}

}  // namespace vitals::checks
