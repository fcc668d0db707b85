// The Celery signal handler of docs/checks/heartbeat.md, in a real worker, pinging vitals'
// healthchecks.io- compatible API: a client that already exists works by swapping the base URL.
#include <catch2/catch.hpp>

#include "support/net_fixtures.hpp"
#include "support/running_sidecar.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

TEST_CASE("ping API: a Celery worker's task_success and task_failure handlers reach vitals",
          "[heartbeat][ping][celery]") {
    RedisServer broker;
    // Checked once a minute: what the test sees comes from the pings, judged at once.
    RunningSidecar sidecar(R"({"trusted": ["127.0.0.1/32"], "checks": {
        "tasks_add": {"kind": "heartbeat", "period": "1h", "interval": "1m"},
        "tasks_fail": {"kind": "heartbeat", "period": "1h", "interval": "1m"}}})");
    const std::string ping_url = "http://127.0.0.1:" + std::to_string(sidecar.port()) + "/ping";
    CeleryWorker worker(broker.url(), "pinger", "", "", {"VITALS_PING_URL=" + ping_url});
    const auto health = [&](const std::string& check) {
        return json::parse(get(sidecar.port(), "/health/" + check).body);
    };

    publish(broker.url(), "tasks.add.delay(1, 2)");
    REQUIRE(sidecar.wait_until(
        [](const Snapshot& s) {
            for (const CheckState& c : s.checks)
                if (c.name == "tasks_add")  // the success arrived
                    return c.has_run() && c.last->details.contains("pings");
            return false;
        },
        30s));
    json add = health("tasks_add");
    CHECK(add["status"] == "ok");
    CHECK(add["details"]["pings"][0]["kind"] == "success");
    CHECK(add["observations"].contains("last_success_timestamp_seconds"));

    publish(broker.url(), "tasks.fail.delay(\"disk full\")");
    REQUIRE(sidecar.wait_for_status("tasks_fail", Status::fail, 30s));
    const json failed = health("tasks_fail");
    INFO(failed.dump());
    // The handler posts repr(exception) as the body: its first line is the message.
    CHECK(failed["message"].get<std::string>().find("RuntimeError('disk full')") !=
          std::string::npos);
    CHECK(failed["details"]["pings"][0]["kind"] == "fail");
    CHECK(health("tasks_add")["status"] == "ok");  // the other task is untouched
}
