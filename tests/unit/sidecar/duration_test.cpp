#include <catch2/catch.hpp>

#include "sidecar/duration.hpp"

using vitals::format_duration;
using vitals::Millis;
using vitals::parse_duration;

TEST_CASE("durations parse with every unit", "[duration]") {
    CHECK(parse_duration("250ms") == Millis(250));
    CHECK(parse_duration("5s") == Millis(5000));
    CHECK(parse_duration("1m") == Millis(60'000));
    CHECK(parse_duration("2h") == Millis(7'200'000));
    CHECK(parse_duration("1d") == Millis(86'400'000));
    CHECK(parse_duration("0s") == Millis(0));
}

TEST_CASE("compound and fractional durations, as Prometheus and Go write them", "[duration]") {
    CHECK(parse_duration("1m30s") == Millis(90'000));
    CHECK(parse_duration("1h30m") == Millis(5'400'000));
    CHECK(parse_duration("1.5s") == Millis(1500));
    CHECK(parse_duration("0.25h") == Millis(900'000));
    CHECK(parse_duration("2m500ms") == Millis(120'500));
    CHECK(parse_duration("1d12h") == Millis(129'600'000));
}

TEST_CASE("malformed durations are rejected", "[duration]") {
    for (const char* bad : {"", "5", "s", "5 s", "-1s", "5sec", "5S", "ms", "99999999999999h",
                            "1.s", ".5s", "1m30", "1m 30s", "0.0001s", "1.5ms", "1m30s5"}) {
        INFO(bad);
        CHECK_FALSE(parse_duration(bad).has_value());
    }
}

TEST_CASE("durations format with the largest exact unit", "[duration]") {
    CHECK(format_duration(Millis(250)) == "250ms");
    CHECK(format_duration(Millis(1500)) == "1500ms");
    CHECK(format_duration(Millis(5000)) == "5s");
    CHECK(format_duration(Millis(120'000)) == "2m");
    CHECK(format_duration(Millis(0)) == "0ms");
    for (const char* text : {"250ms", "5s", "1m", "3h", "2d"})
        CHECK(format_duration(*parse_duration(text)) == text);
}
