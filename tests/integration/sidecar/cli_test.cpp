// `vitals status` and `vitals wait` against a running vitals whose app the test controls,
// and the incident history they and the page are built on.
#include <catch2/catch.hpp>

#include <atomic>
#include <regex>
#include <thread>

#include "support/net_fixtures.hpp"
#include "support/process.hpp"
#include "support/running_sidecar.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// An app whose health the test switches: 200 "fine" or 500.
struct SwitchableApp {
    std::atomic<bool> healthy{true};
    ScriptedHttpServer server{[this](const std::string&) {
        return healthy ? http_response(200, "fine") : http_response(500, "broken");
    }};
};

std::string config_for(std::uint16_t app_port) {
    const std::string port = std::to_string(app_port);
    return R"({"trusted": ["127.0.0.1/32"], "checks": {
        "app": {"kind": "http", "url": "http://127.0.0.1:)" +
           port + R"(/", "interval": "100ms", "groups": ["ready"]},
        "port": {"kind": "tcp", "host": "127.0.0.1", "port": )" +
           port + R"(, "interval": "100ms"}}})";
}

}  // namespace

TEST_CASE("cli: vitals status prints every check and exits non-zero when not healthy", "[cli]") {
    SwitchableApp app;
    RunningSidecar sidecar(config_for(app.server.port()));
    REQUIRE(sidecar.wait_for_status("app", Status::ok));
    const std::string url = "http://127.0.0.1:" + std::to_string(sidecar.port());
    const Finished ok = run_binary({"status", url});
    INFO(ok.out << ok.err);
    CHECK(ok.exit_code == 0);
    CHECK(ok.out.find("NAME ") != std::string::npos);
    CHECK(ok.out.find("app ") != std::string::npos);
    CHECK(ok.out.find("port ") != std::string::npos);
    CHECK(ok.out.find("readyz pass") != std::string::npos);

    app.healthy = false;
    REQUIRE(sidecar.wait_for_status("app", Status::fail));
    const Finished failing = run_binary({"status", url});
    INFO(failing.out << failing.err);
    CHECK(failing.exit_code == 1);
    CHECK(failing.out.find("readyz FAIL") != std::string::npos);
    CHECK(failing.out.find("500") != std::string::npos);  // the check's message, seen locally

    const Finished nowhere =
        run_binary({"status", "http://127.0.0.1:" + std::to_string(closed_port())});
    CHECK(nowhere.exit_code == 3);
    CHECK(nowhere.err.find("cannot reach vitals") != std::string::npos);
    CHECK(run_binary({"status", "--bogus"}).exit_code == 2);
}

TEST_CASE(
    "cli: vitals wait --ready returns once ready, or lists the failing checks at the "
    "timeout",
    "[cli]") {
    SwitchableApp app;
    app.healthy = false;
    RunningSidecar sidecar(config_for(app.server.port()));
    const std::string url = "http://127.0.0.1:" + std::to_string(sidecar.port());
    // Failed, not merely not run yet: on a busy machine the first run may come late.
    REQUIRE(sidecar.wait_for_status("app", Status::fail));
    const Finished timed_out = run_binary({"wait", "--ready", url, "--timeout", "1s"});
    INFO(timed_out.out << timed_out.err);
    CHECK(timed_out.exit_code == 1);
    CHECK(timed_out.err.find("readyz did not pass within 1s") != std::string::npos);
    CHECK(timed_out.err.find("  app: fail - ") != std::string::npos);

    // Healed while `wait` polls (or before it starts: either way it must return ready).
    std::thread heal([&] {
        std::this_thread::sleep_for(700ms);
        app.healthy = true;
    });
    const auto started = std::chrono::steady_clock::now();
    const Finished ready =
        run_binary({"wait", "--ready", url, "--timeout", "20s", "--interval", "100ms"});
    const auto took = std::chrono::steady_clock::now() - started;
    heal.join();
    INFO(ready.out << ready.err);
    CHECK(ready.exit_code == 0);
    CHECK(ready.out.find("readyz passed after") != std::string::npos);
    CHECK(took < 10s);

    const Finished unreachable =
        run_binary({"wait", "--ready", "http://127.0.0.1:" + std::to_string(closed_port()),
                    "--timeout=500ms"});
    CHECK(unreachable.exit_code == 1);
    CHECK(unreachable.err.find("cannot reach vitals") != std::string::npos);
    CHECK(run_binary({"wait", "--timeout", "soon"}).exit_code == 2);
}

