// celery_tasks against real brokers (RabbitMQ and Redis) and real Celery 5 workers sending
// their own events: outcomes and runtimes per task, events off and turned on, a worker whose
// heartbeats stop, a broker that goes away, a flood of task names.
#include <catch2/catch.hpp>

#include <chrono>
#include <sstream>
#include <thread>

#include "checks/celery/celery.hpp"
#include "sidecar/clients/redis_client.hpp"
#include "support/fake_clock.hpp"
#include "support/make_check.hpp"
#include "support/net_fixtures.hpp"
#include "support/running_sidecar.hpp"
#include "support/servers.hpp"
#include "support/servers_internal.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

CheckResult run(Check& check) {
    return check.run(Deadline::in(3s));
}

double value_or(const CheckResult& r, const std::string& name, double fallback) {
    return has_observation(r, name) ? observed(r, name) : fallback;
}

// Runs the check until `ready` holds for a result (or 30 s pass); the last result.
template <typename Ready>
CheckResult run_until(Check& check, Ready ready, std::chrono::seconds limit = 30s) {
    CheckResult last = run(check);
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!ready(last) && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(100ms);
        last = run(check);
    }
    return last;
}

}  // namespace

TEST_CASE(
    "celery_tasks: outcomes, runtimes and heartbeats from a real worker's events, on "
    "RabbitMQ and on Redis",
    "[celery][celery_tasks]") {
    for (const std::string kind : {"redis", "amqp"}) {
        INFO(kind);
        CeleryBrokerServer broker(kind);
        FakeClock clock;  // receipt times: the window passes at once
        auto check = make_check("celery_tasks",
                                {{"url", broker.url},
                                 {"window", "1m"},
                                 {"min_count", 5},
                                 {"runtime_p95", {{"tasks.sleep", "100ms"}}}},
                                {}, &clock);
        CeleryWorker worker(broker.url, "events-" + kind, "", "", {"CELERY_TASK_EVENTS=1"});
        const CheckResult heard = run_until(*check, [](const CheckResult& r) {
            return value_or(r, "workers_heartbeating", 0) >= 1;
        });
        INFO(heard.message << " " << heard.details.dump());
        REQUIRE(observed(heard, "listening") == 1);
        REQUIRE(observed(heard, "workers_heartbeating") == 1);
        CHECK(heard.details["workers"][0]["name"] == worker.node());

        publish(broker.url,
                "[tasks.add.delay(i, i) for i in range(6)]; [tasks.fail.delay(\"disk full\") for i "
                "in range(6)]; tasks.sleep.delay(0.3)");
        const CheckResult counted = run_until(*check, [](const CheckResult& r) {
            return value_or(r, "failed.tasks.fail", 0) == 6 &&
                   value_or(r, "succeeded.tasks.add", 0) == 6 &&
                   value_or(r, "succeeded.tasks.sleep", 0) == 1;
        });
        INFO(counted.details.dump());
        CHECK(counted.status == Status::fail);
        CHECK(counted.message.find("tasks.fail: 6 of 6 failed (100 %)") == 0);
        CHECK(counted.cause == Cause::elsewhere);
        CHECK(observed(counted, "failure_ratio.tasks.add") == 0);
        CHECK(observed(counted, "failure_ratio.tasks.fail") == 1);
        // The sleep's runtime went over its limit; its queue wait is known too.
        CHECK(observed(counted, "runtime_p95_seconds.tasks.sleep") >= 0.25);
        CHECK(has_observation(counted, "wait_p95_seconds.tasks.add"));
        const auto& findings = counted.details["findings"];
        CHECK(std::any_of(findings.begin(), findings.end(), [](const json& f) {
            return f["finding"].get<std::string>().find("tasks.sleep: runtime p95") == 0;
        }));

        // A minute later the failures have left the window.
        clock.advance(61s);
        const CheckResult later = run_until(*check, [](const CheckResult& r) {
            return value_or(r, "workers_heartbeating", 0) == 1;
        });
        CHECK(later.status == Status::ok);
        CHECK_FALSE(has_observation(later, "failed.tasks.fail"));

        // Killed: no worker-offline event, and its heartbeats stop.
        worker.kill();
        // A heartbeat already on its way may land after the kill: time moves on, run after
        // run, until none is fresh.
        clock.advance(5s);
        const CheckResult lost = run_until(*check, [&](const CheckResult& r) {
            if (r.status == Status::warn) return true;
            clock.advance(5s);
            return false;
        });
        CHECK(lost.status == Status::warn);
        CHECK(lost.message.find(worker.node() + " stopped sending heartbeats") == 0);
        CHECK(observed(lost, "workers_lost") == 1);
    }
}

