// The dns kind's verdict on what a run resolved, with no resolver.
#include <catch2/catch.hpp>

#include "checks/dns/judge.hpp"

using namespace vitals;

TEST_CASE("dns judge: each run's verdict, as a table", "[dns]") {
    const DnsLimits limits{Millis(500)};
    struct Case {
        const char* what;
        std::vector<DnsAnswer> answers;
        Status status;
        const char* message_has;
        double unresolved;
    };
    const Case cases[] = {
        {"every name quick",
         {{"postgres", 0.002, std::nullopt, 1}, {"redis", 0.004, std::nullopt, 2}},
         Status::ok,
         "2 names resolved, the slowest in 4.0ms",
         0},
        {"one name slow",
         {{"postgres", 0.002, std::nullopt, 1}, {"api.example.com", 1.2, std::nullopt, 4}},
         Status::warn,
         "api.example.com took 1200.0ms to resolve (over 500ms)",
         0},
        {"one name gone",
         {{"postgres", 0.002, std::nullopt, 1}, {"redis", 0.01, "Name or service not known", 0}},
         Status::fail,
         "cannot resolve redis: Name or service not known",
         1},
        {"gone beats slow",
         {{"a", 2.0, std::nullopt, 1}, {"b", 0.1, "timed out", 0}},
         Status::fail,
         "cannot resolve b",
         1},
    };
    for (const Case& c : cases) {
        INFO(c.what);
        const CheckResult r = judge_dns(c.answers, limits);
        CHECK(r.status == c.status);
        CHECK_THAT(r.message, Catch::Contains(c.message_has));
        double unresolved = -1;
        int per_name = 0;
        for (const Observation& o : r.observations) {
            if (o.name == "unresolved_names") unresolved = o.value;
            if (o.name == "resolve_seconds") ++per_name;
        }
        CHECK(unresolved == c.unresolved);
        CHECK(per_name == static_cast<int>(c.answers.size()));
        if (c.status == Status::fail) CHECK(r.cause == Cause::elsewhere);
    }
}
