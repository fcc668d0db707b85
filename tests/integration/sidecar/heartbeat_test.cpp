// Pings through the real HTTP server, and state that survives restarting the binary.
#include <catch2/catch.hpp>

#include <signal.h>

#include "support/net_fixtures.hpp"
#include "support/process.hpp"
#include "support/running_sidecar.hpp"
#include "support/servers.hpp"
#include "support/temp_file.hpp"

#include <thread>

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

HttpReply send_raw(std::uint16_t port, const std::string& request) {
    RawClient client(port);
    client.send(request);
    return client.read_response();
}

}  // namespace

TEST_CASE("heartbeat: pings over HTTP move the check between ok and fail", "[heartbeat]") {
    RunningSidecar sidecar(R"({"checks": {
        "nightly": {"kind": "heartbeat", "period": "1h", "grace": "1m", "interval": "100ms"},
        "guarded": {"kind": "heartbeat", "period": "1h", "token": "t0ken", "interval": "100ms"}}})");
    REQUIRE(sidecar.wait_for_status("nightly", Status::ok));
    CHECK(get(sidecar.port(), "/heartbeat/nightly").status == 200);  // GET, as curl in a cron line
    CHECK(send_raw(sidecar.port(),
                   "POST /heartbeat/nightly/fail HTTP/1.1\r\nHost: x\r\nContent-Length: "
                   "9\r\n\r\ndisk full")
              .status == 200);
    REQUIRE(sidecar.wait_for_status("nightly", Status::fail, 2s));
    const json detail = json::parse(get(sidecar.port(), "/health/nightly").body);
    CHECK(detail["message"].get<std::string>().find("disk full") != std::string::npos);
    CHECK(send_raw(sidecar.port(),
                   "POST /heartbeat/nightly HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
              .status == 200);
    REQUIRE(sidecar.wait_for_status("nightly", Status::ok, 2s));
    CHECK(get(sidecar.port(), "/metrics")
              .body.find("vitals_heartbeat_last_success_timestamp_seconds{check=\"nightly\"}") !=
          std::string::npos);

    CHECK(get(sidecar.port(), "/heartbeat/nobody").status == 404);
    CHECK(get(sidecar.port(), "/heartbeat/guarded").status == 401);
    CHECK(get(sidecar.port(), "/heartbeat/guarded?token=wrong").status == 401);
    CHECK(get(sidecar.port(), "/heartbeat/guarded?token=t0ken").status == 200);
    CHECK(send_raw(sidecar.port(),
                   "POST /heartbeat/guarded HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                   "t0ken\r\nContent-Length: 0\r\n\r\n")
              .status == 200);
    const std::string big(2000, 'x');
    CHECK(send_raw(
              sidecar.port(),
              "POST /heartbeat/nightly/fail HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" +
                  big)
              .status == 413);
    CHECK(get(sidecar.port(), "/heartbeat/nightly", "", "DELETE").status == 405);
}

TEST_CASE("heartbeat: VITALS_STATE_DIR keeps the last success across a restart of vitals",
          "[heartbeat]") {
    const std::string state = make_temp_dir("state");
    TempFile config(
        R"({"checks": {"nightly": {"kind": "heartbeat", "period": "1h", "interval": "100ms"}}})");
    const std::map<std::string, std::string> env = {{"VITALS_LISTEN", "127.0.0.1:0"},
                                                    {"VITALS_STATE_DIR", state}};
    auto port_of = [](ChildProcess& p) {
        const auto line = p.wait_for_line("\"event\":\"start\"", 5s);
        REQUIRE(line);
        const std::string listen = json::parse(*line)["listen"];
        return static_cast<std::uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1)));
    };
    {
        ChildProcess first({"--config", config.path()}, env);
        const auto port = port_of(first);
        REQUIRE(get(port, "/heartbeat/nightly").status == 200);
        first.signal(SIGTERM);
        REQUIRE(first.wait_exit(2s));
    }
    ChildProcess second({"--config", config.path()}, env);
    const auto port = port_of(second);
    std::this_thread::sleep_for(300ms);
    const json detail = json::parse(get(port, "/health/nightly").body);
    CHECK(detail["observations"].contains("last_success_timestamp_seconds"));
    CHECK(detail["message"].get<std::string>().find("last success") == 0);
    shell("rm -rf '" + state + "'");
}
