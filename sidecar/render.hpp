// Turns a snapshot into every response body, once per publication, so that handlers only
// pick a prepared string. Untrusted variants carry statuses and numbers, never message text,
// details or host names.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "sidecar/snapshot.hpp"

namespace vitals {

// Fills snapshot.rendered from snapshot.checks; what has not changed since `previous` (the
// incident history) is taken from it rather than rendered again.
void render(Snapshot& snapshot, const Snapshot* previous = nullptr);

// Pieces, exposed for tests and for the other renderers.
nlohmann::ordered_json check_json(const CheckState& check, bool trusted, bool with_history);
std::string render_metrics(const Snapshot& snapshot);
std::string render_page(const Snapshot& snapshot, bool trusted);

// JSON as every body is written: two-space indent, so `"status": "ok"` has its space.
std::string json_text(const nlohmann::ordered_json& j);

}  // namespace vitals
