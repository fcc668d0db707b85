// Which database a pod's environment names, as dj-database-url, django-environ,
// cookiecutter-django's entrypoint and libpq read it.
#include <catch2/catch.hpp>

#include "checks/postgres/environment.hpp"
#include "sidecar/url.hpp"

using namespace vitals;
using namespace vitals::checks;

TEST_CASE("postgres from the environment: DATABASE_URL first", "[postgres][env]") {
    const auto found =
        postgres_from_env({{"DATABASE_URL", "postgres://a:b@db/shop"}, {"POSTGRES_HOST", "other"}});
    REQUIRE(found.url);
    CHECK(*found.url == "postgres://a:b@db/shop");
    CHECK(found.notes.empty());
    CHECK_FALSE(postgres_from_env({{"DATABASE_URL", "sqlite:///db.sqlite3"}}).url);
    CHECK(postgres_from_env({{"DATABASE_URL", "timescale://a:b@db/shop"}}).url);
}

TEST_CASE("postgres from cookiecutter-django's POSTGRES_* variables, encoded", "[postgres][env]") {
    const auto found = postgres_from_env({{"POSTGRES_HOST", "postgres"},
                                          {"POSTGRES_PORT", "5433"},
                                          {"POSTGRES_DB", "shop"},
                                          {"POSTGRES_USER", "debug"},
                                          {"POSTGRES_PASSWORD", "p@ss/w:rd"}});
    REQUIRE(found.url);
    const auto url = parse_url(*found.url);
    REQUIRE(url);
    CHECK(url->host == "postgres");
    CHECK(url->port == std::optional<std::uint16_t>(5433));
    CHECK(url->path == "/shop");
    CHECK(url->user == "debug");
    CHECK(url->password == "p@ss/w:rd");
    REQUIRE(found.notes.size() == 1);
    CHECK(found.notes[0].text.find("POSTGRES_HOST") != std::string::npos);
    CHECK(found.notes[0].text.find("p@ss") == std::string::npos);
}

TEST_CASE("postgres from libpq's PG* variables (Railway)", "[postgres][env]") {
    const auto found = postgres_from_env({{"PGHOST", "/run/postgresql"},
                                          {"PGDATABASE", "shop"},
                                          {"PGUSER", "app"},
                                          {"PGPASSWORD", "secret"}});
    REQUIRE(found.url);
    const auto url = parse_url(*found.url);
    REQUIRE(url);
    CHECK(url->host == "/run/postgresql");
    CHECK_FALSE(url->port);  // libpq's default applies (PGPORT)
    CHECK(url->path == "/shop");
    CHECK_FALSE(postgres_from_env({{"PGUSER", "app"}}).url);  // no host, no database: nothing
}

TEST_CASE("PostgreSQL-protocol databases without its statistics are said, not checked",
          "[postgres][env]") {
    for (const char* url : {"cockroach://root@crdb:26257/shop", "redshift://u:p@rs:5439/dev"}) {
        INFO(url);
        const auto found = postgres_from_env({{"DATABASE_URL", url}});
        CHECK_FALSE(found.url);
        REQUIRE(found.notes.size() == 1);
        CHECK(found.notes[0].text.find("not checked") != std::string::npos);
    }
}
