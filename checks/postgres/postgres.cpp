// postgres: a NEW connection is accepted and answers SELECT 1 (connection exhaustion shows
// exactly there) from a server in the expected role (a primary that takes writes, or a
// replica), plus saturation, problem sessions, replication, transaction-ID wraparound and
// statement statistics read over one long-lived connection.
#include <pqxx/pqxx>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <set>
#include <sstream>

#include "checks/builtin.hpp"
#include "sidecar/clients/postgres.hpp"

namespace vitals::checks {

namespace {

using SteadyClock = std::chrono::steady_clock;

double seconds_since(SteadyClock::time_point t) {
    return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

enum class Role { primary, replica, any };

// What the new connection found the server to be.
struct ServerRole {
    bool in_recovery = false;  // a standby, replaying WAL
    bool read_only = false;    // transaction_read_only: writes are refused
};

struct Thresholds {
    Role role = Role::primary;
    Millis replay_lag_warn{30'000};
    Millis replay_lag_fail{0};  // 0: a lagging replica never fails (stale beats unavailable)
    double slot_retained_warn = 1024.0 * 1024 * 1024;
    double xid_age_warn = 1e9;
    double xid_age_fail = 2.1e9;
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
        std::optional<ServerRole> server;
        CheckResult result = probe_new_connection(conninfo.text, server);
        if (!conninfo.dropped.empty())
            result.details["url_options_ignored"] = conninfo.dropped;  // Django's, not libpq's
        if (result.status == Status::fail) {
            stats_.reset();  // whatever it was, the server is not taking connections now
            return result;
        }
        Findings findings;
        if (server) judge_role(*server, result, findings);
        try {
            collect_stats(conninfo.text, deadline, server, result, findings);
        } catch (const std::exception& e) {
            stats_.reset();
            result.details["stats_error"] = redact_secrets(first_line(e.what()));
        }
        findings.conclude(result, result.message);
        return result;
    }

  private:
    // The deadline is inside the connection string (connect_timeout, tcp_user_timeout).
    static CheckResult probe_new_connection(const std::string& conninfo,
                                            std::optional<ServerRole>& server) {
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

    // A primary that refuses writes fails: every write the app makes fails with it. Restarting
    // pods fixes nothing (Cause::elsewhere).
    void judge_role(const ServerRole& server, CheckResult& result, Findings& findings) const {
        result.details["server_role"] = server.in_recovery ? "standby" : "primary";
        if (limits_.role == Role::primary && server.in_recovery) {
            findings.add(Status::fail,
                         "the server is a standby in recovery, so every write will fail (does the "
                         "URL still point at the old primary after a failover?)",
                         Cause::elsewhere);
        } else if (limits_.role == Role::primary && server.read_only) {
            findings.add(Status::fail,
                         "transactions are read-only (default_transaction_read_only), so every "
                         "write will fail",
                         Cause::elsewhere);
        } else if (limits_.role == Role::replica && !server.in_recovery) {
            findings.add(Status::warn,
                         "expected a replica, but the server is not in recovery: it is a primary "
                         "(promoted in a failover?) and takes the reads meant for a replica",
                         Cause::elsewhere);
        }
    }

    void collect_stats(const std::string& conninfo, const Deadline& deadline,
                       const std::optional<ServerRole>& server, CheckResult& result,
                       Findings& findings) {
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

        if (server && version >= 100000) {
            optional_section(tx, "replication", result, [&](pqxx::transaction_base& t) {
                if (server->in_recovery) {
                    standby_replication(t, result, findings);
                } else {
                    primary_replication(t, result, findings);
                }
            });
        }
        optional_section(tx, "wraparound", result,
                         [&](pqxx::transaction_base& t) { wraparound(t, result, findings); });
        const double slowest_mean = statements(tx, version, result);
        tx.commit();  // read only; ends the transaction before the connection is reused

        // Judgement: every finding; run() concludes with the worst one as the message.
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
    }

    // On a standby: how far behind the primary it serves, and whether it still streams.
    void standby_replication(pqxx::transaction_base& tx, CheckResult& result,
                             Findings& findings) const {
        // Replayed everything received: nothing is stale, however old the last commit is (an
        // idle primary sends no commits, and now() - the last one's time grows regardless).
        const pqxx::row row = tx.exec1(
            "SELECT pg_last_wal_receive_lsn() IS NOT NULL AND"
            " pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(),"
            " extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8,"
            " pg_is_wal_replay_paused(),"
            " coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()),"
            " 0)::float8,"
            " (SELECT count(*) FROM pg_stat_wal_receiver),"
            " (SELECT status FROM pg_stat_wal_receiver LIMIT 1),"
            " pg_last_wal_receive_lsn() IS NULL");
        const bool caught_up = row[0].as<bool>();
        const bool paused = row[2].as<bool>();
        result.observe("replay_lag_bytes", row[3].as<double>());
        const bool receiving = row[4].as<int>() > 0;
        // Nothing ever received by streaming: a standby that replays from a WAL archive (or
        // whose streaming has not started), not one whose stream broke.
        const bool never_streamed = row[6].as<bool>();
        result.observe("wal_receiver_streaming", receiving ? 1 : 0);
        result.details["wal_receiver"] =
            receiving        ? (row[5].is_null() ? "running (its status needs pg_read_all_stats)"
                                                 : row[5].as<std::string>())
            : never_streamed ? "none: replaying WAL from an archive (no streaming configured, "
                               "or not started yet)"
                             : "none: not streaming from a primary";
        std::optional<double> lag;
        if (caught_up) {
            lag = 0;
        } else if (!row[1].is_null()) {
            lag = std::max(0.0, row[1].as<double>());
        }
        if (lag) result.observe("replay_lag_seconds", *lag);
        if (paused) findings.add(Status::warn, "WAL replay is paused (pg_wal_replay_resume())");
        if (!receiving && !never_streamed)
            findings.add(Status::warn,
                         "no WAL receiver: the replica is not streaming from a "
                         "primary and falls behind");
        if (!lag) return;
        const std::string behind = "the replica is " +
                                   format_duration(Millis(std::llround(*lag * 1000))) +
                                   " behind the primary";
        const auto over = [&](Millis limit) {
            return limit.count() > 0 && *lag * 1000 >= static_cast<double>(limit.count());
        };
        if (over(limits_.replay_lag_fail)) {
            findings.add(Status::fail, behind, Cause::elsewhere);
        } else if (over(limits_.replay_lag_warn)) {
            findings.add(Status::warn, behind + ": its pages are stale", Cause::elsewhere);
        }
    }

    // On a primary: each standby's lag, and slots that keep WAL nobody comes to fetch.
    void primary_replication(pqxx::transaction_base& tx, CheckResult& result,
                             Findings& findings) const {
        std::set<std::string> names;
        nlohmann::json standbys = nlohmann::json::array();
        for (const auto& row : tx.exec(
                 "SELECT coalesce(nullif(application_name, ''), 'standby'),"
                 " coalesce(host(client_addr), 'local'), coalesce(state, ''),"
                 " extract(epoch FROM write_lag)::float8, extract(epoch FROM flush_lag)::float8,"
                 " extract(epoch FROM replay_lag)::float8"
                 " FROM pg_stat_replication ORDER BY 1, 2 LIMIT 20")) {
            std::string name = row[0].as<std::string>();
            for (int n = 2; names.count(name) != 0; ++n)
                name = row[0].as<std::string>() + "#" + std::to_string(n);
            names.insert(name);
            // Lags are null once a standby has caught up and nothing is written: none.
            const auto seconds = [&](int i) {
                return row[i].is_null() ? 0.0 : row[i].as<double>();
            };
            result.observe("standby_replay_lag_seconds", "standby", name, seconds(5));
            standbys.push_back({{"name", name},
                                {"address", row[1].as<std::string>()},
                                {"state", row[2].as<std::string>()},
                                {"write_lag_seconds", seconds(3)},
                                {"flush_lag_seconds", seconds(4)},
                                {"replay_lag_seconds", seconds(5)}});
        }
        result.observe("standbys", static_cast<double>(names.size()));
        result.details["standbys"] = standbys;

        nlohmann::json slots = nlohmann::json::array();
        double inactive = 0;
        for (const auto& row :
             tx.exec("SELECT slot_name, slot_type, active, coalesce(wal_status, ''),"
                     " coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::float8"
                     " FROM pg_replication_slots ORDER BY 5 DESC LIMIT 20")) {
            const std::string name = row[0].as<std::string>();
            const bool active = row[2].as<bool>();
            const double retained = row[4].as<double>();
            result.observe("slot_retained_wal_bytes", "slot", name, retained);
            slots.push_back({{"name", name},
                             {"type", row[1].as<std::string>()},
                             {"active", active},
                             {"wal_status", row[3].as<std::string>()},
                             {"retained_wal_bytes", retained}});
            if (active) continue;
            ++inactive;
            if (retained >= limits_.slot_retained_warn) {
                findings.add(Status::warn,
                             "replication slot " + name + " is inactive and retains " +
                                 count(retained / (1024 * 1024)) +
                                 " MiB of WAL: the disk fills until its consumer returns or the "
                                 "slot is dropped",
                             Cause::elsewhere);
            }
        }
        result.observe("inactive_slots", inactive);
        result.details["replication_slots"] = slots;
    }

    // Transaction-ID age: at 2^31 the server stops taking writes. Autovacuum freezes a
    // database once its age passes autovacuum_freeze_max_age; an age far beyond says it cannot.
    void wraparound(pqxx::transaction_base& tx, CheckResult& result, Findings& findings) const {
        double oldest = 0;
        std::string oldest_db;
        for (const auto& row : tx.exec("SELECT datname, age(datfrozenxid)::float8 FROM pg_database"
                                       " ORDER BY 2 DESC LIMIT 20")) {
            const double age = row[1].as<double>();
            result.observe("database_xid_age", "database", row[0].as<std::string>(), age);
            if (age > oldest) {
                oldest = age;
                oldest_db = row[0].as<std::string>();
            }
        }
        const pqxx::row row = tx.exec1(
            "SELECT current_setting('autovacuum_freeze_max_age')::float8,"
            " (SELECT coalesce(max(age(backend_xmin)), 0)::float8 FROM pg_stat_activity),"
            " (SELECT coalesce(extract(epoch FROM now() - min(xact_start)), 0)::float8"
            " FROM pg_stat_activity WHERE backend_type = 'client backend'"
            " AND pid <> pg_backend_pid())");
        result.observe("oldest_xmin_xid_age", row[1].as<double>())
            .observe("oldest_transaction_seconds", std::max(0.0, row[2].as<double>()));
        result.details["autovacuum_freeze_max_age"] = row[0].as<double>();
        if (oldest_db.empty()) return;
        const std::string said = "database " + oldest_db + " is " + count(oldest / 1e6) +
                                 " million transactions from its last freeze (writes stop at "
                                 "2147 million; autovacuum_freeze_max_age is " +
                                 count(row[0].as<double>() / 1e6) + " million)";
        if (oldest >= limits_.xid_age_fail) {
            findings.add(Status::fail, said, Cause::elsewhere);
        } else if (oldest >= limits_.xid_age_warn) {
            findings.add(Status::warn, said + ": is autovacuum blocked?", Cause::elsewhere);
        }
    }

    // A section some servers refuse (Aurora has no pg_current_wal_lsn(), a managed service may
    // hide a view) is noted in details as <name>_error; the other statistics stand. In a
    // transaction it runs under a savepoint, so its error does not abort the rest.
    template <typename Section>
    static void optional_section(pqxx::transaction_base& tx, const std::string& name,
                                 CheckResult& result, Section&& section) {
        try {
            if (auto* db = dynamic_cast<pqxx::dbtransaction*>(&tx)) {
                pqxx::subtransaction savepoint(*db, name);
                section(savepoint);
                savepoint.commit();
            } else {
                section(tx);
            }
        } catch (const pqxx::sql_error& e) {
            if (e.sqlstate() == "57014") throw;  // the deadline: nothing after it can run
            result.details[name + "_error"] = redact_secrets(first_line(e.what()));
        }
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
    Setting role = Setting::of("role", SettingType::string,
                               "what the server must be: primary (takes writes), replica (a "
                               "standby) or any")
                       .defaults("primary")
                       .choices({"primary", "replica", "any"});
    Setting replay_lag_warn = Setting::of("replay_lag_warn", SettingType::duration,
                                          "a standby further behind its primary than this warns")
                                  .defaults("30s")
                                  .range(1, 86'400'000);
    Setting replay_lag_fail =
        Setting::of("replay_lag_fail", SettingType::duration,
                    "a standby further behind than this fails; 0: never (stale pages beat none)")
            .defaults("0s")
            .range(0, 86'400'000);
    Setting slot_retained_warn =
        Setting::of("slot_retained_warn", SettingType::integer,
                    "an inactive replication slot retaining this many bytes of WAL warns")
            .defaults(std::int64_t{1} << 30)
            .range(0, 1e15);
    Setting xid_age_warn = Setting::of("xid_age_warn", SettingType::integer,
                                       "a database this many transactions from its last freeze "
                                       "warns (autovacuum is not keeping up)")
                               .defaults(1'000'000'000)
                               .range(1, 2'147'483'647);
    Setting xid_age_fail = Setting::of("xid_age_fail", SettingType::integer,
                                       "this close to wraparound fails: at 2^31 writes stop")
                               .defaults(2'100'000'000)
                               .range(1, 2'147'483'647);
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
        return {url,
                role,
                connections_warn_ratio,
                connections_fail_ratio,
                long_query,
                idle_in_transaction,
                statement_mean_warn,
                replay_lag_warn,
                replay_lag_fail,
                slot_retained_warn,
                xid_age_warn,
                xid_age_fail,
                top};
    }
};

CheckKind postgres_kind() {
    static const PostgresSettings s;
    CheckKind kind;
    kind.name = "postgres";
    kind.summary =
        "PostgreSQL: new connection + SELECT 1 in the expected role, connection saturation, "
        "problem "
        "sessions, replication, wraparound, statement statistics";
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
        O::gauge("in_recovery", U::boolean,
                 "1 when the server is a standby replaying WAL (pg_is_in_recovery)."),
        O::gauge("replay_lag_seconds", U::seconds,
                 "On a standby: how far behind its primary it serves (0 when it replayed all it "
                 "received)."),
        O::gauge("replay_lag_bytes", U::bytes, "On a standby: WAL received and not yet replayed."),
        O::gauge("wal_receiver_streaming", U::boolean,
                 "On a standby: 1 while a WAL receiver streams from a primary."),
        O::gauge("standbys", U::none, "On a primary: standbys streaming from it."),
        O::gauge("standby_replay_lag_seconds", U::seconds,
                 "On a primary: a standby's replay lag as the primary sees it.")
            .by("standby"),
        O::gauge("slot_retained_wal_bytes", U::bytes,
                 "On a primary: WAL a replication slot keeps from being removed.")
            .by("slot"),
        O::gauge("inactive_slots", U::none,
                 "On a primary: replication slots no consumer is connected to."),
        O::gauge("database_xid_age", U::none,
                 "Transactions since the database was last frozen: at 2^31 writes stop.")
            .by("database"),
        O::gauge("oldest_xmin_xid_age", U::none,
                 "Age of the oldest snapshot a session holds: vacuum cannot clean past it."),
        O::gauge("oldest_transaction_seconds", U::seconds,
                 "Age of the oldest open transaction of a client session."),
    };
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        Url url = ctx.params.url(s.url);
        if (!is_postgres_scheme(url.scheme)) {
            throw SettingError(s.url.key,
                               "must be a postgres:// URL (also postgresql, pgsql, psql, postgis)");
        }
        Thresholds t;
        const std::string role = ctx.params.str(s.role);
        t.role = role == "replica" ? Role::replica : role == "any" ? Role::any : Role::primary;
        t.replay_lag_warn = ctx.params.duration(s.replay_lag_warn);
        t.replay_lag_fail = ctx.params.duration(s.replay_lag_fail);
        if (t.replay_lag_fail.count() > 0 && t.replay_lag_fail < t.replay_lag_warn)
            throw SettingError(s.replay_lag_warn.key, "must not be above replay_lag_fail");
        t.slot_retained_warn = static_cast<double>(ctx.params.integer(s.slot_retained_warn));
        t.xid_age_warn = static_cast<double>(ctx.params.integer(s.xid_age_warn));
        t.xid_age_fail = static_cast<double>(ctx.params.integer(s.xid_age_fail));
        if (t.xid_age_warn > t.xid_age_fail)
            throw SettingError(s.xid_age_warn.key, "must not be above xid_age_fail");
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
    // Django's other DATABASES entries, as django-environ users spell them: REPLICA_DATABASE_URL
    // is the check postgres_replica, in role replica; any other <NAME>_DATABASE_URL is
    // postgres_<name>, in role any (its role is reported, not judged).
    kind.more_from_env = [](const Environment& env) {
        std::map<std::string, nlohmann::json> out;
        const std::string suffix = "_DATABASE_URL";
        for (const auto& [key, value] : env) {
            if (key.size() <= suffix.size() ||
                key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0 ||
                value.empty() || key.rfind("VITALS_", 0) == 0)
                continue;
            const auto parsed = parse_url(value);
            if (parsed.url && !is_postgres_scheme(parsed.url->scheme)) continue;
            std::string name = "postgres_";
            for (const char c : key.substr(0, key.size() - suffix.size()))
                name += std::isalnum(static_cast<unsigned char>(c))
                            ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                            : '_';
            if (name.size() > 63) continue;
            const bool replica = name.find("replica") != std::string::npos ||
                                 name.find("standby") != std::string::npos;
            out[name] = {{"url", value}, {"role", replica ? "replica" : "any"}};
        }
        return out;
    };
    return kind;
}

}  // namespace vitals::checks
