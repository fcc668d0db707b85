// The rule for probe groups, through the real server: /livez fails only for what a restart
// of the container may fix. A dependency's outage, an error rate or a broker that went away
// must never restart every pod at once.
#include <catch2/catch.hpp>

#include <atomic>

#include "checks/builtin.hpp"
#include "support/net_fixtures.hpp"
#include "support/running_sidecar.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;

TEST_CASE("groups: every kind's default groups follow the rule", "[groups]") {
    // live: only the check of the app itself (gunicorn), whose live-relevant failure is
    // "the app does not answer". ready: what the pod cannot serve without.
    const std::map<std::string, std::pair<bool, bool>> expected = {
        // kind            live   ready
        {"tcp", {false, true}},
        {"http", {false, true}},
        {"postgres", {false, true}},
        {"pgbouncer", {false, false}},  // shared by every pod: never takes them all out
        {"redis", {false, true}},
        {"memcached", {false, true}},  // the cache, as Redis is
        {"gunicorn", {true, true}},
        {"static", {false, false}},
        {"storage", {false, false}},  // uploads fail, pages still render: alert, keep serving
        {"celery_broker", {false, false}},
        {"celery_workers", {false, false}},
        {"celery_tasks", {false, false}},  // failing tasks are the app's, not the pod's
        {"tls", {false, false}},
        {"domain", {false, false}},  // days or weeks of warning: alert, never restart
        {"heartbeat", {false, false}},
        {"beat", {false, false}},
    };
    const Registry registry = builtin_registry();
    REQUIRE(registry.kinds().size() == expected.size());  // a new kind is added here too
    for (const auto& [name, kind] : registry.kinds()) {
        INFO(name);
        REQUIRE(expected.count(name) == 1);
        const auto& groups = kind.default_groups;
        const bool live = std::find(groups.begin(), groups.end(), "live") != groups.end();
        const bool ready = std::find(groups.begin(), groups.end(), "ready") != groups.end();
        CHECK(live == expected.at(name).first);
        CHECK(ready == expected.at(name).second);
    }
}

TEST_CASE("groups: the app answering 500 (its database is down) is not ready, but live",
          "[groups]") {
    std::atomic<int> status{200};
    ScriptedHttpServer app([&](const std::string&) {
        return http_response(status.load(), status.load() == 200 ? "fine" : "db down");
    });
    RunningSidecar sidecar(R"({"checks": {"app": {"kind": "gunicorn", "url": "http://127.0.0.1:)" +
                           std::to_string(app.port()) +
                           R"(/", "statsd_listen": "", "interval": "100ms"}}})");
    REQUIRE(sidecar.wait_for_status("app", Status::ok));
    CHECK(get(sidecar.port(), "/livez").status == 200);
    CHECK(get(sidecar.port(), "/readyz").status == 200);
    status = 500;
    REQUIRE(sidecar.wait_for_status("app", Status::fail));
    CHECK(get(sidecar.port(), "/readyz").status == 503);
    CHECK(get(sidecar.port(), "/livez").status == 200);  // restarting cannot fix the database
}

TEST_CASE("groups: the app that no longer answers fails liveness", "[groups]") {
    RunningSidecar sidecar(R"({"checks": {"app": {"kind": "gunicorn", "url": "http://127.0.0.1:)" +
                           std::to_string(closed_port()) +
                           R"(/", "statsd_listen": "", "interval": "100ms"}}})");
    REQUIRE(sidecar.wait_for_status("app", Status::fail));
    CHECK(get(sidecar.port(), "/livez").status == 503);
}

TEST_CASE("groups: a worker pod's broker outage does not fail liveness, a silent worker does",
          "[groups]") {
    // As VITALS_CELERY_DESTINATION sets it up in a worker pod: one worker, group live.
    const std::string gone = "redis://127.0.0.1:" + std::to_string(closed_port()) + "/0";
    {
        RunningSidecar sidecar(R"({"checks": {"worker": {"kind": "celery_workers", "url": ")" +
                               gone + R"(", "destination": "celery@w1", "groups": ["live"],
                               "interval": "100ms", "window": "200ms"}}})");
        REQUIRE(sidecar.wait_for_status("worker", Status::fail));
        CHECK(get(sidecar.port(), "/livez").status == 200);  // Celery reconnects by itself
    }
    RedisServer redis;
    RunningSidecar sidecar(R"({"checks": {"worker": {"kind": "celery_workers", "url": ")" +
                           redis.url() + R"(", "destination": "celery@w1", "groups": ["live"],
                           "interval": "100ms", "window": "200ms"}}})");
    REQUIRE(sidecar.wait_for_status("worker", Status::fail));  // the broker answers, no worker
    CHECK(get(sidecar.port(), "/livez").status == 503);
}
