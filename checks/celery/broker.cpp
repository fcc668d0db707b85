// celery_broker: the broker is reachable and its queues are not piling up. Celery workers
// crash without any HTTP error; the tasks they leave behind show here.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "checks/builtin.hpp"
#include "checks/celery/celery.hpp"
#include "checks/celery/environment.hpp"
#include "checks/celery/management.hpp"
#include "sidecar/clients/http_client.hpp"
#include "sidecar/clients/redis_client.hpp"
#include "sidecar/json.hpp"

namespace vitals::checks {

namespace {

// Read from the settings, whose declarations hold the defaults.
struct BrokerPolicy {
    std::vector<std::string> queues;
    double depth_warn = 0, depth_fail = 0;
    Millis latency_warn{}, latency_fail{};
    Millis discovery_window{1000};  // how long workers may take to say what they consume
    std::optional<Url> management;  // RabbitMQ's management API, for rates and the head's age
};

class CeleryBrokerCheck final : public Check {
  public:
    CeleryBrokerCheck(Url url, KombuOptions kombu, BrokerPolicy policy, const Clock& clock)
        : url_(std::move(url)), kombu_(std::move(kombu)), p_(std::move(policy)), clock_(clock) {}

    CheckResult run(const Deadline& deadline) override {
        std::unique_ptr<CeleryBroker> broker;
        try {
            broker = connect_celery_broker(url_, deadline, kombu_);
        } catch (const BrokerError& e) {
            return verdict(Status::fail, e.what());
        }
        try {
            return judge(*broker, deadline);
        } catch (const std::exception& e) {
            return verdict(Status::fail, std::string("broker error: ") + e.what());
        }
    }

  private:
    // How long the oldest message of `queue` has waited at least: the same message (by its
    // delivery tag) at the head of a list run after run has waited since it was first seen
    // there. A message first seen now counts from now, so this is a lower bound. Unknown
    // (nullopt) where the transport cannot tell.
    std::optional<double> oldest_wait(CeleryBroker& broker, const std::string& queue) {
        const std::vector<std::string> heads = broker.oldest_messages(queue);
        if (heads.empty()) {
            seen_.erase(queue);
            return std::nullopt;
        }
        const SteadyTime now = clock_.now();
        std::map<std::string, SteadyTime>& before = seen_[queue];
        std::map<std::string, SteadyTime> kept;
        double longest = 0;
        for (const std::string& head : heads) {
            const auto it = before.find(head);
            const SteadyTime since = it == before.end() ? now : it->second;
            kept.emplace(head, since);
            longest = std::max(longest, std::chrono::duration<double>(now - since).count());
        }
        before = std::move(kept);  // at most one entry per priority list
        return longest;
    }

    // AMQP has no way to read the head without taking it: how long the queue has held
    // messages without once shrinking between two runs. A queue that only grows while its
    // consumers are there is not drained (stuck or too slow workers).
    double not_shrinking(const std::string& queue, double depth) {
        const SteadyTime now = clock_.now();
        auto& [last_depth, since] = growing_[queue];
        if (depth == 0 || depth < last_depth || since == SteadyTime{}) since = now;
        last_depth = depth;
        return depth == 0 ? 0 : std::chrono::duration<double>(now - since).count();
    }

    void judge_stall(const std::string& queue, double seconds, double depth, CheckResult& result,
                     Findings& findings) const {
        result.observe("not_shrinking_seconds", "queue", queue, seconds);
        const auto over = [&](Millis limit) {
            return seconds >= std::chrono::duration<double>(limit).count();
        };
        if (!over(p_.latency_warn)) return;
        const std::string text = "queue " + queue + " has not shrunk for " +
                                 format_age(Millis(static_cast<std::int64_t>(seconds * 1000))) +
                                 " (" + std::to_string(static_cast<long long>(depth)) +
                                 " messages): its consumers do not keep up, or are stuck";
        findings.add(over(p_.latency_fail) ? Status::fail : Status::warn, text, Cause::elsewhere);
    }

