// Tallying Celery's events at explicit instants: windows, labels, heartbeats, bounds.
#include <catch2/catch.hpp>

#include "checks/celery/celery.hpp"
#include "checks/celery/events.hpp"
#include "support/make_check.hpp"

using namespace vitals;
using nlohmann::json;

namespace {

constexpr double kNow = 1'795'000'000;

json received(const std::string& id, const std::string& name, double at) {
    return {{"type", "task-received"},
            {"uuid", id},
            {"name", name},
            {"timestamp", at},
            {"hostname", "celery@a"}};
}
json event(const std::string& type, const std::string& id, double at, double runtime = 0) {
    json e = {{"type", type}, {"uuid", id}, {"timestamp", at}, {"hostname", "celery@a"}};
    if (runtime > 0) e["runtime"] = runtime;
    return e;
}
json heartbeat(const std::string& host, double processed, double freq = 2) {
    return {{"type", "worker-heartbeat"}, {"hostname", host}, {"freq", freq}, {"active", 1},
            {"processed", processed},     {"timestamp", kNow}};
}

// `runs` runs of `name` at `at`, every `fail_every`-th failing (0: none), each `runtime` s
// long after a `wait` s wait.
void runs(EventTally& tally, const std::string& name, int runs, double at, int fail_every = 0,
          double runtime = 0.05, double wait = 0.01) {
    static int next = 0;
    for (int i = 0; i < runs; ++i) {
        const std::string id = name + "-" + std::to_string(++next);
        tally.add(received(id, name, at), at);
        tally.add(event("task-started", id, at + wait), at);
        if (fail_every > 0 && (i + 1) % fail_every == 0)
            tally.add(event("task-failed", id, at + wait + runtime), at);
        else
            tally.add(event("task-succeeded", id, at + wait + runtime, runtime), at);
    }
}

}  // namespace

TEST_CASE("events: outcomes, runtime and wait per task over the window", "[celery_events]") {
    EventTally tally({{}, 10, 600, 300});
    runs(tally, "shop.report", 20, kNow, 4, 2.0, 0.5);
    runs(tally, "shop.email", 5, kNow + 10);
    const EventsView view = tally.view(kNow + 20);
    REQUIRE(view.tasks.size() == 2);
    const TaskFigures& report = view.tasks.at("shop.report");
    CHECK(report.received == 20);
    CHECK(report.started == 20);
    CHECK(report.succeeded == 15);
    CHECK(report.failed == 5);
    REQUIRE(report.runtime_p95);
    CHECK(*report.runtime_p95 > 1.0);
    CHECK(*report.runtime_p95 <= 2.5);  // within its histogram bucket
    REQUIRE(report.wait_p95);
    CHECK(*report.wait_p95 <= 0.5);
    CHECK(view.events == 75);
    CHECK(view.task_events == 75);

    const CheckResult r = judge_tasks(view, {0.10, 0.50, 10, {}});
    CHECK(r.status == Status::warn);
    CHECK(r.message == "shop.report: 5 of 20 failed (25 %)");
    CHECK(testing::observed(r, "failure_ratio.shop.report") == 0.25);
    CHECK(testing::observed(r, "succeeded.shop.email") == 5);
    // Below min_count a ratio does not count, whatever it is: shop.email fails 5 of 10.
    runs(tally, "shop.email", 5, kNow + 30, 1);
    CHECK(judge_tasks(tally.view(kNow + 40), {0.10, 0.50, 21, {}}).status == Status::ok);
    CHECK(judge_tasks(tally.view(kNow + 40), {0.10, 0.50, 10, {}}).status == Status::fail);

    // Past the window, nothing is left.
    const EventsView later = tally.view(kNow + 700);
    CHECK(later.tasks.empty());
    CHECK(later.events == 0);
    CHECK(judge_tasks(later, {}).status == Status::ok);
}

