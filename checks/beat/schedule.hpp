// Celery Beat through django-celery-beat's tables: every enabled periodic task, its schedule
// (an interval, or a crontab in a time zone) and when Beat last sent it. A task whose next run
// after its last one is more than `grace` in the past is overdue: Beat stopped, or the task
// was never sent. Pure judgement here; checks/beat.cpp reads the rows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sidecar/core/check.hpp"
#include "sidecar/cron.hpp"
#include "sidecar/duration.hpp"

namespace vitals {

struct PeriodicTask {
    std::string name;
    std::optional<double> last_run;  // Unix seconds; none: Beat never recorded a run
    double changed = 0;              // Unix seconds the row last changed (date_changed)
    std::optional<double> start_time, expires;
    bool one_off = false;
    long long run_count = 0;
    std::optional<double> every_seconds;  // interval schedule
    std::optional<CronSchedule> crontab;  // crontab schedule, in `zone`
    TimeZone zone = TimeZone::utc();
    std::string unjudged;  // why the schedule cannot be judged (solar, clocked, bad row)
};

// The Unix seconds by which Beat should have sent the task again, grace excluded; nullopt
// for a task not due at all (expired, a finished one-off, not started, unjudged).
std::optional<double> beat_due(const PeriodicTask& task, double now);

// Fails when any task is overdue by more than `grace`; observations per task (label "task").
CheckResult judge_beat(const std::vector<PeriodicTask>& tasks, double now, Millis grace);

}  // namespace vitals
