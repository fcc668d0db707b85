// celery_workers: which Celery workers answer Celery's own remote-control ping, natively
// over AMQP or Redis — the `celery inspect ping` of the article, without a Python process
// per probe. In a worker pod it pings only its own worker, for a liveness probe.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "checks/builtin.hpp"
#include "checks/celery/celery.hpp"
#include "checks/celery/environment.hpp"

namespace vitals::checks {

Url celery_broker_url(const Params& params,
                      const Setting& setting);  // checks/celery/broker.cpp

namespace {

struct PingPolicy {
    int min_workers = 0;  // this and the durations below are read from the settings
    std::vector<std::string> expected;
    std::vector<std::string> destination;  // empty: broadcast
    Millis window{};
    bool inspect = true;  // also stats, active, reserved, active_queues
    Millis saturation_warn{};
    std::vector<std::string> queues;  // must each be consumed by a worker that answered
};

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out;
}

// What one worker said about itself beyond the ping; never throws on odd shapes.
struct WorkerLoad {
    double slots = 0;     // the pool's max-concurrency
    double busy = 0;      // tasks executing
    double reserved = 0;  // tasks prefetched, waiting in the worker
    std::vector<std::string> queues;
    bool queues_known = false;  // it answered active_queues
};

const nlohmann::json* reply_of(const ControlReplies& replies, const std::string& method,
                               const std::string& node) {
    const auto it = replies.find(method);
    if (it == replies.end()) return nullptr;
    for (const WorkerReply& r : it->second)
        if (r.name == node) return &r.reply;
    return nullptr;
}

WorkerLoad load_of(const ControlReplies& replies, const std::string& node) {
    WorkerLoad load;
    if (const auto* stats = reply_of(replies, "stats", node); stats && stats->is_object()) {
        const auto pool = stats->find("pool");
        if (pool != stats->end() && pool->is_object()) {
            const auto max = pool->find("max-concurrency");
            if (max != pool->end() && max->is_number()) load.slots = max->get<double>();
        }
        if (load.slots <= 0) load.slots = 1;  // solo and threads pools may not say
    }
    if (const auto* active = reply_of(replies, "active", node); active && active->is_array())
        load.busy = static_cast<double>(active->size());
    if (const auto* reserved = reply_of(replies, "reserved", node);
        reserved && reserved->is_array())
        load.reserved = static_cast<double>(reserved->size());
    if (const auto* queues = reply_of(replies, "active_queues", node);
        queues && queues->is_array()) {
        load.queues_known = true;
        for (const auto& q : *queues) {
            const auto name = q.is_object() ? q.find("name") : q.end();
            if (q.is_object() && name != q.end() && name->is_string())
                load.queues.push_back(name->get<std::string>());
        }
    }
    return load;
}

class CeleryWorkersCheck final : public Check {
  public:
    CeleryWorkersCheck(Url url, KombuOptions kombu, PingPolicy policy, const Clock& clock)
        : url_(std::move(url)),
          kombu_(std::move(kombu)),
          policy_(std::move(policy)),
          clock_(clock) {}

