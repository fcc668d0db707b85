// Three vitals processes of one fleet (the binary, as pods run it) against a real Redis for
// coordination and a real Celery worker on a Redis broker: the shared check runs once per
// interval across them, each serves the same result, the runner's death and Redis' are
// survived, and a forged result is refused.
#include <catch2/catch.hpp>

#include <signal.h>

#include <memory>
#include <regex>
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

json check_of(const VitalsPod& pod) {
    return vitals::testing::check_of(pod, "workers");
}

// PUBLISH commands the broker has served: every ping to the workers is one (kombu's fanout).
long publishes(const RedisServer& broker) {
    const std::string stats = broker.cli("INFO commandstats");
    std::smatch m;
    if (!std::regex_search(stats, m, std::regex("cmdstat_publish:calls=(\\d+)"))) return 0;
    return std::stol(m[1]);
}

long publishes_over(const RedisServer& broker, std::chrono::seconds window) {
    REQUIRE(broker.cli("CONFIG RESETSTAT") == "OK");
    std::this_thread::sleep_for(window);  // a measurement window, not a wait for a condition
    return publishes(broker);
}

// The shared check of these tests: the Celery workers pinged every second.
TempFile workers_every_second(const RedisServer& broker) {
    return TempFile(R"({"checks": {"workers": {"kind": "celery_workers", "url": ")" +
                    broker.url("", 1) + R"(", "interval": "1s", "timeout": "900ms"}}})");
}

}  // namespace

TEST_CASE("fleet: a shared check runs once per interval across three pods, each serves it",
          "[fleet]") {
    RedisServer coordination;
    RedisServer broker;
    CeleryWorker worker(broker.url("", 1), "fleet");
    const TempFile config = workers_every_second(broker);

    // One pod alone: what a ping round costs the broker over the window.
    long alone = 0;
    {
        auto pod = start_pod("web-7d9f8b6c4-aaaaa", config.path(),
                             {{"VITALS_FLEET_REDIS_URL", coordination.url()}});
        REQUIRE(wait_for([&] { return check_of(pod).value("status", "") == "ok"; }, 15s));
        alone = publishes_over(broker, 6s);
    }
    REQUIRE(alone > 0);

    std::vector<VitalsPod> pods;
    for (const char* name : {"web-7d9f8b6c4-bbbbb", "web-7d9f8b6c4-ccccc", "web-7d9f8b6c4-ddddd"})
        pods.push_back(
            start_pod(name, config.path(), {{"VITALS_FLEET_REDIS_URL", coordination.url()}}));
    const auto same_runner = [&] {
        std::string runner;
        for (const auto& pod : pods) {
            const json c = check_of(pod);
            if (c.value("status", "") != "ok" || !c.contains("details")) return false;
            const std::string by = c["details"].value("checked_by", "");
            if (by.empty() || (!runner.empty() && by != runner)) return false;
            runner = by;
        }
        return true;
    };
    REQUIRE(wait_for(same_runner, 15s));
    // Every pod's /metrics names the pod whose run it serves: one series per dependency.
    const std::string ran_by = check_of(pods[0])["details"].value("checked_by", "");
    for (const auto& pod : pods) {
        const std::string metrics = get(pod.port, "/metrics").body;
        CHECK(metrics.find("vitals_check_checked_by{check=\"workers\",pod=\"" + ran_by + "\"} 1") !=
              std::string::npos);
        CHECK(metrics.find("vitals_check_result_age_seconds{check=\"workers\"} ") !=
              std::string::npos);
    }
    const long three = publishes_over(broker, 6s);
    WARN("pings (PUBLISH) in 6 s: one pod " << alone << ", three pods of one fleet " << three);
    CHECK(three <= alone * 3 / 2);  // the fleet's cost is one pod's, not three

    // The runner killed: another pod takes the run within an interval, its jitter and the
    // timeout (2 s here), and every pod serves a fresh result again.
    std::string runner;
    REQUIRE(wait_for(
        [&] {
            const json c = check_of(pods[0]);
            runner = c.contains("details") ? c["details"].value("checked_by", "") : "";
            return !runner.empty();
        },
        5s));
    auto dead = std::find_if(pods.begin(), pods.end(),
                             [&](const VitalsPod& p) { return p.name == runner; });
    REQUIRE(dead != pods.end());
    dead->process->signal(SIGKILL);
    pods.erase(dead);
    const auto taken_over = [&] {
        for (const auto& pod : pods) {
            const json c = check_of(pod);
            if (c.value("status", "") != "ok") return false;
            if (!c.contains("details") || c["details"].value("checked_by", runner) == runner)
                return false;
        }
        return true;
    };
    CHECK(wait_for(taken_over, 6s));

    // Coordination gone: each pod runs the check itself, says so, and stays fresh.
    coordination.stop();
    const auto on_their_own = [&] {
        for (const auto& pod : pods) {
            const json c = check_of(pod);
            if (c.value("status", "") != "ok" || !c.contains("details")) return false;
            if (c["details"].value("fleet", "").find("coordination unavailable") ==
                std::string::npos)
                return false;
            if (c["details"].value("checked_by", "") != pod.name) return false;
        }
        return true;
    };
    CHECK(wait_for(on_their_own, 6s));
}

TEST_CASE("fleet: a forged published result is refused and the pod runs the check itself",
          "[fleet]") {
    RedisServer coordination;
    RedisServer broker;
    CeleryWorker worker(broker.url("", 1), "forged");
    const TempFile config = workers_every_second(broker);
    // A "ghost" pod holds the run token for a minute and publishes nonsense.
    REQUIRE(coordination.cli("SET vitals:fleet:web:run:workers ghost PX 60000") == "OK");
    for (const std::string& forged :
         {std::string("not json"), std::string(R"({"v":1,"pod":"ghost","at_ms":99999999999999,)"
                                               R"("status":"ok","message":"","cause":"here",)"
                                               R"("observations":[],"details":{}})")}) {
        INFO(forged);
        REQUIRE(coordination.cli("SET vitals:fleet:web:result:workers '" + forged + "'") == "OK");
        auto pod = start_pod("web-7d9f8b6c4-eeeee", config.path(),
                             {{"VITALS_FLEET_REDIS_URL", coordination.url()}});
        const auto refused = [&] {
            const json c = check_of(pod);
            return c.value("status", "") == "ok" && c.contains("details") &&
                   c["details"].value("fleet", "").find("refused") != std::string::npos &&
                   c["details"].value("checked_by", "") == "web-7d9f8b6c4-eeeee";
        };
        CHECK(wait_for(refused, 10s));
    }
}
