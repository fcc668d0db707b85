// celery_broker: the broker is reachable and its queues are not piling up. Celery workers
// crash without any HTTP error; the tasks they leave behind show here.
#include "checks/builtin.hpp"
#include "checks/celery/celery.hpp"
#include "sidecar/clients/redis_client.hpp"

namespace vitals::checks {

namespace {

class CeleryBrokerCheck final : public Check {
  public:
    CeleryBrokerCheck(Url url, std::vector<std::string> queues, double warn, double fail)
        : url_(std::move(url)), queues_(std::move(queues)), warn_(warn), fail_(fail) {}

    CheckResult run(const Deadline& deadline) override {
        std::unique_ptr<CeleryBroker> broker;
        try {
            broker = connect_celery_broker(url_, deadline);
        } catch (const BrokerError& e) {
            return CheckResult::fail(e.what());
        }
        try {
            return judge(*broker);
        } catch (const std::exception& e) {
            return CheckResult::fail(std::string("broker error: ") + e.what());
        }
    }

  private:
    CheckResult judge(CeleryBroker& broker) const {
        CheckResult result;
        result.observe("connect_seconds", broker.connect_seconds);
        const auto listening = broker.listening_workers();
        if (listening) result.observe("subscribed_clients", *listening);
        if (const auto unacked = broker.unacked()) result.observe("unacked_messages", *unacked);
        Findings findings;
        double total = 0;
        nlohmann::json queues = nlohmann::json::object();
        for (const QueueDepth& q : broker.queue_depths(queues_)) {
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
            const std::string waiting =
                std::to_string(static_cast<long long>(q.messages)) + " messages waiting";
            const double consumers = q.consumers ? *q.consumers : listening.value_or(1);
            if (q.messages > 0 && consumers == 0) {
                findings.add(Status::fail,
                             "no worker is consuming queue " + q.queue + " (" + waiting + ")");
            } else if (q.messages >= fail_) {
                findings.add(Status::fail, "queue " + q.queue + " is backed up: " + waiting);
            } else if (q.messages >= warn_) {
                findings.add(Status::warn, "queue " + q.queue + " is growing: " + waiting);
            }
        }
        result.details["queues"] = queues;
        findings.conclude(result, std::to_string(static_cast<long long>(total)) + " messages in " +
                                      std::to_string(queues_.size()) +
                                      (queues_.size() == 1 ? " queue" : " queues"));
        return result;
    }

    Url url_;
    std::vector<std::string> queues_;
    double warn_;
    double fail_;
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
    Setting queues = Setting::of("queues", SettingType::string_list, "queues to watch")
                         .defaults(nlohmann::json::array({"celery"}));
    Setting depth_warn =
        Setting::of("depth_warn", SettingType::integer, "messages waiting in a queue: warn at")
            .defaults(100)
            .range(1, 1e9);
    Setting depth_fail =
        Setting::of("depth_fail", SettingType::integer, "messages waiting in a queue: fail at")
            .defaults(1000)
            .range(1, 1e9);
    SettingsTable table() const { return {url, queues, depth_warn, depth_fail}; }
};

CheckKind celery_broker_kind() {
    static const CeleryBrokerSettings s;
    CheckKind kind;
    kind.name = "celery_broker";
    kind.summary = "Celery broker: reachable, per-queue depth and consumers";
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
    };
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        Url url = celery_broker_url(ctx.params, s.url);
        const auto queues = ctx.params.strings(s.queues);
        if (queues.empty()) throw SettingError(s.queues.key, "must name at least one queue");
        const auto warn = static_cast<double>(ctx.params.integer(s.depth_warn));
        const auto fail = static_cast<double>(ctx.params.integer(s.depth_fail));
        if (warn > fail) throw SettingError(s.depth_warn.key, "must not be above depth_fail");
        return std::make_unique<CeleryBrokerCheck>(std::move(url), queues, warn, fail);
    };
    kind.from_env = [](const Environment& env) -> std::optional<nlohmann::json> {
        const auto it = env.find("CELERY_BROKER_URL");
        if (it == env.end() || it->second.empty()) return std::nullopt;
        return nlohmann::json{{"url", it->second}};
    };
    return kind;
}

}  // namespace vitals::checks
