// postgres: a NEW connection is accepted and answers SELECT 1 (connection exhaustion shows
// exactly there) from a server in the expected role (a primary that takes writes, or a
// replica), plus saturation, problem sessions, replication, transaction-ID wraparound and
// statement statistics read over one long-lived connection.
#include "checks/postgres/check.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <cmath>
#include <optional>

#include "checks/postgres/reading.hpp"
#include "checks/postgres/stats.hpp"
#include "sidecar/clients/postgres.hpp"
#include "sidecar/core/policy.hpp"

namespace vitals::checks {

namespace {

using SteadyClock = std::chrono::steady_clock;

double seconds_since(SteadyClock::time_point t) {
    return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

class PostgresCheck final : public Check {
  public:
    PostgresCheck(Url url, PostgresLimits limits) : url_(std::move(url)), limits_(limits) {}

    // Its statistics read once per fleet (`fleet`'s FleetParts): by the pod holding the
    // part's token, the others judge from its reading. The new connection stays every pod's.
    void share_statistics(const FleetParts& fleet, const std::string& name,
                          const CheckPolicy& policy);

    CheckResult run(const Deadline& deadline) override {
        const PostgresConninfo conninfo = postgres_conninfo(url_, deadline);
        std::optional<ServerRole> server;
        CheckResult result = probe_new_connection(conninfo.text, server);
        if (!conninfo.dropped.empty())
            result.details["url_options_ignored"] = conninfo.dropped;  // Django's, not libpq's
        if (result.status == Status::fail) {
            stats_.reset();  // whatever it was, the server is not taking connections now
            return result;
        }
        Findings findings;
        if (server) {
            result.details["server_role"] = server->in_recovery ? "standby" : "primary";
            judge_role(*server, limits_, findings);
        }
        current_ = {conninfo.text, server};
        read_here_ = false;
        CheckResult statistics =
            statistics_ ? statistics_->run(deadline) : read_statistics(deadline);
        // Another pod reads the statistics for the fleet now: this one holds no connection
        // for them (it opened one when it had to read them itself).
        if (!read_here_) stats_.reset();
        if (const auto reading = take_statistics(std::move(statistics), result))
            judge_reading(*reading, limits_, findings);
        findings.conclude(result, result.message);
        return result;
    }

    // The statistics part of a run: its numbers and details, and what the judge needs as
    // details["reading"] (plain data, so that another pod can judge from it).
    CheckResult read_statistics(const Deadline& deadline) {
        read_here_ = true;
        CheckResult part = verdict(Status::ok, "statistics read");
        try {
            const PostgresReading reading =
                read_stats(current_.conninfo, deadline, current_.server, part);
            part.details["reading"] = reading_to_json(reading);
        } catch (const std::exception& e) {
            stats_.reset();
            part.details["stats_error"] = redact_secrets(first_line(e.what()));
        }
        return part;
    }

  private:
    // Moves the statistics part's numbers and details into `result` (which pod read them and
    // when, as stats_checked_by and stats_age_seconds); the reading, when there is one.
    static std::optional<PostgresReading> take_statistics(CheckResult part, CheckResult& result) {
        for (Observation& o : part.observations)
            result.observations.push_back(std::move(o));
        if (!part.details.is_object()) return std::nullopt;
        if (!result.details.is_object()) result.details = nlohmann::json::object();
        std::optional<PostgresReading> reading;
        for (auto& [key, value] : part.details.items()) {
            if (key == "reading") {
                reading = reading_from_json(value);
            } else if (key == "checked_by" || key == "fleet") {
                result.details["stats_" + key] = value;
            } else if (key == "checked_age_seconds") {
                result.details["stats_age_seconds"] = value;
            } else {
                result.details[key] = value;
            }
        }
        return reading;
    }

    // The deadline is inside the connection string (connect_timeout, tcp_user_timeout).
    static CheckResult probe_new_connection(const std::string& conninfo,
                                            std::optional<ServerRole>& server) {
        const auto started = SteadyClock::now();
        CheckResult r;
        try {
            pqxx::connection conn(conninfo);
            const double connect_seconds = seconds_since(started);
            const auto query_started = SteadyClock::now();
            pqxx::nontransaction tx(conn);
            tx.exec("SELECT 1");
            const double query_seconds = seconds_since(query_started);
            r = verdict(Status::ok, "new connection and SELECT 1 in " +
                                        format_millis(connect_seconds + query_seconds));
            r.observe("connect_seconds", connect_seconds).observe("query_seconds", query_seconds);
            // On the same new connection: what a new connection of the app gets.
            try {
                const pqxx::row role = tx.exec1(
                    "SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on'");
                server = ServerRole{role[0].as<bool>(), role[1].as<bool>()};
                r.observe("in_recovery", server->in_recovery ? 1 : 0);
            } catch (const std::exception& e) {
                r.details["role_error"] = redact_secrets(first_line(e.what()));
            }
            return r;
        } catch (const pqxx::sql_error& e) {
            r = verdict(Status::fail, e.sqlstate() == "57014"
                                          ? "SELECT 1 exceeded the deadline"
                                          : "SELECT 1 failed: " + first_line(e.what()));
        } catch (const std::exception& e) {
            r = verdict(Status::fail, refused_connection_message(first_line(e.what())));
        }
        return r.observe("connect_seconds", seconds_since(started));
    }

    // Opens (or reuses) the statistics connection and reads every section through it.
    PostgresReading read_stats(const std::string& conninfo, const Deadline& deadline,
                               const std::optional<ServerRole>& server, CheckResult& result) {
        if (!stats_ || !stats_->is_open()) {
            stats_ = std::make_unique<pqxx::connection>(conninfo);
            // A pooler (pgBouncer) answers on its own port and hands statements to a server
            // listening on another: the server's port differs from the one connected to.
            pqxx::nontransaction probe(*stats_);
            const int server_port = probe.exec1("SELECT current_setting('port')::int")[0].as<int>();
            // The port of the host libpq did connect to (of several, in a multi-host URL).
            const char* connected = stats_->port();
            pooled_ = connected != nullptr && server_port != std::atoi(connected);
        }
        // Through a pooler the statistics connection is closed after each run: in session
        // pooling a long-lived one would hold a server connection of the pool for good.
        struct CloseIfPooled {
            PostgresCheck& check;
            ~CloseIfPooled() {
                if (check.pooled_) check.stats_.reset();
            }
        } close_if_pooled{*this};
        if (pooled_) {
            result.details["pooler"] =
                "connected through a pooler (pgBouncer or a port mapping): the server listens "
                "on another port";
        }
        // The statement deadline holds for this transaction only (SET LOCAL), so nothing
        // leaks into a pooled server connection. Statement pooling refuses transactions of
        // several statements: through a pooler the statistics run without one, guarded by
        // the socket timeouts and the scheduler.
        std::unique_ptr<pqxx::transaction_base> holder;
        if (pooled_) {
            holder = std::make_unique<pqxx::nontransaction>(*stats_);
        } else {
            holder = std::make_unique<pqxx::read_transaction>(*stats_);
            holder->exec("SET LOCAL statement_timeout = " +
                         std::to_string(std::max<long long>(deadline.remaining().count(), 1)));
        }
        pqxx::transaction_base& tx = *holder;

        PostgresReading reading;
        const int version = read_saturation(tx, result, reading);
        read_sessions(tx, limits_, result, reading);
        read_database(tx, result);
        if (server && version >= 100000) {
            optional_section(tx, "replication", result, [&](pqxx::transaction_base& t) {
                if (server->in_recovery) {
                    reading.standby = read_standby(t, result);
                } else {
                    reading.slots = read_primary(t, result);
                }
            });
        }
        optional_section(tx, "wraparound", result,
                         [&](pqxx::transaction_base& t) { read_wraparound(t, result, reading); });
        reading.slowest_statement_mean_seconds = read_statements(tx, version, limits_.top, result);
        tx.commit();  // read only; ends the transaction before the connection is reused
        return reading;
    }

    Url url_;
    PostgresLimits limits_;
    std::unique_ptr<pqxx::connection> stats_;  // the one long-lived connection
    bool pooled_ = false;                      // stats_ goes through a pooler
    std::unique_ptr<Check> statistics_;        // read_statistics, once per fleet; none: here
    bool read_here_ = false;                   // this run read the statistics itself
    struct {
        std::string conninfo;
        std::optional<ServerRole> server;
    } current_;  // this run's, for read_statistics
};

// The statistics part as a check of its own, for FleetParts to share.
class StatisticsPart final : public Check {
  public:
    explicit StatisticsPart(PostgresCheck& check) : check_(check) {}
    CheckResult run(const Deadline& deadline) override { return check_.read_statistics(deadline); }

  private:
    PostgresCheck& check_;
};

void PostgresCheck::share_statistics(const FleetParts& fleet, const std::string& name,
                                     const CheckPolicy& policy) {
    statistics_ =
        fleet.share(name + ":statistics", std::make_unique<StatisticsPart>(*this), policy);
}

}  // namespace

std::unique_ptr<Check> make_postgres_check(Url url, PostgresLimits limits,
                                           const CheckContext& ctx) {
    auto check = std::make_unique<PostgresCheck>(std::move(url), limits);
    if (ctx.services.fleet != nullptr && ctx.policy != nullptr && ctx.policy->share_parts &&
        !ctx.policy->shared)
        check->share_statistics(*ctx.services.fleet, ctx.name, *ctx.policy);
    return check;
}

}  // namespace vitals::checks
