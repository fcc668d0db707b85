// The pgbouncer check against a real pgBouncer (Debian's) in transaction pooling with a pool
// of one server connection, in front of a real PostgreSQL.
#include <catch2/catch.hpp>

#include <libpq-fe.h>

#include <thread>

#include "support/make_check.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;

namespace {

// A libpq client of pgBouncer; its statements are sent without waiting for the answer.
class Client {
  public:
    explicit Client(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
        REQUIRE(PQstatus(conn_) == CONNECTION_OK);
    }
    ~Client() { PQfinish(conn_); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    void exec(const char* sql) {
        PGresult* r = PQexec(conn_, sql);
        const auto status = PQresultStatus(r);
        PQclear(r);
        REQUIRE((status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK));
    }
    void send(const char* sql) { REQUIRE(PQsendQuery(conn_, sql) == 1); }
    // True once the statement sent has been answered.
    bool answered() {
        PQconsumeInput(conn_);
        if (PQisBusy(conn_) == 1) return false;
        while (PGresult* r = PQgetResult(conn_))
            PQclear(r);
        return true;
    }

  private:
    PGconn* conn_;
};

// Runs the check until `done` says yes about a result, or `limit` passes; the last result.
CheckResult run_until(Check& check, const std::function<bool(const CheckResult&)>& done,
                      std::chrono::seconds limit = 10s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    CheckResult r = check.run(Deadline::in(2s));
    while (!done(r) && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(100ms);
        r = check.run(Deadline::in(2s));
    }
    return r;
}

}  // namespace

TEST_CASE(
    "pgbouncer: a client queued for the only server connection warns, then fails, "
    "then clears",
    "[pgbouncer]") {
    PostgresServer pg;
    PgBouncerServer bouncer(pg, "transaction", 1);
    // A warn window of three seconds (1 s to 4 s of waiting): a run under ASan on a loaded
    // machine can take a second, and the first non-ok run must still fall inside it.
    auto check = make_check("pgbouncer", {{"url", bouncer.url()}, {"maxwait_fail", "4s"}});

    // Idle: every pool answers, nobody waits.
    Client holder(bouncer.url());
    holder.exec("SELECT 1");  // the pool exists once a client has used it
    const CheckResult idle = check->run(Deadline::in(2s));
    INFO(idle.message);
    REQUIRE(idle.status == Status::ok);
    CHECK(observed(idle, "clients_waiting.shop/app") == 0);
    CHECK(observed(idle, "max_client_conn") == 100);
    CHECK(idle.details["databases"]["shop"]["pool_size"] == 1);

    // The holder keeps the only server connection in an open transaction; a second client's
    // statement queues behind it.
    holder.exec("BEGIN");
    holder.exec("SELECT 1");
    Client queued(bouncer.url());
    queued.send("SELECT 2");
    const CheckResult warned =
        run_until(*check, [](const CheckResult& r) { return r.status != Status::ok; });
    INFO(warned.message);
    CHECK(warned.status == Status::warn);
    CHECK_THAT(warned.message, Catch::StartsWith("1 client has queued up to ") &&
                                   Catch::Contains("in pool shop/app") &&
                                   Catch::Contains("raise default_pool_size"));
    CHECK(observed(warned, "clients_waiting.shop/app") == 1);
    CHECK(observed(warned, "pool_used_ratio.shop/app") == 1);
    CHECK(warned.cause == Cause::elsewhere);

    const CheckResult failed =
        run_until(*check, [](const CheckResult& r) { return r.status == Status::fail; });
    CHECK(failed.status == Status::fail);
    CHECK(observed(failed, "maxwait_seconds.shop/app") >= 4.0);
    CHECK_FALSE(queued.answered());

    // The transaction ends; the queued client gets its connection, and the queue is gone.
    holder.exec("COMMIT");
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (!queued.answered() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(20ms);
    const CheckResult cleared =
        run_until(*check, [](const CheckResult& r) { return r.status == Status::ok; });
    CHECK(cleared.status == Status::ok);
    CHECK(observed(cleared, "transactions_total.shop") >= 2);
}

TEST_CASE("pgbouncer: a console it cannot log into says who may, and never the password",
          "[pgbouncer]") {
    PostgresServer pg;
    PgBouncerServer bouncer(pg, "session", 1);
    auto check = make_check("pgbouncer", {{"url", "postgres://app:not-the-secret@127.0.0.1:" +
                                                      std::to_string(bouncer.port()) + "/shop"}});
    const CheckResult r = check->run(Deadline::in(2s));
    CHECK(r.status == Status::fail);
    CHECK_THAT(r.message, Catch::Contains("admin_users or stats_users"));
    CHECK(r.message.find("not-the-secret") == std::string::npos);
    // Nothing listening: a clear failure by the deadline.
    auto nowhere = make_check("pgbouncer", {{"url", "postgres://app:x@127.0.0.1:1/"}});
    CHECK(nowhere->run(Deadline::in(1s)).status == Status::fail);
}