TEST_CASE("history: a check changing state keeps what every check showed at that moment",
          "[history]") {
    SwitchableApp app;
    RunningSidecar sidecar(config_for(app.server.port()));
    REQUIRE(sidecar.wait_for_status("app", Status::ok));
    CHECK(json::parse(get(sidecar.port(), "/health/history").body)["incidents"].empty());

    app.healthy = false;
    REQUIRE(sidecar.wait_for_status("app", Status::fail));
    app.healthy = true;
    REQUIRE(sidecar.wait_for_status("app", Status::ok));
    const json history = json::parse(get(sidecar.port(), "/health/history").body);
    REQUIRE(history["incidents"].size() == 2);
    const json& went_bad = history["incidents"][1];  // newest first
    CHECK(went_bad["check"] == "app");
    CHECK(went_bad["from"] == "ok");
    CHECK(went_bad["to"] == "fail");
    CHECK(went_bad["message"].get<std::string>().find("500") != std::string::npos);
    CHECK(went_bad["checks"]["port"]["status"] == "ok");
    CHECK(went_bad["checks"]["port"]["observations"].contains("connect_seconds"));
    CHECK(history["incidents"][0]["to"] == "ok");

    // Other networks see the statuses and numbers, not the text.
    const json outside = json::parse(get(sidecar.port(), "/health/history", "127.0.0.2").body);
    CHECK(outside["incidents"].size() == 2);
    CHECK_FALSE(outside["incidents"][1].contains("message"));
    const std::string page = get(sidecar.port(), "/").body;
    CHECK(page.find("Recent changes") != std::string::npos);
    CHECK(page.find("class=\"incident\" data-check=\"app\"") != std::string::npos);
}

TEST_CASE("cli: vitals status strips terminal escape sequences from what it prints", "[cli]") {
    // A message can carry text from a dependency's error; printed raw, ESC ] 0 ; retitles
    // the operator's terminal and ESC [ 2 J clears it.
    ScriptedHttpServer fake([](const std::string&) {
        return http_response(200, R"({"status": "ok", "version": "1\u001b[2J", "checks": {
            "app\u001b]0;owned\u0007": {"status": "ok", "message": "fine \u001b[2J\u009b31m"}}})",
                             "application/json");
    });
    const Finished r = run_binary({"status", "http://127.0.0.1:" + std::to_string(fake.port())});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("fine ?[2J?31m") != std::string::npos);
    CHECK(r.out.find('\x1b') == std::string::npos);
    CHECK(r.out.find('\x07') == std::string::npos);
    CHECK(r.out.find("\xC2\x9B") == std::string::npos);
}

