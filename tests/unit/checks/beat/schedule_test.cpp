// Judging django-celery-beat's periodic tasks at explicit instants.
#include <catch2/catch.hpp>

#include "checks/beat/schedule.hpp"
#include "support/make_check.hpp"

using namespace vitals;
using namespace std::chrono_literals;

namespace {

constexpr double kNow = 1'795'000'000;  // 2026-11-18 07:46:40 UTC

PeriodicTask every(const std::string& name, double seconds, std::optional<double> last_run) {
    PeriodicTask t;
    t.name = name;
    t.every_seconds = seconds;
    t.last_run = last_run;
    t.changed = kNow - 86'400;
    return t;
}

}  // namespace

TEST_CASE("beat: an interval task is overdue once interval + grace pass after its last run",
          "[beat]") {
    const std::vector<PeriodicTask> fine = {every("report", 3600, kNow - 3600 - 299)};
    CHECK(judge_beat(fine, kNow, 5min).status == Status::ok);
    const std::vector<PeriodicTask> late = {every("report", 3600, kNow - 3600 - 301),
                                            every("sync", 60, kNow - 10)};
    const CheckResult r = judge_beat(late, kNow, 5min);
    CHECK(r.status == Status::fail);
    CHECK(r.message == "report: last sent 65m ago, every 1h, overdue by 1s");
    CHECK(testing::observed(r, "tasks_overdue") == 1);
}

TEST_CASE("beat: a task never sent counts from when its row changed", "[beat]") {
    const std::vector<PeriodicTask> never = {every("new", 600, std::nullopt)};
    const CheckResult r = judge_beat(never, kNow, 0ms);
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("new: never sent") == 0);
}

TEST_CASE("beat: crontab tasks are judged in their time zone", "[beat]") {
    std::string error;
    PeriodicTask t;
    t.name = "nightly";
    t.crontab = parse_celery_crontab("0", "3", "*", "*", "*", error);
    t.zone = *TimeZone::load("Europe/Berlin", error);
    // Sent at 02:00 UTC (03:00 Berlin) on 2026-11-17; the next run is 02:00 UTC on the 18th.
    const double sent = static_cast<double>(days_from_civil(2026, 11, 17) * 86'400 + 2 * 3600);
    t.last_run = sent;
    CHECK(beat_due(t, kNow) == sent + 86'400);
    const std::vector<PeriodicTask> tasks = {t};
    CHECK(judge_beat(tasks, sent + 86'400 + 1799, 30min).status == Status::ok);
    CHECK(judge_beat(tasks, sent + 86'400 + 1801, 30min).status == Status::fail);
}

TEST_CASE("beat: expired, finished one-off, not yet started and solar tasks are not judged",
          "[beat]") {
    PeriodicTask expired = every("expired", 60, kNow - 86'400);
    expired.expires = kNow - 1;
    PeriodicTask once = every("once", 60, kNow - 86'400);
    once.one_off = true;
    once.run_count = 1;
    PeriodicTask later = every("later", 60, std::nullopt);
    later.start_time = kNow + 3600;
    PeriodicTask solar;
    solar.name = "sunrise";
    solar.unjudged = "solar schedules are not judged";
    const std::vector<PeriodicTask> tasks = {expired, once, later, solar};
    const CheckResult r = judge_beat(tasks, kNow, 0ms);
    CHECK(r.status == Status::ok);
    CHECK(testing::observed(r, "tasks_judged") == 0);
    CHECK(r.details["not_judged"]["sunrise"] == "solar schedules are not judged");
}
