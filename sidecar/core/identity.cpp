#include "sidecar/core/identity.hpp"

namespace vitals {

std::string first_set(const Environment& env, std::initializer_list<const char*> names) {
    for (const char* name : names)
        if (const auto it = env.find(name); it != env.end() && !it->second.empty())
            return it->second;
    return "";
}

std::string app_version_of(const Environment& env) {
    return first_set(env, {"VITALS_APP_VERSION", "APP_VERSION", "GIT_SHA"});
}

PodIdentity pod_identity(const Environment& env) {
    PodIdentity id;
    id.pod = first_set(env, {"POD_NAME", "HOSTNAME"});
    id.namespace_ = first_set(env, {"POD_NAMESPACE"});
    id.node = first_set(env, {"NODE_NAME"});
    id.app_version = app_version_of(env);
    return id;
}

}  // namespace vitals
