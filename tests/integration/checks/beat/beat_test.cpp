// The beat check against django-celery-beat's tables in a real PostgreSQL, written by a real
// Celery Beat process (the e2e Django project's, DatabaseScheduler).
#include <catch2/catch.hpp>

#include <functional>

#include <thread>

#include "support/make_check.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

CheckResult run_once(Check& check) {
    return check.run(Deadline::in(5s));
}

// Runs the check until its status is `want` or `limit` passes; the last result.
// Runs the check every 250 ms until its status is `want` and `also` holds, or `limit` passes.
CheckResult until_status(
    Check& check, Status want, std::chrono::seconds limit,
    const std::function<bool(const CheckResult&)>& also = [](const CheckResult&) { return true; }) {
    const auto until = std::chrono::steady_clock::now() + limit;
    CheckResult r = run_once(check);
    while (!(r.status == want && also(r)) && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(250ms);
        r = run_once(check);
    }
    return r;
}

}  // namespace

TEST_CASE(
    "beat: tasks Beat keeps sending are on schedule, and when Beat dies they turn overdue "
    "within their interval + grace",
    "[beat][postgres]") {
    PostgresServer pg;
    RedisServer broker;
    REQUIRE(django_manage("migrate --noinput -v 0", pg.url()) == 0);
    // Every 2 s; a disabled task long overdue (not judged); a crontab in Berlin time.
    REQUIRE(django_manage(
                "shell -c \"from django_celery_beat.models import *; "
                "from django.utils import timezone; import datetime; "
                "fast = IntervalSchedule.objects.create(every=2, period='seconds'); "
                "hourly = IntervalSchedule.objects.create(every=1, period='hours'); "
                "cron = CrontabSchedule.objects.create(minute='*', hour='*', "
                "timezone='Europe/Berlin'); "
                "PeriodicTask.objects.create(name='tick', task='shop.tick', interval=fast); "
                "PeriodicTask.objects.create(name='minutely', task='shop.tick', crontab=cron); "
                "PeriodicTask.objects.create(name='retired', task='shop.tick', interval=hourly, "
                "enabled=False, last_run_at=timezone.now() - datetime.timedelta(days=2))\"",
                pg.url()) == 0);
    // Grace 6 s: Beat sends a crontab task at its minute boundary, but on a loaded machine
    // seconds late (CI once saw "minutely: never sent, overdue by 0s" with 3 s).
    auto check = make_check("beat", {{"url", pg.url()}, {"grace", "6s"}});

    CeleryBeat beat(pg.url(), broker.url());
    const CheckResult running = until_status(*check, Status::ok, 20s);
    INFO(running.message << " " << running.details.dump());
    REQUIRE(running.status == Status::ok);
    CHECK(observed(running, "tasks_judged") >= 2);  // tick, minutely (+ Beat's backend_cleanup)
    CHECK(observed(running, "tasks_overdue") == 0);
    // Beat sends tick again (its last run moves on by a second or more): it is still sent,
    // and still judged ok.
    const auto seen = std::chrono::steady_clock::now();
    const auto last_run = [&](const CheckResult& r) {  // seconds after `seen`
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - seen).count() -
               observed(r, "since_run_seconds.tick");
    };
    // None yet: Beat has not sent it since the check began; its first send is a move.
    const double first_run =
        has_observation(running, "since_run_seconds.tick") ? last_run(running) : -1e9;
    const CheckResult again = until_status(*check, Status::ok, 10s, [&](const CheckResult& r) {
        return has_observation(r, "since_run_seconds.tick") && last_run(r) > first_run + 1;
    });
    CHECK(again.status == Status::ok);
    CHECK(last_run(again) > first_run + 1);

    beat.kill();
    const auto killed = std::chrono::steady_clock::now();
    // tick turns overdue within its interval + grace. The crontab task may be overdue first:
    // Beat killed just before a minute boundary never sends it, and CI saw that once.
    const auto tick_overdue = [](const CheckResult& r) {
        if (r.message.rfind("tick: last sent", 0) == 0) return true;
        if (!r.details.contains("findings")) return false;
        for (const auto& f : r.details["findings"])
            if (f["finding"].get<std::string>().rfind("tick: last sent", 0) == 0) return true;
        return false;
    };
    CheckResult stopped = run_once(*check);
    while (!tick_overdue(stopped) && std::chrono::steady_clock::now() - killed < 15s) {
        std::this_thread::sleep_for(250ms);
        stopped = run_once(*check);
    }
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
    INFO(stopped.message << " " << stopped.details.dump());
    REQUIRE(stopped.status == Status::fail);
    CHECK(tick_overdue(stopped));
    CHECK(took <= 2 + 6 + 2);  // interval + grace, with a second for the check's own polling
    CHECK(stopped.details.dump().find("retired") == std::string::npos);
}

TEST_CASE("beat: a database without django-celery-beat says so, and a wrong URL fails cleanly",
          "[beat][postgres]") {
    PostgresServer pg;
    auto check = make_check("beat", {{"url", pg.url()}});
    const CheckResult r = run_once(*check);
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("INSTALLED_APPS") != std::string::npos);
    auto nowhere = make_check("beat", json::object(),
                              {{"DATABASE_URL", "postgres://app:pw@127.0.0.1:1/shop"}});
    const CheckResult refused = run_once(*nowhere);
    CHECK(refused.status == Status::fail);
    CHECK(refused.message.find("pw") == std::string::npos);
}
