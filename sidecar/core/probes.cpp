#include "sidecar/core/probes.hpp"

namespace vitals {

namespace {

bool counts_for(Probe probe, const CheckState& c) {
    const std::uint8_t group = probe == Probe::live ? kGroupLive : kGroupReady;
    return (c.policy.groups & group) != 0;
}

bool passes(Probe probe, const CheckState& c) {
    switch (probe) {
        case Probe::live:
            // A failure counts only when a restart may fix it (see Cause); a stale result
            // always does: vitals cannot tell what it would say.
            if (c.stale) return false;
            return c.status != Status::fail || (c.last && c.last->cause != Cause::here);
        case Probe::ready:
            // A shared dependency's state is every pod's: see Cause.
            return check_passes(c) || (!c.stale && c.status == Status::fail && c.last &&
                                       c.last->cause == Cause::shared);
        case Probe::startup:
            break;
    }
    return c.has_run();
}

}  // namespace

std::optional<std::string> unfailable_probes(std::size_t checks, bool any_live) {
    if (checks == 0)
        return "no checks: /livez, /readyz and /startupz always pass (set VITALS_APP_URL, or "
               "add checks)";
    if (!any_live)
        return "no check is in group live: /livez always passes (VITALS_APP_URL adds the "
               "gunicorn check, which counts for it)";
    return std::nullopt;
}

bool check_passes(const CheckState& c) {
    const Status s = c.effective();
    return s == Status::ok || s == Status::warn;
}

ProbeVerdict evaluate(Probe probe, const std::vector<CheckState>& checks) {
    ProbeVerdict verdict;
    for (const CheckState& c : checks) {
        if (counts_for(probe, c) && !passes(probe, c)) {
            verdict.pass = false;
            verdict.failing.push_back(c.name);
        }
    }
    return verdict;
}

Status overall_health(const std::vector<CheckState>& checks) {
    Status overall = Status::ok;
    for (const CheckState& c : checks) {
        const Status s = c.effective();
        if (s == Status::fail && c.policy.critical) return Status::fail;
        if (s != Status::ok) overall = Status::warn;
    }
    return overall;
}

}  // namespace vitals
