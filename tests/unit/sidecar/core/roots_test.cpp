// Which failing check explains which: derived from the endpoints the checks' settings name
// and what each is about, or named in configuration.
#include <catch2/catch.hpp>

#include "sidecar/core/roots.hpp"
#include "sidecar/core/snapshot.hpp"

using namespace vitals;
using nlohmann::json;

namespace {

CheckState check(const std::string& name, About about, const json& settings,
                 Status status = Status::fail, const std::string& depends_on = "") {
    CheckState c;
    c.name = name;
    c.status = status;
    c.policy.depends.about = about;
    c.policy.depends.endpoints = endpoints_of(settings);
    c.policy.depends.on = depends_on;
    return c;
}

}  // namespace

TEST_CASE("endpoints come from the URLs and host/port a check's settings name", "[roots]") {
    CHECK(endpoints_of({{"url", "redis://:pw@Cache:6379/1"}}) ==
          std::vector<std::string>{"cache:6379"});
    CHECK(endpoints_of({{"url", "postgres://app:****@db/shop"}}) ==
          std::vector<std::string>{"db:5432"});
    CHECK(endpoints_of({{"url", "amqp://u:****@h1//;amqp://u:****@h2:5673//"}}) ==
          std::vector<std::string>{"h1:5672", "h2:5673"});
    CHECK(endpoints_of({{"url", "http://localhost:8000/"}, {"host", "shop.example.com"}}) ==
          std::vector<std::string>{"127.0.0.1:8000"});
    CHECK(endpoints_of({{"host", "db.internal"}, {"port", 5432}}) ==
          std::vector<std::string>{"db.internal:5432"});
    CHECK(endpoints_of({{"url", "unix:///run/redis.sock"}}) ==
          std::vector<std::string>{"/run/redis.sock"});
    CHECK(endpoints_of({{"interval", "10s"}}).empty());
}

TEST_CASE("a shared check failing on a dependency that fails is blocked by it", "[roots]") {
    const json redis_url = {{"url", "redis://cache:6379/0"}};
    const json broker_url = {{"url", "redis://cache:6379/1"}};
    const json db = {{"url", "postgres://app@db:5432/shop"}};
    const std::vector<CheckState> checks = {
        check("redis", About::reach, redis_url),
        check("celery_broker", About::shared, broker_url),
        check("celery_workers", About::shared, broker_url),
        check("postgres", About::reach, db),
        check("beat", About::shared, db),
        check("app", About::app, {{"url", "http://127.0.0.1:8000/"}}),
        check("static", About::reach, {{"url", "http://localhost:8000/static/base.css"}}),
        check("certificate", About::shared, {{"host", "shop.example.com"}, {"port", 443}}),
    };
    const auto roots = blocked_by(checks);
    CHECK(roots.at("celery_broker") == "redis");
    CHECK(roots.at("celery_workers") == "redis");
    CHECK(roots.at("beat") == "postgres");
    CHECK(roots.at("static") == "app");
    CHECK(roots.count("redis") == 0);  // the roots themselves are not blocked
    CHECK(roots.count("postgres") == 0);
    CHECK(roots.count("certificate") == 0);  // shares nothing with any other
}

TEST_CASE("only failing checks block, and a configured parent wins", "[roots]") {
    const json url = {{"url", "redis://cache:6379/0"}};
    // The cache is up: the broker's own failure is its own.
    CHECK(blocked_by({check("redis", About::reach, url, Status::ok),
                      check("celery_broker", About::shared, url)})
              .empty());
    // Two checks about the same thing on one endpoint: neither explains the other.
    CHECK(blocked_by({check("redis", About::reach, url), check("cache2", About::reach, url)})
              .empty());
    // Named in configuration, followed through the chain to its root.
    const auto roots = blocked_by(
        {check("redis", About::reach, url), check("celery_broker", About::shared, url),
         check("reports", About::shared, json::object(), Status::fail, "celery_broker")});
    CHECK(roots.at("reports") == "redis");
    // A configured cycle ends instead of looping.
    const auto cycle = blocked_by({check("a", About::shared, json::object(), Status::fail, "b"),
                                   check("b", About::shared, json::object(), Status::fail, "a")});
    CHECK(cycle.size() == 2);
}

TEST_CASE("a kind may name the kinds that explain it on the same endpoint", "[roots]") {
    const json broker_url = {{"url", "amqp://u:p@rabbit:5672//"}};
    CheckState broker = check("broker", About::shared, broker_url);
    broker.kind = "celery_broker";
    CheckState workers = check("workers", About::shared, broker_url);
    workers.kind = "celery_workers";
    workers.policy.depends.explained_by = {"celery_broker"};
    // Both about a shared state: only the declaration makes the broker the workers' root.
    const auto roots = blocked_by({workers, broker});
    CHECK(roots.at("workers") == "broker");
    CHECK(roots.count("broker") == 0);
    // Not on the same endpoint: no link.
    workers.policy.depends.endpoints = endpoints_of(json{{"url", "amqp://u:p@other:5672//"}});
    CHECK(blocked_by({workers, broker}).empty());
}