    void judge_latency(const std::string& queue, double waited, CheckResult& result,
                       Findings& findings) const {
        result.observe("oldest_wait_seconds", "queue", queue, waited);
        const auto over = [&](Millis limit) {
            return waited >= std::chrono::duration<double>(limit).count();
        };
        if (!over(p_.latency_warn)) return;
        const std::string text = "the oldest task in queue " + queue + " has waited at least " +
                                 format_age(Millis(static_cast<std::int64_t>(waited * 1000)));
        // Slow or busy workers lie elsewhere; this check is in no probe group by default.
        if (over(p_.latency_fail)) {
            findings.add(Status::fail, text, Cause::elsewhere);
        } else {
            findings.add(Status::warn, text);
        }
    }

    // No queues configured: the ones the workers say they consume (`active_queues`, as
    // `celery inspect active_queues`), plus Celery's default. Asked once a minute, within at
    // most half of what is left of the run; at most kMaxDiscovered names, so a broker full of
    // queues cannot grow the metrics without bound.
    std::vector<std::string> discover(CeleryBroker& broker, const Deadline& deadline) {
        static constexpr std::size_t kMaxDiscovered = 50;
        const SteadyTime now = clock_.now();
        if (discovered_at_ && now - *discovered_at_ < std::chrono::minutes(1)) return discovered_;
        const auto half_left = std::chrono::duration_cast<Millis>(deadline.remaining()) / 2;
        std::set<std::string> names = {"celery"};
        // Held in a variable: a range-for over a member of a temporary map would outlive it.
        auto replies =
            broker.control({"active_queues"}, {}, std::min(p_.discovery_window, half_left), {});
        for (const WorkerReply& r : replies["active_queues"]) {
            if (!r.reply.is_array()) continue;
            for (const auto& q : r.reply) {
                const auto name = q.is_object() ? q.find("name") : q.end();
                if (q.is_object() && name != q.end() && name->is_string() &&
                    names.size() < kMaxDiscovered)
                    names.insert(name->get<std::string>());
            }
        }
        discovered_.assign(names.begin(), names.end());
        discovered_at_ = now;
        return discovered_;
    }

    CheckResult judge(CeleryBroker& broker, const Deadline& deadline) {
        CheckResult result;
        result.observe("connect_seconds", broker.connect_seconds);
        const auto listening = broker.listening_workers();
        if (listening) result.observe("subscribed_clients", *listening);
        if (const auto unacked = broker.unacked()) result.observe("unacked_messages", *unacked);
        Findings findings;
        // Celery goes on through the failover broker, so this warns and does not fail.
        if (broker.failed_over) findings.add(Status::warn, broker.failover_note);
        double total = 0;
        nlohmann::json queues = nlohmann::json::object();
        const std::vector<std::string> watched =
            p_.queues.empty() ? discover(broker, deadline) : p_.queues;
        for (const QueueDepth& q : broker.queue_depths(watched)) {
            if (!q.exists) {
                findings.add(Status::warn, "queue " + q.queue +
                                               " does not exist (no worker has declared it yet)");
                queues[q.queue] = "missing";
                continue;
            }
            total += q.messages;
            result.observe("queue_messages", "queue", q.queue, q.messages);
            if (q.consumers) result.observe("queue_consumers", "queue", q.queue, *q.consumers);
            queues[q.queue] = {{"messages", q.messages}};
            if (q.consumers) queues[q.queue]["consumers"] = *q.consumers;
            std::optional<double> waited = oldest_wait(broker, q.queue);
            if (p_.management && !is_redis_broker(url_)) {
                try {
                    const ManagedQueue m = managed_queue(*p_.management, url_, q.queue, deadline);
                    if (m.head_timestamp && q.messages > 0) {
                        const double now =
                            std::chrono::duration<double>(clock_.wall().time_since_epoch()).count();
                        waited = std::max(0.0, now - *m.head_timestamp);
                    }
                    if (m.deliver_rate) {
                        // Little's law: the backlog over the rate it is handed out at is the
                        // wait a task queued now faces.
                        const double drain = q.messages == 0 ? 0
                                             : *m.deliver_rate > 0
                                                 ? q.messages / *m.deliver_rate
                                                 : std::numeric_limits<double>::infinity();
                        if (std::isfinite(drain)) {
                            result.observe("drain_seconds", "queue", q.queue, drain);
                            queues[q.queue]["drain_seconds"] = std::round(drain * 1000) / 1000;
                        }
                        queues[q.queue]["deliver_rate"] = *m.deliver_rate;
                        if (m.publish_rate) queues[q.queue]["publish_rate"] = *m.publish_rate;
                        if (!waited)
                            waited = std::isfinite(drain) ? drain : std::optional<double>();
                    }
                } catch (const std::exception& e) {
                    // A detail, never a failure: the broker itself answered.
                    queues[q.queue]["management_error"] = e.what();
                }
            }
            if (waited) {
                judge_latency(q.queue, *waited, result, findings);
                queues[q.queue]["oldest_wait_seconds"] = std::round(*waited * 1000) / 1000;
            } else if (q.messages == 0) {
                judge_latency(q.queue, 0, result, findings);  // nothing waits
            }
            if (!is_redis_broker(url_)) {
                const double stalled = not_shrinking(q.queue, q.messages);
                if (q.messages > 0 && q.consumers.value_or(1) > 0)
                    judge_stall(q.queue, stalled, q.messages, result, findings);
                else
                    result.observe("not_shrinking_seconds", "queue", q.queue, stalled);
            }
            const std::string waiting =
                std::to_string(static_cast<long long>(q.messages)) + " messages waiting";
            const double consumers = q.consumers ? *q.consumers : listening.value_or(1);
            if (q.messages > 0 && consumers == 0) {
                findings.add(Status::fail,
                             "no worker is consuming queue " + q.queue + " (" + waiting + ")");
            } else if (q.messages >= p_.depth_fail) {
                findings.add(Status::fail, "queue " + q.queue + " is backed up: " + waiting);
            } else if (q.messages >= p_.depth_warn) {
                findings.add(Status::warn, "queue " + q.queue + " is growing: " + waiting);
            }
        }
        result.details["queues"] = queues;
        findings.conclude(result, std::to_string(static_cast<long long>(total)) + " messages in " +
                                      std::to_string(watched.size()) +
                                      (watched.size() == 1 ? " queue" : " queues"));
        return result;
    }

