#include "sidecar/fleet/runs.hpp"

#include <algorithm>
#include <cctype>

#include "sidecar/clients/redis_client.hpp"
#include "sidecar/fleet/published.hpp"

namespace vitals {

namespace {

// Each Redis exchange of the coordination gets this long at most: it stands before the run.
constexpr Millis kCoordinationTimeout{500};

bool all_of_class(const std::string& s, bool (*ok)(unsigned char)) {
    return !s.empty() && std::all_of(s.begin(), s.end(),
                                     [&](char c) { return ok(static_cast<unsigned char>(c)); });
}

bool is_lower_alnum(unsigned char c) {
    return std::isdigit(c) != 0 || (c >= 'a' && c <= 'z');
}

bool is_digit(unsigned char c) {
    return std::isdigit(c) != 0;
}

std::int64_t unix_ms(WallTime t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

class SharedCheck final : public Check {
  public:
    SharedCheck(const FleetRuns& runs, std::string key, std::unique_ptr<Check> inner,
                const CheckPolicy& policy)
        : runs_(runs),
          key_(std::move(key)),
          inner_(std::move(inner)),
          // The holder keeps the token from run to run (it renews it), so a check with state
          // across runs stays in one pod; it lapses one interval (with its jitter) and one
          // run's deadline after the holder's last run, and the next pod to run takes it.
          token_ms_(static_cast<long long>(static_cast<double>(policy.interval.count()) *
                                           (1.0 + policy.jitter)) +
                    policy.timeout.count()),
          // Served until it is as old as the scheduler's own staleness limit (two such
          // periods): a holder whose run overstays its interval is not run around at once.
          max_age_(2 * token_ms_) {}

    void start() override { inner_->start(); }

    CheckResult run(const Deadline& deadline) override {
        if (!runs_.coordinating()) return inner_->run(deadline);  // no fleet: as one pod
        const FleetOptions& o = runs_.options();
        const std::string run_key = o.prefix + o.fleet + ":run:" + key_;
        bool mine = false;
        std::string holder, text;
        try {
            runs_.exchange(soon(deadline), [&](RedisClient& redis) {
                const RedisClient::Reply taken = redis.command(
                    {"SET", run_key, o.pod, "NX", "PX", std::to_string(token_ms_)}, "SET NX");
                mine = RedisClient::text(*taken) == "OK";
                if (mine) return;
                holder = RedisClient::text(*redis.command({"GET", run_key}, "GET"));
                if (holder == o.pod) {
                    redis.command({"PEXPIRE", run_key, std::to_string(token_ms_)}, "PEXPIRE");
                    mine = true;
                    return;
                }
                text = RedisClient::text(*redis.command({"GET", result_key()}, "GET"));
            });
        } catch (const std::exception& e) {
            return ran_here(deadline, std::string("fleet coordination unavailable (") + e.what() +
                                          "): ran here");
        }
        if (mine) return run_and_publish(deadline);
        if (!text.empty()) {
            Expected<Published> published =
                decode_published(text, unix_ms(runs_.clock().wall()), max_age_);
            if (published) return served(*std::move(published));
            return ran_here(deadline,
                            "the fleet's result was refused: " + published.error().message);
        }
        return ran_here(deadline,
                        "no result from " + (holder.empty() ? "the fleet" : holder) + " yet");
    }

  private:
    static Deadline soon(const Deadline& deadline) {
        const Deadline coordination = Deadline::in(kCoordinationTimeout);
        return coordination.remaining() < deadline.remaining() ? coordination : deadline;
    }

    std::string result_key() const {
        const FleetOptions& o = runs_.options();
        return o.prefix + o.fleet + ":result:" + key_;
    }

    CheckResult run_and_publish(const Deadline& deadline) {
        // The run leaves a fifth of what is left (at most the coordination's timeout) for
        // publishing, or a run that uses its whole deadline would be cut off as a timeout.
        const auto reserve =
            std::min<std::chrono::milliseconds>(kCoordinationTimeout, deadline.remaining() / 5);
        CheckResult result = inner_->run(Deadline(deadline.at() - reserve));
        const FleetOptions& o = runs_.options();
        mark(result, o.pod, 0);
        try {
            const std::string published =
                encode_published(result, o.pod, unix_ms(runs_.clock().wall()));
            runs_.exchange(deadline, [&](RedisClient& redis) {
                redis.command(
                    {"SET", result_key(), published, "PX", std::to_string(max_age_.count() * 2)},
                    "SET result");
            });
        } catch (const std::exception& e) {
            result.details["fleet"] = std::string("ran for the fleet; not published: ") + e.what();
        }
        return result;
    }

    CheckResult served(Published published) const {
        CheckResult result = std::move(published.result);
        const double age = static_cast<double>(std::max<std::int64_t>(
                               0, unix_ms(runs_.clock().wall()) - published.at_ms)) /
                           1000.0;
        mark(result, published.pod, age);
        return result;
    }

    CheckResult ran_here(const Deadline& deadline, const std::string& why) {
        CheckResult result = inner_->run(deadline);
        mark(result, runs_.options().pod, 0);
        result.details["fleet"] = why;
        return result;
    }

    static void mark(CheckResult& result, const std::string& pod, double age_seconds) {
        if (!result.details.is_object()) result.details = nlohmann::json::object();
        result.details["checked_by"] = pod;
        result.details["checked_age_seconds"] = age_seconds;
    }

    const FleetRuns& runs_;
    std::string key_;
    std::unique_ptr<Check> inner_;
    long long token_ms_;
    Millis max_age_;
};

}  // namespace

std::string fleet_of_pod(const std::string& pod) {
    std::vector<std::string> parts;
    std::size_t from = 0;
    while (true) {
        const auto dash = pod.find('-', from);
        parts.push_back(pod.substr(from, dash == std::string::npos ? dash : dash - from));
        if (dash == std::string::npos) break;
        from = dash + 1;
    }
    const auto join = [&](std::size_t n) {
        std::string out = parts[0];
        for (std::size_t i = 1; i < n; ++i)
            out += "-" + parts[i];
        return out;
    };
    const std::size_t n = parts.size();
    // Deployment: <name>-<pod-template-hash: 6-10 of [a-z0-9]>-<5 of [a-z0-9]>.
    if (n >= 3 && parts[n - 1].size() == 5 && all_of_class(parts[n - 1], is_lower_alnum) &&
        parts[n - 2].size() >= 6 && parts[n - 2].size() <= 10 &&
        all_of_class(parts[n - 2], is_lower_alnum))
        return join(n - 2);
    // StatefulSet: <name>-<ordinal>.
    if (n >= 2 && all_of_class(parts[n - 1], is_digit)) return join(n - 1);
    return pod;
}

FleetRuns::FleetRuns(const Clock& clock) : clock_(clock) {}

FleetRuns::~FleetRuns() = default;

void FleetRuns::coordinate(FleetOptions options) {
    options_ = std::move(options);
    redis_ = std::make_unique<KeptRedis>(options_.redis);
    coordinating_ = true;
}

std::unique_ptr<Check> FleetRuns::share(const std::string& key, std::unique_ptr<Check> check,
                                        const CheckPolicy& policy) const {
    return std::make_unique<SharedCheck>(*this, key, std::move(check), policy);
}

void FleetRuns::exchange(const Deadline& deadline,
                         const std::function<void(RedisClient&)>& what) const {
    if (!redis_) throw RedisError("the fleet does not coordinate");
    redis_->exchange(deadline, what);
}

}  // namespace vitals
