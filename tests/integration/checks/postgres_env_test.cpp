// The postgres check derived from the environments platforms and templates give a Django
// pod, against a real PostgreSQL 15: what the server saw (user, database, socket or TCP,
// TLS) is read from pg_stat_activity, not assumed.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include "checks/builtin.hpp"
#include "sidecar/config/config.hpp"
#include "support/make_check.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The check derived from `env` alone (no file), run once; the config it came with.
struct Derived {
    Config config;
    CheckResult result;
};

Derived derive_and_run(const Environment& env) {
    ConfigLoad load = load_config(env, "", builtin_registry());
    REQUIRE(load.config);
    Derived out{std::move(*load.config), {}};
    for (CheckConfig& c : out.config.checks) {
        if (c.name != "postgres") continue;
        out.result = c.check->run(Deadline::in(5s));
        return out;
    }
    FAIL("no postgres check was derived");
    return out;
}

// How the server sees vitals' sessions: user|database|tcp-or-socket|ssl, one line each.
std::string seen_by(const PostgresServer& pg) {
    return pg.query(
        "SELECT a.usename || '|' || a.datname || '|' || "
        "CASE WHEN a.client_addr IS NULL THEN 'socket' ELSE 'tcp' END || '|' || "
        "CASE WHEN s.ssl THEN 'tls' ELSE 'plain' END "
        "FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
        "WHERE a.application_name = 'vitals' LIMIT 1");
}

}  // namespace

TEST_CASE("postgres from cookiecutter-django's POSTGRES_* (no DATABASE_URL)", "[postgres][env]") {
    PostgresServer pg;
    const Derived d = derive_and_run({{"POSTGRES_HOST", "127.0.0.1"},
                                      {"POSTGRES_PORT", std::to_string(pg.port())},
                                      {"POSTGRES_DB", "shop"},
                                      {"POSTGRES_USER", "app"},
                                      {"POSTGRES_PASSWORD", "app-secret"}});
    INFO(d.result.message);
    CHECK(d.result.status == Status::ok);
    CHECK(seen_by(pg) == "app|shop|tcp|plain");
    REQUIRE(d.config.env_notes.size() == 1);
    CHECK(d.config.env_notes[0].second.text.find("POSTGRES_HOST") != std::string::npos);
    CHECK(d.config.describe().dump().find("app-secret") == std::string::npos);
}

TEST_CASE("postgres from Railway's PG* over the socket, and PGPORT honoured", "[postgres][env]") {
    PostgresServer pg;
    // PGPORT is read by libpq itself, from the process environment: the URL built has no
    // port, so none is forced over it.
    ::setenv("PGPORT", std::to_string(pg.port()).c_str(), 1);
    const Derived d = derive_and_run({{"PGHOST", pg.socket_dir()},
                                      {"PGDATABASE", "shop"},
                                      {"PGUSER", "app"},
                                      {"PGPASSWORD", "app-secret"}});
    ::unsetenv("PGPORT");
    INFO(d.result.message);
    CHECK(d.result.status == Status::ok);
    CHECK(seen_by(pg) == "app|shop|socket|plain");
}

TEST_CASE("a DATABASE_URL Secret ending in a newline works, over TLS", "[postgres][env]") {
    PostgresServer pg(20, 30);
    const Derived d = derive_and_run({{"DATABASE_URL", " " + pg.url() + "?sslmode=require\n"}});
    INFO(d.result.message);
    CHECK(d.result.status == Status::ok);
    CHECK(seen_by(pg) == "app|shop|tcp|tls");
}

TEST_CASE("Cloud SQL's postgres://u:p@//cloudsql/project:region:instance/db form",
          "[postgres][env]") {
    PostgresServer pg;
    // Cloud SQL's directory is named project:region:instance: a link of that name to the
    // server's socket directory; the port picks the socket file, as ?port= does for libpq.
    const std::string root = make_temp_dir("cloudsql");
    const std::string dir = root + "/proj:europe-west1:inst";
    REQUIRE(shell("ln -s " + pg.socket_dir() + " '" + dir + "'") == 0);
    const Derived d =
        derive_and_run({{"DATABASE_URL", "postgres://app:app-secret@/" + dir +
                                             "/shop?port=" + std::to_string(pg.port())}});
    INFO(d.result.message);
    CHECK(d.result.status == Status::ok);
    CHECK(seen_by(pg) == "app|shop|socket|plain");
    const std::string described = d.config.describe().dump();
    CHECK(described.find("app-secret") == std::string::npos);
}

TEST_CASE("CockroachDB's URL is said and not checked, and never fails the load",
          "[postgres][env]") {
    ConfigLoad load = load_config({{"DATABASE_URL", "cockroach://root:pw@crdb:26257/shop"}}, "",
                                  builtin_registry());
    REQUIRE(load.config);
    for (const CheckConfig& c : load.config->checks)
        CHECK(c.name != "postgres");
    bool said = false;
    for (const auto& [kind, note] : load.config->env_notes)
        said = said || (kind == "postgres" && note.text.find("cockroach") != std::string::npos);
    CHECK(said);
}
