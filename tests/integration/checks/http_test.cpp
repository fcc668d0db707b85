#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/make_check.hpp"
#include "support/net_fixtures.hpp"
#include "support/servers.hpp"

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

TEST_CASE("http: https:// is verified against the system's CAs, a ca_file, or not at all",
          "[http_check][https]") {
    const std::string dir = make_temp_dir("https");
    make_certificate(dir, "app", "127.0.0.1", 30);
    TlsServer server(dir + "/app.crt", dir + "/app.key");  // openssl s_server -www: 200
    const std::string https = "https://127.0.0.1:" + std::to_string(server.port()) + "/";

    // A certificate no system CA signed: refused, saying it is TLS.
    const CheckResult untrusted = http_check({{"url", https}})->run(Deadline::in(3s));
    CHECK(untrusted.status == Status::fail);
    CHECK(untrusted.message.find("TLS with 127.0.0.1:" + std::to_string(server.port())) == 0);
    // The test's CA (the certificate signs itself): verified, with the handshake timed.
    const CheckResult trusted =
        http_check({{"url", https}, {"ca_file", dir + "/app.crt"}})->run(Deadline::in(3s));
    INFO(trusted.message);
    CHECK(trusted.status == Status::ok);
    CHECK(observed(trusted, "status_code") == 200);
    CHECK(observed(trusted, "tls_seconds") > 0);
    CHECK(observed(trusted, "tls_seconds") >= observed(trusted, "connect_seconds"));
    CHECK(observed(trusted, "first_byte_seconds") >= observed(trusted, "tls_seconds"));
    // Not verified at all, when asked.
    CHECK(http_check({{"url", https}, {"insecure", true}})->run(Deadline::in(3s)).status ==
          Status::ok);
    // Both at once, or a CA file that is not there: the configuration says so.
    CHECK_THROWS_WITH(http_check({{"url", https}, {"ca_file", dir + "/none.pem"}}),
                      Catch::Contains("cannot read"));
    CHECK_THROWS_WITH(
        http_check({{"url", https}, {"ca_file", dir + "/app.crt"}, {"insecure", true}}),
        Catch::Contains("not both"));
    shell("rm -rf '" + dir + "'");
}

TEST_CASE("http: an app that redirects to HTTPS is checked with the header it expects",
          "[http_check]") {
    // Django with SECURE_SSL_REDIRECT behind a TLS-terminating proxy: plain requests are sent
    // to https://, requests the proxy marked X-Forwarded-Proto: https are answered.
    std::atomic<bool> forwarded{false};
    ScriptedHttpServer shop([&](const std::string& path) {
        return forwarded ? http_response(200, "ok")
                         : "HTTP/1.1 301 Moved Permanently\r\nLocation: https://shop.example" +
                               path + "\r\nContent-Length: 0\r\n\r\n";
    });
    const CheckResult plain = http_check({{"url", url(shop.port())}})->run(Deadline::in(2s));
    CHECK(plain.status == Status::fail);
    CHECK(plain.message.find("status 301, expected 200 (a redirect to https://shop.example/") == 0);
    CHECK(plain.message.find("X-Forwarded-Proto") != std::string::npos);
    forwarded = true;
    const CheckResult with_header =
        http_check({{"url", url(shop.port())},
                    {"headers", {{"X-Forwarded-Proto", "https"}, {"X-Probe", "vitals"}}}})
            ->run(Deadline::in(2s));
    CHECK(with_header.status == Status::ok);
    CHECK(shop.last_head().find("\r\nX-Forwarded-Proto: https") != std::string::npos);
    CHECK(shop.last_head().find("\r\nX-Probe: vitals") != std::string::npos);
    // A header that would split the request is refused at configuration.
    CHECK_THROWS_WITH(http_check({{"url", url(shop.port())}, {"headers", {{"X-A", "a\r\nB: c"}}}}),
                      Catch::Contains("line break"));
    CHECK_THROWS_WITH(http_check({{"url", url(shop.port())}, {"headers", {{"Bad Name", "x"}}}}),
                      Catch::Contains("not a header name"));
}

