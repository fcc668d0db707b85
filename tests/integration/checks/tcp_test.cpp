#include <catch2/catch.hpp>

#include "support/make_check.hpp"
#include "support/net_fixtures.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<Check> tcp_check(const std::string& host, std::uint16_t port) {
    return make_check("tcp", {{"host", host}, {"port", port}});
}

}  // namespace

TEST_CASE("tcp: a listening port is ok, with the connect time observed", "[tcp]") {
    Blackhole listener;
    const CheckResult r = tcp_check("127.0.0.1", listener.port())->run(Deadline::in(1s));
    CHECK(r.status == Status::ok);
    REQUIRE(r.observations.size() == 1);
    CHECK(r.observations[0].name == "connect_seconds");
    CHECK(r.observations[0].value < 1.0);
}

TEST_CASE("tcp: a closed port fails at once, naming the address", "[tcp]") {
    const auto port = closed_port();
    const auto started = std::chrono::steady_clock::now();
    const CheckResult r = tcp_check("127.0.0.1", port)->run(Deadline::in(2s));
    CHECK(std::chrono::steady_clock::now() - started < 500ms);
    CHECK(r.status == Status::fail);
    CHECK(r.message ==
          "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST_CASE("tcp: an unresolvable host fails with the resolver's reason", "[tcp]") {
    const CheckResult r = tcp_check("no-such-host.invalid", 5432)->run(Deadline::in(2s));
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("cannot resolve no-such-host.invalid") == 0);
}