TEST_CASE("cli: vitals status leads with what fails, with its age, groups and latency", "[cli]") {
    SwitchableApp app;
    app.healthy = false;
    // "alpha" comes first in vitals' order; "app" fails, so the table puts it first.
    const std::string port = std::to_string(app.server.port());
    RunningSidecar sidecar(R"({"trusted": ["127.0.0.1/32"], "checks": {
        "alpha": {"kind": "tcp", "host": "127.0.0.1", "port": )" +
                           port + R"(, "interval": "100ms"},
        "app": {"kind": "http", "url": "http://127.0.0.1:)" +
                           port + R"(/", "interval": "100ms", "groups": ["ready"]}}})");
    REQUIRE(sidecar.wait_for_status("app", Status::fail));
    REQUIRE(sidecar.wait_for_status("alpha", Status::ok));
    const std::string url = "http://127.0.0.1:" + std::to_string(sidecar.port());
    const Finished table = run_binary({"status", url});
    INFO(table.out << table.err);
    CHECK(table.exit_code == 1);
    // kubectl's columns: the age of the status, the probes it counts for, the last latency.
    const std::regex header("NAME +STATUS +AGE +GROUPS +LATENCY +MESSAGE\n");
    CHECK(std::regex_search(table.out, header));
    const std::regex app_row("\napp +fail +[0-9]+s +ready +[0-9.]+ms +.*500");
    CHECK(std::regex_search(table.out, app_row));
    CHECK(table.out.find("\napp ") < table.out.find("\nalpha "));
    CHECK(table.out.find('\x1b') == std::string::npos);  // not a terminal: no colour

    // -o json: /health as vitals answered it; -o wide: the kind and the last run too.
    const Finished as_json = run_binary({"status", url, "-o", "json"});
    CHECK(as_json.exit_code == 1);
    const json parsed = json::parse(as_json.out, nullptr, false);
    REQUIRE_FALSE(parsed.is_discarded());
    CHECK(parsed["checks"]["app"]["status"] == "fail");
    const Finished wide = run_binary({"status", "-o=wide", url});
    CHECK(
        std::regex_search(wide.out, std::regex("\napp +fail +[0-9]+s +ready +[0-9.]+ms +http +yes +"
                                               "[0-9]+s +")));

    // One check in full, and one that does not exist.
    const Finished one = run_binary({"status", "app", url});
    INFO(one.out << one.err);
    CHECK(one.exit_code == 1);
    CHECK(one.out.rfind("app (http): fail", 0) == 0);
    CHECK(one.out.find("  groups         ready,critical\n") != std::string::npos);
    CHECK(one.out.find("  findings:\n    fail ") != std::string::npos);
    CHECK(one.out.find("  observations:\n") != std::string::npos);
    CHECK(json::parse(run_binary({"status", "alpha", url, "-o", "json"}).out)["name"] == "alpha");
    const Finished none = run_binary({"status", "nope", url});
    CHECK(none.exit_code == 2);
    CHECK(none.err.find("no check named nope at " + url + " (there are: alpha, app)") !=
          std::string::npos);

    // Help is not an error.
    for (const char* command : {"status", "wait"}) {
        const Finished help = run_binary({command, "--help"});
        CHECK(help.exit_code == 0);
        CHECK(help.out.rfind(std::string("usage: vitals ") + command, 0) == 0);
    }
    CHECK(run_binary({"status", "-o", "yaml"}).exit_code == 2);
}

TEST_CASE("cli: the detail token is read from the pod's environment or --token", "[cli]") {
    SwitchableApp app;
    app.healthy = false;
    // With a detail token, messages go to requests that bear it, from any address.
    const std::string port = std::to_string(app.server.port());
    RunningSidecar sidecar(R"({"detail_token": "s3cret", "checks": {
        "app": {"kind": "http", "url": "http://127.0.0.1:)" +
                           port + R"(/", "interval": "100ms", "groups": ["ready"]}}})");
    REQUIRE(sidecar.wait_for_status("app", Status::fail));
    const std::string url = "http://127.0.0.1:" + std::to_string(sidecar.port());
    const Finished without = run_binary({"status", url});
    CHECK(without.out.find("500") == std::string::npos);
    CHECK(without.out.find("give --token") != std::string::npos);
    const Finished from_env = run_binary({"status", url}, {{"VITALS_DETAIL_TOKEN", "s3cret"}});
    INFO(from_env.out << from_env.err);
    CHECK(from_env.out.find("500") != std::string::npos);
    const Finished from_flag = run_binary({"status", "app", url, "--token", "s3cret"});
    CHECK(from_flag.out.find("500") != std::string::npos);
    CHECK(run_binary({"status", url, "--token=wrong"}).out.find("500") == std::string::npos);
}

TEST_CASE("cli: vitals wait --timeout 3s gives up at 3 s, not an interval early", "[cli]") {
    SwitchableApp app;
    app.healthy = false;
    RunningSidecar sidecar(config_for(app.server.port()));
    REQUIRE(sidecar.wait_for_status("app", Status::fail));
    const std::string url = "http://127.0.0.1:" + std::to_string(sidecar.port());
    const auto started = std::chrono::steady_clock::now();
    const Finished r = run_binary({"wait", "--ready", url, "--timeout", "3s"});
    const auto took = std::chrono::steady_clock::now() - started;
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(took >= 3s);
    CHECK(took < 4s);
}
