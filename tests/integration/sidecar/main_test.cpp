// The vitals binary itself: arguments, exit codes, what it prints, signals.
#include <catch2/catch.hpp>

#include <signal.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>

#include "checks/builtin.hpp"
#include "support/net_fixtures.hpp"
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/temp_file.hpp"

using namespace vitals::testing;
using namespace std::chrono_literals;

TEST_CASE("vitals --list-metrics prints every declared family", "[main]") {
    const Finished f = run_binary({"--list-metrics"}, {});
    CHECK(f.exit_code == 0);
    const vitals::Registry registry = vitals::builtin_registry();
    for (const auto& [name, kind] : registry.kinds()) {
        for (const vitals::ObservationSpec& o : kind.observations) {
            INFO(name << " " << o.name);
            CHECK(f.out.find("| `vitals_" + name + "_" + o.name + "` |") != std::string::npos);
        }
    }
}

TEST_CASE("vitals --list-settings prints every declared setting, with its type and default",
          "[main]") {
    const Finished f = run_binary({"--list-settings"}, {});
    REQUIRE(f.exit_code == 0);
    const vitals::Registry registry = vitals::builtin_registry();
    for (const auto& [name, kind] : registry.kinds()) {
        INFO(name);
        const auto section = f.out.find("\n## " + name + "\n");
        REQUIRE(section != std::string::npos);
        const auto next = f.out.find("\n## ", section + 1);
        const std::string rows = f.out.substr(section, next - section);
        for (const vitals::Setting& s : kind.settings) {
            INFO(s.key);
            CHECK(rows.find("| `" + s.key + "` | ") != std::string::npos);
        }
    }
    // vitals' own settings carry their environment variable, bounds and default.
    CHECK(f.out.find("| `max_connections` | `VITALS_MAX_CONNECTIONS` | integer 16–65536 | "
                     "`1024` |") != std::string::npos);
    CHECK(f.out.find("| `timeout` | duration 10ms–10m | `3s` |") != std::string::npos);
    CHECK(f.out.find("| `kind` | string | required |") != std::string::npos);
}

TEST_CASE("vitals --check-config prints the effective configuration with secrets redacted",
          "[main]") {
    TempFile config(
        R"({"checks": {"web": {"kind": "http", "url": "http://admin:hunter2@127.0.0.1:8000/", "interval": "5s"}}})");
    const Finished f = run_binary({"--check-config", "--config", config.path()},
                                  {{"VITALS_LISTEN", "127.0.0.1:9999"}});
    CHECK(f.exit_code == 0);
    const auto printed = nlohmann::json::parse(f.out);
    CHECK(printed["listen"] == "127.0.0.1:9999");
    CHECK(printed["checks"]["web"]["url"] == "http://admin:****@127.0.0.1:8000/");
    CHECK(printed["checks"]["web"]["interval"] == "5s");
    CHECK(printed["checks"]["web"]["timeout"] == "3s");
    CHECK((f.out + f.err).find("hunter2") == std::string::npos);
}

TEST_CASE("a bad configuration lists every problem and exits 2, without secrets", "[main]") {
    TempFile config(
        R"({"listen": 8686, "checks": {"web": {"kind": "http", "url": "http://u:hunter2@x:99999/"},
                        "db": {"kind": "tcp", "port": 5432, "interval": "soon"}}})");
    for (const bool check_only : {true, false}) {
        std::vector<std::string> args = {"--config", config.path()};
        if (check_only) args.push_back("--check-config");
        const Finished f = run_binary(args, {{"VITALS_CONFIG", "/ignored.json"}});
        CHECK(f.exit_code == 2);
        CHECK(f.err.find("4 problems") != std::string::npos);
        CHECK(f.err.find(config.path() + ": /listen: must be a string") != std::string::npos);
        CHECK(f.err.find("/checks/web/url: port in URL out of range") != std::string::npos);
        CHECK(f.err.find("/checks/db/host: is required") != std::string::npos);
        CHECK(f.err.find("/checks/db/interval: \"soon\" is not a duration") != std::string::npos);
        CHECK(f.err.find("hunter2") == std::string::npos);
        CHECK(f.out.empty());
    }
}

TEST_CASE("VITALS_CONFIG names the file when --config is absent", "[main]") {
    TempFile config(
        R"({"checks": {"x": {"kind": "tcp", "host": "h", "port": 1, "interval": "1h"}}})");
    const Finished f = run_binary({"--check-config"}, {{"VITALS_CONFIG", config.path()}});
    CHECK(f.exit_code == 0);
    CHECK(nlohmann::json::parse(f.out)["checks"]["x"]["interval"] == "1h");
}

TEST_CASE("unknown arguments are a usage error", "[main]") {
    const Finished f = run_binary({"--frobnicate"});
    CHECK(f.exit_code == 2);
    CHECK(f.err.find("unknown argument: --frobnicate") != std::string::npos);
    CHECK(run_binary({"--version"}).out == "vitals " VITALS_VERSION "\n");
}

