// ${VAR} in the configuration file: a value taken from the environment where it is written,
// so that a password stays in the Secret the pod's environment comes from, not in a
// ConfigMap. A variable that is not set is a configuration error naming it; every value put
// in is redacted like a password wherever vitals prints the configuration.
#pragma once

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "sidecar/core/registry.hpp"
#include "sidecar/core/settings.hpp"

namespace vitals {

// Replaces every ${NAME} (NAME: [A-Za-z_][A-Za-z0-9_]*) in the strings of `value` with the
// environment's; "$${" stays a literal "${". Collects what it put in into `expanded` and a
// problem per unset variable, at its JSON pointer, into `errors`.
void expand_environment(nlohmann::json& value, const Environment& env, const std::string& where,
                        const std::string& pointer, std::set<std::string>& expanded,
                        ConfigErrors& errors);

// Every string in `value` with each value of `expanded` (of 3 bytes or more) in it replaced
// by "****".
void mask_expanded(nlohmann::json& value, const std::set<std::string>& expanded);

}  // namespace vitals
