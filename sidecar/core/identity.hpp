// Which pod this vitals is, as the downward API tells it: what the status page, /health and
// `vitals status` say first, so that after a port-forward to "some web pod" an engineer knows
// which one they are looking at.
#pragma once

#include <initializer_list>
#include <string>

#include "sidecar/core/registry.hpp"

namespace vitals {

struct PodIdentity {
    std::string pod;          // POD_NAME, else HOSTNAME (the pod's name in Kubernetes)
    std::string namespace_;   // POD_NAMESPACE
    std::string node;         // NODE_NAME
    std::string app_version;  // VITALS_APP_VERSION, APP_VERSION or GIT_SHA

    bool empty() const { return pod.empty() && namespace_.empty() && node.empty(); }
};

PodIdentity pod_identity(const Environment& env);

// The first of `names` set to something in `env`, or "".
std::string first_set(const Environment& env, std::initializer_list<const char*> names);

// The app's version: VITALS_APP_VERSION, APP_VERSION or GIT_SHA, the first set; or "".
std::string app_version_of(const Environment& env);

}  // namespace vitals
