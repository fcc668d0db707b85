// The postgres kind split between pod and fleet, three vitals processes (the binary) on a
// real PostgreSQL with a real Redis for coordination: every pod opens its own new connection
// each run (its reach), one pod reads the server's statistics for the fleet over one
// long-lived connection, and every pod judges from that reading.
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <functional>
#include <thread>

#include "integration/sidecar/fleet/fleet_helpers.hpp"
#include "support/net_fixtures.hpp"
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/temp_file.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

json postgres_of(const VitalsPod& pod) {
    return check_of(pod, "postgres");
}

// vitals' sessions that stay open between runs: the statistics connections.
int statistics_sessions(const PostgresServer& pg) {
    const std::string n = pg.query(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'vitals' AND "
        "backend_start < now() - interval '2 seconds'");
    return n.empty() ? -1 : std::stoi(n);
}

}  // namespace

TEST_CASE("fleet: one pod reads PostgreSQL's statistics for three, each still connects itself",
          "[fleet][postgres]") {
    PostgresServer pg;
    RedisServer coordination;
    const TempFile config(R"({"checks": {"postgres": {"kind": "postgres", "url": ")" + pg.url() +
                          R"(", "interval": "1s", "timeout": "900ms"}}})");
    std::vector<VitalsPod> pods;
    for (const char* name : {"web-7d9f8b6c4-aaaaa", "web-7d9f8b6c4-bbbbb", "web-7d9f8b6c4-ccccc"})
        pods.push_back(
            start_pod(name, config.path(), {{"VITALS_FLEET_REDIS_URL", coordination.url()}}));
    // Every pod ok, with the statistics' numbers, read by one and the same pod.
    std::string reader;
    const auto one_reader = [&] {
        reader.clear();
        for (const auto& pod : pods) {
            const json c = postgres_of(pod);
            if (c.value("status", "") != "ok" || !c.contains("details") ||
                !c["observations"].contains("connections_used"))
                return false;
            const std::string by = c["details"].value("stats_checked_by", "");
            if (by.empty() || (!reader.empty() && by != reader)) return false;
            reader = by;
        }
        return true;
    };
    REQUIRE(wait_for(one_reader, 20s));
    // Its own new connection is every pod's: the reach part is not shared.
    for (const auto& pod : pods)
        CHECK(postgres_of(pod)["observations"].contains("connect_seconds"));
    // One long-lived statistics connection for the fleet, not one per pod (a pod that read
    // them itself before the first result was published closes its own).
    CHECK(wait_for([&] { return statistics_sessions(pg) == 1; }, 15s));

    const json sample = postgres_of(pods[1]);
    CHECK(sample["details"].value("stats_checked_by", "") == reader);
    CHECK(sample["details"].contains("stats_age_seconds"));

    // The reader gone: another pod reads the statistics within an interval and a timeout.
    auto gone = std::find_if(pods.begin(), pods.end(),
                             [&](const VitalsPod& p) { return p.name == reader; });
    REQUIRE(gone != pods.end());
    gone->process->signal(SIGKILL);
    pods.erase(gone);
    CHECK(wait_for(
        [&] {
            for (const auto& pod : pods) {
                const json c = postgres_of(pod);
                const std::string by =
                    c.contains("details") ? c["details"].value("stats_checked_by", "") : "";
                if (c.value("status", "") != "ok" || by.empty() || by == reader) return false;
            }
            return true;
        },
        10s));
}
