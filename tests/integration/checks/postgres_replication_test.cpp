// The postgres check on the data layer production has: a streaming replica made with
// pg_basebackup -R from the test's PostgreSQL, its lag, the roles after a failover, slots
// that retain WAL, and transaction-ID age.
#include <catch2/catch.hpp>

#include <pqxx/pqxx>

#include <functional>
#include <thread>

#include "checks/builtin.hpp"
#include "support/make_check.hpp"
#include "support/net_fixtures.hpp"
#include "support/running_sidecar.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::string replica_url(const PostgresServer& replica) {
    return "postgres://app:app-secret@127.0.0.1:" + std::to_string(replica.port()) + "/shop";
}

// Runs `check` until `holds(result)` or `limit` passes; the last result.
CheckResult run_until(Check& check, const std::function<bool(const CheckResult&)>& holds,
                      std::chrono::seconds limit = 30s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    CheckResult r = check.run(Deadline::in(5s));
    while (!holds(r) && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(200ms);
        r = check.run(Deadline::in(5s));
    }
    return r;
}

bool said(const CheckResult& r, const std::string& text) {
    if (r.message.find(text) != std::string::npos) return true;
    return r.details.contains("findings") &&
           r.details["findings"].dump().find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("postgres: a replica's lag shows when replay is paused, its role is judged both ways",
          "[postgres][replica]") {
    PostgresServer primary;
    PostgresServer replica(PostgresServer::ReplicaOf{primary});
    REQUIRE(primary.sql("CREATE TABLE orders (id serial, note text)") == 0);
    REQUIRE(primary.sql("GRANT ALL ON orders TO app") == 0);
    REQUIRE(primary.sql("INSERT INTO orders (note) VALUES ('first')") == 0);

    // As a replica, caught up: ok, in recovery, streaming, no lag.
    auto as_replica =
        make_check("postgres",
                   {{"url", replica_url(replica)}, {"role", "replica"}, {"replay_lag_warn", "1s"}});
    CheckResult r = run_until(*as_replica, [](const CheckResult& c) {
        return c.status == Status::ok && has_observation(c, "replay_lag_seconds") &&
               observed(c, "replay_lag_seconds") == 0;
    });
    INFO(r.message << " " << r.details.dump());
    CHECK(r.status == Status::ok);
    CHECK(observed(r, "in_recovery") == 1);
    CHECK(observed(r, "wal_receiver_streaming") == 1);
    CHECK(r.details["server_role"] == "standby");
    CHECK(r.details["wal_receiver"] == "streaming");

    // The primary sees its standby.
    auto on_primary = make_check("postgres", {{"url", primary.url()}});
    const CheckResult p =
        run_until(*on_primary, [](const CheckResult& c) { return observed(c, "standbys") == 1; });
    INFO(p.message << " " << p.details.dump());
    CHECK(p.status == Status::ok);
    CHECK(observed(p, "in_recovery") == 0);
    CHECK(observed(p, "standbys") == 1);
    CHECK(p.details["standbys"][0]["state"] == "streaming");

    // The same replica behind DATABASE_URL, which must be a primary: every write would fail.
    auto as_primary = make_check("postgres", {{"url", replica_url(replica)}});
    r = as_primary->run(Deadline::in(5s));
    INFO(r.message);
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("standby in recovery") != std::string::npos);
    CHECK(r.cause == Cause::shared);

    // Replay paused while the primary writes: the lag grows past replay_lag_warn and warns.
    REQUIRE(replica.sql("SELECT pg_wal_replay_pause()") == 0);
    REQUIRE(primary.sql("INSERT INTO orders (note) VALUES ('second')") == 0);
    r = run_until(*as_replica, [](const CheckResult& c) {
        return c.status == Status::warn && said(c, "behind the primary");
    });
    INFO(r.message << " " << r.details.dump());
    CHECK(r.status == Status::warn);
    CHECK(said(r, "behind the primary"));
    CHECK(said(r, "WAL replay is paused"));
    CHECK(observed(r, "replay_lag_seconds") >= 1);
    CHECK(observed(r, "replay_lag_bytes") > 0);
    // With a fail threshold, the same lag fails.
    auto strict = make_check("postgres", {{"url", replica_url(replica)},
                                          {"role", "replica"},
                                          {"replay_lag_warn", "1s"},
                                          {"replay_lag_fail", "1s"}});
    CHECK(strict->run(Deadline::in(5s)).status == Status::fail);
    REQUIRE(replica.sql("SELECT pg_wal_replay_resume()") == 0);
    r = run_until(*as_replica, [](const CheckResult& c) { return c.status == Status::ok; });
    CHECK(r.status == Status::ok);

    // pg_promote(): the replica is a primary now. As "replica" that warns; as "primary" it
    // passes; the old primary, behind DATABASE_URL, is still a primary too (split brain is
    // the operator's to end), and no standby streams from it any more.
    REQUIRE(replica.sql("SELECT pg_promote()") == 0);
    r = run_until(*as_replica, [](const CheckResult& c) { return c.status == Status::warn; });
    INFO(r.message);
    CHECK(r.status == Status::warn);
    CHECK(said(r, "not in recovery"));
    CHECK(observed(r, "in_recovery") == 0);
    r = as_primary->run(Deadline::in(5s));
    INFO(r.message);
    CHECK(r.status == Status::ok);
    CHECK(run_until(*on_primary, [](const CheckResult& c) {
              return observed(c, "standbys") == 0;
          }).status == Status::ok);
}

