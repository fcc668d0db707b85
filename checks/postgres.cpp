// postgres: a NEW connection is accepted and answers SELECT 1 (connection exhaustion shows
// exactly there), plus saturation, problem sessions and statement statistics read over one
// long-lived connection.
#include <pqxx/pqxx>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "checks/builtin.hpp"
#include "sidecar/clients/postgres.hpp"

namespace vitals::checks {

namespace {

using SteadyClock = std::chrono::steady_clock;

double seconds_since(SteadyClock::time_point t) {
    return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

struct Thresholds {
    double connections_warn = 0.8;
    double connections_fail = 0.95;
    Millis long_query{30'000};
    Millis idle_in_transaction{30'000};
    Millis statement_mean_warn{1'000};
    int top = 5;
};

class PostgresCheck final : public Check {
  public:
    PostgresCheck(Url url, Thresholds limits) : url_(std::move(url)), limits_(limits) {}

    CheckResult run(const Deadline& deadline) override {
        const PostgresConninfo conninfo = postgres_conninfo(url_, deadline);
        CheckResult result = probe_new_connection(conninfo.text);
        if (!conninfo.dropped.empty())
            result.details["url_options_ignored"] = conninfo.dropped;  // Django's, not libpq's
        if (result.status == Status::fail) {
            stats_.reset();  // whatever it was, the server is not taking connections now
            return result;
        }
        try {
            collect_stats(conninfo.text, deadline, result);
        } catch (const std::exception& e) {
            stats_.reset();
            result.details["stats_error"] = redact_secrets(first_line(e.what()));
        }
        return result;
    }

  private:
    // The deadline is inside the connection string (connect_timeout, tcp_user_timeout).
    static CheckResult probe_new_connection(const std::string& conninfo) {
        const auto started = SteadyClock::now();
        try {
            pqxx::connection conn(conninfo);
            const double connect_seconds = seconds_since(started);
            const auto query_started = SteadyClock::now();
            pqxx::nontransaction tx(conn);
            tx.exec("SELECT 1");
            const double query_seconds = seconds_since(query_started);
            CheckResult r = CheckResult::ok("new connection and SELECT 1 in " +
                                            format_millis(connect_seconds + query_seconds));
            r.observe("connect_seconds", connect_seconds).observe("query_seconds", query_seconds);
            return r;
        } catch (const pqxx::sql_error& e) {
            CheckResult r = CheckResult::fail(e.sqlstate() == "57014"
                                                  ? "SELECT 1 exceeded the deadline"
                                                  : "SELECT 1 failed: " + first_line(e.what()));
            return r.observe("connect_seconds", seconds_since(started));
        } catch (const std::exception& e) {
            const std::string why = first_line(e.what());
            std::string message = "new connection refused: " + why;
            if (why.find("too many clients") != std::string::npos ||
                why.find("remaining connection slots are reserved") != std::string::npos) {
                message = "connection limit reached, new connections are refused: " + why;
            }
            return CheckResult::fail(message).observe("connect_seconds", seconds_since(started));
        }
    }

    void collect_stats(const std::string& conninfo, const Deadline& deadline, CheckResult& result) {
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

        // Saturation: connections in use vs what ordinary roles may open.
        const pqxx::row settings = tx.exec1(
            "SELECT current_setting('max_connections')::int, "
            "current_setting('superuser_reserved_connections')::int,"
            " current_setting('server_version_num')::int");
        const int usable = settings[0].as<int>() - settings[1].as<int>();
        const int version = settings[2].as<int>();
        int used = 0;
        double active = 0, idle = 0, idle_in_tx = 0;
        for (const auto& row : tx.exec("SELECT coalesce(state, ''), count(*) FROM pg_stat_activity"
                                       " WHERE backend_type = 'client backend' GROUP BY 1")) {
            const std::string state = row[0].as<std::string>();
            const int n = row[1].as<int>();
            used += n;
            if (state == "active") active += n;
            if (state == "idle") idle += n;
            if (state.rfind("idle in transaction", 0) == 0) idle_in_tx += n;
        }
        const double ratio = usable > 0 ? static_cast<double>(used) / usable : 1.0;
        result.observe("connections_used", used)
            .observe("connections_usable", usable)
            .observe("connections_used_ratio", ratio)
            .observe("connections_active", active)
            .observe("connections_idle", idle)
            .observe("connections_idle_in_transaction", idle_in_tx);
        nlohmann::json by_app = nlohmann::json::object();
        for (const auto& row :
             tx.exec("SELECT coalesce(nullif(application_name, ''), '(none)'), count(*)"
                     " FROM pg_stat_activity WHERE backend_type = 'client backend'"
                     " GROUP BY 1 ORDER BY 2 DESC LIMIT 10")) {
            by_app[row[0].as<std::string>()] = row[1].as<int>();
        }
        result.details["connections_by_application"] = by_app;

        // Problem sessions: the worst few of each kind, and how many there are.
        const std::string session_columns =
            "pid, extract(epoch FROM now() - {since})::float8, coalesce(state, ''), "
            "coalesce(wait_event_type, ''),"
            " coalesce(wait_event, ''), left(query, 200)";
        const auto sessions = [&](const std::string& name, const std::string& since,
                                  const std::string& where, const std::string& observation) {
            std::string columns = session_columns;
            columns.replace(columns.find("{since}"), 7, since);
            const pqxx::result rows =
                tx.exec("SELECT " + columns + ", count(*) OVER () FROM pg_stat_activity WHERE " +
                        where + " AND pid <> pg_backend_pid() ORDER BY 2 DESC LIMIT " +
                        std::to_string(limits_.top));
            nlohmann::json list = nlohmann::json::array();
            for (const auto& row : rows) {
                list.push_back({{"pid", row[0].as<int>()},
                                {"duration_seconds", std::round(row[1].as<double>() * 1000) / 1000},
                                {"state", row[2].as<std::string>()},
                                {"wait_event_type", row[3].as<std::string>()},
                                {"wait_event", row[4].as<std::string>()},
                                {"query", row[5].as<std::string>()}});
            }
            const double count = rows.empty() ? 0 : rows[0][6].as<double>();
            result.details[name] = list;
            result.observe(observation, count);
            return count;
        };
        const auto ms = [](Millis d) { return std::to_string(d.count()); };
        const double long_running =
            sessions("long_running_queries", "query_start",
                     "state = 'active' AND now() - query_start > interval '" +
                         ms(limits_.long_query) + " milliseconds'",
                     "long_running_queries");
        const double stuck_tx =
            sessions("idle_in_transaction_sessions", "state_change",
                     "state LIKE 'idle in transaction%' AND now() - state_change > interval '" +
                         ms(limits_.idle_in_transaction) + " milliseconds'",
                     "idle_in_transaction_sessions");
        const double lock_waits = sessions("lock_waits", "query_start", "wait_event_type = 'Lock'",
                                           "lock_waiting_sessions");

        // The database: throughput, cache hit ratio, deadlocks, size.
        const pqxx::row db = tx.exec1(
            "SELECT xact_commit + xact_rollback, blks_hit, blks_read, deadlocks, "
            "pg_database_size(datname)"
            " FROM pg_stat_database WHERE datname = current_database()");
        result.observe("transactions_total", db[0].as<double>());
        const double hit = db[1].as<double>(), read = db[2].as<double>();
        if (hit + read > 0) result.observe("cache_hit_ratio", hit / (hit + read));
        result.observe("deadlocks_total", db[3].as<double>())
            .observe("database_size_bytes", db[4].as<double>());

        const double slowest_mean = statements(tx, version, result);
        tx.commit();  // read only; ends the transaction before the connection is reused

        // Judgement: every finding, the worst one as the message.
        Findings findings;
        const std::string in_use = std::to_string(used) + " of " + std::to_string(usable) +
                                   " usable connections in use (" + percent(ratio) + ")";
        if (ratio >= limits_.connections_fail) {
            findings.add(Status::fail, in_use);
        } else if (ratio >= limits_.connections_warn) {
            findings.add(Status::warn, in_use);
        }
        if (stuck_tx > 0 || long_running > 0 || lock_waits > 0) {
            findings.add(Status::warn, count(long_running) + " long-running queries, " +
                                           count(stuck_tx) + " idle-in-transaction sessions, " +
                                           count(lock_waits) + " waiting on locks");
        }
        if (slowest_mean > std::chrono::duration<double>(limits_.statement_mean_warn).count()) {
            findings.add(Status::warn, "a statement averages " + count(slowest_mean * 1000) +
                                           "ms (over " +
                                           std::to_string(limits_.statement_mean_warn.count()) +
                                           "ms); see details");
        }
        findings.conclude(result, result.message);
    }

    static std::string count(double n) { return std::to_string(std::llround(n)); }
    static std::string percent(double ratio) { return count(ratio * 100) + "%"; }

    // Top statements from pg_stat_statements; returns the slowest mean in seconds (0 if none).
    double statements(pqxx::transaction_base& tx, int version, CheckResult& result) {
        const pqxx::result ext =
            tx.exec("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'");
        if (ext.empty()) {
            result.observe("pg_stat_statements_available", 0);
            result.details["pg_stat_statements"] =
                "not installed (CREATE EXTENSION pg_stat_statements, with it in "
                "shared_preload_libraries)";
            return 0;
        }
        const std::string mean = version >= 130000 ? "mean_exec_time" : "mean_time";
        const std::string total = version >= 130000 ? "total_exec_time" : "total_time";
        const auto top = [&](const std::string& order) {
            nlohmann::json list = nlohmann::json::array();
            for (const auto& row :
                 tx.exec("SELECT calls, " + mean + ", " + total +
                         ", rows, left(query, 200)"
                         " FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database"
                         " WHERE datname = current_database()) ORDER BY " +
                         order + " DESC LIMIT " + std::to_string(limits_.top))) {
                list.push_back({{"calls", row[0].as<double>()},
                                {"mean_ms", std::round(row[1].as<double>() * 1000) / 1000},
                                {"total_ms", std::round(row[2].as<double>() * 1000) / 1000},
                                {"rows", row[3].as<double>()},
                                {"query", row[4].as<std::string>()}});
            }
            return list;
        };
        nlohmann::json by_mean;
        try {
            by_mean = top(mean);
            result.details["top_statements_by_mean"] = by_mean;
            result.details["top_statements_by_total"] = top(total);
        } catch (const pqxx::sql_error& e) {
            result.observe("pg_stat_statements_available", 0);
            result.details["pg_stat_statements"] = "unreadable: " + first_line(e.what());
            return 0;
        }
        bool visible = true;
        for (const auto& s : by_mean)
            visible = visible && s["query"] != "<insufficient privilege>";
        if (!visible)
            result.details["pg_stat_statements"] =
                "query texts hidden: grant pg_read_all_stats to the vitals role";
        result.observe("pg_stat_statements_available", 1);
        const double slowest = by_mean.empty() ? 0 : by_mean[0]["mean_ms"].get<double>() / 1000;
        result.observe("slowest_statement_mean_seconds", slowest);
        return slowest;
    }

    Url url_;
    Thresholds limits_;
    std::unique_ptr<pqxx::connection> stats_;  // the one long-lived connection
    bool pooled_ = false;                      // stats_ goes through a pooler
};

}  // namespace

// The postgres kind's settings, each declared once: the table lists these members and the
// factory reads its values through them.
struct PostgresSettings {
    Setting url =
        Setting::of("url", SettingType::url, "postgres:// or postgresql:// URL, as in DATABASE_URL")
            .required();
    Setting connections_warn_ratio = Setting::of("connections_warn_ratio", SettingType::number,
                                                 "connections in use / usable: warn at")
                                         .defaults(0.8)
                                         .range(0, 1);
    Setting connections_fail_ratio = Setting::of("connections_fail_ratio", SettingType::number,
                                                 "connections in use / usable: fail at")
                                         .defaults(0.95)
                                         .range(0, 1);
    Setting long_query = Setting::of("long_query", SettingType::duration,
                                     "an active query older than this is long-running")
                             .defaults("30s")
                             .range(1, 86'400'000);
    Setting idle_in_transaction =
        Setting::of("idle_in_transaction", SettingType::duration,
                    "an idle-in-transaction session older than this is a problem")
            .defaults("30s")
            .range(1, 86'400'000);
    Setting statement_mean_warn = Setting::of("statement_mean_warn", SettingType::duration,
                                              "a pg_stat_statements mean above this warns")
                                      .defaults("1s")
                                      .range(1, 86'400'000);
    Setting top = Setting::of("top", SettingType::integer,
                              "how many sessions and statements to list in details")
                      .defaults(5)
                      .range(1, 50);
    SettingsTable table() const {
        return {url,        connections_warn_ratio, connections_fail_ratio,
                long_query, idle_in_transaction,    statement_mean_warn,
                top};
    }
};

CheckKind postgres_kind() {
    static const PostgresSettings s;
    CheckKind kind;
    kind.name = "postgres";
    kind.summary =
        "PostgreSQL: new connection + SELECT 1, connection saturation, problem sessions, statement "
        "statistics";
    kind.default_groups = {"ready"};
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::gauge("connect_seconds", U::seconds, "Time to connect and authenticate."),
        O::gauge("query_seconds", U::seconds, "Time of the check's SELECT 1.").headline(),
        O::gauge("connections_used", U::none, "Connections open to the server (pg_stat_activity)."),
        O::gauge("connections_usable", U::none,
                 "Connections ordinary users may open: max_connections minus the reserved ones."),
        O::gauge("connections_used_ratio", U::ratio, "connections_used / connections_usable.")
            .headline(),
        O::gauge("connections_active", U::none, "Connections running a statement."),
        O::gauge("connections_idle", U::none, "Connections waiting for a statement."),
        O::gauge("connections_idle_in_transaction", U::none,
                 "Connections idle inside an open transaction."),
        O::gauge("long_running_queries", U::none, "Statements running longer than long_query."),
        O::gauge("idle_in_transaction_sessions", U::none,
                 "Sessions idle in a transaction longer than idle_in_transaction."),
        O::gauge("lock_waiting_sessions", U::none, "Sessions waiting for a lock."),
        O::counter("transactions_total", U::none,
                   "Transactions committed or rolled back in the database (pg_stat_database)."),
        O::gauge("cache_hit_ratio", U::ratio,
                 "Share of block reads served from shared buffers since the statistics reset."),
        O::counter("deadlocks_total", U::none, "Deadlocks detected in the database."),
        O::gauge("database_size_bytes", U::bytes, "Size of the database on disk."),
        O::gauge("pg_stat_statements_available", U::boolean,
                 "1 when pg_stat_statements can be read."),
        O::gauge("slowest_statement_mean_seconds", U::seconds,
                 "Mean time of the slowest statement in pg_stat_statements."),
    };
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        Url url = ctx.params.url(s.url);
        if (!is_postgres_scheme(url.scheme)) {
            throw SettingError(s.url.key,
                               "must be a postgres:// URL (also postgresql, pgsql, psql, postgis)");
        }
        Thresholds t;
        t.connections_warn = ctx.params.number(s.connections_warn_ratio);
        t.connections_fail = ctx.params.number(s.connections_fail_ratio);
        if (t.connections_warn > t.connections_fail) {
            throw SettingError(s.connections_warn_ratio.key,
                               "must not be above connections_fail_ratio");
        }
        t.long_query = ctx.params.duration(s.long_query);
        t.idle_in_transaction = ctx.params.duration(s.idle_in_transaction);
        t.statement_mean_warn = ctx.params.duration(s.statement_mean_warn);
        t.top = static_cast<int>(ctx.params.integer(s.top));
        return std::make_unique<PostgresCheck>(std::move(url), t);
    };
    kind.from_env = [](const Environment& env) -> std::optional<nlohmann::json> {
        const auto it = env.find("DATABASE_URL");
        if (it == env.end() || it->second.empty()) return std::nullopt;
        const auto parsed = parse_url(it->second);
        if (parsed.url && !is_postgres_scheme(parsed.url->scheme))
            return std::nullopt;  // sqlite://, mysql://
        return nlohmann::json{{"url", it->second}};
    };
    return kind;
}

}  // namespace vitals::checks
