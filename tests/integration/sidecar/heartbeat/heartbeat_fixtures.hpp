// Two vitals processes as replicas sharing a real Redis, and how the heartbeat tests talk to them.
#pragma once

#include <signal.h>
#include <catch2/catch.hpp>
#include <thread>
#include "support/net_fixtures.hpp"
#include "support/process.hpp"
#include "support/running_sidecar.hpp"
#include "support/servers.hpp"
#include "support/temp_file.hpp"

namespace vitals::testing {

using namespace std::chrono_literals;
using nlohmann::json;

inline RawReply send_raw(std::uint16_t port, const std::string& request) {
    RawClient client(port);
    client.send(request);
    return client.read_response();
}

inline std::uint16_t port_of(ChildProcess& p) {
    const std::uint16_t port = listening_port(p, 5s);
    REQUIRE(port != 0);
    return port;
}

// Polls /health/<check> until its status is `want`; the last body seen otherwise.
inline bool becomes(std::uint16_t port, const std::string& check, const std::string& want,
                    std::chrono::milliseconds limit = 3s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    std::string last;
    while (std::chrono::steady_clock::now() < until) {
        last = get(port, "/health/" + check).body;
        const json j = json::parse(last, nullptr, false);
        if (j.is_object() && j.value("status", "") == want) return true;
        std::this_thread::sleep_for(50ms);
    }
    UNSCOPED_INFO("last /health/" << check << ": " << last);
    return false;
}

// Two vitals processes sharing a real Redis, as two replicas of a web pod, with `config`.
struct Replicas {
    RedisServer redis;
    TempFile config;
    std::map<std::string, std::string> env;
    ChildProcess a, b;
    std::uint16_t port_a, port_b;
    explicit Replicas(const std::string& config_json)
        : config(config_json),
          env{{"VITALS_LISTEN", "127.0.0.1:0"},
              {"VITALS_HEARTBEAT_REDIS_URL", redis.url()},
              {"VITALS_HEARTBEAT_PREFIX", "test:hb:"}},
          a({"--config", config.path()}, env),
          b({"--config", config.path()}, env),
          port_a(port_of(a)),
          port_b(port_of(b)) {}
};

}  // namespace vitals::testing