TEST_CASE("postgres: a standby replaying from an archive is not warned about a WAL receiver",
          "[postgres][replica]") {
    PostgresServer primary;
    PostgresServer standby(PostgresServer::ReplicaOf{primary, /*streaming=*/false});
    auto check = make_check("postgres", {{"url", replica_url(standby)}, {"role", "replica"}});
    const CheckResult r = run_until(
        *check, [](const CheckResult& c) { return has_observation(c, "wal_receiver_streaming"); });
    INFO(r.message << " " << r.details.dump());
    CHECK(r.status == Status::ok);
    CHECK(observed(r, "wal_receiver_streaming") == 0);
    CHECK(r.details["wal_receiver"].get<std::string>().find("from an archive") !=
          std::string::npos);
    CHECK_FALSE(said(r, "no WAL receiver"));
}

TEST_CASE("postgres: an inactive slot retaining WAL warns, wraparound thresholds warn and fail",
          "[postgres][replica]") {
    PostgresServer pg;
    auto check = make_check("postgres", {{"url", pg.url()}, {"slot_retained_warn", 1}});
    CheckResult r = check->run(Deadline::in(5s));
    INFO(r.message << " " << r.details.dump());
    CHECK(r.status == Status::ok);
    CHECK(observed(r, "inactive_slots") == 0);
    CHECK(observed(r, "database_xid_age.shop") > 0);
    CHECK(observed(r, "oldest_transaction_seconds") >= 0);

    // A slot whose consumer never came: it keeps every byte of WAL written since.
    REQUIRE(pg.sql("SELECT pg_create_physical_replication_slot('gone_standby', true)") == 0);
    REQUIRE(pg.sql("CREATE TABLE filler AS SELECT g FROM generate_series(1, 20000) g") == 0);
    r = check->run(Deadline::in(5s));
    INFO(r.message << " " << r.details.dump());
    CHECK(r.status == Status::warn);
    CHECK(said(r, "replication slot gone_standby is inactive"));
    CHECK(observed(r, "inactive_slots") == 1);
    CHECK(observed(r, "slot_retained_wal_bytes.gone_standby") > 0);
    // Under the default threshold (1 GiB) the same slot is only reported.
    auto lenient = make_check("postgres", {{"url", pg.url()}});
    CHECK(lenient->run(Deadline::in(5s)).status == Status::ok);
    REQUIRE(pg.sql("SELECT pg_drop_replication_slot('gone_standby')") == 0);

    // Wraparound, driven by thresholds below the real age: warn, then fail, naming the
    // database and autovacuum_freeze_max_age.
    const double age = observed(r, "database_xid_age.shop");
    auto warn = make_check("postgres", {{"url", pg.url()}, {"xid_age_warn", 1}});
    r = warn->run(Deadline::in(5s));
    INFO(r.message);
    CHECK(r.status == Status::warn);
    CHECK(said(r, "million transactions from its last freeze"));
    CHECK(said(r, "autovacuum_freeze_max_age is 200 million"));
    auto fail =
        make_check("postgres", {{"url", pg.url()}, {"xid_age_warn", 1}, {"xid_age_fail", 2}});
    r = fail->run(Deadline::in(5s));
    CHECK(r.status == Status::fail);
    CHECK(r.cause == Cause::shared);
    CHECK(age < 1e9);  // the defaults leave a fresh cluster alone (above)

    // A session holding a transaction open: its age is the oldest transaction's.
    pqxx::connection holder(pg.url());
    pqxx::work tx(holder);
    tx.exec("SELECT txid_current()");
    r = run_until(*check, [](const CheckResult& c) {
        return observed(c, "oldest_transaction_seconds") >= 1;
    });
    CHECK(observed(r, "oldest_transaction_seconds") >= 1);
    CHECK(observed(r, "oldest_xmin_xid_age") >= 0);
    tx.abort();

    // A server that refuses a section (Aurora has no pg_current_wal_lsn(); here it is
    // revoked): noted, and every other statistic still read in the same transaction.
    REQUIRE(pg.sql("REVOKE EXECUTE ON FUNCTION pg_current_wal_lsn() FROM PUBLIC") == 0);
    r = lenient->run(Deadline::in(5s));
    INFO(r.message << " " << r.details.dump());
    CHECK(r.status == Status::ok);
    CHECK(r.details.value("replication_error", "").find("permission denied") != std::string::npos);
    CHECK(has_observation(r, "connections_used"));
    CHECK(has_observation(r, "database_xid_age.shop"));
    CHECK(has_observation(r, "slowest_statement_mean_seconds"));
    CHECK_FALSE(r.details.contains("stats_error"));
}

