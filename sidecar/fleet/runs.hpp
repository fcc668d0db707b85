// Shared-dependency work once per fleet. A check about a shared dependency's state (queue
// depth, worker pings, expiry, pools), or the part of a check that reads one (the postgres
// kind's statistics), is one fact per deployment: of all the pods of one fleet, the one that
// takes the run token (Redis SET NX PX, for most of an interval) runs it and publishes the
// result; every other pod reads that result (one GET) and serves it as its own, with
// `checked_by` and its age. Coordination never leaves a gap: Redis unreachable, a result
// missing, stale or forged, and the pod runs it itself and says so in details. The
// coordination keeps one Redis connection per process, reopened after an error.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "sidecar/clients/kept_redis.hpp"
#include "sidecar/clock.hpp"
#include "sidecar/core/check.hpp"
#include "sidecar/core/policy.hpp"
#include "sidecar/core/registry.hpp"
#include "sidecar/url.hpp"

namespace vitals {

class RedisClient;

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

class FleetRuns final : public FleetParts {
  public:
    // Made before the configuration is read (kinds share their parts while it is), told
    // where to coordinate once it is: until then every run is this pod's own.
    explicit FleetRuns(const Clock& clock);
    ~FleetRuns() override;
    FleetRuns(const FleetRuns&) = delete;
    FleetRuns& operator=(const FleetRuns&) = delete;

    // Before the checks first run.
    void coordinate(FleetOptions options);
    bool coordinating() const { return coordinating_; }
    const FleetOptions& options() const { return options_; }

    // `check` (or a kind's part of one) run once per fleet under `policy`'s interval; `key`
    // is the check's name (and the part's).
    std::unique_ptr<Check> share(const std::string& key, std::unique_ptr<Check> check,
                                 const CheckPolicy& policy) const override;

    // One coordination exchange on the process's connection (opened by `deadline`, reopened
    // after any error), one at a time; the error, if any, is thrown.
    void exchange(const Deadline& deadline, const std::function<void(RedisClient&)>& what) const;
    const Clock& clock() const { return clock_; }

  private:
    const Clock& clock_;
    FleetOptions options_;
    bool coordinating_ = false;
    std::unique_ptr<KeptRedis> redis_;  // made by coordinate()
};

}  // namespace vitals