TEST_CASE(
    "celery_tasks: a worker without -E is found out, and enable_events turns its "
    "events on",
    "[celery][celery_tasks]") {
    CeleryBrokerServer broker("redis");
    auto check = make_check("celery_tasks", {{"url", broker.url}, {"min_count", 1}});
    CeleryWorker worker(broker.url, "quiet");  // no -E: heartbeats only
    publish(broker.url, "[tasks.add.delay(1, 1) for i in range(3)]");
    // Its heartbeats say it processed tasks; no task event came.
    const CheckResult off = run_until(*check, [](const CheckResult& r) {
        return r.details.contains("events") &&
               r.details["events"].get<std::string>().rfind("off", 0) == 0;
    });
    INFO(off.details.dump());
    CHECK(off.status == Status::ok);
    CHECK(off.message == "no task events: the workers run without -E (task events off)");

    auto asking = make_check("celery_tasks",
                             {{"url", broker.url}, {"enable_events", true}, {"min_count", 1}});
    const CheckResult asked = run_until(
        *asking, [](const CheckResult& r) { return r.details.contains("enable_events"); });
    INFO(asked.details.dump());
    CHECK(asked.details["enable_events"] == "sent; 1 workers answered");
    publish(broker.url, "tasks.fail.delay(\"now seen\")");
    const CheckResult seen = run_until(
        *asking, [](const CheckResult& r) { return value_or(r, "failed.tasks.fail", 0) == 1; });
    CHECK(seen.status == Status::fail);
    CHECK(seen.message.find("tasks.fail: 1 of 1 failed") == 0);
}

TEST_CASE("celery_tasks: a broker that goes away is said, and the listener comes back with it",
          "[celery][celery_tasks]") {
    RedisServer redis;
    auto check = make_check("celery_tasks", {{"url", redis.url("", 1)}});
    REQUIRE(
        observed(run_until(*check,
                           [](const CheckResult& r) { return value_or(r, "listening", 0) == 1; }),
                 "listening") == 1);
    redis.stop();
    const CheckResult gone =
        run_until(*check, [](const CheckResult& r) { return value_or(r, "listening", 1) == 0; });
    CHECK(gone.status == Status::fail);
    CHECK(gone.message.find("cannot listen to Celery's events: the event stream broke") == 0);
    redis.start();
    const CheckResult back =
        run_until(*check, [](const CheckResult& r) { return value_or(r, "listening", 0) == 1; });
    CHECK(back.status == Status::ok);
    // vitals' own listener is no worker: the broker still counts none listening.
    auto broker = make_check("celery_broker", {{"url", redis.url("", 1)}});
    CHECK(observed(run(*broker), "subscribed_clients") == 0);
}

TEST_CASE("celery_tasks: a thousand task names keep /metrics to the busiest ten and other",
          "[celery][celery_tasks]") {
    RedisServer redis;
    RunningSidecar sidecar(R"({"checks": {"events": {"kind": "celery_tasks", "url": ")" +
                           redis.url("", 1) + R"(", "interval": "200ms"}}})");
    REQUIRE(sidecar.wait_until(
        [](const Snapshot& s) {
            if (!s.checks[0].last) return false;
            for (const auto& o : s.checks[0].last->observations)
                if (o.name == "listening" && o.value == 1) return true;
            return false;
        },
        20s));
    RedisClient publisher(*parse_url(redis.url("", 1)), Deadline::in(5s));
    // Every task runs once, but for ten that run 20 to 29 times: the busiest ten.
    json batch = json::array();
    int events = 0;
    for (int i = 0; i < 1000; ++i) {
        const int runs = i >= 990 ? 20 + (i - 990) : 1;
        for (int n = 0; n < runs; ++n) {
            const std::string id = "t" + std::to_string(i) + "-" + std::to_string(n);
            batch.push_back({{"type", "task-received"},
                             {"uuid", id},
                             {"name", "shop.task_" + std::to_string(i)},
                             {"hostname", "celery@x"},
                             {"timestamp", 1.0}});
            batch.push_back(
                {{"type", "task-succeeded"}, {"uuid", id}, {"runtime", 0.01}, {"timestamp", 2.0}});
            events += 2;
        }
        if (batch.size() > 500 || i == 999) {
            publisher.command(
                {"PUBLISH", "/1.celeryev/task.multi",
                 kombu_envelope(batch.dump(), "celeryev", "task.multi", json::object(), 1)},
                "PUBLISH");
            batch = json::array();
        }
    }
    std::string metrics;
    const bool all_in = wait_until(
        [&] {
            metrics = get(sidecar.port(), "/metrics").body;
            return metrics.find("vitals_celery_tasks_events{check=\"events\"} " +
                                std::to_string(events)) != std::string::npos;
        },
        30s);
    std::string ours;  // the kind's own lines, for the report
    std::istringstream lines(metrics);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("vitals_celery_tasks_", 0) == 0) ours += line + "\n";
    INFO(ours);
    REQUIRE(all_in);
    std::size_t series = 0;
    for (auto at = metrics.find("\nvitals_celery_tasks_succeeded{"); at != std::string::npos;
         at = metrics.find("\nvitals_celery_tasks_succeeded{", at + 1))
        ++series;
    CHECK(series == 11);  // ten names and other
    CHECK(metrics.find("task=\"other\"") != std::string::npos);
    CHECK(metrics.find("vitals_celery_tasks_succeeded{check=\"events\",task=\"shop.task_999\"} "
                       "29\n") != std::string::npos);
    CHECK(metrics.find("vitals_celery_tasks_succeeded{check=\"events\",task=\"other\"} 990\n") !=
          std::string::npos);
    CHECK(metrics.find("task=\"shop.task_0\"") == std::string::npos);
}
