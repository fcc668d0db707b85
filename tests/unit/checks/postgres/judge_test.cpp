// The postgres kind's verdict on plain data: what a run read, the limits, no server.
#include <catch2/catch.hpp>

#include "checks/postgres/judge.hpp"

using namespace vitals;

namespace {

// The kind's declared defaults, spelled here as a check's settings would give them.
PostgresLimits limits() {
    PostgresLimits l;
    l.role = PostgresRole::primary;
    l.replay_lag_warn = Millis(30'000);
    l.replay_lag_fail = Millis(0);
    l.slot_retained_warn = 1024.0 * 1024 * 1024;
    l.xid_age_warn = 1e9;
    l.xid_age_fail = 2.1e9;
    l.connections_warn = 0.8;
    l.connections_fail = 0.95;
    l.long_query = Millis(30'000);
    l.idle_in_transaction = Millis(30'000);
    l.statement_mean_warn = Millis(1'000);
    l.top = 5;
    return l;
}

PostgresReading healthy() {
    PostgresReading r;
    r.connections_used = 10;
    r.connections_usable = 97;
    r.oldest_database = "shop";
    r.oldest_xid_age = 1e6;
    r.freeze_max_age = 2e8;
    return r;
}

CheckResult judged(const PostgresReading& reading, const PostgresLimits& l = limits(),
                   const ServerRole& role = {}) {
    Findings findings;
    judge_role(role, l, findings);
    judge_reading(reading, l, findings);
    CheckResult r;
    findings.conclude(r, "fine");
    return r;
}

}  // namespace

TEST_CASE("postgres judge: each reading's verdict, as a table", "[postgres]") {
    struct Case {
        const char* what;
        void (*change)(PostgresReading&);
        Status status;
        const char* message_has;
        Cause cause;
    };
    const Case cases[] = {
        {"healthy", [](PostgresReading&) {}, Status::ok, "fine", Cause::here},
        {"80 % of connections", [](PostgresReading& r) { r.connections_used = 78; }, Status::warn,
         "78 of 97 usable connections in use (80%)", Cause::shared},
        {"95 % of connections", [](PostgresReading& r) { r.connections_used = 93; }, Status::fail,
         "93 of 97", Cause::shared},
        {"no usable connection counts as full",
         [](PostgresReading& r) { r.connections_usable = 0; }, Status::fail, "(100%)",
         Cause::shared},
        {"a session idle in a transaction", [](PostgresReading& r) { r.idle_in_transaction = 1; },
         Status::warn, "1 idle-in-transaction sessions", Cause::shared},
        {"lock waits", [](PostgresReading& r) { r.lock_waits = 3; }, Status::warn,
         "3 waiting on locks", Cause::shared},
        {"a slow statement", [](PostgresReading& r) { r.slowest_statement_mean_seconds = 2.5; },
         Status::warn, "a statement averages 2500ms (over 1000ms)", Cause::shared},
        {"a standby 40 s behind",
         [](PostgresReading& r) {
             r.standby = StandbyReading{false, true, false, 40.0};
         },
         Status::warn, "40s behind the primary: its pages are stale", Cause::shared},
        {"a standby whose replay is paused",
         [](PostgresReading& r) {
             r.standby = StandbyReading{true, true, false, 0.0};
         },
         Status::warn, "WAL replay is paused", Cause::shared},
        {"a standby that stopped streaming",
         [](PostgresReading& r) {
             r.standby = StandbyReading{false, false, false, 0.0};
         },
         Status::warn, "no WAL receiver", Cause::shared},
        {"an archive-only standby is not warned about",
         [](PostgresReading& r) {
             r.standby = StandbyReading{false, false, true, std::nullopt};
         },
         Status::ok, "fine", Cause::here},
        {"an inactive slot holding 2 GiB",
         [](PostgresReading& r) {
             r.slots = {{"old", false, 2.0 * 1024 * 1024 * 1024}};
         },
         Status::warn, "replication slot old is inactive and retains 2048 MiB", Cause::shared},
        {"an active slot holding 2 GiB",
         [](PostgresReading& r) {
             r.slots = {{"live", true, 2.0 * 1024 * 1024 * 1024}};
         },
         Status::ok, "fine", Cause::here},
        {"wraparound near", [](PostgresReading& r) { r.oldest_xid_age = 1.2e9; }, Status::warn,
         "database shop is 1200 million transactions", Cause::shared},
        {"wraparound imminent", [](PostgresReading& r) { r.oldest_xid_age = 2.11e9; }, Status::fail,
         "writes stop at 2147 million", Cause::shared},
    };
    for (const Case& c : cases) {
        INFO(c.what);
        PostgresReading reading = healthy();
        c.change(reading);
        const CheckResult r = judged(reading);
        CHECK(r.status == c.status);
        CHECK_THAT(r.message, Catch::Contains(c.message_has));
        // The server's state is the same from every pod: counts for no probe (Cause).
        if (c.status != Status::ok) CHECK(r.cause == c.cause);
    }
}

TEST_CASE("postgres judge: a lagging replica fails only past replay_lag_fail", "[postgres]") {
    PostgresReading reading = healthy();
    reading.standby = StandbyReading{false, true, false, 90.0};
    PostgresLimits l = limits();
    l.role = PostgresRole::replica;
    const ServerRole standby{true, true};
    CHECK(judged(reading, l, standby).status == Status::warn);
    l.replay_lag_fail = Millis(60'000);
    const CheckResult r = judged(reading, l, standby);
    CHECK(r.status == Status::fail);
    CHECK(r.cause == Cause::shared);  // restarting pods does not bring a replica closer
}

TEST_CASE("postgres judge: the server's role against the one expected", "[postgres]") {
    const ServerRole primary{false, false}, standby{true, true}, read_only{false, true};
    PostgresLimits l = limits();
    CHECK(judged(healthy(), l, primary).status == Status::ok);
    const CheckResult moved = judged(healthy(), l, standby);
    CHECK(moved.status == Status::fail);
    CHECK_THAT(moved.message, Catch::Contains("after a failover"));
    CHECK(moved.cause == Cause::shared);
    CHECK_THAT(judged(healthy(), l, read_only).message, Catch::Contains("read-only"));
    l.role = PostgresRole::replica;
    CHECK(judged(healthy(), l, primary).status == Status::warn);
    l.role = PostgresRole::any;
    CHECK(judged(healthy(), l, primary).status == Status::ok);
    CHECK(judged(healthy(), l, standby).status == Status::ok);
}

TEST_CASE("postgres judge: a refused connection names the connection limit", "[postgres]") {
    CHECK(refused_connection_message("FATAL: sorry, too many clients already") ==
          "connection limit reached, new connections are refused: FATAL: sorry, too many "
          "clients already");
    CHECK(refused_connection_message("could not connect: Connection refused") ==
          "new connection refused: could not connect: Connection refused");
}