TEST_CASE("events: a p95 runtime over its limit warns, per task or for all", "[celery_events]") {
    EventTally tally({{}, 10, 600, 300});
    runs(tally, "shop.slow", 10, kNow, 0, 40);
    runs(tally, "shop.fast", 10, kNow, 0, 0.02);
    TaskLimits limits;
    limits.runtime_p95 = {{"*", 30}};
    const CheckResult r = judge_tasks(tally.view(kNow), limits);
    CHECK(r.status == Status::warn);
    CHECK(r.message.find("shop.slow: runtime p95 ") == 0);
    limits.runtime_p95 = {{"*", 30}, {"shop.slow", 120}};
    CHECK(judge_tasks(tally.view(kNow), limits).status == Status::ok);
}

TEST_CASE("events: task.multi batches, and events for tasks received before vitals listened",
          "[celery_events]") {
    EventTally tally({{}, 10, 600, 300});
    const json batch =
        json::array({received("a", "shop.x", kNow), event("task-succeeded", "a", kNow, 0.1),
                     event("task-failed", "unknown-id", kNow), "junk", 3});
    tally.add_body(batch.dump(), kNow);
    tally.add_body("{not json", kNow);
    tally.add_body(R"({"type": 7})", kNow);
    const EventsView view = tally.view(kNow);
    CHECK(view.tasks.at("shop.x").succeeded == 1);
    CHECK(view.tasks.at("other").failed == 1);
    CHECK(view.task_events == 3);
}

TEST_CASE("events: configured names are the labels, everything else is other", "[celery_events]") {
    EventTally tally({{"shop.report"}, 10, 600, 300});
    runs(tally, "shop.report", 3, kNow);
    runs(tally, "shop.email", 4, kNow);
    runs(tally, "shop.sms", 5, kNow);
    const EventsView view = tally.view(kNow);
    REQUIRE(view.tasks.size() == 2);
    CHECK(view.tasks.at("shop.report").succeeded == 3);
    CHECK(view.tasks.at("other").succeeded == 9);
}

TEST_CASE("events: a flood of names keeps the busiest `top` and bounded memory",
          "[celery_events]") {
    EventTally tally({{}, 3, 600, 300});
    for (int i = 0; i < 5000; ++i)
        runs(tally, "user." + std::to_string(i), 1, kNow);
    runs(tally, "shop.hot", 50, kNow);
    runs(tally, "shop.warm", 30, kNow);
    const EventsView view = tally.view(kNow);
    REQUIRE(view.tasks.size() == 4);  // three and other
    CHECK(view.tasks.at("shop.hot").succeeded == 50);
    CHECK(view.tasks.at("shop.warm").succeeded == 30);
    double total = 0;
    for (const auto& [label, f] : view.tasks)
        total += f.succeeded;
    CHECK(total == 5080);  // nothing lost on the way to "other"
    CHECK(judge_tasks(view, {}).observations.size() <= 4 * 6 + 4);
}

TEST_CASE("events: tasks received and never finished are bounded", "[celery_events]") {
    EventTally tally({{}, 10, 600, 300});
    for (std::size_t i = 0; i < EventTally::kMaxPending + 100; ++i)
        tally.add(received("p" + std::to_string(i), "shop.stuck", kNow), kNow);
    // The oldest were forgotten: their start no longer knows its name.
    tally.add(event("task-started", "p0", kNow + 1), kNow);
    tally.add(event("task-started", "p" + std::to_string(EventTally::kMaxPending + 99), kNow + 1),
              kNow);
    const EventsView view = tally.view(kNow);
    CHECK(view.tasks.at("shop.stuck").started == 1);
    CHECK(view.tasks.at("other").started == 1);
}

TEST_CASE("events: workers by heartbeat, lost after two silent intervals, gone when offline",
          "[celery_events]") {
    EventTally tally({{}, 10, 600, 300});
    tally.add(heartbeat("celery@a", 10), kNow);
    tally.add(heartbeat("celery@b", 0, 5), kNow);
    EventsView view = tally.view(kNow + 3);
    REQUIRE(view.workers.size() == 2);
    CHECK_FALSE(view.workers[0].lost);
    CHECK(judge_tasks(view, {}).status == Status::ok);

    view = tally.view(kNow + 4.5);  // a's two intervals (4 s) passed; b's (10 s) did not
    CHECK(view.workers[0].lost);
    CHECK_FALSE(view.workers[1].lost);
    const CheckResult r = judge_tasks(view, {});
    CHECK(r.status == Status::warn);
    CHECK(r.message ==
          "celery@a stopped sending heartbeats without saying offline (crashed, "
          "killed or frozen?)");
    CHECK(testing::observed(r, "workers_lost") == 1);
    CHECK(testing::observed(r, "workers_heartbeating") == 1);

    tally.add({{"type", "worker-offline"}, {"hostname", "celery@b"}}, kNow + 5);
    view = tally.view(kNow + 5);
    REQUIRE(view.workers.size() == 1);
    CHECK(view.workers[0].name == "celery@a");
    CHECK(tally.view(kNow + 305).workers.empty());  // lost long enough: forgotten
}