    Url url_;
    KombuOptions kombu_;
    BrokerPolicy p_;
    const Clock& clock_;
    std::vector<std::string> discovered_;
    std::optional<SteadyTime> discovered_at_;
    // Per queue: each priority list's oldest message and when it was first seen there.
    std::map<std::string, std::map<std::string, SteadyTime>> seen_;
    // Per queue (AMQP): its depth at the last run, and since when it has not shrunk.
    std::map<std::string, std::pair<double, SteadyTime>> growing_;
};

}  // namespace

// Shared by both Celery kinds: the broker URL, validated.
Url celery_broker_url(const Params& params, const Setting& setting) {
    Url url = params.url(setting);
    if (!is_celery_broker_url(url))
        throw SettingError(setting.key,
                           "must be an amqp://, amqps://, pyamqp:// or redis:// (rediss://) broker "
                           "URL (sqs:// and others are not spoken here)");
    try {
        if (is_redis_broker(url)) validate_redis_url(url);
        if (url.scheme == "amqps") tls_options_from_url(url);
    } catch (const std::invalid_argument& e) {
        throw SettingError(setting.key, e.what());
    }
    return url;
}

// The celery_broker kind's settings, each declared once: the table lists these members and the
// factory reads its values through them.
struct CeleryBrokerSettings {
    Setting url =
        Setting::of("url", SettingType::url,
                    "broker URL, as in CELERY_BROKER_URL (amqp://, amqps://, pyamqp://, redis://, "
                    "rediss://)")
            .required();
    Setting queues =
        Setting::of("queues", SettingType::string_list,
                    "queues to watch; none: the ones the workers consume (active_queues), "
                    "plus celery");
    Setting depth_warn =
        Setting::of("depth_warn", SettingType::integer, "messages waiting in a queue: warn at")
            .defaults(100)
            .range(1, 1e9);
    Setting depth_fail =
        Setting::of("depth_fail", SettingType::integer, "messages waiting in a queue: fail at")
            .defaults(1000)
            .range(1, 1e9);
    Setting latency_warn =
        Setting::of("latency_warn", SettingType::duration,
                    "the oldest waiting task has waited this long (Redis; AMQP: the queue has not "
                    "shrunk, or the management API's drain time): warn")
            .defaults("2m")
            .range(1'000, 86'400'000);
    Setting latency_fail = Setting::of("latency_fail", SettingType::duration, "the same: fail")
                               .defaults("10m")
                               .range(1'000, 86'400'000);
    Setting management_url =
        Setting::of("management_url", SettingType::url,
                    "AMQP: RabbitMQ's management API (http://user:pass@rabbitmq:15672/), for "
                    "delivery rates and the head message's age");
    SettingsTable table() const {
        const KombuSettings& k = kombu_settings();
        return {url,          management_url,     queues, depth_warn,      depth_fail, latency_warn,
                latency_fail, k.global_keyprefix, k.sep,  k.priority_steps};
    }
};

CheckKind celery_broker_kind() {
    static const CeleryBrokerSettings s;
    CheckKind kind;
    kind.name = "celery_broker";
    kind.summary = "Celery broker: reachable, per-queue depth and consumers";
    kind.about = About::shared;  // a shared dependency's state
    kind.default_groups = {};
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::gauge("connect_seconds", U::seconds, "Time to connect to the broker."),
        O::gauge("subscribed_clients", U::none,
                 "Clients subscribed to Celery's channels (Redis transport)."),
        O::gauge("unacked_messages", U::none,
                 "Messages delivered to workers and not yet acknowledged (Redis transport)."),
        O::gauge("queue_messages", U::none, "Messages waiting in the queue.")
            .by("queue")
            .headline(),
        O::gauge("queue_consumers", U::none, "Consumers of the queue (AMQP).").by("queue"),
        O::gauge("oldest_wait_seconds", U::seconds,
                 "How long the queue's oldest task has waited, at least (Redis transport; AMQP "
                 "with management_url).")
            .by("queue"),
        O::gauge("not_shrinking_seconds", U::seconds,
                 "How long the queue has held messages without shrinking between runs (AMQP).")
            .by("queue"),
        O::gauge("drain_seconds", U::seconds,
                 "The queue's depth over its delivery rate (AMQP with management_url).")
            .by("queue"),
    };
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        Url url = celery_broker_url(ctx.params, s.url);
        BrokerPolicy p;
        if (ctx.params.has(s.queues)) {
            p.queues = ctx.params.strings(s.queues);
            if (p.queues.empty())
                throw SettingError(s.queues.key,
                                   "must name a queue, or be left out to discover them");
        }
        p.depth_warn = static_cast<double>(ctx.params.integer(s.depth_warn));
        p.depth_fail = static_cast<double>(ctx.params.integer(s.depth_fail));
        if (p.depth_warn > p.depth_fail)
            ctx.refuse(s.depth_warn.key, "must not be above depth_fail");
        p.latency_warn = ctx.params.duration(s.latency_warn);
        p.latency_fail = ctx.params.duration(s.latency_fail);
        if (ctx.params.has(s.management_url)) {
            if (is_redis_broker(url))
                ctx.refuse(s.management_url.key, "is RabbitMQ's: the broker is Redis");
            p.management = ctx.params.url(s.management_url);
            if (p.management->scheme != "http" && p.management->scheme != "https")
                ctx.refuse(s.management_url.key, "must be an http:// or https:// URL");
        }
        if (p.latency_warn > p.latency_fail)
            ctx.refuse(s.latency_warn.key, "must not be above latency_fail");
        return std::make_unique<CeleryBrokerCheck>(std::move(url),
                                                   kombu_settings().read(ctx.params), std::move(p),
                                                   ctx.services.clock_or_system());
    };
    kind.from_env = [](const Environment& env) -> std::optional<nlohmann::json> {
        const CeleryBrokerFromEnv found = celery_broker_from_env(env);
        if (!found.url) return std::nullopt;
        return nlohmann::json{{"url", *found.url}};
    };
    // Said once for the three Celery kinds, which read the same broker.
    kind.env_notes = [](const Environment& env) { return celery_broker_from_env(env).notes; };
    return kind;
}

}  // namespace vitals::checks
