// celery_tasks in a fleet: three vitals processes (the binary) on a Redis broker with a real
// Celery worker sending events. Every pod listens at first; once the fleet's run token is one
// pod's, the others' listeners rest, so the broker fans events out to one listener, not
// three; the holder killed, another pod's listener takes over.
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <functional>
#include <sstream>
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

json tasks_of(const VitalsPod& pod) {
    return check_of(pod, "tasks");
}

// vitals' event listeners on the broker: the clients it names vitals-events (the worker
// subscribes too, to its pidbox).
int listeners(const RedisServer& broker) {
    const std::string clients = broker.cli("CLIENT LIST");
    int n = 0;
    std::istringstream lines(clients);
    for (std::string line; std::getline(lines, line);)
        n += line.find(" name=vitals-events ") != std::string::npos ? 1 : 0;
    return n;
}

}  // namespace

TEST_CASE("fleet: one pod of three listens to Celery's events, and another after it",
          "[fleet][celery_tasks]") {
    RedisServer broker;
    RedisServer coordination;
    CeleryWorker worker(broker.url("", 1), "fleet-events", "", "", {"CELERY_TASK_EVENTS=1"});
    const TempFile config(R"({"checks": {"tasks": {"kind": "celery_tasks", "url": ")" +
                          broker.url("", 1) + R"(", "interval": "1s", "timeout": "900ms"}}})");
    std::vector<VitalsPod> pods;
    for (const char* name : {"web-7d9f8b6c4-aaaaa", "web-7d9f8b6c4-bbbbb", "web-7d9f8b6c4-ccccc"})
        pods.push_back(
            start_pod(name, config.path(), {{"VITALS_FLEET_REDIS_URL", coordination.url()}}));
    // Every pod serves the holder's result, which hears the worker.
    std::string holder;
    const auto one_holder = [&] {
        holder.clear();
        for (const auto& pod : pods) {
            const json c = tasks_of(pod);
            if (!c.contains("observations") ||
                c["observations"].value("workers_heartbeating", 0.0) < 1)
                return false;
            const std::string by =
                c.contains("details") ? c["details"].value("checked_by", "") : "";
            if (by.empty() || (!holder.empty() && by != holder)) return false;
            holder = by;
        }
        return true;
    };
    REQUIRE(wait_for(one_holder, 30s));
    // The other pods' listeners rest after three intervals without a run: one subscriber.
    const bool rested = wait_for([&] { return listeners(broker) == 1; }, 15s);
    INFO(broker.cli("CLIENT LIST"));
    CHECK(rested);

    // The holder killed: another pod runs the check, its listener comes back, and it hears
    // the worker again; still one listener.
    auto gone = std::find_if(pods.begin(), pods.end(),
                             [&](const VitalsPod& p) { return p.name == holder; });
    REQUIRE(gone != pods.end());
    gone->process->signal(SIGKILL);
    pods.erase(gone);
    const std::string before = holder;
    CHECK(wait_for([&] { return one_holder() && holder != before; }, 30s));
    CHECK(wait_for([&] { return listeners(broker) == 1; }, 15s));
}
