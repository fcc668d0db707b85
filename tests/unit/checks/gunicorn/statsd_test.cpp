#include <catch2/catch.hpp>

#include <cmath>

#include "checks/gunicorn/statsd.hpp"
#include "support/fake_clock.hpp"

using namespace vitals;
using namespace std::chrono_literals;

namespace {

// Every datagram of ../shared/captures/gunicorn-20.1-statsd.txt, in order.
const std::vector<std::string> kCaptured = {
    "gunicorn.request.duration:1.193|ms",
    "gunicorn.requests:1|c|@1.0",
    "gunicorn.request.status.200:1|c|@1.0",
    "gunicorn.request.duration:1.499|ms",
    "gunicorn.requests:1|c|@1.0",
    "gunicorn.request.status.200:1|c|@1.0",
    "gunicorn.request.duration:5.951|ms",
    "gunicorn.requests:1|c|@1.0",
    "gunicorn.request.status.200:1|c|@1.0",
    "gunicorn.request.duration:12.622|ms",
    "gunicorn.requests:1|c|@1.0",
    "gunicorn.request.status.404:1|c|@1.0",
    "gunicorn.request.duration:301.365|ms",
    "gunicorn.requests:1|c|@1.0",
    "gunicorn.request.status.200:1|c|@1.0",
    "gunicorn.workers:5|g",
    "gunicorn.workers:4|g",
    "gunicorn.log.warning:1|c|@1.0",
};

void feed(GunicornStats& stats, const std::vector<std::string>& datagrams, SteadyTime now) {
    for (const auto& d : datagrams) {
        std::size_t malformed = 0;
        for (const auto& s : parse_statsd(d, &malformed))
            stats.add(s, now);
        stats.count_datagram(malformed);
    }
}

}  // namespace

TEST_CASE("statsd lines parse into name, value, type and rate", "[statsd]") {
    std::size_t malformed = 0;
    const auto s = parse_statsd("gunicorn.requests:1|c|@0.5", &malformed);
    REQUIRE(s.size() == 1);
    CHECK(s[0].name == "gunicorn.requests");
    CHECK(s[0].value == 1);
    CHECK(s[0].type == "c");
    CHECK(s[0].rate == 0.5);
    CHECK(malformed == 0);
    const auto multi =
        parse_statsd("a.gunicorn.workers:3|g\ngunicorn.request.duration:2.5|ms\n", &malformed);
    CHECK(multi.size() == 2);
}

TEST_CASE("DogStatsD's tags (gunicorn --dogstatsd-tags) are accepted and not used", "[statsd]") {
    std::size_t malformed = 0;
    const auto s = parse_statsd(
        "gunicorn.requests:1|c|#env:prod,app:shop\n"
        "gunicorn.request.duration:12.5|ms|@0.5|#env:prod\n"
        "gunicorn.workers:4|g|#env:prod|c:"
        "83c0a99c0a54c0c187f461c7980e9b57f3f6a8b0c918c8d93df19a9de6f3fe1d\n",
        &malformed);
    CHECK(malformed == 0);
    REQUIRE(s.size() == 3);
    CHECK(s[0].name == "gunicorn.requests");
    CHECK(s[1].rate == 0.5);
    CHECK(s[2].value == 4);
    CHECK(parse_statsd("gunicorn.requests:1|c|#", &malformed).empty());     // an empty tag list
    CHECK(parse_statsd("gunicorn.requests:1|c|tags", &malformed).empty());  // not a field
}

TEST_CASE("malformed and truncated statsd lines are counted and dropped", "[statsd]") {
    std::size_t malformed = 0;
    const auto s = parse_statsd(
        "gunicorn.requests:1|c\n"      // ok
        "gunicorn.requests:1\n"        // no type
        "gunicorn.requests:x|c\n"      // not a number
        "gunicorn.requests:1|zz\n"     // unknown type
        "gunicorn.requests:1|c|@2\n"   // rate above 1
        "gunicorn.requests:1|c|0.5\n"  // rate without @
        ":1|c\n"                       // no name
        "gunicorn.req",                // truncated
        &malformed);
    CHECK(s.size() == 1);
    CHECK(malformed == 7);
    CHECK(parse_statsd(std::string("\0\x01\xff", 3), &malformed).empty());
}

