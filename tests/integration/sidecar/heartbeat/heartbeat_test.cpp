// Pings through the real HTTP server, and state that survives restarting the binary.
#include <catch2/catch.hpp>

#include <signal.h>

#include "support/net_fixtures.hpp"
#include "support/process.hpp"
#include "support/running_sidecar.hpp"
#include "support/servers.hpp"
#include "support/temp_file.hpp"

#include <thread>
#include "integration/sidecar/heartbeat/heartbeat_fixtures.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

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
    REQUIRE(becomes(port, "nightly", "ok"));  // judged from the state file, no ping since
    const json detail = json::parse(get(port, "/health/nightly").body);
    CHECK(detail["observations"].contains("last_success_timestamp_seconds"));
    CHECK(detail["message"].get<std::string>().find("last success") == 0);
    shell("rm -rf '" + state + "'");
}

TEST_CASE("heartbeat: a cron schedule with a time zone is accepted and a bad one is refused",
          "[heartbeat]") {
    TempFile good(R"({"checks": {"nightly": {"kind": "heartbeat", "cron": "0 3 * * *",
        "timezone": "Europe/Berlin", "grace": "30m"}}})");
    const Finished ok = run_binary({"--check-config", "--config", good.path()});
    CHECK(ok.exit_code == 0);
    TempFile bad(R"({"checks": {
        "a": {"kind": "heartbeat", "cron": "0 3 * *"},
        "b": {"kind": "heartbeat", "cron": "0 3 * * *", "timezone": "Mars/Base"},
        "c": {"kind": "heartbeat", "cron": "0 3 * * *", "period": "1h"},
        "d": {"kind": "heartbeat", "cron": "0 0 30 2 *"}}})");
    const Finished refused = run_binary({"--check-config", "--config", bad.path()});
    CHECK(refused.exit_code == 2);
    CHECK(refused.err.find("/checks/a/cron") != std::string::npos);
    CHECK(refused.err.find("five fields") != std::string::npos);
    CHECK(refused.err.find("/checks/b/timezone") != std::string::npos);
    CHECK(refused.err.find("exactly one of period and cron") != std::string::npos);
    CHECK(refused.err.find("never runs") != std::string::npos);
}

TEST_CASE("heartbeat: a failure message that is not UTF-8 is kept, repaired, and crashes nothing",
          "[heartbeat]") {
    // The shipped manifests set a state_dir: the message goes into heartbeats.json, which
    // once threw in the writer thread and took vitals down.
    const std::string state = make_temp_dir("state");
    TempFile config(
        R"({"checks": {"nightly": {"kind": "heartbeat", "period": "1h", "interval": "100ms"}}})");
    ChildProcess vitals({"--config", config.path()},
                        {{"VITALS_LISTEN", "127.0.0.1:0"}, {"VITALS_STATE_DIR", state}});
    const auto port = port_of(vitals);
    const std::string body = "disk \xff\xfe full \xc0\xaf";
    CHECK(send_raw(port, "POST /heartbeat/nightly/fail HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body)
              .status == 200);
    REQUIRE(becomes(port, "nightly", "fail"));
    const json detail = json::parse(get(port, "/health/nightly").body);
    CHECK(detail["message"].get<std::string>().find("disk \xEF\xBF\xBD\xEF\xBF\xBD full") !=
          std::string::npos);
    // The writer wrote a valid file, and vitals is still there to say so.
    const auto written = [&] {
        const json j = json::parse(read_file(state + "/heartbeats.json"), nullptr, false);
        return j.is_object() && j.contains("nightly") && j["nightly"].contains("fail_message");
    };
    const auto until = std::chrono::steady_clock::now() + 3s;
    while (!written() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(20ms);
    CHECK(written());
    CHECK(get(port, "/vitalz").status == 200);
    // One suffix at most: /nightly/fail/start names no heartbeat.
    CHECK(get(port, "/heartbeat/nightly/fail/start").status == 404);
    const RawReply refused = get(port, "/heartbeat/nightly", "", "PUT");
    CHECK(refused.status == 405);
    REQUIRE(refused.headers.count("allow") == 1);
    CHECK(refused.headers.at("allow").find("GET") != std::string::npos);
    CHECK(refused.headers.at("allow").find("POST") != std::string::npos);
    vitals.signal(SIGTERM);
    CHECK(vitals.wait_exit(2s));
    shell("rm -rf '" + state + "'");
}

TEST_CASE("heartbeat: a broken state file is set aside, and what cannot be believed is dropped",
          "[heartbeat]") {
    const std::string state = make_temp_dir("state");
    TempFile config(
        R"({"checks": {"nightly": {"kind": "heartbeat", "period": "1h", "interval": "100ms"},
                       "weekly": {"kind": "heartbeat", "period": "1h", "interval": "100ms"}}})");
    const std::map<std::string, std::string> env = {{"VITALS_LISTEN", "127.0.0.1:0"},
                                                    {"VITALS_STATE_DIR", state}};
    {
        // Not JSON at all: once a crash loop (exit 134 on every start).
        write_file(state + "/heartbeats.json", "{\"nightly\": {\"last_success_ms\": ");
        ChildProcess vitals({"--config", config.path()}, env);
        const auto port = port_of(vitals);
        CHECK(becomes(port, "nightly", "ok"));
        CHECK(!read_file(state + "/heartbeats.json.bad").empty());
        vitals.signal(SIGTERM);
        CHECK(vitals.wait_exit(2s));
    }
    {
        // JSON, with null where a number belongs, an infinite duration written as null, and
        // a success stamped ten years ahead, which would keep a dead task fresh forever.
        const auto ahead =
            std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch() + std::chrono::hours(24 * 3650))
                .count();
        write_file(state + "/heartbeats.json",
                   R"({"nightly": {"last_success_ms": null, "last_duration_seconds": null},
                       "weekly": {"last_success_ms": )" +
                       std::to_string(ahead) + "}}");
        ChildProcess vitals({"--config", config.path()}, env);
        const auto port = port_of(vitals);
        REQUIRE(becomes(port, "weekly", "ok"));
        const json weekly = json::parse(get(port, "/health/weekly").body);
        CHECK(weekly["message"].get<std::string>().find("waiting for the first ping") == 0);
        vitals.signal(SIGTERM);
        CHECK(vitals.wait_exit(2s));
    }
    shell("rm -rf '" + state + "'");
}
