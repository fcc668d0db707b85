#include "checks/postgres/stats.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace vitals {

namespace {

double rounded_ms(double seconds_or_ms) {
    return std::round(seconds_or_ms * 1000) / 1000;
}

}  // namespace

int read_saturation(pqxx::transaction_base& tx, CheckResult& result, PostgresReading& reading) {
    const pqxx::row settings = tx.exec1(
        "SELECT current_setting('max_connections')::int, "
        "current_setting('superuser_reserved_connections')::int,"
        " current_setting('server_version_num')::int");
    const int usable = settings[0].as<int>() - settings[1].as<int>();
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
    reading.connections_used = used;
    reading.connections_usable = usable;
    return settings[2].as<int>();
}

void read_sessions(pqxx::transaction_base& tx, const PostgresLimits& limits, CheckResult& result,
                   PostgresReading& reading) {
    const std::string session_columns =
        "pid, extract(epoch FROM now() - {since})::float8, coalesce(state, ''), "
        "coalesce(wait_event_type, ''),"
        " coalesce(wait_event, ''), left(query, 200)";
    const auto sessions = [&](const std::string& name, const std::string& since,
                              const std::string& where, const std::string& observation) {
        std::string columns = session_columns;
        columns.replace(columns.find("{since}"), 7, since);
        const pqxx::result rows = tx.exec(
            "SELECT " + columns + ", count(*) OVER () FROM pg_stat_activity WHERE " + where +
            " AND pid <> pg_backend_pid() ORDER BY 2 DESC LIMIT " + std::to_string(limits.top));
        nlohmann::json list = nlohmann::json::array();
        for (const auto& row : rows) {
            list.push_back({{"pid", row[0].as<int>()},
                            {"duration_seconds", rounded_ms(row[1].as<double>())},
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
    reading.long_running = sessions("long_running_queries", "query_start",
                                    "state = 'active' AND now() - query_start > interval '" +
                                        ms(limits.long_query) + " milliseconds'",
                                    "long_running_queries");
    reading.idle_in_transaction =
        sessions("idle_in_transaction_sessions", "state_change",
                 "state LIKE 'idle in transaction%' AND now() - state_change > interval '" +
                     ms(limits.idle_in_transaction) + " milliseconds'",
                 "idle_in_transaction_sessions");
    reading.lock_waits =
        sessions("lock_waits", "query_start", "wait_event_type = 'Lock'", "lock_waiting_sessions");
}

void read_database(pqxx::transaction_base& tx, CheckResult& result) {
    const pqxx::row db = tx.exec1(
        "SELECT xact_commit + xact_rollback, blks_hit, blks_read, deadlocks, "
        "pg_database_size(datname)"
        " FROM pg_stat_database WHERE datname = current_database()");
    result.observe("transactions_total", db[0].as<double>());
    const double hit = db[1].as<double>(), read = db[2].as<double>();
    if (hit + read > 0) result.observe("cache_hit_ratio", hit / (hit + read));
    result.observe("deadlocks_total", db[3].as<double>())
        .observe("database_size_bytes", db[4].as<double>());
}

StandbyReading read_standby(pqxx::transaction_base& tx, CheckResult& result) {
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
    StandbyReading standby;
    const bool caught_up = row[0].as<bool>();
    standby.paused = row[2].as<bool>();
    result.observe("replay_lag_bytes", row[3].as<double>());
    standby.receiving = row[4].as<int>() > 0;
    // Nothing ever received by streaming: a standby that replays from a WAL archive (or
    // whose streaming has not started), not one whose stream broke.
    standby.never_streamed = row[6].as<bool>();
    result.observe("wal_receiver_streaming", standby.receiving ? 1 : 0);
    result.details["wal_receiver"] =
        standby.receiving ? (row[5].is_null() ? "running (its status needs pg_read_all_stats)"
                                              : row[5].as<std::string>())
        : standby.never_streamed ? "none: replaying WAL from an archive (no streaming configured, "
                                   "or not started yet)"
                                 : "none: not streaming from a primary";
    if (caught_up) {
        standby.lag_seconds = 0;
    } else if (!row[1].is_null()) {
        standby.lag_seconds = std::max(0.0, row[1].as<double>());
    }
    if (standby.lag_seconds) result.observe("replay_lag_seconds", *standby.lag_seconds);
    return standby;
}

std::vector<SlotReading> read_primary(pqxx::transaction_base& tx, CheckResult& result) {
    std::set<std::string> names;
    nlohmann::json standbys = nlohmann::json::array();
    for (const auto& row :
         tx.exec("SELECT coalesce(nullif(application_name, ''), 'standby'),"
                 " coalesce(host(client_addr), 'local'), coalesce(state, ''),"
                 " extract(epoch FROM write_lag)::float8, extract(epoch FROM flush_lag)::float8,"
                 " extract(epoch FROM replay_lag)::float8"
                 " FROM pg_stat_replication ORDER BY 1, 2 LIMIT 20")) {
        std::string name = row[0].as<std::string>();
        for (int n = 2; names.count(name) != 0; ++n)
            name = row[0].as<std::string>() + "#" + std::to_string(n);
        names.insert(name);
        // Lags are null once a standby has caught up and nothing is written: none.
        const auto seconds = [&](int i) { return row[i].is_null() ? 0.0 : row[i].as<double>(); };
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

    std::vector<SlotReading> slots;
    nlohmann::json listed = nlohmann::json::array();
    double inactive = 0;
    for (const auto& row :
         tx.exec("SELECT slot_name, slot_type, active, coalesce(wal_status, ''),"
                 " coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::float8"
                 " FROM pg_replication_slots ORDER BY 5 DESC LIMIT 20")) {
        SlotReading slot{row[0].as<std::string>(), row[2].as<bool>(), row[4].as<double>()};
        result.observe("slot_retained_wal_bytes", "slot", slot.name, slot.retained_bytes);
        listed.push_back({{"name", slot.name},
                          {"type", row[1].as<std::string>()},
                          {"active", slot.active},
                          {"wal_status", row[3].as<std::string>()},
                          {"retained_wal_bytes", slot.retained_bytes}});
        if (!slot.active) ++inactive;
        slots.push_back(std::move(slot));
    }
    result.observe("inactive_slots", inactive);
    result.details["replication_slots"] = listed;
    return slots;
}

void read_wraparound(pqxx::transaction_base& tx, CheckResult& result, PostgresReading& reading) {
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
    reading.oldest_database = oldest_db;
    reading.oldest_xid_age = oldest;
    reading.freeze_max_age = row[0].as<double>();
}

double read_statements(pqxx::transaction_base& tx, int version, int top, CheckResult& result) {
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
    const auto listed = [&](const std::string& order) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& row :
             tx.exec("SELECT calls, " + mean + ", " + total +
                     ", rows, left(query, 200)"
                     " FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database"
                     " WHERE datname = current_database()) ORDER BY " +
                     order + " DESC LIMIT " + std::to_string(top))) {
            list.push_back({{"calls", row[0].as<double>()},
                            {"mean_ms", rounded_ms(row[1].as<double>())},
                            {"total_ms", rounded_ms(row[2].as<double>())},
                            {"rows", row[3].as<double>()},
                            {"query", row[4].as<std::string>()}});
        }
        return list;
    };
    nlohmann::json by_mean;
    try {
        by_mean = listed(mean);
        result.details["top_statements_by_mean"] = by_mean;
        result.details["top_statements_by_total"] = listed(total);
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

}  // namespace vitals
