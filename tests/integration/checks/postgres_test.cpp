// The postgres check against a real PostgreSQL 15 started by the test.
#include <catch2/catch.hpp>

#include <pqxx/pqxx>

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

json details_of(const CheckResult& r) {
    return r.details.is_null() ? json::object() : r.details;
}

bool mentions(const json& list, const std::string& text) {
    for (const auto& item : list) {
        if (item.value("query", "").find(text) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("postgres: DATABASE_URL alone gives a working check with saturation and statements",
          "[postgres]") {
    PostgresServer pg;
    RunningSidecar sidecar(R"({"checks": {}})", builtin_registry(),
                           {{"VITALS_LISTEN", "127.0.0.1:0"}, {"DATABASE_URL", pg.url()}});
    REQUIRE(sidecar.wait_for_status("postgres", Status::ok));
    const json health = json::parse(get(sidecar.port(), "/health").body);
    const json& check = health["checks"]["postgres"];
    CHECK(check["kind"] == "postgres");
    CHECK(check["groups"] == json::array({"ready"}));
    const json& obs = check["observations"];
    CHECK(obs["connections_usable"] == 17);  // 20 - 3 reserved for superusers
    CHECK(obs["connections_used"].get<double>() >= 1);
    CHECK(obs["connections_used_ratio"].get<double>() < 0.8);
    CHECK(obs["pg_stat_statements_available"] == 1);
    CHECK(obs.contains("cache_hit_ratio"));
    CHECK(obs["database_size_bytes"].get<double>() > 0);
    CHECK(check["details"]["connections_by_application"].contains("vitals"));
    CHECK(get(sidecar.port(), "/readyz").status == 200);
    const std::string metrics = get(sidecar.port(), "/metrics").body;
    CHECK(metrics.find("vitals_postgres_connections_used_ratio{check=\"postgres\"}") !=
          std::string::npos);
    CHECK(metrics.find("vitals_postgres_deadlocks_total{check=\"postgres\"}") != std::string::npos);
    CHECK(metrics.find("app-secret") == std::string::npos);
}

TEST_CASE("postgres: stopped server fails within one interval + timeout, recovers after restart",
          "[postgres]") {
    PostgresServer pg;
    RunningSidecar sidecar(R"({"checks": {"db": {"kind": "postgres", "url": ")" + pg.url() +
                           R"(", "interval": "1s", "timeout": "1s"}}})");
    REQUIRE(sidecar.wait_for_status("db", Status::ok));
    pg.stop();
    const auto stopped = std::chrono::steady_clock::now();
    REQUIRE(sidecar.wait_for_status("db", Status::fail, 5s));
    CHECK(std::chrono::steady_clock::now() - stopped < 2200ms);  // interval (+10% jitter) + timeout
    const json detail = json::parse(get(sidecar.port(), "/health/db").body);
    CHECK(detail["message"].get<std::string>().find("new connection refused") == 0);
    CHECK(get(sidecar.port(), "/readyz").status == 503);
    pg.start();
    REQUIRE(sidecar.wait_for_status("db", Status::ok, 5s));
    CHECK(get(sidecar.port(), "/readyz").status == 200);
}

TEST_CASE("postgres: exhausted connections fail with that reason", "[postgres]") {
    PostgresServer pg;
    auto check = make_check("postgres", {{"url", pg.url()}, {"connections_fail_ratio", 0.9}});
    REQUIRE(check->run(Deadline::in(3s)).status == Status::ok);
    std::vector<std::unique_ptr<pqxx::connection>> hogs;
    while (hogs.size() < 30) {
        try {
            hogs.push_back(std::make_unique<pqxx::connection>(pg.url()));
        } catch (const pqxx::broken_connection&) {
            break;
        }
    }
    INFO("the test holds " << hogs.size() << " connections; vitals holds one for statistics");
    CHECK(hogs.size() == 16);  // 20 - 3 reserved - vitals' own
    const CheckResult r = check->run(Deadline::in(3s));
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("connection limit reached") == 0);

    // A closed connection's backend exits a moment after the client lets go, so each count
    // is read again until it settles (at most 5 s).
    const auto run_until = [&](const auto& settled) {
        CheckResult latest;
        const auto until = std::chrono::steady_clock::now() + 5s;
        do {
            latest = check->run(Deadline::in(3s));
            if (settled(latest)) break;
            std::this_thread::sleep_for(50ms);
        } while (std::chrono::steady_clock::now() < until);
        return latest;
    };
    hogs.pop_back();  // room for the probe again, but 16 of 17 usable slots are taken
    const CheckResult saturated = run_until([](const CheckResult& c) {
        return c.message == "16 of 17 usable connections in use (94%)";
    });
    CHECK(saturated.status == Status::fail);
    CHECK(saturated.message == "16 of 17 usable connections in use (94%)");
    // The server's headroom, the same from every pod: it pages, and takes no pod out.
    CHECK(saturated.cause == Cause::shared);
    CHECK(observed(saturated, "connections_used_ratio") == Approx(16.0 / 17));

    hogs.resize(13);  // 14 of 17
    const CheckResult busy = run_until([](const CheckResult& c) {
        return c.message == "14 of 17 usable connections in use (82%)";
    });
    CHECK(busy.status == Status::warn);
    CHECK(busy.message == "14 of 17 usable connections in use (82%)");

    hogs.resize(8);
    CHECK(run_until([](const CheckResult& c) { return c.status == Status::ok; }).status ==
          Status::ok);
}

