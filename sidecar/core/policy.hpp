// What the scheduler and the probes apply to a check: how often, how long, how many
// failures in a row, which probes it counts for. The check itself never sees it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sidecar/duration.hpp"

namespace vitals {

// Probe groups a check counts for. Startup is derived: every ready check has run once.
enum Group : std::uint8_t { kGroupLive = 1, kGroupReady = 2 };

// What a kind's checks are about: which probe groups it may join by default, where its work
// belongs in a fleet, and which failing check explains which (roots.hpp).
enum class About : std::uint8_t {
    app,     // this pod's own app (Gunicorn answering): a restart of the container may fix it
    reach,   // whether this pod reaches a dependency, or its own volume: per pod
    shared,  // a shared dependency's state (queue depth, pools, expiry): one fact per fleet
};

// What a check connects to, for telling which failing check's failure explains its own.
struct Dependencies {
    About about = About::shared;
    std::vector<std::string> endpoints;  // "host:port" or a socket path (endpoints_of)
    std::string on;                      // the check named as its parent in configuration
    // Kinds whose failing check on a shared endpoint explains this one's whatever they are
    // about (the workers' ping goes through the broker the celery_broker check reads).
    std::vector<std::string> explained_by;
};

// Policy the scheduler and probes apply to a check; the check itself never sees it.
struct CheckPolicy {
    Millis interval{10'000};
    Millis timeout{3'000};
    double jitter = 0.1;  // each interval varies by up to this fraction, either way
    int failure_threshold = 1;
    int success_threshold = 1;
    std::uint8_t groups = 0;
    bool critical = true;  // a failure makes /health answer 503
    // Run once per fleet and shared (a shared dependency's state), when the fleet is set up.
    bool shared = false;
    // A kind about this pod's reach may still run a part about a shared state once per fleet
    // (FleetParts): unless the check is in live or says shared: false.
    bool share_parts = false;
    Dependencies depends;
};

}  // namespace vitals
