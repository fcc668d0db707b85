// Every URL spelling a Django deployment puts in its environment: each gives the right check,
// or a skip that says why, and never stops vitals (no configuration error from the
// environment). The environment is what the pod has; vitals must not refuse to start on it.
#include <catch2/catch.hpp>

#include <algorithm>

#include "checks/builtin.hpp"
#include "sidecar/config/config.hpp"
#include "support/temp_file.hpp"

using namespace vitals;

namespace {

struct Row {
    const char* variable;
    const char* value;
    const char* check;  // the check it must give, or the one it must skip
    bool runs;          // a check is made (else: skipped, with a reason)
};

std::vector<std::string> names(const Config& c) {
    std::vector<std::string> out;
    for (const CheckConfig& check : c.checks)
        out.push_back(check.name);
    return out;
}

}  // namespace

TEST_CASE("environment URLs: every common spelling gives a check or a logged skip, never exit 2",
          "[config][env]") {
    const Row rows[] = {
        // PostgreSQL: dj-database-url and django-environ spellings.
        {"DATABASE_URL", "postgres://app:pw@db:5432/shop", "postgres", true},
        {"DATABASE_URL", "postgresql://app:pw@db/shop", "postgres", true},
        {"DATABASE_URL", "pgsql://app:pw@db/shop", "postgres", true},
        {"DATABASE_URL", "psql://app:pw@db/shop", "postgres", true},
        {"DATABASE_URL", "postgis://app:pw@db/shop", "postgres", true},
        {"DATABASE_URL", "postgres://app:pw@db/shop?conn_max_age=600&conn_health_checks=true",
         "postgres", true},
        {"DATABASE_URL", "postgres://app:pw@%2Fvar%2Frun%2Fpostgresql/shop", "postgres", true},
        {"VITALS_PGBOUNCER_URL", "postgres://stats:pw@pgbouncer:6432/pgbouncer", "pgbouncer", true},
        // Redis cache: redis-py and django-environ spellings.
        {"REDIS_URL", "redis://:pw@cache:6379/1", "redis", true},
        {"CACHE_URL", "rediscache://cache:6379/1", "redis", true},
        {"CACHE_URL", "unix:///var/run/redis/redis.sock?db=2", "redis", true},
        {"CACHE_URL", "redis+socket:///var/run/redis/redis.sock", "redis", true},
        {"REDIS_URL", "rediss://:pw@cache.example:6380/0", "redis", true},
        {"REDIS_URL", "rediss://:pw@cache.example:6380/0?ssl_cert_reqs=none", "redis", true},
        {"REDIS_URL", "rediss://:pw@cache.example:6380/0?ssl_cert_reqs=CERT_REQUIRED", "redis",
         true},
        {"REDIS_URL", "rediss://:pw@cache.example:6380/0?ssl_ca_certs=%2Fetc%2Fca.pem", "redis",
         true},
        {"REDIS_URL", "rediss://:pw@cache.example:6380/0?ssl_cert_reqs=sometimes", "redis", false},
        // Celery brokers.
        {"CELERY_BROKER_URL", "amqp://guest:pw@rabbit:5672//", "celery_broker", true},
        {"CELERY_BROKER_URL", "pyamqp://guest:pw@rabbit//", "celery_workers", true},
        {"CELERY_BROKER_URL", "redis://broker:6379/0", "celery_workers", true},
        {"CELERY_BROKER_URL", "rediss://:pw@broker:6380/0?ssl_cert_reqs=required", "celery_workers",
         true},
        {"CELERY_BROKER_URL", "amqps://guest:pw@rabbit:5671//", "celery_broker", true},
        {"CELERY_BROKER_URL", "amqps://guest:pw@rabbit//?ssl_cert_reqs=nope", "celery_broker",
         false},
        {"CELERY_BROKER_URL", "sqs://", "celery_broker", false},
        {"CELERY_BROKER_URL", "sqs://", "celery_workers", false},
    };
    for (const Row& row : rows) {
        INFO(row.variable << "=" << row.value);
        const ConfigLoad load = load_config({{row.variable, row.value}}, "", builtin_registry());
        REQUIRE(load.errors.empty());
        REQUIRE(load.config);
        const auto made = names(*load.config);
        const bool has = std::find(made.begin(), made.end(), row.check) != made.end();
        CHECK(has == row.runs);
        const auto& skipped = load.config->skipped;
        const auto skip = std::find_if(skipped.begin(), skipped.end(),
                                       [&](const SkippedCheck& s) { return s.name == row.check; });
        CHECK((skip != skipped.end()) == !row.runs);
        if (skip != skipped.end()) {
            CHECK_FALSE(skip->reason.empty());
            CHECK(skip->reason.find("pw") == std::string::npos);
        }
        CHECK(load.config->describe().dump().find(":pw@") == std::string::npos);
    }
}

TEST_CASE("environment URLs: other databases and caches are none of vitals' business",
          "[config][env]") {
    for (const auto& [variable, value] :
         std::vector<std::pair<std::string, std::string>>{{"DATABASE_URL", "sqlite:///db.sqlite3"},
                                                          {"DATABASE_URL", "mysql://u:p@db/x"},
                                                          {"CACHE_URL", "locmemcache://"},
                                                          {"CACHE_URL", "dummycache://"}}) {
        INFO(variable << "=" << value);
        const ConfigLoad load = load_config({{variable, value}}, "", builtin_registry());
        REQUIRE(load.config);
        CHECK(load.config->checks.empty());
        CHECK(load.config->skipped.empty());
    }
}

TEST_CASE("environment URLs: a check the user wrote in the file stays strict", "[config][env]") {
    // The same URL that the environment may only skip is an error in the file.
    vitals::testing::TempFile file(
        R"({"checks": {"cache": {"kind": "redis",
                                 "url": "rediss://:pw@cache:6380/0?ssl_cert_reqs=sometimes"}}})");
    const ConfigLoad load = load_config({}, file.path(), builtin_registry());
    CHECK_FALSE(load.config);
    REQUIRE(load.errors.size() == 1);
    CHECK(load.errors[0].pointer == "/checks/cache/url");
    CHECK(load.errors[0].message.find("ssl_cert_reqs") != std::string::npos);
    CHECK(load.errors[0].text().find("pw") == std::string::npos);
}
