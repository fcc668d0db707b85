#include "sidecar/core/snapshot.hpp"

namespace vitals {

std::string_view outcome_name(RunOutcome o) {
    switch (o) {
        case RunOutcome::ok:
            return "ok";
        case RunOutcome::warn:
            return "warn";
        case RunOutcome::fail:
            return "fail";
        case RunOutcome::timeout:
            break;
    }
    return "timeout";
}

std::chrono::steady_clock::duration CheckState::stale_after() const {
    const auto period = policy.interval +
                        std::chrono::duration_cast<Millis>(policy.interval * policy.jitter) +
                        policy.timeout;
    return 2 * period;
}

}  // namespace vitals
