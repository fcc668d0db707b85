#include "checks/heartbeat/judge.hpp"

#include <algorithm>
#include <ctime>
#include <limits>

#include "sidecar/heartbeat/codec.hpp"

namespace vitals {

namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max() / 2;

std::string ago(std::int64_t ms) {
    return format_age(Millis(ms));
}

std::string utc_time(std::int64_t ms) {
    const auto t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &tm);
    return text;
}

// What a person reads beside the verdict: the schedule, the last output, the pings.
void describe(const HeartbeatState& s, const HeartbeatRule& rule, CheckResult& r) {
    if (rule.cron) r.details["schedule"] = rule.cron->text + " (" + rule.zone.name() + ")";
    if (s.last_body_ms) {
        // Trusted callers only (details): a job's output may say more than metrics should.
        r.details["last_output"] = s.last_body;
        r.details["last_output_at"] = utc_time(*s.last_body_ms);
        if (s.last_exit_status) r.details["last_exit_status"] = *s.last_exit_status;
    }
    if (s.last_log_ms) r.details["last_log_at"] = utc_time(*s.last_log_ms);
    if (!s.history.empty()) {
        nlohmann::json pings = nlohmann::json::array();
        for (const PingRecord& p : s.history) {
            nlohmann::json e = to_json(p);
            e["time"] = utc_time(p.at_ms);
            pings.push_back(std::move(e));
        }
        r.details["pings"] = std::move(pings);
    }
}

}  // namespace

std::int64_t HeartbeatRule::due_ms(std::int64_t since_ms) const {
    if (!cron) return since_ms + period.count() + grace.count();
    const auto next = next_run(*cron, zone, since_ms / 1000);
    if (!next) return kNever;
    return *next * 1000 + grace.count();
}

CheckResult judge_heartbeat(const HeartbeatState& s, const HeartbeatRule& rule, std::int64_t now_ms,
                            std::int64_t watching_since_ms) {
    CheckResult r;
    if (s.last_success_ms) {
        r.observe("last_success_timestamp_seconds", static_cast<double>(*s.last_success_ms) / 1000)
            .observe("since_success_seconds",
                     static_cast<double>(now_ms - *s.last_success_ms) / 1000);
    }
    if (s.last_duration_seconds) r.observe("last_duration_seconds", *s.last_duration_seconds);
    const std::int64_t due =
        rule.due_ms(s.last_success_ms ? *s.last_success_ms : watching_since_ms);
    const std::int64_t overdue = std::max<std::int64_t>(0, now_ms - due);
    r.observe("overdue_seconds", static_cast<double>(overdue) / 1000);
    if (due < kNever) r.observe("due_timestamp_seconds", static_cast<double>(due) / 1000);
    // Runs in progress: those started with a run id, and one started without. Judged is the
    // oldest that began after the last success (a run a later success overtook is not).
    std::optional<std::int64_t> running_since;
    const auto consider = [&](std::int64_t started) {
        if (s.last_success_ms && started <= *s.last_success_ms) return;
        running_since = running_since ? std::min(*running_since, started) : started;
    };
    bool ridless_open = false;
    if (s.last_start_ms && (!s.last_success_ms || *s.last_start_ms > *s.last_success_ms)) {
        ridless_open = true;
        consider(*s.last_start_ms);
    }
    for (const auto& [id, started] : s.runs)
        consider(started);
    r.observe("runs_in_progress", static_cast<double>(s.runs.size() + (ridless_open ? 1 : 0)));
    describe(s, rule, r);

    // Run again the moment the verdict would change with no ping: at the due time, and when
    // a started run passes its expected duration. Overdue shows then, not an interval later.
    // Overdue from due + 1 ms on: at exactly the due time the verdict is still ok, and the
    // check must still ask to be woken.
    std::int64_t wake = kNever;
    if (due + 1 > now_ms && due < kNever) wake = due + 1;
    if (rule.expected_duration && running_since) {
        for (const std::int64_t late :
             {*running_since + rule.expected_duration->count() + 1,
              *running_since + rule.expected_duration->count() + rule.grace.count() + 1})
            if (late > now_ms) wake = std::min(wake, late);
    }
    if (wake != kNever)
        r.run_again_by = std::chrono::system_clock::time_point(std::chrono::milliseconds(wake));

    Findings findings;
    const bool failed_last =
        s.last_fail_ms && (!s.last_success_ms || *s.last_fail_ms >= *s.last_success_ms);
    if (failed_last) {
        findings.add(Status::fail, "the task reported a failure " + ago(now_ms - *s.last_fail_ms) +
                                       " ago" +
                                       (s.fail_message.empty() ? "" : ": " + s.fail_message));
    } else if (overdue > 0) {
        findings.add(Status::fail, s.last_success_ms
                                       ? "last success " + ago(now_ms - *s.last_success_ms) +
                                             " ago, overdue by " + ago(overdue)
                                       : "no ping since vitals began watching " +
                                             ago(now_ms - watching_since_ms) + " ago, overdue by " +
                                             ago(overdue));
    } else if (rule.expected_duration && running_since &&
               now_ms - *running_since > rule.expected_duration->count()) {
        const bool stuck =
            now_ms - *running_since > rule.expected_duration->count() + rule.grace.count();
        findings.add(stuck && rule.overrun_fails ? Status::fail : Status::warn,
                     "running for " + ago(now_ms - *running_since) + ", longer than the expected " +
                         format_duration(*rule.expected_duration) +
                         (stuck ? " and its grace " + format_duration(rule.grace) : ""));
    }
    findings.conclude(
        r, (s.last_success_ms ? "last success " + ago(now_ms - *s.last_success_ms) + " ago"
                              : std::string("waiting for the first ping")) +
               ", next due within " + ago(due - now_ms) + " (" + utc_time(due) + ")");
    return r;
}

}  // namespace vitals
