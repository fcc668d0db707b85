// The dns kind against this machine's own resolver: /etc/hosts' localhost, and a name in
// .invalid, which no resolver may answer (RFC 6761).
#include <catch2/catch.hpp>

#include "support/make_check.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;

TEST_CASE("dns: localhost resolves, a .invalid name fails, within the deadline", "[dns]") {
    auto ok = make_check("dns", {{"names", {"localhost"}}});
    const CheckResult good = ok->run(Deadline::in(3s));
    CHECK(good.status == Status::ok);
    CHECK_THAT(good.message, Catch::Contains("1 names resolved"));
    CHECK(has_observation(good, "resolve_seconds.localhost"));

    auto bad = make_check("dns", {{"names", {"localhost", "vitals-no-such-host.invalid"}}});
    const auto started = std::chrono::steady_clock::now();
    const CheckResult r = bad->run(Deadline::in(3s));
    CHECK(std::chrono::steady_clock::now() - started < 30s);  // bounded by the resolver's own
    CHECK(r.status == Status::fail);
    CHECK_THAT(r.message, Catch::Contains("cannot resolve vitals-no-such-host.invalid"));
    CHECK(observed(r, "unresolved_names") == 1);
}

TEST_CASE("dns: names that cannot be asked are refused, every one at once", "[dns]") {
    CHECK_THROWS_WITH(make_check("dns", {{"names", nlohmann::json::array()}}),
                      Catch::Contains("lists no name"));
    CHECK_THROWS_WITH(make_check("dns", nlohmann::json::object()), Catch::Contains("required"));
}
