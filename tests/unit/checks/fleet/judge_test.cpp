// The fleet view's verdict on plain data.
#include <catch2/catch.hpp>

#include "checks/fleet/judge.hpp"

using namespace vitals;
using namespace vitals::checks;

namespace {

PodSummary pod(const std::string& name, const std::string& fleet, const std::string& version,
               bool ready = true) {
    PodSummary p;
    p.pod = name;
    p.fleet = fleet;
    p.app_version = version;
    p.ready = ready;
    p.vitals_version = "0.9";
    p.at_ms = 1'800'000'000'000;
    return p;
}

}  // namespace

TEST_CASE("fleet: versions are counted per fleet, and only differing ones are skew", "[fleet]") {
    CHECK(version_skew({pod("a", "web", "v1"), pod("b", "web", "v1")}).empty());
    CHECK(version_skew({pod("a", "web", "v1"), pod("b", "worker", "")}).empty());  // unsaid
    CHECK(version_skew({pod("a", "web", "v2"), pod("b", "web", "v2"), pod("c", "worker", "v1")}) ==
          "v1 (worker: 1); v2 (web: 2)");
}

TEST_CASE("fleet: skew warns only past its limit, and unready pods are counted", "[fleet]") {
    const std::vector<PodSummary> pods = {pod("a", "web", "v2", false), pod("c", "worker", "v1")};
    const CheckResult early = judge_fleet(pods, Millis(60'000), Millis(900'000));
    CHECK(early.status == Status::ok);
    CHECK(early.message == "2 pod(s) in view, 1 not ready");
    const CheckResult late = judge_fleet(pods, Millis(1'200'000), Millis(900'000));
    CHECK(late.status == Status::warn);
    CHECK(late.message.find("v1 (worker: 1); v2 (web: 1)") != std::string::npos);
}

TEST_CASE("fleet: a summary reads back, a foreign value does not", "[fleet]") {
    PodSummary p = pod("web-1", "web", "v3");
    p.failing = {"cache"};
    const auto back = summary_of(summary_json(p));
    REQUIRE(back);
    CHECK(back->failing == std::vector<std::string>{"cache"});
    CHECK(back->app_version == "v3");
    CHECK_FALSE(summary_of(nlohmann::json::parse(R"({"pod": 3})")));
    CHECK_FALSE(summary_of(nlohmann::json("text")));
}