TEST_CASE("postgres: a read-only primary fails, every *_DATABASE_URL is a check of its own",
          "[postgres][replica]") {
    PostgresServer pg;
    REQUIRE(pg.sql("ALTER ROLE app SET default_transaction_read_only = on") == 0);
    auto check = make_check("postgres", {{"url", pg.url()}});
    CheckResult r = check->run(Deadline::in(5s));
    INFO(r.message);
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("read-only") != std::string::npos);
    auto any = make_check("postgres", {{"url", pg.url()}, {"role", "any"}});
    CHECK(any->run(Deadline::in(5s)).status == Status::ok);
    REQUIRE(pg.sql("ALTER ROLE app RESET default_transaction_read_only") == 0);

    // DATABASE_URL, REPLICA_DATABASE_URL and ANALYTICS_DATABASE_URL: three checks, roles by name.
    PostgresServer replica(PostgresServer::ReplicaOf{pg});
    RunningSidecar sidecar(R"({"checks": {}})", builtin_registry(),
                           {{"VITALS_LISTEN", "127.0.0.1:0"},
                            {"DATABASE_URL", pg.url()},
                            {"REPLICA_DATABASE_URL", replica_url(replica)},
                            {"ANALYTICS_DATABASE_URL", replica_url(replica)},
                            {"LEGACY_DATABASE_URL", "mysql://u:p@127.0.0.1/x"}});
    REQUIRE(sidecar.wait_for_status("postgres", Status::ok));
    REQUIRE(sidecar.wait_for_status("postgres_replica", Status::ok));
    REQUIRE(sidecar.wait_for_status("postgres_analytics", Status::ok));
    const json health = json::parse(get(sidecar.port(), "/health").body);
    CHECK(health["checks"]["postgres_replica"]["details"]["server_role"] == "standby");
    CHECK(health["checks"]["postgres_analytics"]["kind"] == "postgres");
    CHECK_FALSE(health["checks"].contains("postgres_legacy"));  // not PostgreSQL: not ours
    CHECK(get(sidecar.port(), "/readyz").status == 200);
    const std::string metrics = get(sidecar.port(), "/metrics").body;
    CHECK(metrics.find("vitals_postgres_in_recovery{check=\"postgres_replica\"} 1") !=
          std::string::npos);
    CHECK(metrics.find("app-secret") == std::string::npos);
}
