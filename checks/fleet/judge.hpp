// The fleet view's verdict on plain data: every pod's summary as the pods published it, and
// how long the app's versions have differed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sidecar/core/check.hpp"
#include "sidecar/duration.hpp"

namespace vitals::checks {

// What one pod says of itself, published for the others with a TTL.
struct PodSummary {
    std::string pod;
    std::string fleet;  // its Deployment (web, worker, ...)
    bool ready = true;
    bool live = true;
    std::vector<std::string> failing;  // its failing checks
    std::string vitals_version;
    std::string app_version;  // APP_VERSION, GIT_SHA or VITALS_APP_VERSION; may be empty
    std::int64_t at_ms = 0;   // when it said so
};

nlohmann::json summary_json(const PodSummary& p);
// nullopt for anything that is not a summary (a forged or foreign value).
std::optional<PodSummary> summary_of(const nlohmann::json& j);

// The app versions the pods run, "version (fleet: pods, ...)", when more than one; empty when
// every pod that says runs the same.
std::string version_skew(const std::vector<PodSummary>& pods);

// ok with the pods counted; warn when versions have differed for `skewed_for` > `limit`.
CheckResult judge_fleet(const std::vector<PodSummary>& pods, Millis skewed_for, Millis limit);

}  // namespace vitals::checks
