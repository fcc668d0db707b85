// The redis check as managed Redis and django-environ deploy it, against real servers: a
// two-node Redis Cluster (ElastiCache cluster mode, Memorystore Cluster), django-environ's
// multi-host and socket forms of rediscache://.
#include <catch2/catch.hpp>

#include "checks/builtin.hpp"
#include "support/make_check.hpp"
#include "support/net_fixtures.hpp"
#include "support/servers.hpp"
#include "support/servers_internal.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> cluster_args(std::uint16_t bus_port) {
    return {"--cluster-enabled",     "yes", "--cluster-config-file", "nodes.conf", "--cluster-port",
            std::to_string(bus_port)};
}

}  // namespace

TEST_CASE("redis: a healthy two-node cluster passes from any pod name", "[redis][cluster]") {
    const std::uint16_t bus_a = closed_port();
    const std::uint16_t bus_b = closed_port();
    RedisServer a(cluster_args(bus_a));
    RedisServer b(cluster_args(bus_b));
    REQUIRE(a.cli("CLUSTER ADDSLOTSRANGE 0 8191") == "OK");
    REQUIRE(b.cli("CLUSTER ADDSLOTSRANGE 8192 16383") == "OK");
    REQUIRE(a.cli("CLUSTER MEET 127.0.0.1 " + std::to_string(b.port()) + " " +
                  std::to_string(bus_b)) == "OK");
    REQUIRE(wait_until(
        [&] {
            return a.cli("CLUSTER INFO").find("cluster_state:ok") != std::string::npos &&
                   b.cli("CLUSTER INFO").find("cluster_state:ok") != std::string::npos;
        },
        20s));
    // The probe key follows the pod name: ten names land on both halves of the slots.
    int moved = 0;
    for (RedisServer* node : {&a, &b}) {
        for (int pod = 0; pod < 10; ++pod) {
            auto check = make_check("redis", {{"url", node->url()},
                                              {"key_prefix", "vitals:web-" + std::to_string(pod)}});
            for (int run = 0; run < 2; ++run) {  // the key found is kept
                const CheckResult r = check->run(Deadline::in(5s));
                INFO("node " << node->port() << " pod " << pod << ": " << r.message << " "
                             << r.details.dump());
                REQUIRE(r.status == Status::ok);
                if (r.details.contains("cluster_mode")) {
                    ++moved;
                    // Written where it was connected: the node's own keyspace holds it.
                    const std::string key = r.details["cluster_key"];
                    CHECK(node->cli("EXISTS '" + key + "'") == "1");
                }
            }
        }
    }
    CHECK(moved > 0);  // some keys were another node's, and were moved onto this one
}

TEST_CASE("redis: rediscache:// with replicas checks the primary, its socket form reads :db",
          "[redis]") {
    RedisServer primary;
    // A primary and a replica that is down: django-redis writes to the first.
    auto listed =
        make_check("redis", {{"url", "rediscache://127.0.0.1:" + std::to_string(primary.port()) +
                                         ",127.0.0.1:" + std::to_string(closed_port()) + "/1"}});
    const CheckResult r = listed->run(Deadline::in(5s));
    INFO(r.message);
    CHECK(r.status == Status::ok);
    CHECK(primary.cli("-n 1 DBSIZE") == "1");

    const std::string dir = make_temp_dir("rediscache-socket");
    const std::string socket = dir + "/redis.sock";
    RedisServer local({"--unixsocket", socket, "--unixsocketperm", "700"});
    auto via_socket = make_check("redis", {{"url", "rediscache://" + socket + ":3"}});
    const CheckResult s = via_socket->run(Deadline::in(5s));
    INFO(s.message);
    CHECK(s.status == Status::ok);
    CHECK(local.cli("-n 3 DBSIZE") == "1");  // the probe key, in database 3
}
