// heartbeat: a periodic task (a Celery Beat job, a cron line) pings /heartbeat/<name> when it
// succeeds; the check fails when no success arrives within period (or by the next run of its
// cron schedule) + grace, or after the task reported a failure, and warns when a started run
// takes longer than expected. With shared state it first merges what other replicas saw.
#include <algorithm>
#include <cctype>

#include "checks/builtin.hpp"
#include "checks/heartbeat/judge.hpp"
#include "sidecar/heartbeat/board.hpp"

namespace vitals::checks {

namespace {

class HeartbeatCheck final : public Check {
  public:
    HeartbeatCheck(std::string name, HeartbeatRule rule, HeartbeatBoard& board, const Clock& clock)
        : name_(std::move(name)),
          rule_(rule),
          board_(board),
          clock_(clock),
          watching_since_ms_(now_ms()) {}

    CheckResult run(const Deadline& deadline) override {
        const auto unshared = board_.refresh(name_, deadline);
        CheckResult r = judge_heartbeat(board_.state(name_), rule_, now_ms(), watching_since_ms_);
        if (const auto persist = board_.persist_error()) r.details["state"] = *persist;
        if (unshared) r.details["shared_state"] = *unshared;
        if (board_.shared()) r.observe("shared_state_readable", unshared ? 0 : 1);
        return r;
    }

  private:
    std::int64_t now_ms() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   clock_.wall().time_since_epoch())
            .count();
    }

    std::string name_;
    HeartbeatRule rule_;
    HeartbeatBoard& board_;
    const Clock& clock_;
    std::int64_t watching_since_ms_;
};

}  // namespace

// The heartbeat kind's settings, each declared once: the table lists these members and the
// factory reads its values through them.
struct HeartbeatSettings {
    Setting period =
        Setting::of("period", SettingType::duration, "how often the task succeeds (or give cron)")
            .range(1'000, 366LL * 86'400'000);
    Setting cron =
        Setting::of("cron", SettingType::string,
                    "when the task runs, as a crontab line (\"0 3 * * *\") or @daily; instead "
                    "of period");
    Setting timezone =
        Setting::of("timezone", SettingType::string, "time zone of cron, e.g. Europe/Berlin")
            .defaults("UTC");
    Setting grace =
        Setting::of("grace", SettingType::duration, "extra time before a missing success fails")
            .defaults("5m")
            .range(0, 30LL * 86'400'000);
    Setting expected_duration =
        Setting::of("expected_duration", SettingType::duration, "a started run taking longer warns")
            .range(1'000, 30LL * 86'400'000);
    Setting token = Setting::of("token", SettingType::string,
                                "required in pings (Authorization: Bearer <token> or ?token=)")
                        .secret();
    Setting overrun = Setting::of("overrun", SettingType::string,
                                  "a started run past expected_duration + grace: fail or warn")
                          .defaults("fail")
                          .choices({"fail", "warn"});
    Setting uuid = Setting::of("uuid", SettingType::string,
                               "another name to ping it by at /ping/<uuid>, as healthchecks.io's "
                               "clients do");
    SettingsTable table() const {
        return {period, cron, timezone, grace, expected_duration, overrun, token, uuid};
    }
};

CheckKind heartbeat_kind() {
    static const HeartbeatSettings s;
    CheckKind kind;
    kind.name = "heartbeat";
    kind.summary =
        "a periodic task pings /heartbeat/<name> (or /ping/<name>, healthchecks.io's API); fails "
        "when a success is overdue";
    kind.about = About::shared;  // a shared dependency's state
    // Its state is shared already (heartbeat_redis); a run reads this process's board only.
    kind.fleet_shares_runs = false;
    kind.default_groups = {};
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::gauge("shared_state_readable", U::boolean,
                 "1 when the shared state in Redis could be read (shared heartbeats)."),
        O::gauge("last_success_timestamp_seconds", U::timestamp, "When the last success came."),
        O::gauge("since_success_seconds", U::seconds, "Time since the last success.").headline(),
        O::gauge("last_duration_seconds", U::seconds, "Duration the last run reported."),
        O::gauge("overdue_seconds", U::seconds, "How long past its due time the next ping is.")
            .headline_when_not_zero(),
        O::gauge("due_timestamp_seconds", U::timestamp, "When the next ping is due."),
        O::gauge("runs_in_progress", U::none,
                 "Runs started and not yet finished (each run id, and one started without)."),
    };
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        if (ctx.services.heartbeats == nullptr)
            throw SettingError("kind", "heartbeats are not available here");
        HeartbeatRule rule;
        if (ctx.params.has(s.cron) == ctx.params.has(s.period))
            throw SettingError(s.period.key, "give exactly one of period and cron");
        if (ctx.params.has(s.period)) rule.period = ctx.params.duration(s.period);
        if (ctx.params.has(s.cron)) {
            std::string error;
            const auto zone = TimeZone::load(ctx.params.str(s.timezone), error);
            if (zone)
                rule.zone = *zone;
            else
                ctx.refuse(s.timezone.key, error);
            rule.cron = parse_cron(ctx.params.str(s.cron), error);
            if (!rule.cron) throw SettingError(s.cron.key, error);
            const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                                   ctx.services.clock_or_system().wall().time_since_epoch())
                                   .count();
            if (!next_run(*rule.cron, rule.zone, now_s))
                throw SettingError(s.cron.key, "\"" + rule.cron->text + "\" never runs");
        }
        rule.grace = ctx.params.duration(s.grace);
        if (ctx.params.has(s.expected_duration))
            rule.expected_duration = ctx.params.duration(s.expected_duration);
        rule.overrun_fails = ctx.params.str(s.overrun) == "fail";
        std::string uuid = ctx.params.has(s.uuid) ? ctx.params.str(s.uuid) : "";
        if (!uuid.empty() &&
            (uuid.size() > 64 || !std::all_of(uuid.begin(), uuid.end(), [](char c) {
                 return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
             })))
            ctx.refuse(s.uuid.key, "must be a UUID (letters, digits and '-', at most 64)");
        ctx.services.heartbeats->declare(
            ctx.name, ctx.params.has(s.token) ? ctx.params.str(s.token) : "", uuid);
        return std::make_unique<HeartbeatCheck>(ctx.name, rule, *ctx.services.heartbeats,
                                                ctx.services.clock_or_system());
    };
    return kind;
}

}  // namespace vitals::checks
