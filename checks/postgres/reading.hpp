// What the postgres kind's statistics part read, as JSON: the pod that reads PostgreSQL's
// statistics for its fleet publishes it with its result, and every other pod judges from it
// (sidecar/fleet/runs.hpp). Read back as input from outside: every member checked for its
// type and range, anything else left at its default, never thrown on.
#pragma once

#include <nlohmann/json.hpp>

#include "checks/postgres/judge.hpp"

namespace vitals {

nlohmann::json reading_to_json(const PostgresReading& reading);
PostgresReading reading_from_json(const nlohmann::json& j);

}  // namespace vitals
