// kombu's failover lists (`;` between broker URLs) and Celery's socket spelling, against real
// RabbitMQ and Redis: checked as kombu uses them, every password redacted everywhere.
#include <catch2/catch.hpp>

#include "checks/builtin.hpp"
#include "integration/checks/celery/celery_helpers.hpp"
#include "sidecar/clients/redis_client.hpp"
#include "sidecar/config/config.hpp"
#include "support/make_check.hpp"
#include "support/net_fixtures.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The broker URL `url` with a password `secret` put in (the servers' own have none, or
// guest's): a password vitals must never show.
std::string down_with_secret(const std::string& scheme, const std::string& secret) {
    const std::string port = std::to_string(closed_port());
    return scheme == "amqp" ? "amqp://guest:" + secret + "@127.0.0.1:" + port + "//"
                            : "redis://:" + secret + "@127.0.0.1:" + port + "/1";
}

bool finding_says(const CheckResult& r, const std::string& text) {
    if (!r.details.contains("findings")) return r.message.find(text) != std::string::npos;
    return r.details["findings"].dump().find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("celery: a failover list passes with the first broker up and with only the second",
          "[celery][failover]") {
    for (const std::string kind : {"redis", "amqp"}) {
        INFO("broker " << kind);
        CeleryBrokerServer broker(kind);
        const std::string down = down_with_secret(kind, "first-secret");
        // The first up: used as it is, nothing said about failing over.
        const CheckResult first =
            run(*make_check("celery_broker", {{"url", broker.url + ";" + down}}));
        INFO(first.message << " " << first.details.dump());
        CHECK(first.status != Status::fail);
        CHECK_FALSE(finding_says(first, "fails over"));
        // Only the second up: kombu moves on, and so does the check, with a warning that
        // names the first broker's address and never its password.
        const CheckResult second =
            run(*make_check("celery_broker", {{"url", down + ";" + broker.url}}));
        INFO(second.message << " " << second.details.dump());
        CHECK(second.status != Status::fail);
        CHECK(finding_says(second, "fails over to"));
        CHECK(second.details.dump().find("first-secret") == std::string::npos);
        CHECK(second.message.find("first-secret") == std::string::npos);
        // The workers check pings through whichever broker answers.
        const CheckResult workers =
            run(*make_check("celery_workers", {{"url", down + ";" + broker.url}}));
        INFO(workers.message);
        CHECK(workers.message.find("broker unreachable") == std::string::npos);
        // Neither up: a failure naming both, with neither password.
        const std::string also_down = down_with_secret(kind, "second-secret");
        const CheckResult none =
            run(*make_check("celery_broker", {{"url", down + ";" + also_down}}));
        CHECK(none.status == Status::fail);
        CHECK(none.message.find("no broker of the failover list answered") != std::string::npos);
        CHECK(none.message.find("first-secret") == std::string::npos);
        CHECK(none.message.find("second-secret") == std::string::npos);
    }
}

TEST_CASE("celery: --check-config shows a failover list with every password redacted",
          "[celery][failover]") {
    const std::string list =
        "amqp://u:first-secret@rabbit-1:5672//;amqp://v:second-secret@"
        "rabbit-2//;w:third-secret@rabbit-3";
    ConfigLoad load = load_config({{"CELERY_BROKER_URL", list}}, "", builtin_registry());
    REQUIRE(load.config);
    const std::string shown = load.config->describe().dump();
    CHECK(shown.find("rabbit-3") != std::string::npos);
    for (const char* secret : {"first-secret", "second-secret", "third-secret"})
        CHECK(shown.find(secret) == std::string::npos);
}

TEST_CASE("celery: redis+socket:// reads the database kombu's ?virtual_host= names",
          "[celery][socket]") {
    const std::string dir = make_temp_dir("redis-socket");
    const std::string socket = dir + "/redis.sock";
    RedisServer redis({"--unixsocket", socket, "--unixsocketperm", "700"});
    REQUIRE(redis.cli("-n 2 LPUSH celery a b").find('2') != std::string::npos);
    const CheckResult r =
        run(*make_check("celery_broker", {{"url", "redis+socket://" + socket + "?virtual_host=2"},
                                          {"queues", {"celery"}}}));
    INFO(r.message << " " << r.details.dump());
    CHECK(observed(r, "queue_messages") == 2);
}
