// The libpq connection string built from a URL: what is sent, and what is left to libpq.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "sidecar/clients/postgres.hpp"

using namespace vitals;
using namespace std::chrono_literals;

namespace {

std::string conninfo(const std::string& text) {
    const auto url = parse_url(text);
    REQUIRE(url);
    return postgres_conninfo(*url, Deadline::in(5s)).text;
}

}  // namespace

TEST_CASE("no port is sent unless the URL has one: PGPORT and service files apply",
          "[postgres][conninfo]") {
    CHECK(conninfo("postgres://app:pw@db/shop").find("port=") == std::string::npos);
    CHECK(conninfo("postgres://app:pw@db:6432/shop").find("port='6432'") != std::string::npos);
    // A list with some ports: libpq wants one per host, the others get the default.
    CHECK(conninfo("postgres://app:pw@db1,db2:6432/shop").find("port='5432,6432'") !=
          std::string::npos);
    CHECK(conninfo("postgres:///shop?service=prod").find("service='prod'") != std::string::npos);
}

TEST_CASE("Cloud SQL's socket directory becomes libpq's host", "[postgres][conninfo]") {
    const std::string ci = conninfo("postgres://u:pw@//cloudsql/proj:region:inst/shop");
    CHECK(ci.find("host='/cloudsql/proj:region:inst'") != std::string::npos);
    CHECK(ci.find("dbname='shop'") != std::string::npos);
}

TEST_CASE("no GSSAPI encryption unless the URL or PGGSSENCMODE asks for it",
          "[postgres][conninfo]") {
    ::unsetenv("PGGSSENCMODE");
    const std::string plain = conninfo("postgres://app:pw@db/shop?sslmode=require");
    CHECK(plain.find("gssencmode=disable") != std::string::npos);
    CHECK(plain.find("sslmode='require'") != std::string::npos);
    // The URL's own comes after vitals' default, and libpq keeps the last.
    const std::string asked = conninfo("postgres://app:pw@db/shop?gssencmode=prefer");
    CHECK(asked.rfind("gssencmode='prefer'") > asked.find("gssencmode=disable"));
    ::setenv("PGGSSENCMODE", "prefer", 1);
    CHECK(conninfo("postgres://app:pw@db/shop").find("gssencmode") == std::string::npos);
    ::unsetenv("PGGSSENCMODE");
}
