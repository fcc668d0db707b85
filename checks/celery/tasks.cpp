// celery_tasks: task outcomes from Celery's own events, as celery-exporter and Flower read
// them. A background thread holds one connection to the broker, subscribed to `celeryev`,
// and tallies what arrives (events.cpp); each run judges the tally. The probe path never
// touches the broker: it reads the last result like every other check's. In a fleet the
// listener follows the runs: a pod whose check has not run for three intervals (another pod
// of its fleet runs it, docs/fleets.md) closes its connection until its check runs again,
// so the broker fans events out to one listener per fleet, not one per pod.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "checks/builtin.hpp"
#include "checks/celery/celery.hpp"
#include "checks/celery/environment.hpp"
#include "checks/celery/events.hpp"
#include "sidecar/core/policy.hpp"
#include "sidecar/json.hpp"
#include "sidecar/url.hpp"

namespace vitals::checks {

Url celery_broker_url(const Params& params, const Setting& setting);

namespace {

using SteadyClock = std::chrono::steady_clock;

// Bodies read before the tally is updated: few, so that at most that many parsed batches
// (24 events each, as workers flush them) are held at once.
constexpr std::size_t kBatch = 16;
constexpr Millis kEnableEvery{60'000};

double unix_seconds(WallTime t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

class CeleryTasksCheck final : public Check {
  public:
    CeleryTasksCheck(Url url, KombuOptions kombu, TaskTallyOptions options, TaskLimits limits,
                     bool enable_events, Millis idle_after, const Clock& clock)
        : url_(std::move(url)),
          kombu_(std::move(kombu)),
          tally_(std::move(options)),
          limits_(std::move(limits)),
          enable_events_(enable_events),
          idle_after_(idle_after),
          clock_(clock) {}

    ~CeleryTasksCheck() override {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (listener_.joinable()) listener_.join();
    }

    void start() override {
        last_run_ = SteadyClock::now();  // before the listener: it reads it under the lock
        listener_ = std::thread([this] { listen(); });
    }

    CheckResult run(const Deadline& deadline) override {
        EventsView view;
        bool listening = false;
        std::string error;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            last_run_ = SteadyClock::now();
            view = tally_.view(unix_seconds(clock_.wall()));
            listening = listening_;
            error = error_;
        }
        wake_.notify_all();  // an idle listener listens again
        if (!listening) view.not_listening = error.empty() ? std::string("connecting") : error;
        CheckResult result = judge_tasks(view, limits_);
        if (!listening) return result;
        const bool silent_workers = !view.workers.empty() && view.task_events_ever == 0;
        if (enable_events_ && silent_workers) ask_for_events(deadline, result);
        return result;
    }

  private:
    // Sends the enable_events remote-control command (as Flower does), at most once a minute.
    void ask_for_events(const Deadline& deadline, CheckResult& result) {
        const auto now = SteadyClock::now();
        if (asked_ && now - *asked_ < kEnableEvery) {
            result.details["enable_events"] = "sent; waiting for task events";
            return;
        }
        asked_ = now;
        try {
            auto broker = connect_celery_broker(url_, deadline, kombu_);
            const auto replies = broker->control({"enable_events"}, {}, Millis(500), {});
            const auto it = replies.find("enable_events");
            const std::size_t answered = it == replies.end() ? 0 : it->second.size();
            result.details["enable_events"] =
                "sent; " + std::to_string(answered) + " workers answered";
        } catch (const std::exception& e) {
            result.details["enable_events"] = std::string("could not be sent: ") + e.what();
        }
    }

    // The listener: connects, subscribes, tallies; reconnects with a growing pause (1 s to
    // 30 s) when the broker goes away.
    void listen() {
        Millis pause{1000};
        std::vector<std::string> bodies;
        while (!stopping()) {
            if (idle()) {  // another pod runs the check: wait for a run here
                std::unique_lock<std::mutex> lock(mutex_);
                listening_ = false;
                error_ = "idle: another pod of the fleet runs this check";
                wake_.wait(lock, [this] { return stopping_ || !idle_locked(); });
                continue;
            }
            try {
                auto broker = connect_celery_broker(url_, Deadline::in(Millis(2000)), kombu_);
                broker->subscribe_events();
                {
                    std::lock_guard<std::mutex> lock(mutex_);
                    listening_ = true;
                    error_.clear();
                }
                pause = Millis(1000);
                while (!stopping() && !idle()) {
                    bodies.clear();
                    broker->next_events(Millis(200), kBatch, bodies);
                    if (bodies.empty()) continue;
                    // Each body parsed outside the lock (run() never waits on JSON), then
                    // tallied and freed before the next.
                    const double now = unix_seconds(clock_.wall());
                    for (const std::string& body : bodies) {
                        const nlohmann::json e = vitals::parse_json(body);
                        std::lock_guard<std::mutex> lock(mutex_);
                        if (e.is_array()) {
                            for (const nlohmann::json& one : e)
                                tally_.add(one, now);
                        } else {
                            tally_.add(e, now);
                        }
                    }
                }
            } catch (const std::exception& e) {
                std::lock_guard<std::mutex> lock(mutex_);
                listening_ = false;
                error_ = redact_secrets(e.what());
            }
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait_for(lock, pause, [this] { return stopping_; });
            pause = std::min(pause * 2, Millis(30'000));
        }
    }

    bool stopping() {
        std::lock_guard<std::mutex> lock(mutex_);
        return stopping_;
    }

    // Not run here for idle_after: the fleet's run token is another pod's.
    bool idle() {
        std::lock_guard<std::mutex> lock(mutex_);
        return idle_locked();
    }
    bool idle_locked() const { return SteadyClock::now() - last_run_ > idle_after_; }

    Url url_;
    KombuOptions kombu_;
    std::mutex mutex_;  // guards everything below it, shared with the listener
    std::condition_variable wake_;
    EventTally tally_;
    bool listening_ = false;
    std::string error_;
    bool stopping_ = false;
    SteadyClock::time_point last_run_{};  // the last run, or start()
    TaskLimits limits_;
    bool enable_events_;
    Millis idle_after_;  // three intervals
    const Clock& clock_;
    std::optional<SteadyClock::time_point> asked_;  // run()'s own
    std::thread listener_;
};

}  // namespace

// The celery_tasks kind's settings, each declared once: the table lists these members and the
// factory reads its values through them.
struct CeleryTasksSettings {
    Setting url =
        Setting::of("url", SettingType::url, "broker URL, as in CELERY_BROKER_URL").required();
    Setting tasks = Setting::of("tasks", SettingType::string_list,
                                "task names with their own label; default: the busiest `top`");
    Setting top = Setting::of("top", SettingType::integer,
                              "with no `tasks`: the busiest names labelled, the rest as other")
                      .defaults(10)
                      .range(1, 100);
    Setting window = Setting::of("window", SettingType::duration,
                                 "the sliding window outcomes and runtimes are counted over")
                         .defaults("10m")
                         .range(10'000, 86'400'000);
    Setting failure_warn =
        Setting::of("failure_warn", SettingType::number, "share of a task's runs failed: warn at")
            .defaults(0.10)
            .range(0, 1);
    Setting failure_fail =
        Setting::of("failure_fail", SettingType::number, "share of a task's runs failed: fail at")
            .defaults(0.50)
            .range(0, 1);
    Setting min_count = Setting::of("min_count", SettingType::integer,
                                    "runs of a task in the window before its failures count")
                            .defaults(10)
                            .range(1, 1'000'000);
    Setting runtime_p95 =
        Setting::of("runtime_p95", SettingType::string_map,
                    "p95 runtime limits by task name (\"*\" for every other task): warn over");
    Setting enable_events = Setting::of("enable_events", SettingType::boolean,
                                        "when workers send no task events, send them the "
                                        "enable_events command (as Flower does)")
                                .defaults(false);
    SettingsTable table() const {
        const KombuSettings& k = kombu_settings();
        return {url,          tasks,           top,         window,        failure_warn,
                failure_fail, min_count,       runtime_p95, enable_events, k.global_keyprefix,
                k.sep,        k.priority_steps};
    }
};

CheckKind celery_tasks_kind() {
    static const CeleryTasksSettings s;
    CheckKind kind;
    kind.name = "celery_tasks";
    kind.summary = "task outcomes, runtimes and queue waits from Celery's events";
    kind.about = About::shared;             // a shared dependency's state
    kind.explained_by = {"celery_broker"};  // the events come through the broker
    kind.default_groups = {};
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::gauge("failure_ratio", U::ratio, "Share of the task's finished runs that failed.")
            .by("task"),
        O::gauge("succeeded", U::none, "Runs of the task that succeeded in the window.").by("task"),
        O::gauge("failed", U::none, "Runs of the task that failed in the window.").by("task"),
        O::gauge("retried", U::none, "Retries of the task in the window.").by("task"),
        O::gauge("runtime_p95_seconds", U::seconds, "95th percentile of the task's runtime.")
            .by("task"),
        O::gauge("wait_p95_seconds", U::seconds,
                 "95th percentile of the task's wait from received to started.")
            .by("task"),
        O::gauge("workers_heartbeating", U::none, "Workers whose event heartbeats arrive.")
            .headline(),
        O::gauge("workers_lost", U::none,
                 "Workers whose heartbeats stopped without a worker-offline event."),
        O::gauge("events", U::none, "Events received in the window, of any type.").headline(),
        O::gauge("listening", U::boolean, "1 while vitals is subscribed to the events."),
    };
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        TaskTallyOptions options;
        if (ctx.params.has(s.tasks)) options.tasks = ctx.params.strings(s.tasks);
        options.top = static_cast<std::size_t>(ctx.params.integer(s.top));
        options.window = static_cast<double>(ctx.params.duration(s.window).count()) / 1000;
        TaskLimits limits;
        limits.failure_warn = ctx.params.number(s.failure_warn);
        limits.failure_fail = ctx.params.number(s.failure_fail);
        if (limits.failure_warn > limits.failure_fail)
            ctx.refuse(s.failure_warn.key, "must not be above failure_fail");
        limits.min_count = static_cast<double>(ctx.params.integer(s.min_count));
        if (ctx.params.has(s.runtime_p95)) {
            for (const auto& [task, text] : ctx.params.string_map(s.runtime_p95)) {
                const auto limit = parse_duration(text);
                if (!limit) {
                    std::string why = task;
                    why += ": \"" + text + "\" is not a duration (\"30s\")";
                    throw SettingError(s.runtime_p95.key, why);
                }
                limits.runtime_p95[task] = static_cast<double>(limit->count()) / 1000;
            }
        }
        // Three intervals without a run here, and the listener rests: another pod runs it.
        const Millis idle_after =
            ctx.policy != nullptr ? 3 * ctx.policy->interval : Millis(std::chrono::hours(24));
        return std::make_unique<CeleryTasksCheck>(
            celery_broker_url(ctx.params, s.url), kombu_settings().read(ctx.params),
            std::move(options), std::move(limits), ctx.params.boolean(s.enable_events), idle_after,
            ctx.services.clock_or_system());
    };
    // Opt-in: a long-lived connection and every event, per pod.
    kind.from_env = [](const Environment& env) -> std::optional<nlohmann::json> {
        const auto on = env.find("VITALS_CELERY_EVENTS");
        if (on == env.end() || (on->second != "1" && on->second != "true")) return std::nullopt;
        const CeleryBrokerFromEnv found = celery_broker_from_env(env);
        if (!found.url) return std::nullopt;
        return nlohmann::json{{"url", *found.url}};
    };
    return kind;
}

}  // namespace vitals::checks
