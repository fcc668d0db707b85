#include <catch2/catch.hpp>

#include "checks/celery/celery.hpp"

using namespace vitals;

TEST_CASE("base64 round-trips and decodes Celery's captured bodies", "[celery]") {
    for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba",
                                                         "foobar", std::string("\0\xff\x10", 3)}) {
        CHECK(base64_decode(base64_encode(s)) == s);
    }
    CHECK(base64_encode("foobar") == "Zm9vYmFy");
    // The worker's reply in ../shared/captures/celery-5.2-redis-ping.txt.
    const auto body = base64_decode("eyJyZWRpc2JlZEB2bSI6IHsib2siOiAicG9uZyJ9fQ==");
    REQUIRE(body);
    CHECK(*body == R"({"redisbed@vm": {"ok": "pong"}})");
    CHECK(ping_reply_nodes(*body) == std::vector<std::string>{"redisbed@vm"});
    CHECK_FALSE(base64_decode("abc"));
    CHECK_FALSE(base64_decode("ab!d"));
    CHECK_FALSE(base64_decode("ab=d"));
}

TEST_CASE("the ping request has the fields a Celery worker needs to answer", "[celery]") {
    const auto broadcast = nlohmann::json::parse(control_request("ping", "t-1", "key-1", {}));
    CHECK(broadcast["method"] == "ping");
    CHECK(broadcast["arguments"] == nlohmann::json::object());
    CHECK(broadcast["destination"].is_null());
    CHECK(broadcast["ticket"] == "t-1");
    CHECK(broadcast["reply_to"]["exchange"] == "reply.celery.pidbox");
    CHECK(broadcast["reply_to"]["routing_key"] == "key-1");
    const auto targeted =
        nlohmann::json::parse(control_request("ping", "t-2", "key-2", {"celery@worker-0"}));
    CHECK(targeted["destination"] == nlohmann::json::array({"celery@worker-0"}));
}

TEST_CASE("replies other than pong, and garbage, name no worker", "[celery]") {
    CHECK(ping_reply_nodes(R"({"a@x": {"ok": "pong"}, "b@y": {"error": "no"}})") ==
          std::vector<std::string>{"a@x"});
    CHECK(ping_reply_nodes("not json").empty());
    CHECK(ping_reply_nodes("[1,2]").empty());
}

TEST_CASE("uuid4 looks like one and does not repeat", "[celery]") {
    const std::string a = uuid4(), b = uuid4();
    CHECK(a.size() == 36);
    CHECK(a[14] == '4');
    CHECK(std::string("89ab").find(a[19]) != std::string::npos);
    CHECK(a != b);
}

TEST_CASE("a Redis reply envelope: the captured one decodes, odd shapes name no worker",
          "[celery]") {
    // The worker's LPUSH in ../shared/captures/celery-5.2-redis-ping.txt (fields trimmed).
    const std::string captured =
        R"({"body": "eyJyZWRpc2JlZEB2bSI6IHsib2siOiAicG9uZyJ9fQ==", "content-encoding": )"
        R"("utf-8", "headers": {"ticket": "1828ab54-16f2-4147-abcf-55cf85c2056f", "clock": 3}})";
    CHECK(redis_reply_nodes(captured, "1828ab54-16f2-4147-abcf-55cf85c2056f") ==
          std::vector<std::string>{"redisbed@vm"});
    CHECK(redis_reply_nodes(captured, "another-ticket").empty());
    // Shapes that once threw nlohmann::json's type_error (found by tests/fuzz/celery_reply),
    // which failed the whole celery_workers run instead of skipping one odd message.
    CHECK(redis_reply_nodes(R"({"headers": "x", "body": ""})", "t").empty());
    CHECK(redis_reply_nodes(R"({"headers": {"ticket": 7}, "body": ""})", "t").empty());
    CHECK(redis_reply_nodes(R"({"headers": {"ticket": "t"}, "body": 7})", "t").empty());
    CHECK(redis_reply_nodes(R"({"headers": {"ticket": "t"}, "body": "!!"})", "t").empty());
    CHECK(ping_reply_nodes(R"({"a@x": {"ok": 1}, "b@y": {"ok": "pong"}})") ==
          std::vector<std::string>{"b@y"});
}

TEST_CASE("a remote-control reply says what each node said, and a request names its method",
          "[celery]") {
    const auto stats = control_reply(
        R"({"w1@h": {"pool": {"max-concurrency": 4}}, "w2@h": [{"id": "t1"}, {"id": "t2"}]})");
    REQUIRE(stats.size() == 2);
    CHECK(stats[0].first == "w1@h");
    CHECK(stats[0].second["pool"]["max-concurrency"] == 4);
    CHECK(stats[1].second.size() == 2);
    CHECK(control_reply("[1]").empty());
    CHECK(control_reply("{").empty());
    const auto request = nlohmann::json::parse(control_request("active_queues", "t", "k", {}));
    CHECK(request["method"] == "active_queues");
    CHECK(request["arguments"] == nlohmann::json::object());
    const std::string envelope = R"({"headers": {"ticket": "t-9"}, "body": ")" +
                                 base64_encode(R"({"w@h": {"ok": "pong"}})") + R"("})";
    const auto message = redis_reply(envelope);
    REQUIRE(message);
    CHECK(message->first == "t-9");
    CHECK(ping_reply_nodes(message->second) == std::vector<std::string>{"w@h"});
    CHECK_FALSE(redis_reply(R"({"headers": {"ticket": "t"}, "body": "!!"})"));
}
