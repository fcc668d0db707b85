#include "checks/beat/schedule.hpp"

#include <algorithm>
#include <cmath>

namespace vitals {

namespace {

std::string ago(double seconds) {
    return format_age(Millis(static_cast<long long>(seconds * 1000)));
}

std::string schedule_text(const PeriodicTask& t) {
    if (t.every_seconds)
        return "every " + format_duration(Millis(static_cast<long long>(*t.every_seconds * 1000)));
    if (t.crontab) return "crontab " + t.crontab->text + " " + t.zone.name();
    return "unknown schedule";
}

}  // namespace

std::optional<double> beat_due(const PeriodicTask& t, double now) {
    if (!t.unjudged.empty()) return std::nullopt;
    if (t.one_off && t.run_count > 0) return std::nullopt;
    if (t.expires && *t.expires <= now) return std::nullopt;
    if (t.start_time && *t.start_time > now) return std::nullopt;
    // Never run: count from when the row (or its start time) last changed.
    double since = t.last_run ? *t.last_run : std::max(t.changed, t.start_time.value_or(0));
    if (t.every_seconds) return since + *t.every_seconds;
    if (t.crontab) {
        const auto next =
            next_run(*t.crontab, t.zone, static_cast<std::int64_t>(std::floor(since)));
        if (next) return static_cast<double>(*next);
    }
    return std::nullopt;
}

CheckResult judge_beat(const std::vector<PeriodicTask>& tasks, double now, Millis grace) {
    CheckResult r;
    const double allowance = static_cast<double>(grace.count()) / 1000;
    Findings findings;
    int overdue_count = 0, judged = 0;
    nlohmann::json unjudged = nlohmann::json::object();
    for (const PeriodicTask& t : tasks) {
        if (!t.unjudged.empty()) unjudged[t.name] = t.unjudged;
        const auto due = beat_due(t, now);
        if (!due) continue;
        ++judged;
        const double overdue = std::max(0.0, now - (*due + allowance));
        if (t.last_run) r.observe("since_run_seconds", "task", t.name, now - *t.last_run);
        r.observe("overdue_seconds", "task", t.name, overdue);
        if (overdue <= 0) continue;
        ++overdue_count;
        findings.add(Status::fail, t.name + ": " +
                                       (t.last_run ? "last sent " + ago(now - *t.last_run) + " ago"
                                                   : std::string("never sent")) +
                                       ", " + schedule_text(t) + ", overdue by " + ago(overdue));
    }
    r.observe("tasks_enabled", static_cast<double>(tasks.size()))
        .observe("tasks_judged", judged)
        .observe("tasks_overdue", overdue_count);
    if (!unjudged.empty()) r.details["not_judged"] = unjudged;
    findings.conclude(r, std::to_string(judged) +
                             (judged == 1 ? " periodic task" : " periodic tasks") + " on schedule");
    if (overdue_count > 1)
        r.message = std::to_string(overdue_count) + " periodic tasks overdue; " + r.message;
    return r;
}

}  // namespace vitals