TEST_CASE("http: redirects are followed when asked, up to a limit, and status ranges count",
          "[http_check]") {
    ScriptedHttpServer app([](const std::string& path) {
        if (path == "/final") return http_response(200, "arrived");
        if (path == "/loop") return std::string("HTTP/1.1 302 Found\r\nLocation: /loop\r\n\r\n");
        return std::string("HTTP/1.1 302 Found\r\nLocation: /final\r\nContent-Length: 0\r\n\r\n");
    });
    const CheckResult followed =
        http_check({{"url", url(app.port(), "/start")}, {"follow_redirects", true}})
            ->run(Deadline::in(2s));
    CHECK(followed.status == Status::ok);
    CHECK(observed(followed, "redirects") == 1);
    CHECK(followed.details["final_url"] == url(app.port(), "/final"));
    CHECK(observed(followed, "status_code") == 200);
    // Not followed, a redirect may itself be the healthy answer.
    CHECK(http_check({{"url", url(app.port(), "/start")}, {"expect_status", "200-399"}})
              ->run(Deadline::in(2s))
              .status == Status::ok);
    CHECK(http_check({{"url", url(app.port(), "/start")}, {"expect_status", {200, 302}}})
              ->run(Deadline::in(2s))
              .status == Status::ok);
    const CheckResult listed =
        http_check({{"url", url(app.port(), "/start")}, {"expect_status", {"200-299", 304}}})
            ->run(Deadline::in(2s));
    CHECK(listed.message.find("status 302, expected 200-299,304") == 0);
    // A loop ends at max_redirects.
    const CheckResult loop =
        http_check(
            {{"url", url(app.port(), "/loop")}, {"follow_redirects", true}, {"max_redirects", 3}})
            ->run(Deadline::in(2s));
    CHECK(loop.status == Status::fail);
    CHECK(loop.message.find("more than 3 redirects") == 0);
    CHECK_THROWS_WITH(http_check({{"url", url(app.port())}, {"expect_status", "200-1000"}}),
                      Catch::Contains("not a status code"));
    CHECK_THROWS_WITH(http_check({{"url", url(app.port())}, {"expect_status", "399-200"}}),
                      Catch::Contains("empty range"));
}

TEST_CASE("http: a resolver that never answers cannot hold the check past its deadline",
          "[http_check][dns]") {
    // A DNS server that reads queries and never answers, and, in a mount namespace of this
    // thread only (the check runs on it, and libcurl's resolver thread starts from it), an
    // /etc/resolv.conf that names it and would wait 30 s per try. Root, as CI runs.
    REQUIRE(::geteuid() == 0);
    Socket dns(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_port = htons(53);
    ::inet_pton(AF_INET, "127.0.0.77", &at.sin_addr);
    REQUIRE(::bind(dns.fd(), reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
    const std::string dir = make_temp_dir("dns");
    shell("printf 'nameserver 127.0.0.77\\noptions timeout:30 attempts:3\\n' > '" + dir +
          "/resolv.conf'");
    REQUIRE(::unshare(CLONE_NEWNS) == 0);
    REQUIRE(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0);
    REQUIRE(::mount((dir + "/resolv.conf").c_str(), "/etc/resolv.conf", nullptr, MS_BIND,
                    nullptr) == 0);
    const auto check = http_check({{"url", "http://app.vitals-hung-resolver.example:8000/"}});
    // Several runs in a row: an abandoned resolver thread never holds up the next run.
    for (int run = 0; run < 3; ++run) {
        const auto started = std::chrono::steady_clock::now();
        const CheckResult r = check->run(Deadline::in(400ms));
        const auto took = std::chrono::steady_clock::now() - started;
        INFO("run " << run << ": " << r.message << " after "
                    << std::chrono::duration<double>(took).count() << " s");
        CHECK(r.status == Status::fail);
        CHECK(r.message.find("before the deadline") != std::string::npos);
        CHECK(took < 1500ms);
    }
    // The queries did reach the server that never answers.
    char buffer[512];
    CHECK(::recv(dns.fd(), buffer, sizeof buffer, 0) > 0);
    ::umount2("/etc/resolv.conf", MNT_DETACH);
    shell("rm -rf '" + dir + "'");
}

TEST_CASE("http: the app in the pod is reached directly whatever proxy the environment names",
          "[http_check]") {
    ScriptedHttpServer app([](const std::string&) { return http_response(200, "ok"); });
    Blackhole proxy;  // a proxy that would hold every request
    const std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());
    ::setenv("http_proxy", proxy_url.c_str(), 1);
    ::setenv("HTTPS_PROXY", proxy_url.c_str(), 1);
    const CheckResult r = http_check({{"url", url(app.port())}})->run(Deadline::in(1s));
    ::unsetenv("http_proxy");
    ::unsetenv("HTTPS_PROXY");
    CHECK(r.status == Status::ok);
    CHECK(app.requests() == 1);
}