TEST_CASE("postgres: long-running queries and idle-in-transaction sessions show up in details",
          "[postgres]") {
    PostgresServer pg;
    auto check = make_check(
        "postgres", {{"url", pg.url()}, {"long_query", "500ms"}, {"idle_in_transaction", "500ms"}});
    std::thread sleeper([&] {
        try {
            pqxx::connection c(pg.url());
            pqxx::nontransaction tx(c);
            tx.exec("SELECT pg_sleep(4) /* report_export */");
        } catch (const std::exception&) {
        }
    });
    pqxx::connection idle(pg.url());
    pqxx::work open_tx(idle);
    open_tx.exec("SELECT count(*) FROM pg_class /* forgotten_tx */");
    // Both sessions pass their 500 ms once the sleeper's query is under way: waited for,
    // while the 4 s query still runs.
    CheckResult r;
    const auto until = std::chrono::steady_clock::now() + 3500ms;
    do {
        r = check->run(Deadline::in(3s));
        if (observed(r, "long_running_queries") == 1 &&
            observed(r, "idle_in_transaction_sessions") == 1)
            break;
        std::this_thread::sleep_for(100ms);
    } while (std::chrono::steady_clock::now() < until);
    sleeper.join();
    CHECK(r.status == Status::warn);
    CHECK(observed(r, "long_running_queries") == 1);
    CHECK(observed(r, "idle_in_transaction_sessions") == 1);
    const json d = details_of(r);
    CHECK(mentions(d["long_running_queries"], "report_export"));
    CHECK(mentions(d["idle_in_transaction_sessions"], "forgotten_tx"));
    CHECK(d["long_running_queries"][0]["duration_seconds"].get<double>() >= 0.5);
    CHECK(d["idle_in_transaction_sessions"][0]["state"] == "idle in transaction");
}

TEST_CASE("postgres: a statement the app ran appears in the top lists, a slow mean warns",
          "[postgres]") {
    PostgresServer pg;
    {
        pqxx::connection c(pg.url());
        pqxx::nontransaction tx(c);
        for (int i = 0; i < 3; ++i)
            tx.exec("SELECT pg_sleep(0.3) AS checkout_report");
    }
    const CheckResult r =
        make_check("postgres", {{"url", pg.url()}, {"statement_mean_warn", "200ms"}})
            ->run(Deadline::in(3s));
    const json d = details_of(r);
    CHECK(mentions(d["top_statements_by_mean"], "checkout_report"));
    CHECK(mentions(d["top_statements_by_total"], "checkout_report"));
    CHECK(d["top_statements_by_mean"][0]["calls"] == 3);
    CHECK(r.status == Status::warn);
    CHECK(r.message.find("a statement averages") == 0);
    CHECK(observed(r, "slowest_statement_mean_seconds") >= 0.3);
}

TEST_CASE("postgres: missing pg_stat_statements is noted, not a failure", "[postgres]") {
    PostgresServer pg;
    REQUIRE(pg.sql("DROP EXTENSION pg_stat_statements") == 0);
    const CheckResult r = make_check("postgres", {{"url", pg.url()}})->run(Deadline::in(3s));
    CHECK(r.status == Status::ok);
    CHECK(observed(r, "pg_stat_statements_available") == 0);
    CHECK(details_of(r)["pg_stat_statements"].get<std::string>().find("not installed") == 0);
}

TEST_CASE("postgres: wrong password and unknown database fail with a reason and no password",
          "[postgres]") {
    PostgresServer pg;
    RunningSidecar sidecar(R"({"checks": {
        "badpw": {"kind": "postgres", "url": ")" +
                           pg.url("app", "hunter2-wrong") + R"(", "interval": "500ms"},
        "nodb":  {"kind": "postgres", "url": ")" +
                           pg.url("app", "app-secret", "nosuchdb") +
                           R"(", "interval": "500ms"}}})");
    REQUIRE(sidecar.wait_for_status("badpw", Status::fail));
    REQUIRE(sidecar.wait_for_status("nodb", Status::fail));
    const std::string health = get(sidecar.port(), "/health").body;
    const json h = json::parse(health);
    CHECK(h["checks"]["badpw"]["message"].get<std::string>().find(
              "password authentication failed") != std::string::npos);
    CHECK(h["checks"]["nodb"]["message"].get<std::string>().find("does not exist") !=
          std::string::npos);
    for (const char* path : {"/health", "/health/badpw", "/metrics", "/"}) {
        CHECK(get(sidecar.port(), path).body.find("hunter2") == std::string::npos);
    }
}

