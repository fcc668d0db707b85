// Heartbeats shared by replicas: two vitals processes and a real Redis (plain and TLS), pings
// to one seen by the other, run ids started on one and finished on the other.
#include <catch2/catch.hpp>

#include <signal.h>
#include <thread>
#include "integration/sidecar/heartbeat/heartbeat_fixtures.hpp"
#include "support/net_fixtures.hpp"
#include "support/process.hpp"
#include "support/running_sidecar.hpp"
#include "support/servers.hpp"
#include "support/temp_file.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

TEST_CASE(
    "heartbeat: two vitals sharing Redis agree whichever one a ping reached, and a "
    "restart with Redis alone keeps the state",
    "[heartbeat][redis]") {
    Replicas replicas(
        R"({"checks": {"nightly": {"kind": "heartbeat", "period": "1h", "interval": "100ms"}}})");
    auto& [redis, config, env, a, b, port_a, port_b] = replicas;
    REQUIRE(becomes(port_b, "nightly", "ok"));

    REQUIRE(send_raw(port_a,
                     "POST /heartbeat/nightly/fail HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: 11\r\n\r\nbackup died")
                .status == 200);
    CHECK(becomes(port_b, "nightly", "fail"));
    CHECK(json::parse(get(port_b, "/health/nightly").body)["message"].get<std::string>().find(
              "backup died") != std::string::npos);
    CHECK(redis.cli("HGET test:hb:nightly message") == "backup died");

    REQUIRE(get(port_b, "/heartbeat/nightly/start").status == 200);
    // The start judged (a run in progress) before the success that finishes it.
    const auto started = [&] {
        const json d = json::parse(get(port_b, "/health/nightly").body);
        return d["observations"].value("runs_in_progress", 0.0) == 1;
    };
    const auto until = std::chrono::steady_clock::now() + 3s;
    while (!started() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(20ms);
    REQUIRE(started());
    REQUIRE(get(port_b, "/heartbeat/nightly").status == 200);
    CHECK(becomes(port_a, "nightly", "ok"));
    const json seen_by_a = json::parse(get(port_a, "/health/nightly").body);
    CHECK(seen_by_a["observations"].contains("last_duration_seconds"));
    CHECK(seen_by_a["observations"]["shared_state_readable"] == 1);

    a.signal(SIGTERM);
    b.signal(SIGTERM);
    REQUIRE(a.wait_exit(2s));
    REQUIRE(b.wait_exit(2s));
    ChildProcess c({"--config", config.path()}, env);
    const auto port_c = port_of(c);
    REQUIRE(becomes(port_c, "nightly", "ok"));
    const json seen_by_c = json::parse(get(port_c, "/health/nightly").body);
    CHECK(seen_by_c["observations"].contains("last_success_timestamp_seconds"));

    // Redis gone: the replica judges by its own pings and says so.
    redis.stop();
    const auto unshared = [&] {
        const json d = json::parse(get(port_c, "/health/nightly").body);
        return d["observations"].value("shared_state_readable", 1.0) == 0;
    };
    const auto alone_by = std::chrono::steady_clock::now() + 5s;
    while (!unshared() && std::chrono::steady_clock::now() < alone_by)
        std::this_thread::sleep_for(20ms);
    const json alone = json::parse(get(port_c, "/health/nightly").body);
    CHECK(alone["observations"]["shared_state_readable"] == 0);
    CHECK(alone["status"] == "ok");

    // Redis back: the replica reads the shared state again (its kept connection reopened).
    redis.start();
    const auto shared_again = [&] {
        const json d = json::parse(get(port_c, "/health/nightly").body);
        return d["observations"].value("shared_state_readable", 0.0) == 1;
    };
    const auto back_by = std::chrono::steady_clock::now() + 10s;
    while (!shared_again() && std::chrono::steady_clock::now() < back_by)
        std::this_thread::sleep_for(20ms);
    CHECK(shared_again());
}

TEST_CASE(
    "heartbeat: what the ping API adds (output, exit status, log, history) is shared by two "
    "replicas over Redis",
    "[heartbeat][redis][ping]") {
    Replicas replicas(
        R"({"checks": {"backup": {"kind": "heartbeat", "period": "1h", "interval": "100ms"}}})");
    const auto port_a = replicas.port_a;
    const auto port_b = replicas.port_b;
    RedisServer& redis = replicas.redis;
    REQUIRE(becomes(port_a, "backup", "ok"));
    REQUIRE(becomes(port_b, "backup", "ok"));

    // The run starts on a, logs on b, and its exit status 3 reaches a; each ping once the
    // other replica has seen the one before (pings in one millisecond have no order).
    const auto kinds = [](const json& detail) {
        std::vector<std::string> out;
        const auto details = detail.find("details");
        if (details == detail.end() || !details->is_object()) return out;
        for (const auto& p : details->value("pings", json::array()))
            out.push_back(p.value("kind", ""));
        return out;
    };
    const auto sees = [&](std::uint16_t port, std::size_t pings) {
        const auto until = std::chrono::steady_clock::now() + 3s;
        while (std::chrono::steady_clock::now() < until) {
            if (kinds(json::parse(get(port, "/health/backup").body)).size() >= pings) return true;
            std::this_thread::sleep_for(20ms);
        }
        return false;
    };
    REQUIRE(get(port_a, "/ping/backup/start").status == 200);
    REQUIRE(sees(port_b, 1));
    REQUIRE(send_raw(port_b,
                     "POST /ping/backup/log HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: 13\r\n\r\nhalf way done")
                .status == 200);
    REQUIRE(sees(port_a, 2));
    REQUIRE(send_raw(port_a,
                     "POST /ping/backup/3 HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: 21\r\n\r\nrsync: error 3\ndetail")
                .status == 200);
    REQUIRE(becomes(port_b, "backup", "fail"));
    const auto seen_by_b = [&] { return json::parse(get(port_b, "/health/backup").body); };
    json d = seen_by_b();
    CHECK(d["message"].get<std::string>().find("exit status 3: rsync: error 3") !=
          std::string::npos);
    CHECK(d["details"]["last_output"] == "rsync: error 3\ndetail");
    CHECK(d["details"]["last_exit_status"] == 3);
    CHECK(d["details"].contains("last_log_at"));
    // Every replica's pings in one history, newest first: fail (on a), log (b), start (a).
    const auto until = std::chrono::steady_clock::now() + 3s;
    while (kinds(d).size() < 3 && std::chrono::steady_clock::now() < until)
        d = seen_by_b();
    CHECK(kinds(d) == std::vector<std::string>{"fail", "log", "start"});
    CHECK(d["details"]["pings"][0]["exit_status"] == 3);
    CHECK(d["details"]["pings"][0]["line"] == "rsync: error 3");
    REQUIRE(sees(port_a, 3));
    const json on_a = json::parse(get(port_a, "/health/backup").body);
    CHECK(kinds(on_a) == std::vector<std::string>{"fail", "log", "start"});
    // Stored once, in the shared hash.
    CHECK(redis.cli("HGET test:hb:backup exit") == "3");
}

TEST_CASE("heartbeat: replicas share state over a TLS-only Redis (rediss://)",
          "[heartbeat][redis][tls]") {
    const std::string dir = make_temp_dir("hb-tls");
    make_certificate(dir, "server", "127.0.0.1", 30);
    RedisServer redis = RedisServer::with_tls(dir);
    TempFile config(
        R"({"checks": {"nightly": {"kind": "heartbeat", "period": "1h", "interval": "100ms"}}})");
    const std::map<std::string, std::string> env = {
        {"VITALS_LISTEN", "127.0.0.1:0"},
        {"REDIS_URL", redis.url() + "?ssl_ca_certs=" + dir + "/server.crt"},
        {"VITALS_HEARTBEAT_PREFIX", "test:hb:"}};
    ChildProcess a({"--config", config.path()}, env);
    ChildProcess b({"--config", config.path()}, env);
    const auto port_a = port_of(a);
    const auto port_b = port_of(b);
    REQUIRE(send_raw(port_a,
                     "POST /heartbeat/nightly/fail HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: 11\r\n\r\nbackup died")
                .status == 200);
    CHECK(becomes(port_b, "nightly", "fail"));
    CHECK(redis.cli("HGET test:hb:nightly message") == "backup died");
    CHECK(json::parse(
              get(port_b, "/health/nightly").body)["observations"]["shared_state_readable"] == 1);
}

TEST_CASE("heartbeat: run ids started on one replica and finished on another are matched",
          "[heartbeat][redis][ping]") {
    Replicas replicas(R"({"checks": {"export": {"kind": "heartbeat", "period": "1h",
        "expected_duration": "2s", "grace": "1s", "overrun": "warn", "interval": "100ms"}}})");
    const auto port_a = replicas.port_a;
    const auto port_b = replicas.port_b;
    RedisServer& redis = replicas.redis;
    const auto detail = [](std::uint16_t port) {
        return json::parse(get(port, "/health/export").body);
    };
    // Waits until `port` reports `n` runs in progress.
    const auto runs = [&](std::uint16_t port, int n) {
        const auto until = std::chrono::steady_clock::now() + 5s;
        while (std::chrono::steady_clock::now() < until) {
            const json d = detail(port);
            if (d["observations"].value("runs_in_progress", -1.0) == n) return true;
            std::this_thread::sleep_for(20ms);
        }
        return false;
    };
    REQUIRE(becomes(port_a, "export", "ok"));
    REQUIRE(becomes(port_b, "export", "ok"));

    // Two overlapping runs, each started on a different replica: both replicas count both.
    REQUIRE(get(port_a, "/ping/export/start?rid=run-1").status == 200);
    REQUIRE(get(port_b, "/ping/export/start?rid=run-2").status == 200);
    CHECK(runs(port_a, 2));
    CHECK(runs(port_b, 2));
    // run-1 finishes on b, which learnt its start from a: its own duration, and a counts one.
    std::this_thread::sleep_for(300ms);
    REQUIRE(get(port_b, "/ping/export/0?rid=run-1").status == 200);
    CHECK(runs(port_a, 1));
    CHECK(runs(port_b, 1));
    const json pings = detail(port_b)["details"]["pings"];
    REQUIRE(!pings.empty());
    CHECK(pings[0]["rid"] == "run-1");
    REQUIRE(pings[0].contains("duration_seconds"));
    CHECK(pings[0]["duration_seconds"].get<double>() >= 0.3);
    // run-2 finishes on a: nothing open anywhere, and no replica later judges a finished run
    // as overrunning its expected duration.
    REQUIRE(get(port_a, "/ping/export?rid=run-2").status == 200);
    CHECK(runs(port_a, 0));
    CHECK(runs(port_b, 0));
    std::this_thread::sleep_for(2500ms);  // past expected_duration of both runs
    CHECK(detail(port_a)["status"] == "ok");
    CHECK(detail(port_b)["status"] == "ok");
    CHECK(detail(port_b)["observations"]["runs_in_progress"] == 0);
    // In the shared hash: nothing open, both finished.
    const json ended = json::parse(redis.cli("HGET test:hb:export ended"));
    CHECK(ended.contains("run-1"));
    CHECK(ended.contains("run-2"));
    CHECK(json::parse(redis.cli("HGET test:hb:export runs")).empty());

    // A run left open on a replica past expected_duration warns on the other as well.
    REQUIRE(get(port_a, "/ping/export/start?rid=stuck").status == 200);
    CHECK(becomes(port_b, "export", "warn"));
}
