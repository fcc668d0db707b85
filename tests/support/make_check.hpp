#pragma once

#include <memory>
#include <string>

#include "sidecar/core/registry.hpp"

namespace vitals::testing {

// A built-in check of `kind` with `settings` (the kind's own keys, validated like a file's);
// throws std::runtime_error listing the problems if they do not validate. With `clock`, the
// check reads time from it (a FakeClock), as from the process's clock in vitals; with
// `state_dir`, it keeps its state there as under vitals' state_dir.
std::unique_ptr<Check> make_check(const std::string& kind, const nlohmann::json& settings,
                                  const Environment& env = {}, const Clock* clock = nullptr,
                                  const std::string& state_dir = "");

// The value of a named observation ("clients_waiting", or with its label's value as JSON keys
// it: "clients_waiting.shop/app"); throws if the result has none.
double observed(const CheckResult& result, const std::string& name);
bool has_observation(const CheckResult& result, const std::string& name);

}  // namespace vitals::testing