TEST_CASE("postgres: a port that never answers fails at the deadline, probes stay fast",
          "[postgres]") {
    Blackhole hole;
    RunningSidecar sidecar(
        R"({"checks": {"db": {"kind": "postgres", "url": "postgres://app:pw@127.0.0.1:)" +
        std::to_string(hole.port()) + R"(/shop", "interval": "5s", "timeout": "2s"}}})");
    double worst = 0;
    const auto until = std::chrono::steady_clock::now() + 1500ms;
    while (std::chrono::steady_clock::now() < until) {
        const RawReply r = get(sidecar.port(), "/readyz");
        REQUIRE(r.ok);
        worst = std::max(worst, r.total_seconds);
    }
    INFO("slowest /readyz " << worst * 1000 << " ms");
    CHECK(worst < 0.050);
    REQUIRE(sidecar.wait_for_status("db", Status::fail, 4s));
    const json d = json::parse(get(sidecar.port(), "/health/db").body);
    CHECK(d["duration_seconds"].get<double>() < 3.0);
}

TEST_CASE(
    "postgres: works unchanged through pgBouncer in session, transaction and statement "
    "pooling",
    "[postgres][pgbouncer]") {
    // The article's own fix for connection exhaustion. pgBouncer refuses startup `options`
    // (the check once sent -c statement_timeout there and failed every run), and a session
    // SET would leak into whichever client the server connection serves next.
    PostgresServer pg;
    for (const char* mode : {"session", "transaction", "statement"}) {
        INFO("pool_mode = " << mode);
        PgBouncerServer bouncer(pg, mode, 1);
        auto check = make_check("postgres", {{"url", bouncer.url()}});
        for (int run = 0; run < 3; ++run) {  // the long-lived stats connection is reused
            const CheckResult r = check->run(Deadline::in(5s));
            INFO(r.message << " " << r.details.dump() << "\npgbouncer log:\n" << bouncer.log());
            CHECK(r.status == Status::ok);
            CHECK(r.details.contains("pooler"));
            CHECK_FALSE(r.details.contains("stats_error"));
            CHECK(has_observation(r, "connections_used_ratio"));
        }
    }
    // Straight to PostgreSQL: no pooler said.
    auto direct = make_check("postgres", {{"url", pg.url()}});
    const CheckResult r = direct->run(Deadline::in(5s));
    CHECK(r.status == Status::ok);
    CHECK_FALSE(r.details.contains("pooler"));
}

TEST_CASE("postgres: a multi-host URL is tried in order, as libpq does", "[postgres]") {
    PostgresServer pg;
    // The first host is down (a closed port), the second is the server: libpq moves on.
    const std::string url = "postgres://app:app-secret@127.0.0.1:" + std::to_string(closed_port()) +
                            ",127.0.0.1:" + std::to_string(pg.port()) + "/shop";
    auto check = make_check("postgres", {{"url", url}});
    for (int run = 0; run < 2; ++run) {
        const CheckResult r = check->run(Deadline::in(5s));
        INFO(r.message << " " << r.details.dump());
        CHECK(r.status == Status::ok);
        CHECK_FALSE(r.details.contains("pooler"));  // the port connected to is the server's
        CHECK_FALSE(r.details.contains("stats_error"));
    }
    // Both down: a failure naming neither password nor anything but the hosts.
    auto none =
        make_check("postgres",
                   {{"url", "postgres://app:app-secret@127.0.0.1:" + std::to_string(closed_port()) +
                                ",127.0.0.1:" + std::to_string(closed_port()) + "/shop"}});
    const CheckResult down = none->run(Deadline::in(3s));
    CHECK(down.status == Status::fail);
    CHECK(down.message.find("app-secret") == std::string::npos);
}

TEST_CASE("postgres: Django's URL options are dropped, libpq's are kept, a socket path works",
          "[postgres]") {
    PostgresServer pg;
    // dj-database-url / django-environ options libpq would refuse the whole string for.
    auto check = make_check(
        "postgres",
        {{"url", pg.url() + "?conn_max_age=600&conn_health_checks=true&sslmode=disable"}});
    const CheckResult r = check->run(Deadline::in(5s));
    INFO(r.message);
    CHECK(r.status == Status::ok);
    REQUIRE(r.details.contains("url_options_ignored"));
    CHECK(r.details["url_options_ignored"] ==
          nlohmann::json::array({"conn_max_age", "conn_health_checks"}));
    // libpq's own option still takes effect: sslmode=require fails against a server without TLS.
    auto strict = make_check("postgres", {{"url", pg.url() + "?sslmode=require"}});
    CHECK(strict->run(Deadline::in(5s)).status == Status::fail);

    // The Unix socket, written as Django projects do: the directory percent-encoded as host.
    std::string encoded;
    for (const char c : pg.socket_dir())
        encoded += c == '/' ? std::string("%2F") : std::string(1, c);
    auto socket = make_check("postgres", {{"url", "postgres://app:app-secret@" + encoded + ":" +
                                                      std::to_string(pg.port()) + "/shop"}});
    const CheckResult via_socket = socket->run(Deadline::in(5s));
    INFO(via_socket.message);
    CHECK(via_socket.status == Status::ok);
}
