// JSON from outside (dependencies' replies, shared state, the state file, the configuration),
// parsed with one bound on nesting, so that no document can make a later walk or dump() of it
// recurse the stack away.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string_view>

namespace vitals {

// Deeper than any document vitals reads (RDAP's deepest path is about 8 levels).
constexpr std::size_t kMaxJsonDepth = 64;

// How deep `text` nests arrays and objects, counting no bracket inside a string; stops
// counting at `limit` + 1. Linear, no allocation.
std::size_t json_depth(std::string_view text, std::size_t limit = kMaxJsonDepth);

// `text` parsed, or a discarded value (is_discarded()) when it is not JSON or nests deeper
// than `max_depth`: nlohmann's parse(text, nullptr, false) with the bound.
nlohmann::json parse_json(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

}  // namespace vitals
