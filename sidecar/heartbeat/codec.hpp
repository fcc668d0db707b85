// Heartbeat state as JSON: the state file's form (one object per heartbeat) and the ping
// history's, which the shared hash and the check's details use too. Reading is tolerant: a
// field of the wrong type is dropped, never thrown on, and lists are cut to their limits as
// they are read, before anything merges them. What is read must still be sanitized().
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sidecar/heartbeat/state.hpp"

namespace vitals {

nlohmann::json to_json(const PingRecord& p);
nlohmann::json to_json(const HeartbeatState& s);
nlohmann::json history_json(const std::vector<PingRecord>& history);

HeartbeatState state_from_json(const nlohmann::json& j);
// Entries without a time or kind are dropped; the newest kHeartbeatHistory kept.
std::vector<PingRecord> history_from_json(const nlohmann::json& list);
// Run ids of at most kHeartbeatRunIdLimit bytes with an integer time, the newest
// kHeartbeatOpenRuns.
std::map<std::string, std::int64_t> runs_from_json(const nlohmann::json& j);

}  // namespace vitals
