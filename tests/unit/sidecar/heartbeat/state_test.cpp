// Heartbeat state as plain data: how two replicas' views merge, and what a saved or shared
// history may hold.
#include <catch2/catch.hpp>

#include "sidecar/heartbeat/codec.hpp"
#include "sidecar/heartbeat/state.hpp"
#include "support/heartbeat_times.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;

TEST_CASE("heartbeat: merging two replicas' views keeps the later of each event", "[heartbeat]") {
    HeartbeatState mine, theirs;
    mine.last_success_ms = kT0;
    mine.last_duration_seconds = 5;
    mine.last_fail_ms = kT0 + 10;
    mine.fail_message = "mine";
    theirs.last_success_ms = kT0 + 20;
    theirs.last_duration_seconds = 7;
    theirs.last_fail_ms = kT0 + 5;
    theirs.fail_message = "theirs";
    theirs.last_start_ms = kT0 + 15;
    merge_heartbeat(mine, theirs);
    CHECK(mine.last_success_ms == kT0 + 20);
    CHECK(mine.last_duration_seconds == 7);
    CHECK(mine.last_fail_ms == kT0 + 10);
    CHECK(mine.fail_message == "mine");
    CHECK(mine.last_start_ms == kT0 + 15);
}

TEST_CASE("heartbeat: merging replicas' runs keeps finished runs closed and open ones open",
          "[heartbeat]") {
    HeartbeatState mine, theirs;
    mine.runs = {{"a", kT0}, {"b", kT0 + 5}};
    theirs.runs = {{"a", kT0}, {"c", kT0 + 7}};
    theirs.ended = {{"b", kT0 + 9}};  // b started here, finished there
    merge_heartbeat(mine, theirs);
    CHECK(mine.runs == std::map<std::string, std::int64_t>{{"a", kT0}, {"c", kT0 + 7}});
    // Merged back the other way, b is not reopened by the view that still had it open.
    HeartbeatState stale;
    stale.runs = {{"b", kT0 + 5}};
    merge_heartbeat(mine, stale);
    CHECK(mine.runs.count("b") == 0);
    // A run id started again after it finished is open again.
    stale.runs = {{"b", kT0 + 20}};
    merge_heartbeat(mine, stale);
    CHECK(mine.runs.at("b") == kT0 + 20);
    // Both maps stay bounded whatever a replica sends.
    HeartbeatState flood;
    for (int i = 0; i < 100; ++i) {
        flood.runs["r" + std::to_string(i)] = kT0 + 100 + i;
        flood.ended["e" + std::to_string(i)] = kT0 + 100 + i;
    }
    merge_heartbeat(mine, flood);
    CHECK(mine.runs.size() == kHeartbeatOpenRuns);
    CHECK(mine.ended.size() == kHeartbeatOpenRuns);
    CHECK(mine.runs.count("r99") == 1);  // the newest kept
}

TEST_CASE("heartbeat: a ping history entry whose time or exit status cannot be is dropped",
          "[heartbeat]") {
    // Found by heartbeat_fuzz: 1.8e20 ms does not fit an int64 (undefined behaviour to cast).
    const auto history = history_from_json(nlohmann::json::parse(R"([
        {"at": 179500000000000000000, "kind": "fail"},
        {"at": -5, "kind": "fail"},
        {"at": 1795000000000, "kind": "success", "exit_status": 1000000000000},
        {"at": 1795000001000, "kind": "fail", "exit_status": 3}])"));
    REQUIRE(history.size() == 2);
    CHECK(history[0].at_ms == 1'795'000'000'000);
    CHECK_FALSE(history[0].exit_status);
    CHECK(history[1].exit_status == 3);
}