TEST_CASE("the captured Gunicorn datagrams give counts, percentiles and workers", "[statsd]") {
    testing::FakeClock clock;
    GunicornStats stats;
    feed(stats, kCaptured, clock.now());
    const GunicornSummary s = stats.summary(clock.now());
    CHECK(s.requests == 5);
    CHECK(s.requests_total == 5);
    CHECK(s.status_4xx == 1);
    CHECK(s.status_5xx == 0);
    CHECK(s.workers == 4);
    CHECK(s.datagrams_total == 18);
    CHECK(s.malformed_total == 0);
    REQUIRE(s.p50_seconds);
    CHECK(*s.p50_seconds == Approx(0.005951).epsilon(0.11));  // histogram buckets are 10% wide
    CHECK(*s.p99_seconds == Approx(0.301365).epsilon(0.11));
}

TEST_CASE("sampled counters are scaled, 5xx ratio counts, worker timeouts are critical logs",
          "[statsd]") {
    testing::FakeClock clock;
    GunicornStats stats;
    std::size_t malformed = 0;
    for (int i = 0; i < 10; ++i) {
        for (const auto& s : parse_statsd(
                 "gunicorn.requests:1|c|@0.5\ngunicorn.request.status.502:1|c|@0.5", &malformed)) {
            stats.add(s, clock.now());
        }
    }
    for (const auto& s :
         parse_statsd("gunicorn.requests:30|c\ngunicorn.log.critical:2|c", &malformed))
        stats.add(s, clock.now());
    const GunicornSummary sum = stats.summary(clock.now());
    CHECK(sum.requests == 50);
    CHECK(sum.status_5xx == 20);
    CHECK(sum.error_5xx_ratio == Approx(0.4));
    CHECK(sum.worker_timeouts == 2);
}

TEST_CASE("the window slides: a minute later old requests are gone, totals stay", "[statsd]") {
    testing::FakeClock clock;
    GunicornStats stats;
    feed(stats, kCaptured, clock.now());
    clock.advance(30s);
    CHECK(stats.summary(clock.now()).requests == 5);
    clock.advance(31s);
    const GunicornSummary later = stats.summary(clock.now());
    CHECK(later.requests == 0);
    CHECK_FALSE(later.p95_seconds);
    CHECK(later.requests_total == 5);
    CHECK(later.workers == 4);
}

TEST_CASE("latency buckets are monotonic and cover 50 microseconds to minutes", "[statsd]") {
    CHECK(GunicornStats::bucket_of(0.01) == 0);
    CHECK(GunicornStats::bucket_of(1) < GunicornStats::bucket_of(10));
    CHECK(GunicornStats::bucket_of(1e9) == GunicornStats::kBuckets - 1);
    for (double ms : {0.2, 1.0, 37.0, 950.0, 30'000.0}) {
        const int b = GunicornStats::bucket_of(ms);
        CHECK(GunicornStats::bucket_upper_ms(b) >= ms);
        CHECK(GunicornStats::bucket_upper_ms(b) <= ms * 1.1 + 1e-9);
    }
}

TEST_CASE("a 5xx share stays at most 1 when sampled status counters outnumber requests",
          "[statsd]") {
    // Found by tests/fuzz/statsd_fuzz: a status counter sampled at @0.5 with no request
    // counter in the window reported a 5xx ratio of 2.
    testing::FakeClock clock;
    GunicornStats stats;
    std::size_t malformed = 0;
    for (const auto& s :
         parse_statsd("gunicorn.requests:1|c\ngunicorn.request.status.503:1|c|@0.5", &malformed))
        stats.add(s, clock.now());
    CHECK(stats.summary(clock.now()).error_5xx_ratio == 1.0);
}

TEST_CASE("a count no datagram can mean is dropped, and totals stay finite", "[statsd]") {
    testing::FakeClock clock;
    GunicornStats stats;
    feed(
        stats,
        {"gunicorn.requests:1e300|c|@1e-300", "gunicorn.requests:1e300|c", "gunicorn.requests:-5|c",
         "gunicorn.request.status.500:1e300|c|@1e-300", "gunicorn.requests:3|c"},
        clock.now());
    const GunicornSummary sum = stats.summary(clock.now());
    CHECK(std::isfinite(sum.requests_total));
    CHECK(sum.requests_total == 3);
    CHECK(sum.requests == 3);
    CHECK(sum.status_5xx == 0);
    CHECK(sum.malformed_total >= 4);
}
