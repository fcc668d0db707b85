// Root causes against real servers: Redis stopped, the broker check on the same Redis is
// blocked by the cache check, in /health, in the metrics and in `vitals status`.
#include <catch2/catch.hpp>

#include "checks/builtin.hpp"
#include "support/net_fixtures.hpp"
#include "support/running_sidecar.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

TEST_CASE("a stopped Redis is the root of the broker's failure on it", "[roots]") {
    RedisServer redis;
    RunningSidecar sidecar(R"({"checks": {
        "cache": {"kind": "redis", "url": ")" +
                           redis.url("", 0) + R"(", "interval": "200ms"},
        "broker": {"kind": "celery_broker", "url": ")" +
                           redis.url("", 1) + R"(",
                   "queues": ["celery"], "interval": "200ms"}}})");
    REQUIRE(sidecar.wait_for_status("cache", Status::ok));
    json health = json::parse(get(sidecar.port(), "/health").body);
    CHECK_FALSE(health["checks"]["broker"].contains("blocked_by"));

    redis.stop();
    REQUIRE(sidecar.wait_for_status("cache", Status::fail));
    REQUIRE(sidecar.wait_for_status("broker", Status::fail));
    // Published with the next snapshot: both failing, the broker's root named.
    REQUIRE(sidecar.wait_until([](const Snapshot& s) {
        for (const CheckState& c : s.checks)
            if (c.name == "broker") return c.blocked_by == "cache";
        return false;
    }));
    health = json::parse(get(sidecar.port(), "/health").body);
    CHECK(health["checks"]["broker"]["blocked_by"] == "cache");
    CHECK_FALSE(health["checks"]["cache"].contains("blocked_by"));
    const std::string metrics = get(sidecar.port(), "/metrics").body;
    CHECK(metrics.find(R"(vitals_check_root{check="broker",root="cache",blocked="true"} 1)") !=
          std::string::npos);
    CHECK(metrics.find(R"(vitals_check_root{check="cache",root="cache",blocked="false"} 1)") !=
          std::string::npos);

    redis.start();
    REQUIRE(sidecar.wait_for_status("broker", Status::ok, 15s));
    REQUIRE(sidecar.wait_until([](const Snapshot& s) {
        for (const CheckState& c : s.checks)
            if (c.name == "broker") return c.blocked_by.empty();
        return false;
    }));
}
