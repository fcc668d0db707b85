#include <catch2/catch.hpp>

#include "support/make_check.hpp"
#include "support/net_fixtures.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<Check> http_check(const nlohmann::json& settings) {
    return make_check("http", settings);
}

std::string url(std::uint16_t port, const std::string& path = "/") {
    return "http://127.0.0.1:" + std::to_string(port) + path;
}

}  // namespace

TEST_CASE("http: the expected status is ok, the path and Host header are sent", "[http_check]") {
    std::string seen_path;
    ScriptedHttpServer app([&](const std::string& path) {
        seen_path = path;
        return http_response(200, "<title>Shop</title>");
    });
    const CheckResult r =
        http_check({{"url", url(app.port(), "/health/?full=1")}})->run(Deadline::in(2s));
    CHECK(r.status == Status::ok);
    CHECK(seen_path == "/health/?full=1");
    CHECK(observed(r, "status_code") == 200);
    CHECK(observed(r, "body_bytes") == 19);
    CHECK(observed(r, "response_seconds") < 2);
}

TEST_CASE("http: another status fails, naming both", "[http_check]") {
    ScriptedHttpServer app([](const std::string&) { return http_response(502, "Bad Gateway"); });
    const CheckResult r = http_check({{"url", url(app.port())}})->run(Deadline::in(2s));
    CHECK(r.status == Status::fail);
    CHECK(r.message == "status 502, expected 200");
    const CheckResult redirect =
        http_check({{"url", url(app.port())}, {"expect_status", 502}})->run(Deadline::in(2s));
    CHECK(redirect.status == Status::ok);
}

TEST_CASE("http: the body keyword must be present, also in a chunked body", "[http_check]") {
    ScriptedHttpServer app([](const std::string&) {
        return std::string(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
            "chunked\r\n\r\n6\r\n{\"stat\r\n9\r\nus\":\"ok\"}\r\n0\r\n\r\n");
    });
    CHECK(http_check({{"url", url(app.port())}, {"body_contains", "\"status\":\"ok\""}})
              ->run(Deadline::in(2s))
              .status == Status::ok);
    const CheckResult missing =
        http_check({{"url", url(app.port())}, {"body_contains", "healthy"}})->run(Deadline::in(2s));
    CHECK(missing.status == Status::fail);
    CHECK(missing.message == "body does not contain \"healthy\"");
}

TEST_CASE("http: latency past warn_latency warns, past fail_latency fails", "[http_check]") {
    ScriptedHttpServer slow([](const std::string&) {
        std::this_thread::sleep_for(60ms);
        return http_response(200, "ok");
    });
    const CheckResult warn =
        http_check({{"url", url(slow.port())}, {"warn_latency", "20ms"}})->run(Deadline::in(2s));
    CHECK(warn.status == Status::warn);
    CHECK(warn.message.find("over warn_latency 20ms") != std::string::npos);
    const CheckResult fail =
        http_check({{"url", url(slow.port())}, {"warn_latency", "10ms"}, {"fail_latency", "30ms"}})
            ->run(Deadline::in(2s));
    CHECK(fail.status == Status::fail);
    CHECK(fail.message.find("over fail_latency 30ms") != std::string::npos);
}

TEST_CASE("http: a server that accepts and never answers fails at the deadline", "[http_check]") {
    Blackhole hole;
    const auto started = std::chrono::steady_clock::now();
    const CheckResult r = http_check({{"url", url(hole.port())}})->run(Deadline::in(300ms));
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(took >= 290ms);
    CHECK(took < 1s);
    CHECK(r.status == Status::fail);
    CHECK(r.message == "no complete response from 127.0.0.1:" + std::to_string(hole.port()) +
                           " before the deadline");
}

TEST_CASE("http: refused connections and non-HTTP answers fail with a reason", "[http_check]") {
    const CheckResult refused = http_check({{"url", url(closed_port())}})->run(Deadline::in(1s));
    CHECK(refused.status == Status::fail);
    CHECK(refused.message.find("Connection refused") != std::string::npos);
    ScriptedHttpServer ssh(
        [](const std::string&) { return std::string("SSH-2.0-OpenSSH_9.2\r\n"); });
    const CheckResult garbage = http_check({{"url", url(ssh.port())}})->run(Deadline::in(1s));
    CHECK(garbage.status == Status::fail);
    CHECK_FALSE(garbage.message.empty());
}
