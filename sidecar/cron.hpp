// Cron schedules in a time zone: the five-field crontab syntax (and @daily-style names) for
// heartbeat checks, and django-celery-beat's crontab rows for the beat check. Time zones are
// read from the system's TZif files (tzdata), so "0 3 * * *" in Europe/Berlin follows DST.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vitals {

// A zone's UTC offsets over time, from /usr/share/zoneinfo (or $TZDIR). Past the last
// transition in the file the last offset holds.
class TimeZone {
  public:
    static TimeZone utc();
    // nullopt with `error` set for an unknown or unreadable zone name.
    static std::optional<TimeZone> load(const std::string& name, std::string& error);

    const std::string& name() const { return name_; }
    // Seconds east of UTC at a Unix time.
    std::int64_t offset_at(std::int64_t unix_seconds) const;
    // The Unix time of a local wall-clock time (seconds since 1970-01-01 00:00 local).
    // In a gap (spring forward) it lands just after; in an overlap, on the first pass.
    std::int64_t to_unix(std::int64_t local_seconds) const;

  private:
    std::string name_ = "UTC";
    std::vector<std::int64_t> transitions_;  // Unix times, ascending
    std::vector<std::int32_t> offsets_;      // in effect from transitions_[i]
    std::int32_t initial_offset_ = 0;        // before the first transition
};

struct CronSchedule {
    std::bitset<60> minutes;
    std::bitset<24> hours;
    std::bitset<32> days;     // 1..31
    std::bitset<13> months;   // 1..12
    std::bitset<7> weekdays;  // 0 = Sunday
    bool days_restricted = false;
    bool weekdays_restricted = false;
    // Vixie cron: when both day fields are restricted a day matching either runs. Celery's
    // crontab wants both.
    bool either_day = true;
    std::string text;  // as written, for messages

    bool runs_on(int month, int day, int weekday) const;
};

// Parses "m h dom mon dow" (lists, ranges, steps, month and day names) or @hourly, @daily,
// @midnight, @weekly, @monthly, @yearly, @annually. nullopt with `error` set otherwise.
std::optional<CronSchedule> parse_cron(const std::string& text, std::string& error);
// The same from django-celery-beat's five columns (Celery semantics: both day fields apply).
std::optional<CronSchedule> parse_celery_crontab(const std::string& minute, const std::string& hour,
                                                 const std::string& day_of_week,
                                                 const std::string& day_of_month,
                                                 const std::string& month_of_year,
                                                 std::string& error);

// The first run strictly after `after_unix` (seconds), searching five years ahead; nullopt when
// the schedule never runs (say, February 30th).
std::optional<std::int64_t> next_run(const CronSchedule& schedule, const TimeZone& zone,
                                     std::int64_t after_unix);

// Proleptic Gregorian calendar helpers (days since 1970-01-01).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day);
void civil_from_days(std::int64_t days, std::int64_t& year, unsigned& month, unsigned& day);

}  // namespace vitals
