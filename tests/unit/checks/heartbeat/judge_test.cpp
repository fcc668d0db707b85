// The heartbeat kind's verdict with explicit times: no clock is read here.
#include <catch2/catch.hpp>

#include <ctime>

#include "checks/heartbeat/judge.hpp"
#include "support/heartbeat_times.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;

TEST_CASE("heartbeat: ok until period + grace passes without a success", "[heartbeat]") {
    HeartbeatState s;
    s.last_success_ms = kT0;
    CHECK(judge_heartbeat(s, hourly(), kT0 + 69 * kMinute, kT0).status == Status::ok);
    const CheckResult late = judge_heartbeat(s, hourly(), kT0 + 71 * kMinute, kT0);
    CHECK(late.status == Status::fail);
    CHECK(late.message == "last success 71m ago, overdue by 60s");
    double overdue = 0;
    for (const auto& o : late.observations) {
        if (o.name == "overdue_seconds") overdue = o.value;
    }
    CHECK(overdue == 60);
}

TEST_CASE("heartbeat: a task that never pinged is overdue period + grace after watching began",
          "[heartbeat]") {
    const HeartbeatState never;
    const CheckResult early = judge_heartbeat(never, hourly(), kT0 + 30 * kMinute, kT0);
    CHECK(early.status == Status::ok);
    CHECK(early.message.rfind("waiting for the first ping, next due within 40m (20", 0) == 0);
    CHECK(judge_heartbeat(never, hourly(), kT0 + 80 * kMinute, kT0).status == Status::fail);
}

TEST_CASE("heartbeat: an explicit failure fails until the next success", "[heartbeat]") {
    HeartbeatState s;
    s.last_success_ms = kT0;
    s.last_fail_ms = kT0 + 5 * kMinute;
    s.fail_message = "reconciliation: 3 accounts off";
    const CheckResult failed = judge_heartbeat(s, hourly(), kT0 + 6 * kMinute, kT0);
    CHECK(failed.status == Status::fail);
    CHECK(failed.message == "the task reported a failure 60s ago: reconciliation: 3 accounts off");
    s.last_success_ms = kT0 + 7 * kMinute;
    CHECK(judge_heartbeat(s, hourly(), kT0 + 8 * kMinute, kT0).status == Status::ok);
}

TEST_CASE("heartbeat: a started run past its expected duration warns", "[heartbeat]") {
    HeartbeatState s;
    s.last_success_ms = kT0;
    s.last_start_ms = kT0 + 60 * kMinute;
    const auto rule = hourly(Millis(15 * kMinute));
    CHECK(judge_heartbeat(s, rule, kT0 + 70 * kMinute, kT0).status == Status::ok);
    const CheckResult slow = judge_heartbeat(s, rule, kT0 + 76 * kMinute, kT0 - 100 * kMinute);
    CHECK(slow.status == Status::fail);  // overdue wins over slow: 76m > 70m since the last success
    s.last_success_ms = kT0 + 50 * kMinute;
    const CheckResult running = judge_heartbeat(s, rule, kT0 + 76 * kMinute, kT0);
    CHECK(running.status == Status::warn);
    CHECK(running.message == "running for 16m, longer than the expected 15m");
}

TEST_CASE("heartbeat: a cron schedule is due at its next run after the last success, plus grace",
          "[heartbeat]") {
    std::string error;
    HeartbeatRule rule;
    rule.cron = parse_cron("0 3 * * *", error);
    rule.zone = *TimeZone::load("Europe/Berlin", error);
    rule.grace = 30min;
    const auto at = [](int day, int hour, int minute) {  // UTC, November 2026 (CET = UTC+1)
        return (days_from_civil(2026, 11, static_cast<unsigned>(day)) * 86'400 + hour * 3600 +
                minute * 60) *
               1000;
    };
    HeartbeatState s;
    s.last_success_ms = at(24, 2, 5);  // the 03:00 Berlin run of the 24th
    // The next run is 03:00 Berlin on the 25th = 02:00 UTC; due by 02:30 UTC.
    CHECK(rule.due_ms(*s.last_success_ms) == at(25, 2, 30));
    CHECK(judge_heartbeat(s, rule, at(25, 2, 29), at(1, 0, 0)).status == Status::ok);
    const CheckResult late = judge_heartbeat(s, rule, at(25, 2, 31), at(1, 0, 0));
    CHECK(late.status == Status::fail);
    CHECK(late.message.find("overdue by 60s") != std::string::npos);
    CHECK(late.details["schedule"] == "0 3 * * * (Europe/Berlin)");
    s.last_success_ms = at(25, 2, 10);
    CHECK(judge_heartbeat(s, rule, at(25, 2, 31), at(1, 0, 0)).status == Status::ok);
}

