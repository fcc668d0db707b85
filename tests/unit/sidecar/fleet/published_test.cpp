// A shared check's published result: what survives the trip, and what is refused.
#include <catch2/catch.hpp>

#include "sidecar/fleet/published.hpp"
#include "sidecar/fleet/runs.hpp"

using namespace vitals;

namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;

CheckResult sample() {
    CheckResult r;
    r.status = Status::warn;
    r.message = "queue celery has 120 messages";
    r.cause = Cause::elsewhere;
    r.observe("queue_messages", "queue", "celery", 120).observe("connect_seconds", 0.004);
    r.details = {{"queues", {{"celery", {{"messages", 120}}}}}};
    return r;
}

}  // namespace

TEST_CASE("a published result reads back as it was", "[fleet]") {
    const std::string text = encode_published(sample(), "web-1", kNow - 2'000);
    const Expected<Published> p = decode_published(text, kNow, Millis(15'000));
    REQUIRE(p);
    CHECK(p->pod == "web-1");
    CHECK(p->at_ms == kNow - 2'000);
    CHECK(p->result.status == Status::warn);
    CHECK(p->result.cause == Cause::elsewhere);
    CHECK(p->result.message == "queue celery has 120 messages");
    REQUIRE(p->result.observations.size() == 2);
    CHECK(p->result.observations[0].key() == "queue_messages.celery");
    CHECK(p->result.observations[0].value == 120);
    CHECK(p->result.details["queues"]["celery"]["messages"] == 120);
}

TEST_CASE("forged or stale published results are refused", "[fleet]") {
    const auto refused = [](const std::string& text, const char* why) {
        INFO(why);
        const Expected<Published> p = decode_published(text, kNow, Millis(15'000));
        CHECK_FALSE(p);
        return p ? std::string() : p.error().message;
    };
    refused("not json", "garbage");
    refused("{}", "an empty object");
    refused(std::string(10 * 1024 * 1024, '{'), "10 MB");
    CHECK(refused(encode_published(sample(), "web-1", kNow + 60'000), "from the future")
              .find("future") != std::string::npos);
    CHECK(refused(encode_published(sample(), "web-1", kNow - 60'000), "a minute old")
              .find("60 s old") != std::string::npos);
    std::string bad_status = encode_published(sample(), "web-1", kNow);
    bad_status.replace(bad_status.find("\"warn\""), 6, "\"great\"");
    refused(bad_status, "an unknown status");
    std::string no_pod = encode_published(sample(), "", kNow);
    refused(no_pod, "no pod");
}

TEST_CASE("a fleet's name comes from its pods' names", "[fleet]") {
    CHECK(fleet_of_pod("web-7d9f8b6c4-x2x9z") == "web");
    CHECK(fleet_of_pod("shop-web-5c6b7f9d8b-abcde") == "shop-web");
    CHECK(fleet_of_pod("celery-worker-3") == "celery-worker");
    CHECK(fleet_of_pod("vitals") == "vitals");
    CHECK(fleet_of_pod("my-laptop") == "my-laptop");
}
