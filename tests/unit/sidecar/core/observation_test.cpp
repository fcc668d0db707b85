#include <catch2/catch.hpp>

#include <algorithm>

#include "checks/builtin.hpp"
#include "sidecar/core/observation.hpp"

using namespace vitals;
using O = ObservationSpec;

namespace {

bool mentions(const std::vector<std::string>& problems, const std::string& text) {
    for (const auto& p : problems)
        if (p.find(text) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("observation names follow Prometheus' rules, or the kind is refused", "[observation]") {
    CHECK(naming_problems("redis", {O::gauge("used_memory_bytes", Unit::bytes, "Used."),
                                    O::counter("evicted_keys_total", Unit::none, "Evicted."),
                                    O::counter("wait_seconds_total", Unit::seconds, "Waited."),
                                    O::gauge("expiry_timestamp_seconds", Unit::timestamp, "At."),
                                    O::histogram("request_duration_seconds", Unit::seconds, "T.")})
              .empty());
    const auto bad = naming_problems(
        "celery_workers",
        {O::gauge("requests", Unit::none, ""), O::gauge("requests", Unit::none, "x"),
         O::counter("evicted", Unit::none, "x"), O::gauge("errors_total", Unit::none, "x"),
         O::gauge("latency", Unit::seconds, "x"), O::gauge("latency_ms", Unit::none, "x"),
         O::gauge("days_left_days", Unit::none, "x"),
         O::gauge("expires_timestamp_seconds", Unit::seconds, "x"),
         O::gauge("workers_answering", Unit::none, "x"), O::gauge("Upper", Unit::none, "x"),
         O::gauge("hits_count", Unit::none, "x")});
    CHECK(mentions(bad, "requests: no help text"));
    CHECK(mentions(bad, "requests: declared twice"));
    CHECK(mentions(bad, "evicted: a counter's name ends in _total"));
    CHECK(mentions(bad, "errors_total: only a counter's name ends in _total"));
    CHECK(mentions(bad, "latency: the unit is the suffix _seconds"));
    CHECK(mentions(bad, "latency_ms: not a base unit"));
    CHECK(mentions(bad, "days_left_days: not a base unit"));
    CHECK(mentions(bad, "expires_timestamp_seconds: a _timestamp_seconds name has the unit"));
    CHECK(mentions(bad, "workers_answering: repeats the kind's name"));
    CHECK(mentions(bad, "Upper: not snake_case"));
    CHECK(mentions(bad, "hits_count: only a histogram's parts end in _count"));

    Registry registry;
    CheckKind stutter;
    stutter.name = "celery_workers";
    stutter.observations = {O::gauge("workers_answering", Unit::none, "x")};
    CHECK_THROWS_WITH(registry.add(stutter), Catch::Contains("workers_answering"));
}

TEST_CASE("every built-in kind declares its observations by the rules", "[observation]") {
    const Registry registry = builtin_registry();  // add() refuses a kind that breaks them
    for (const auto& [name, kind] : registry.kinds()) {
        INFO(name);
        CHECK(naming_problems(name, kind.observations).empty());
        CHECK_FALSE(kind.observations.empty());
        // The page leads each row with one or two numbers and charts the first.
        const auto headlines =
            std::count_if(kind.observations.begin(), kind.observations.end(),
                          [](const ObservationSpec& s) { return s.is_headline; });
        CHECK(headlines >= 1);
        CHECK(headlines <= 2);
        CHECK(charted(kind.observations) != nullptr);
    }
}

TEST_CASE("an observation finds its declaration, a histogram's parts find the histogram",
          "[observation]") {
    const ObservationTable table = {O::gauge("queue_messages", Unit::none, "x").by("queue"),
                                    O::histogram("request_duration_seconds", Unit::seconds, "x")};
    CHECK(find_spec(table, {"queue_messages", 3, "queue", "celery"}) == &table[0]);
    CHECK(find_spec(table, {"queue_messages", 3, "", ""}) == nullptr);  // the label is declared
    CHECK(find_spec(table, {"queue_messages", 3, "pool", "a"}) == nullptr);
    CHECK(find_spec(table, {"request_duration_seconds_bucket", 3, "le", "0.1"}) == &table[1]);
    CHECK(find_spec(table, {"request_duration_seconds_sum", 3, "", ""}) == &table[1]);
    CHECK(find_spec(table, {"request_duration_seconds_count", 3, "", ""}) == &table[1]);
    CHECK(find_spec(table, {"request_duration_seconds", 3, "", ""}) == nullptr);
    CHECK(find_spec(table, {"other", 3, "", ""}) == nullptr);
    CHECK(is_histogram_part({"request_duration_seconds_bucket", 3, "le", "0.1"}));
    CHECK_FALSE(is_histogram_part({"queue_messages", 3, "queue", "celery"}));
}