TEST_CASE("heartbeat: the check asks to run again at the due time and a run's expected end",
          "[heartbeat]") {
    using ms = std::chrono::milliseconds;
    const auto at = [](std::int64_t t) { return std::chrono::system_clock::time_point(ms(t)); };
    HeartbeatState s;
    s.last_success_ms = kT0;
    // Due 70 minutes after the success: asked to run again the moment after.
    CheckResult r = judge_heartbeat(s, hourly(), kT0 + kMinute, kT0);
    REQUIRE(r.run_again_by);
    CHECK(*r.run_again_by == at(kT0 + 70 * kMinute + 1));
    // A run started since, expected to take 5 minutes: its end comes first.
    s.last_start_ms = kT0 + 2 * kMinute;
    r = judge_heartbeat(s, hourly(5min), kT0 + 3 * kMinute, kT0);
    REQUIRE(r.run_again_by);
    CHECK(*r.run_again_by == at(kT0 + 7 * kMinute + 1));
    // Run exactly at the due time (a wake on the millisecond): still ok, and it must ask
    // again, or it would stay ok until the next interval.
    s.last_start_ms.reset();
    r = judge_heartbeat(s, hourly(), kT0 + 70 * kMinute, kT0);
    CHECK(r.status == Status::ok);
    REQUIRE(r.run_again_by);
    CHECK(*r.run_again_by == at(kT0 + 70 * kMinute + 1));
    CHECK(judge_heartbeat(s, hourly(), kT0 + 70 * kMinute + 1, kT0).status == Status::fail);
    // Already overdue: nothing to wake for (the interval keeps the verdict fresh).
    CHECK_FALSE(judge_heartbeat(s, hourly(), kT0 + 71 * kMinute, kT0).run_again_by);
}

TEST_CASE("heartbeat: the verdict for each state, as a table", "[heartbeat]") {
    struct Case {
        const char* what;
        std::optional<std::int64_t> success, start, fail;
        std::optional<Millis> expected;
        bool overrun_fails;
        std::int64_t now;
        Status status;
        const char* message_has;
    };
    const std::optional<std::int64_t> none;
    const Case cases[] = {
        {"never pinged, within period + grace",
         none,
         none,
         none,
         {},
         true,
         kT0 + 69 * kMinute,
         Status::ok,
         "waiting for the first ping"},
        {"never pinged, past period + grace",
         none,
         none,
         none,
         {},
         true,
         kT0 + 71 * kMinute,
         Status::fail,
         "no ping since vitals began watching"},
        {"succeeded, not yet due",
         kT0,
         none,
         none,
         {},
         true,
         kT0 + 30 * kMinute,
         Status::ok,
         "last success 30m"},
        {"succeeded, overdue",
         kT0,
         none,
         none,
         {},
         true,
         kT0 + 75 * kMinute,
         Status::fail,
         "overdue by 5m"},
        {"failed after its success",
         kT0,
         none,
         kT0 + kMinute,
         {},
         true,
         kT0 + 2 * kMinute,
         Status::fail,
         "reported a failure"},
        {"a success after the failure",
         kT0 + 2 * kMinute,
         none,
         kT0 + kMinute,
         {},
         true,
         kT0 + 3 * kMinute,
         Status::ok,
         "last success"},
        {"a run past its expected duration", kT0, kT0 + kMinute, none, Millis(5 * kMinute), true,
         kT0 + 7 * kMinute, Status::warn, "longer than the expected"},
        {"a run past expected duration and grace", kT0, kT0 + kMinute, none, Millis(5 * kMinute),
         true, kT0 + 17 * kMinute, Status::fail, "and its grace"},
        {"the same, when an overrun only warns", kT0, kT0 + kMinute, none, Millis(5 * kMinute),
         false, kT0 + 17 * kMinute, Status::warn, "and its grace"},
        {"a run within its expected duration", kT0, kT0 + kMinute, none, Millis(5 * kMinute), true,
         kT0 + 4 * kMinute, Status::ok, "last success"},
    };
    for (const Case& c : cases) {
        INFO(c.what);
        HeartbeatState s;
        s.last_success_ms = c.success;
        s.last_start_ms = c.start;
        s.last_fail_ms = c.fail;
        HeartbeatRule rule = hourly(c.expected);
        rule.overrun_fails = c.overrun_fails;
        const CheckResult r = judge_heartbeat(s, rule, c.now, kT0);
        CHECK(r.status == c.status);
        CHECK_THAT(r.message, Catch::Contains(c.message_has));
        // Every failure or warning is one finding, listed in details as every kind's are.
        if (c.status != Status::ok) CHECK(r.details["findings"].size() == 1);
    }
}
