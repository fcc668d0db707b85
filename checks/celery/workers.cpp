// celery_workers: which Celery workers answer Celery's own remote-control ping, natively
// over AMQP or Redis — the `celery inspect ping` of the article, without a Python process
// per probe. In a worker pod it pings only its own worker, for a liveness probe.
#include <algorithm>

#include "checks/builtin.hpp"
#include "checks/celery/celery.hpp"

namespace vitals::checks {

Url celery_broker_url(const Params& params,
                      const Setting& setting);  // checks/celery/broker.cpp

namespace {

struct PingPolicy {
    int min_workers = 1;
    std::vector<std::string> expected;
    std::vector<std::string> destination;  // empty: broadcast
    Millis window{1000};
};

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out;
}

class CeleryWorkersCheck final : public Check {
  public:
    CeleryWorkersCheck(Url url, PingPolicy policy)
        : url_(std::move(url)), policy_(std::move(policy)) {}

    CheckResult run(const Deadline& deadline) override {
        std::unique_ptr<CeleryBroker> broker;
        try {
            broker = connect_celery_broker(url_, deadline);
        } catch (const BrokerError& e) {
            // Celery reconnects by itself; restarting every worker cannot bring a broker back.
            return CheckResult::fail(e.what(), Cause::elsewhere);
        }
        std::vector<WorkerPong> replies;
        try {
            std::set<std::string> stop_when(policy_.destination.begin(), policy_.destination.end());
            stop_when.insert(policy_.expected.begin(), policy_.expected.end());
            replies = broker->ping(policy_.destination, policy_.window, stop_when);
        } catch (const std::exception& e) {
            return CheckResult::fail(std::string("ping failed: ") + e.what(), Cause::elsewhere);
        }
        std::vector<std::string> names;
        nlohmann::json workers = nlohmann::json::array();
        double slowest = 0;
        for (const WorkerPong& p : replies) {
            if (std::find(names.begin(), names.end(), p.name) != names.end()) continue;
            // Pinging one worker, only that worker's reply says it is alive.
            if (!policy_.destination.empty() && p.name != policy_.destination.front()) continue;
            names.push_back(p.name);
            slowest = std::max(slowest, p.seconds);
            workers.push_back(
                {{"name", p.name}, {"reply_seconds", std::round(p.seconds * 1e6) / 1e6}});
        }
        std::sort(names.begin(), names.end());
        CheckResult result;
        result.observe("connect_seconds", broker->connect_seconds)
            .observe("answering", static_cast<double>(names.size()));
        if (!names.empty()) result.observe("slowest_reply_seconds", slowest);
        result.details["workers"] = workers;

        std::vector<std::string> missing;
        for (const auto& want : policy_.expected) {
            if (std::find(names.begin(), names.end(), want) == names.end()) missing.push_back(want);
        }
        const int min_workers = policy_.destination.empty() ? policy_.min_workers : 1;
        // The broker answered: a worker that does not is the worker's own problem, which a
        // restart may fix (in a worker pod this check is the liveness probe).
        Findings findings;
        if (names.empty()) {
            findings.add(Status::fail,
                         "no worker answered the ping within " + format_duration(policy_.window));
        } else if (static_cast<int>(names.size()) < min_workers) {
            findings.add(Status::fail, std::to_string(names.size()) + " worker(s) answered (" +
                                           join(names) + "), fewer than min_workers " +
                                           std::to_string(min_workers));
        }
        if (!missing.empty())
            findings.add(Status::fail, "expected worker(s) did not answer: " + join(missing));
        findings.conclude(result, std::to_string(names.size()) +
                                      (names.size() == 1 ? " worker" : " workers") +
                                      " answered: " + join(names));
        return result;
    }

  private:
    Url url_;
    PingPolicy policy_;
};

// "celery@$HOSTNAME" or "celery@${HOSTNAME}" with the pod's host name.
std::string expand_hostname(std::string text, const Environment& env) {
    const auto host = env.find("HOSTNAME");
    const std::string value = host == env.end() ? "" : host->second;
    for (const std::string token : {"${HOSTNAME}", "$HOSTNAME"}) {
        // Search on past what was put in: a HOSTNAME that itself holds "$HOSTNAME" once
        // made this loop forever.
        for (auto at = text.find(token); at != std::string::npos;
             at = text.find(token, at + value.size())) {
            text.replace(at, token.size(), value);
        }
    }
    return text;
}

}  // namespace

// The celery_workers kind's settings, each declared once: the table lists these members and the
// factory reads its values through them.
struct CeleryWorkersSettings {
    Setting url =
        Setting::of("url", SettingType::url, "broker URL, as in CELERY_BROKER_URL").required();
    Setting min_workers =
        Setting::of("min_workers", SettingType::integer, "fewer workers answering: fail")
            .defaults(1)
            .range(1, 10'000);
    Setting expected = Setting::of("expected", SettingType::string_list,
                                   "worker names that must answer, e.g. celery@worker-0");
    Setting destination =
        Setting::of("destination", SettingType::string,
                    "ping only this worker (worker-pod mode), e.g. celery@$HOSTNAME");
    Setting window = Setting::of("window", SettingType::duration, "how long to collect replies")
                         .defaults("1s")
                         .range(50, 60'000);
    SettingsTable table() const { return {url, min_workers, expected, destination, window}; }
};

CheckKind celery_workers_kind() {
    static const CeleryWorkersSettings s;
    CheckKind kind;
    kind.name = "celery_workers";
    kind.summary = "Celery workers answering the remote-control ping";
    kind.default_groups = {};
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::gauge("connect_seconds", U::seconds, "Time to connect to the broker."),
        O::gauge("answering", U::none, "Workers that answered the ping.").headline(),
        O::gauge("slowest_reply_seconds", U::seconds, "Time until the slowest answer.").headline(),
    };
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        PingPolicy p;
        p.min_workers = static_cast<int>(ctx.params.integer(s.min_workers));
        if (ctx.params.has(s.expected)) p.expected = ctx.params.strings(s.expected);
        if (ctx.params.has(s.destination)) {
            const std::string node = expand_hostname(ctx.params.str(s.destination), ctx.env);
            if (node.empty() || node.back() == '@') {
                throw SettingError(s.destination.key, "names no worker (is HOSTNAME set?)");
            }
            p.destination = {node};
        }
        p.window = ctx.params.duration(s.window);
        return std::make_unique<CeleryWorkersCheck>(celery_broker_url(ctx.params, s.url),
                                                    std::move(p));
    };
    kind.from_env = [](const Environment& env) -> std::optional<nlohmann::json> {
        const auto it = env.find("CELERY_BROKER_URL");
        if (it == env.end() || it->second.empty()) return std::nullopt;
        nlohmann::json spec = {{"url", it->second}};
        // In a worker pod: VITALS_CELERY_DESTINATION=celery@$HOSTNAME pings only its own worker,
        // and that check is the pod's liveness.
        if (const auto d = env.find("VITALS_CELERY_DESTINATION");
            d != env.end() && !d->second.empty()) {
            spec["destination"] = d->second;
            spec["groups"] = nlohmann::json::array({"live"});
        }
        return spec;
    };
    return kind;
}

}  // namespace vitals::checks