TEST_CASE("events: heartbeats that count processed tasks with no task event mean -E is off",
          "[celery_events]") {
    EventTally tally({{}, 10, 600, 300});
    tally.add(heartbeat("celery@a", 10), kNow);
    CHECK_FALSE(tally.view(kNow).processed_unseen);
    tally.add(heartbeat("celery@a", 12), kNow + 2);
    const EventsView off = tally.view(kNow + 2);
    CHECK(off.processed_unseen);
    const CheckResult r = judge_tasks(off, {});
    CHECK(r.status == Status::ok);
    CHECK(r.message == "no task events: the workers run without -E (task events off)");
    runs(tally, "shop.x", 1, kNow + 3);
    CHECK_FALSE(tally.view(kNow + 3).processed_unseen);
}

TEST_CASE("events: a worker that went offline and came back counts its tasks from zero",
          "[celery_events]") {
    EventTally tally({{}, 10, 600, 300});
    tally.add(heartbeat("celery@a", 10), kNow);
    tally.add({{"type", "worker-offline"}, {"hostname", "celery@a"}}, kNow + 1);
    tally.add(heartbeat("celery@a", 0), kNow + 2);  // restarted: its count starts again
    tally.add(heartbeat("celery@a", 3), kNow + 4);
    CHECK(tally.view(kNow + 4).processed_unseen);
}

TEST_CASE("events: CLIENT LIST counts kombu's listeners on one database, not vitals'",
          "[celery_events]") {
    const std::string list =
        "id=3 addr=127.0.0.1:5 fd=8 name= age=9 idle=0 flags=P db=1 sub=0 psub=1 multi=-1\n"
        "id=4 addr=127.0.0.1:6 fd=9 name= age=9 idle=0 flags=P db=2 sub=0 psub=1 multi=-1\n"
        "id=5 addr=127.0.0.1:7 fd=10 name=vitals-events age=1 idle=0 flags=P db=1 sub=0 psub=1\n"
        "id=6 addr=127.0.0.1:8 fd=11 name= age=9 idle=0 flags=N db=1 sub=0 psub=0 multi=-1\n"
        "id=7 addr=127.0.0.1:9 fd=12 name=celery age=9 idle=0 flags=P db=1 sub=0 psub=2\n";
    CHECK(count_listening_clients(list, 1) == 2);
    CHECK(count_listening_clients(list, 2) == 1);
    CHECK(count_listening_clients(list, 0) == 0);
    CHECK(count_listening_clients("", 0) == 0);
}

TEST_CASE("events: a task id past 64 bytes is not kept (it is no Celery uuid)", "[celery_events]") {
    EventTally tally({{}, 10, 600, 300});
    const std::string huge(20'000, 'u');
    for (int i = 0; i < 2000; ++i)
        tally.add(received(huge + std::to_string(i), "shop.x", kNow), kNow);
    tally.add(event("task-succeeded", huge + "0", kNow, 0.1), kNow);
    tally.add(received("0d6a4c8e-64ad-4b26-8d3b-0e7a9b1f2c3d", "shop.x", kNow), kNow);
    tally.add(event("task-succeeded", "0d6a4c8e-64ad-4b26-8d3b-0e7a9b1f2c3d", kNow, 0.1), kNow);
    const EventsView view = tally.view(kNow);
    CHECK(view.tasks.at("shop.x").received == 2001);
    CHECK(view.tasks.at("shop.x").succeeded == 1);  // the uuid's; the long id was not matched
    CHECK(view.tasks.at("other").succeeded == 1);
}