TEST_CASE("SIGTERM and SIGINT stop vitals cleanly within a second, with log lines", "[main]") {
    for (const int sig : {SIGTERM, SIGINT}) {
        Blackhole hole;  // a check stuck on it must not delay the exit
        TempFile config(R"({"checks": {"hung": {"kind": "http", "url": "http://127.0.0.1:)" +
                        std::to_string(hole.port()) +
                        R"(/", "interval": "30s", "timeout": "20s"}}})");
        ChildProcess vitals({"--config", config.path()}, {{"VITALS_LISTEN", "127.0.0.1:0"}});
        const auto start = vitals.wait_for_line("\"event\":\"start\"", 5s);
        REQUIRE(start);
        const auto line = nlohmann::json::parse(*start);
        const std::string listen = line["listen"];
        const auto port =
            static_cast<std::uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1)));
        REQUIRE(hole.wait_accepted(1, 5s));  // the check's run is under way and hanging
        REQUIRE(get(port, "/livez").status == 200);

        const auto signalled = std::chrono::steady_clock::now();
        vitals.signal(sig);
        const auto code = vitals.wait_exit(1s);
        const double took =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - signalled).count();
        INFO("signal " << sig << " exit took " << took << " s");
        REQUIRE(code);
        CHECK(*code == 0);
        CHECK(vitals.output().find("\"event\":\"shutdown\"") != std::string::npos);
        CHECK(vitals.output().find(sig == SIGTERM ? "SIGTERM" : "SIGINT") != std::string::npos);
        CHECK(vitals.output().find("\"event\":\"stopped\"") != std::string::npos);
    }
}

TEST_CASE("an address already in use is reported and exits non-zero", "[main]") {
    Blackhole taken;
    const Finished f =
        run_binary({}, {{"VITALS_LISTEN", "127.0.0.1:" + std::to_string(taken.port())}}, 5s);
    CHECK(f.exit_code == 1);
    CHECK(f.out.find("listen_failed") != std::string::npos);
}

TEST_CASE("vitals listens on an IPv6 address written as the docs document it", "[main]") {
    ChildProcess vitals({}, {{"VITALS_LISTEN", "[::1]:0"}});
    const auto line = vitals.wait_for_line("\"event\":\"start\"", 5s);
    REQUIRE(line);
    const std::string listen = nlohmann::json::parse(*line)["listen"];
    CHECK(listen.rfind("[::1]:", 0) == 0);
    const std::string port = listen.substr(listen.rfind(':') + 1);
    const std::string body = capture("curl -s -g --max-time 5 'http://[::1]:" + port + "/vitalz'");
    CHECK(body.find("\"status\": \"ok\"") != std::string::npos);
    vitals.signal(SIGTERM);
    CHECK(vitals.wait_exit(2s));
}

TEST_CASE("vitals starts on an environment it cannot fully check, and says what it skips",
          "[main]") {
    // A Redis URL with an option vitals cannot honour, an SQS broker: once exit 2, and the
    // pod never left Init.
    const std::map<std::string, std::string> env = {
        {"VITALS_LISTEN", "127.0.0.1:0"},
        {"REDIS_URL", "rediss://:managed-secret@cache.example:6380/0?ssl_cert_reqs=sometimes"},
        {"CELERY_BROKER_URL", "sqs://"}};
    const Finished checked = run_binary({"--check-config"}, env);
    INFO(checked.out << checked.err);
    CHECK(checked.exit_code == 0);
    CHECK(checked.err.find("skipped redis from the environment") != std::string::npos);
    CHECK(checked.err.find("skipped celery_broker from the environment") != std::string::npos);
    CHECK((checked.out + checked.err).find("managed-secret") == std::string::npos);
    ChildProcess vitals({}, env);
    const auto skipped = vitals.wait_for_line("\"event\":\"check_skipped\"", 5s);
    REQUIRE(skipped);
    CHECK(skipped->find("managed-secret") == std::string::npos);
    REQUIRE(vitals.wait_for_line("\"event\":\"start\"", 5s));
    vitals.signal(SIGTERM);
    CHECK(vitals.wait_exit(2s));
}

TEST_CASE("with no check in live, vitals says at start and in /health that /livez cannot fail",
          "[main]") {
    ChildProcess vitals({}, {{"VITALS_LISTEN", "127.0.0.1:0"}});
    const auto warned = vitals.wait_for_line("\"event\":\"probes_cannot_fail\"", 5s);
    REQUIRE(warned);
    CHECK(warned->find("always pass") != std::string::npos);
    const auto start = vitals.wait_for_line("\"event\":\"start\"", 5s);
    REQUIRE(start);
    const std::string listen = nlohmann::json::parse(*start)["listen"];
    const auto port = static_cast<std::uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1)));
    const auto health = nlohmann::json::parse(get(port, "/health").body);
    REQUIRE(health.contains("warnings"));
    CHECK(health["warnings"][0].get<std::string>().find("no checks") == 0);
    vitals.signal(SIGTERM);
    CHECK(vitals.wait_exit(2s));
}
