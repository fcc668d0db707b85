// Who sees what: error text and details for trusted networks and token holders only, never
// through a rebound name; the real server on loopback, from chosen source addresses.
#include <catch2/catch.hpp>

#include "support/net_fixtures.hpp"
#include "support/running_sidecar.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

json body_of(const RawReply& r) {
    return json::parse(r.body);
}

}  // namespace

TEST_CASE("error text is shown to trusted networks only", "[http]") {
    const std::string config = R"({"trusted": ["127.0.0.1/32"], "checks": {
        "db": {"kind": "tcp", "host": "127.0.0.1", "port": )" +
                               std::to_string(closed_port()) + R"(, "interval": "200ms"}}})";
    RunningSidecar sidecar(config);
    REQUIRE(sidecar.wait_for_status("db", Status::fail));
    const json trusted = body_of(get(sidecar.port(), "/health", "127.0.0.1"));
    const json untrusted = body_of(get(sidecar.port(), "/health", "127.0.0.2"));
    CHECK(trusted["checks"]["db"]["message"].get<std::string>().find("127.0.0.1:") !=
          std::string::npos);
    CHECK_FALSE(untrusted["checks"]["db"].contains("message"));
    CHECK(untrusted["checks"]["db"]["status"] == "fail");
    CHECK(untrusted["checks"]["db"].contains("observations"));
    CHECK_FALSE(body_of(get(sidecar.port(), "/health/db", "127.0.0.2")).contains("message"));
    CHECK(get(sidecar.port(), "/", "127.0.0.2").body.find("Connection refused") ==
          std::string::npos);
    CHECK(get(sidecar.port(), "/", "127.0.0.1").body.find("Connection refused") !=
          std::string::npos);
}

namespace {

RawReply get_with(std::uint16_t port, const std::string& path, const std::string& source,
                  const std::string& headers) {
    RawClient client(port, source);
    client.send("GET " + path + " HTTP/1.1\r\n" + headers + "\r\n");
    return client.read_response();
}

}  // namespace

TEST_CASE("trust: loopback by default, never through a rebound name, or by a token only",
          "[http][trust]") {
    const std::string checks = R"("checks": {"db": {"kind": "tcp", "host": "127.0.0.1", "port": )" +
                               std::to_string(closed_port()) + R"(, "interval": "200ms"}})";
    {
        RunningSidecar sidecar("{" + checks + "}");  // default trusted networks
        REQUIRE(sidecar.wait_for_status("db", Status::fail));
        const auto port = sidecar.port();
        CHECK(body_of(get(port, "/health", "127.0.0.1"))["checks"]["db"].contains("message"));
        // Inside 127.0.0.0/8 but not 127.0.0.1: Istio's inbound traffic comes from 127.0.0.6.
        CHECK_FALSE(body_of(get(port, "/health", "127.0.0.6"))["checks"]["db"].contains("message"));
        // A DNS-rebinding page reaches 127.0.0.1 through port-forward with its own name as Host.
        const RawReply rebound =
            get_with(port, "/health", "127.0.0.1", "Host: attacker.example:8686\r\n");
        CHECK_FALSE(body_of(rebound)["checks"]["db"].contains("message"));
        CHECK(body_of(get_with(port, "/health", "127.0.0.1",
                               "Host: localhost:8686\r\n"))["checks"]["db"]
                  .contains("message"));
        CHECK(
            body_of(get_with(port, "/health", "127.0.0.1", "Host: [::1]:8686\r\n"))["checks"]["db"]
                .contains("message"));
        // Every answer forbids sniffing and loading anything.
        REQUIRE(rebound.headers.count("x-content-type-options") == 1);
        CHECK(rebound.headers.at("x-content-type-options") == "nosniff");
        REQUIRE(rebound.headers.count("content-security-policy") == 1);
        CHECK(rebound.headers.at("content-security-policy").find("default-src 'none'") == 0);
        CHECK(get(port, "/nowhere").headers.count("x-content-type-options") == 1);
    }
    RunningSidecar meshed("{\"detail_token\": \"s3cret\", " + checks + "}");
    REQUIRE(meshed.wait_for_status("db", Status::fail));
    const auto port = meshed.port();
    CHECK_FALSE(body_of(get(port, "/health", "127.0.0.1"))["checks"]["db"].contains("message"));
    CHECK_FALSE(body_of(get_with(port, "/health", "127.0.0.1",
                                 "Authorization: Bearer nope\r\n"))["checks"]["db"]
                    .contains("message"));
    CHECK(body_of(get_with(port, "/health", "127.0.0.2",
                           "Authorization: Bearer s3cret\r\n"))["checks"]["db"]
              .contains("message"));
}
