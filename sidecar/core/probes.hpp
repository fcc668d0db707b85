// Probe policy: which checks each probe counts and what passes.
//  live    - only checks in the "live" group; passes unless one has failed for a cause that
//            lies here (the app itself: see Cause), or gone stale. Unknown passes: a check
//            that has not run yet is no reason to restart a pod.
//  ready   - checks in the "ready" group; each must be ok or warn. Unknown and stale fail.
//  startup - passes once every ready check has completed at least one run.
//  health  - every check: fail when a critical check fails, warn when anything is less
//            than ok (a warning, a non-critical failure, a check not run yet), else ok.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sidecar/core/snapshot.hpp"

namespace vitals {

enum class Probe { live, ready, startup };

struct ProbeVerdict {
    bool pass = true;
    std::vector<std::string> failing;  // names of the checks that hold it back
};

ProbeVerdict evaluate(Probe probe, const std::vector<CheckState>& checks);
Status overall_health(const std::vector<CheckState>& checks);

// Why the probes cannot fail with `checks` checks of which `any_live` counts for /livez (none
// at all, none in live): said in /health and at start. nullopt when they can.
std::optional<std::string> unfailable_probes(std::size_t checks, bool any_live);

// For /health/<check>: 200 for ok and warn; 503 for fail, stale and unknown.
bool check_passes(const CheckState& check);

}  // namespace vitals
