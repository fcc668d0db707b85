// The heartbeat kind's verdict, a pure function of what the board holds, the rule and the
// time: no I/O, no clock of its own. Unit-tested with a table of cases.
#pragma once

#include <cstdint>
#include <optional>

#include "sidecar/core/check.hpp"
#include "sidecar/cron.hpp"
#include "sidecar/duration.hpp"
#include "sidecar/heartbeat/state.hpp"

namespace vitals {

// When a success is due: every `period`, or at each run of `cron` in `zone`; then `grace`.
struct HeartbeatRule {
    Millis period{3'600'000};
    std::optional<CronSchedule> cron;
    TimeZone zone = TimeZone::utc();
    Millis grace{600'000};
    std::optional<Millis> expected_duration;
    // A started run not finished by expected_duration + grace fails (else only warns), as
    // healthchecks.io turns a check down once a started run passes its grace.
    bool overrun_fails = true;

    // The Unix milliseconds by which a success must follow one at `since_ms`, grace included.
    std::int64_t due_ms(std::int64_t since_ms) const;
};

// The status of a heartbeat at `now_ms`; `watching_since_ms` is when vitals began to wait
// for it (a heartbeat that never pinged is judged as if it had succeeded then). It asks to
// run again (run_again_by) the moment its verdict would change with no ping.
CheckResult judge_heartbeat(const HeartbeatState& state, const HeartbeatRule& rule,
                            std::int64_t now_ms, std::int64_t watching_since_ms);

}  // namespace vitals
