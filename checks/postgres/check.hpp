// The postgres check: a new connection and SELECT 1 every run (this pod's reach), and the
// server's statistics over one long-lived connection (a shared state: once per fleet when
// the fleet coordinates, see make_postgres_check).
#pragma once

#include <memory>

#include "checks/postgres/judge.hpp"
#include "sidecar/core/registry.hpp"
#include "sidecar/url.hpp"

namespace vitals::checks {

// The check for `url` judged by `limits`; its statistics part shared through the context's
// FleetParts when its policy lets the fleet share parts.
std::unique_ptr<Check> make_postgres_check(Url url, PostgresLimits limits, const CheckContext& ctx);

}  // namespace vitals::checks
