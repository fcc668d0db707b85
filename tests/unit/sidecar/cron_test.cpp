// Cron schedules and time zones with explicit instants: no clock is read here. The zones come
// from the system's tzdata, as in production.
#include <catch2/catch.hpp>

#include "sidecar/cron.hpp"

using namespace vitals;

namespace {

std::int64_t utc(int year, unsigned month, unsigned day, int hour, int minute) {
    return days_from_civil(year, month, day) * 86'400 + hour * 3600 + minute * 60;
}

CronSchedule cron(const std::string& text) {
    std::string error;
    auto s = parse_cron(text, error);
    INFO(error);
    REQUIRE(s);
    return *s;
}

TimeZone zone(const std::string& name) {
    std::string error;
    auto z = TimeZone::load(name, error);
    INFO(error);
    REQUIRE(z);
    return *z;
}

}  // namespace

TEST_CASE("cron: civil dates round-trip through day numbers", "[cron]") {
    CHECK(days_from_civil(1970, 1, 1) == 0);
    CHECK(days_from_civil(2000, 3, 1) == 11'017);
    for (std::int64_t d = -800'000; d < 800'000; d += 997) {
        std::int64_t y = 0;
        unsigned m = 0, day = 0;
        civil_from_days(d, y, m, day);
        REQUIRE(days_from_civil(y, m, day) == d);
    }
}

TEST_CASE("cron: the next run in UTC", "[cron]") {
    const TimeZone z = TimeZone::utc();
    CHECK(next_run(cron("0 3 * * *"), z, utc(2026, 11, 25, 2, 59)) == utc(2026, 11, 25, 3, 0));
    CHECK(next_run(cron("0 3 * * *"), z, utc(2026, 11, 25, 3, 0)) == utc(2026, 11, 26, 3, 0));
    CHECK(next_run(cron("*/15 * * * *"), z, utc(2026, 11, 25, 10, 7)) == utc(2026, 11, 25, 10, 15));
    CHECK(next_run(cron("@hourly"), z, utc(2026, 12, 31, 23, 30)) == utc(2027, 1, 1, 0, 0));
    CHECK(next_run(cron("@monthly"), z, utc(2026, 11, 25, 0, 0)) == utc(2026, 12, 1, 0, 0));
    // 2026-11-25 is a Wednesday: the next weekday-morning run is Thursday.
    CHECK(next_run(cron("30 9 * nov-dec mon-fri"), z, utc(2026, 11, 25, 10, 0)) ==
          utc(2026, 11, 26, 9, 30));
    CHECK(next_run(cron("0 0 * * 7"), z, utc(2026, 11, 25, 0, 0)) == utc(2026, 11, 29, 0, 0));
    CHECK(next_run(cron("0 12 29 2 *"), z, utc(2026, 3, 1, 0, 0)) == utc(2028, 2, 29, 12, 0));
    CHECK(next_run(cron("5/20 1 * * *"), z, utc(2026, 11, 25, 1, 26)) == utc(2026, 11, 25, 1, 45));
}

TEST_CASE("cron: day-of-month and day-of-week, either (crontab) or both (Celery)", "[cron]") {
    const TimeZone z = TimeZone::utc();
    // Friday the 13th: crontab runs on the 13th or any Friday; Celery only on both.
    const auto either = cron("0 0 13 * 5");
    CHECK(next_run(either, z, utc(2026, 11, 25, 0, 0)) == utc(2026, 11, 27, 0, 0));  // a Friday
    std::string error;
    const auto both = parse_celery_crontab("0", "0", "5", "13", "*", error);
    REQUIRE(both);
    CHECK(next_run(*both, z, utc(2026, 11, 25, 0, 0)) == utc(2027, 8, 13, 0, 0));
}

TEST_CASE("cron: a time zone's daylight saving moves the UTC instant", "[cron]") {
    const TimeZone berlin = zone("Europe/Berlin");
    CHECK(berlin.offset_at(utc(2026, 1, 15, 12, 0)) == 3600);
    CHECK(berlin.offset_at(utc(2026, 7, 15, 12, 0)) == 7200);
    const auto daily = cron("0 3 * * *");
    // The clocks go forward at 01:00 UTC on Sunday 2026-03-29.
    CHECK(next_run(daily, berlin, utc(2026, 3, 27, 12, 0)) == utc(2026, 3, 28, 2, 0));
    CHECK(next_run(daily, berlin, utc(2026, 3, 28, 2, 0)) == utc(2026, 3, 29, 1, 0));
    // 02:30 does not exist that night: the run happens when the clock jumps.
    CHECK(next_run(cron("30 2 * * *"), berlin, utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 29, 1, 0));
    // 02:30 happens twice on 2026-10-25: the first pass counts.
    CHECK(next_run(cron("30 2 * * *"), berlin, utc(2026, 10, 24, 12, 0)) ==
          utc(2026, 10, 25, 0, 30));
    const TimeZone kolkata = zone("Asia/Kolkata");
    CHECK(next_run(daily, kolkata, utc(2026, 11, 25, 0, 0)) == utc(2026, 11, 25, 21, 30));
}

TEST_CASE("cron: bad schedules and zones are refused with the reason", "[cron]") {
    std::string error;
    CHECK_FALSE(parse_cron("61 * * * *", error));
    CHECK(error.find("minute") != std::string::npos);
    CHECK_FALSE(parse_cron("* * *", error));
    CHECK(error.find("five fields") != std::string::npos);
    CHECK_FALSE(parse_cron("0 5-3 * * *", error));
    CHECK(error.find("backwards") != std::string::npos);
    CHECK_FALSE(parse_cron("0 0 * * xyz", error));
    CHECK_FALSE(parse_cron("*/0 * * * *", error));
    CHECK_FALSE(parse_cron("@sometimes", error));
    CHECK_FALSE(next_run(cron("0 0 30 2 *"), TimeZone::utc(), utc(2026, 1, 1, 0, 0)));
    CHECK_FALSE(TimeZone::load("Mars/Olympus_Mons", error));
    CHECK(error.find("unknown time zone") != std::string::npos);
    CHECK_FALSE(TimeZone::load("../../etc/passwd", error));
    CHECK_FALSE(TimeZone::load("/etc/localtime", error));
}