    CheckResult run(const Deadline& deadline) override {
        std::unique_ptr<CeleryBroker> broker;
        try {
            broker = connect_celery_broker(url_, deadline, kombu_);
        } catch (const BrokerError& e) {
            // Celery reconnects by itself; restarting every worker cannot bring a broker back.
            return verdict(Status::fail, e.what(), Cause::elsewhere);
        }
        ControlReplies replies;
        try {
            std::set<std::string> stop_when(policy_.destination.begin(), policy_.destination.end());
            stop_when.insert(policy_.expected.begin(), policy_.expected.end());
            std::vector<std::string> methods = {"ping"};
            if (policy_.inspect)
                methods.insert(methods.end(), {"stats", "active", "reserved", "active_queues"});
            replies = broker->control(methods, policy_.destination, policy_.window, stop_when);
        } catch (const std::exception& e) {
            return verdict(Status::fail, std::string("ping failed: ") + e.what(), Cause::elsewhere);
        }
        std::vector<std::string> names;
        nlohmann::json workers = nlohmann::json::array();
        double slowest = 0;
        WorkerLoad total;
        std::set<std::string> consumed;
        bool queues_known = true;  // every worker that answered said what it consumes
        for (const WorkerReply& p : replies["ping"]) {
            const auto ok = p.reply.is_object() ? p.reply.find("ok") : p.reply.end();
            if (!p.reply.is_object() || ok == p.reply.end() || *ok != "pong") continue;
            if (std::find(names.begin(), names.end(), p.name) != names.end()) continue;
            // Pinging one worker, only that worker's reply says it is alive.
            if (!policy_.destination.empty() && p.name != policy_.destination.front()) continue;
            names.push_back(p.name);
            slowest = std::max(slowest, p.seconds);
            nlohmann::json worker = {{"name", p.name},
                                     {"reply_seconds", std::round(p.seconds * 1e6) / 1e6}};
            if (policy_.inspect) {
                const WorkerLoad load = load_of(replies, p.name);
                total.slots += load.slots;
                total.busy += load.busy;
                total.reserved += load.reserved;
                consumed.insert(load.queues.begin(), load.queues.end());
                queues_known = queues_known && load.queues_known;
                worker["pool_slots"] = load.slots;
                worker["busy_slots"] = load.busy;
                worker["reserved_tasks"] = load.reserved;
                worker["queues"] = load.queues;
            }
            workers.push_back(std::move(worker));
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
        // Big task arguments in `active` or `reserved`: the ping still counts; the counts leave
        // out what was dropped.
        const int over = broker->oversized_replies;
        const std::string dropped =
            over == 0 ? ""
                      : std::to_string(over) + " remote-control repl" + (over == 1 ? "y" : "ies") +
                            " over " + std::to_string(CeleryBroker::kMaxReplyBytes / 1024) +
                            " KiB dropped unread";
        Findings findings;
        if (names.empty()) {
            findings.add(Status::fail, "no worker answered the ping within " +
                                           format_duration(policy_.window) +
                                           (dropped.empty() ? "" : " (" + dropped + ")"));
        } else if (static_cast<int>(names.size()) < min_workers) {
            findings.add(Status::fail, std::to_string(names.size()) + " worker(s) answered (" +
                                           join(names) + "), fewer than min_workers " +
                                           std::to_string(min_workers));
        }
        if (!missing.empty())
            findings.add(Status::fail, "expected worker(s) did not answer: " + join(missing));
        if (policy_.inspect && !names.empty()) {
            result.observe("pool_slots", total.slots)
                .observe("busy_slots", total.busy)
                .observe("reserved_tasks", total.reserved);
            judge_saturation(*broker, total, consumed, findings);
            for (const std::string& queue : policy_.queues) {
                // A worker whose active_queues reply went missing may be the one consuming.
                if (consumed.count(queue) == 0 && queues_known) {
                    findings.add(Status::fail, "nobody consumes queue " + queue, Cause::elsewhere);
                }
            }
            result.details["queues_consumed"] = consumed;
        }
        if (!dropped.empty()) result.details["inspection_incomplete"] = dropped;
        findings.conclude(result, std::to_string(names.size()) +
                                      (names.size() == 1 ? " worker" : " workers") +
                                      " answered: " + join(names));
        return result;
    }

  private:
    // Every slot busy is Gunicorn's full accept queue for Celery: tasks wait for a worker.
    // Busy for `saturation_warn` in a row warns, saying how the consumed queues grew meanwhile.
    void judge_saturation(CeleryBroker& broker, const WorkerLoad& total,
                          const std::set<std::string>& consumed, Findings& findings) {
        const bool saturated = total.slots > 0 && total.busy >= total.slots;
        if (!saturated) {
            saturated_since_.reset();
            return;
        }
        std::map<std::string, double> depths;
        try {
            for (const QueueDepth& q :
                 broker.queue_depths(std::vector<std::string>(consumed.begin(), consumed.end())))
                if (q.exists) depths[q.queue] = q.messages;
        } catch (const std::exception&) {
            depths.clear();  // the verdict stands without the depths
        }
        const SteadyTime now = clock_.now();
        if (!saturated_since_) {
            saturated_since_ = now;
            depths_then_ = depths;
        }
        const auto busy_for = std::chrono::duration_cast<Millis>(now - *saturated_since_);
        if (busy_for < policy_.saturation_warn) return;
        std::string grew;
        for (const auto& [queue, messages] : depths) {
            const auto then = depths_then_.find(queue);
            if (then != depths_then_.end() && messages > then->second) {
                grew += (grew.empty() ? " while " : ", ") + queue + " grew from " +
                        std::to_string(static_cast<long long>(then->second)) + " to " +
                        std::to_string(static_cast<long long>(messages));
            }
        }
        findings.add(Status::warn,
                     "every worker slot has been busy for " + format_age(busy_for) + " (" +
                         std::to_string(static_cast<long long>(total.busy)) + " of " +
                         std::to_string(static_cast<long long>(total.slots)) + ")" + grew,
                     Cause::elsewhere);
    }

    Url url_;
    KombuOptions kombu_;
    PingPolicy policy_;
    const Clock& clock_;
    std::optional<SteadyTime> saturated_since_;
    std::map<std::string, double> depths_then_;
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
    Setting inspect =
        Setting::of("inspect", SettingType::boolean,
                    "also ask the workers for stats, active, reserved and active_queues (pool "
                    "size, busy slots, prefetched tasks, queues consumed), in the same window")
            .defaults(true);
    Setting saturation_warn = Setting::of("saturation_warn", SettingType::duration,
                                          "every worker slot busy for this long: warn")
                                  .defaults("2m")
                                  .range(1'000, 86'400'000);
    Setting queues = Setting::of("queues", SettingType::string_list,
                                 "queues some answering worker must consume, e.g. reports");
    SettingsTable table() const {
        const KombuSettings& k = kombu_settings();
        return {
            url,    min_workers,        expected, destination,     window, inspect, saturation_warn,
            queues, k.global_keyprefix, k.sep,    k.priority_steps};
    }
};

CheckKind celery_workers_kind() {
    static const CeleryWorkersSettings s;
    CheckKind kind;
    kind.name = "celery_workers";
    kind.summary = "Celery workers answering the remote-control ping";
    kind.about = About::shared;             // a shared dependency's state
    kind.explained_by = {"celery_broker"};  // the ping goes through the broker
    kind.default_groups = {};
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::gauge("connect_seconds", U::seconds, "Time to connect to the broker."),
        O::gauge("answering", U::none, "Workers that answered the ping.").headline(),
        O::gauge("slowest_reply_seconds", U::seconds, "Time until the slowest answer."),
        O::gauge("pool_slots", U::none, "Tasks the answering workers can run at once."),
        O::gauge("busy_slots", U::none, "Tasks the answering workers are running.").headline(),
        O::gauge("reserved_tasks", U::none, "Tasks prefetched by workers, waiting in them."),
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
        p.inspect = ctx.params.boolean(s.inspect);
        p.saturation_warn = ctx.params.duration(s.saturation_warn);
        if (ctx.params.has(s.queues)) p.queues = ctx.params.strings(s.queues);
        if (!p.queues.empty() && !p.inspect)
            ctx.refuse(s.queues.key, "needs inspect: the queues come from active_queues");
        return std::make_unique<CeleryWorkersCheck>(celery_broker_url(ctx.params, s.url),
                                                    kombu_settings().read(ctx.params), std::move(p),
                                                    ctx.services.clock_or_system());
    };
    kind.from_env = [](const Environment& env) -> std::optional<nlohmann::json> {
        const CeleryBrokerFromEnv found = celery_broker_from_env(env);
        if (!found.url) return std::nullopt;
        nlohmann::json spec = {{"url", *found.url}};
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
