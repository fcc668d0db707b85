// Shared-dependency work once per fleet. A check about a shared dependency's state (queue
// depth, worker pings, expiry, pools) is one fact per deployment: of all the pods of one
// fleet, the one that takes the check's run token (Redis SET NX PX, for most of an interval)
// runs it and publishes the result; every other pod reads that result (one GET) and serves
// it as its own, with `checked_by` and its age. Coordination never leaves a gap: Redis
// unreachable, a result missing, stale or forged, and the pod runs the check itself and says
// so in details.
#pragma once

#include <memory>
#include <string>

#include "sidecar/clock.hpp"
#include "sidecar/core/check.hpp"
#include "sidecar/core/policy.hpp"
#include "sidecar/url.hpp"

namespace vitals {

struct FleetOptions {
    Url redis;                             // where the tokens and results live
    std::string fleet;                     // the deployment's name: pods of one fleet share
    std::string pod;                       // this pod's name
    std::string prefix = "vitals:fleet:";  // keys are <prefix><fleet>:run:<check>, ...:result:...
};

// The fleet's name from a pod's name, as Kubernetes makes them: a Deployment's pod
// "web-7d9f8b6c4-x2x9z" is "web" (ReplicaSet hash and pod suffix dropped), a StatefulSet's
// "worker-3" is "worker"; anything else is itself.
std::string fleet_of_pod(const std::string& pod);

class FleetRuns {
  public:
    FleetRuns(FleetOptions options, const Clock& clock);
    // `check` run once per fleet under `policy`'s interval; `name` is the check's.
    std::unique_ptr<Check> share(const std::string& name, std::unique_ptr<Check> check,
                                 const CheckPolicy& policy) const;
    const FleetOptions& options() const { return options_; }

  private:
    FleetOptions options_;
    const Clock& clock_;
};

}  // namespace vitals
