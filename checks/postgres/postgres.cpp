// The postgres kind: its settings, observations and factory (the check itself: check.cpp).
#include <cctype>

#include "checks/builtin.hpp"
#include "checks/postgres/check.hpp"
#include "checks/postgres/environment.hpp"
#include "sidecar/clients/postgres.hpp"

namespace vitals::checks {

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
    kind.about = About::reach;  // what this pod reaches
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
        PostgresLimits t;
        const std::string role = ctx.params.str(s.role);
        t.role = role == "replica" ? PostgresRole::replica
                 : role == "any"   ? PostgresRole::any
                                   : PostgresRole::primary;
        t.replay_lag_warn = ctx.params.duration(s.replay_lag_warn);
        t.replay_lag_fail = ctx.params.duration(s.replay_lag_fail);
        if (t.replay_lag_fail.count() > 0 && t.replay_lag_fail < t.replay_lag_warn)
            ctx.refuse(s.replay_lag_warn.key, "must not be above replay_lag_fail");
        t.slot_retained_warn = static_cast<double>(ctx.params.integer(s.slot_retained_warn));
        t.xid_age_warn = static_cast<double>(ctx.params.integer(s.xid_age_warn));
        t.xid_age_fail = static_cast<double>(ctx.params.integer(s.xid_age_fail));
        if (t.xid_age_warn > t.xid_age_fail)
            ctx.refuse(s.xid_age_warn.key, "must not be above xid_age_fail");
        t.connections_warn = ctx.params.number(s.connections_warn_ratio);
        t.connections_fail = ctx.params.number(s.connections_fail_ratio);
        if (t.connections_warn > t.connections_fail) {
            ctx.refuse(s.connections_warn_ratio.key, "must not be above connections_fail_ratio");
        }
        t.long_query = ctx.params.duration(s.long_query);
        t.idle_in_transaction = ctx.params.duration(s.idle_in_transaction);
        t.statement_mean_warn = ctx.params.duration(s.statement_mean_warn);
        t.top = static_cast<int>(ctx.params.integer(s.top));
        return make_postgres_check(std::move(url), t, ctx);
    };
    kind.from_env = [](const Environment& env) -> std::optional<nlohmann::json> {
        const PostgresFromEnv found = postgres_from_env(env);
        if (!found.url) return std::nullopt;
        return nlohmann::json{{"url", *found.url}};
    };
    kind.env_notes = [](const Environment& env) { return postgres_from_env(env).notes; };
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
            if (parsed && !is_postgres_scheme(parsed->scheme)) continue;
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
