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

TEST_CASE("groups: every kind's default groups follow the rule its declaration implies",
          "[groups]") {
    // The rule, checked for every registered kind (a new one included) from what it declares
    // it is about; Registry::add refuses a kind that breaks it, so this holds by construction
    // and the cases below show the rule itself.
    const Registry registry = builtin_registry();
    for (const auto& [name, kind] : registry.kinds()) {
        INFO(name);
        CHECK_FALSE(probe_group_problem(kind.about, kind.default_groups));
    }
    CHECK_FALSE(probe_group_problem(About::app, {"live", "ready"}));
    CHECK_FALSE(probe_group_problem(About::reach, {"ready"}));
    CHECK_FALSE(probe_group_problem(About::shared, {}));
    CHECK(probe_group_problem(About::reach, {"live"}).value_or("").find("restart") !=
          std::string::npos);
    CHECK(probe_group_problem(About::shared, {"ready"}).value_or("").find("every pod") !=
          std::string::npos);
    CheckKind bad;
    bad.name = "queue_depth";
    bad.about = About::shared;
    bad.default_groups = {"ready"};
    Registry refusing;
    CHECK_THROWS_WITH(refusing.add(bad), Catch::Contains("every pod"));
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
