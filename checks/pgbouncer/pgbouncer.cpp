// pgbouncer: the pooler's admin console (the virtual database "pgbouncer") — per pool, the
// clients queued for a server connection and how long the longest has waited; per database,
// whether it is paused or disabled and its traffic; overall, client connections against
// max_client_conn. The console speaks the simple query protocol only, so this is libpq's
// PQsendQuery with the deadline on every wait.
#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "checks/builtin.hpp"
#include "sidecar/clients/postgres.hpp"

namespace vitals::checks {

namespace {

struct Limits {
    Millis maxwait_warn{};  // each read from the settings, whose declarations hold the defaults
    Millis maxwait_fail{};
    double clients_warn = 0;
    double clients_fail = 0;
};

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

class ConsoleError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Waits until libpq's socket is ready as asked, or the deadline passes.
void wait_socket(PGconn* conn, bool write, const Deadline& deadline, const char* what) {
    const auto left = deadline.remaining();
    pollfd p{PQsocket(conn), static_cast<short>(write ? POLLOUT : POLLIN), 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        throw ConsoleError(std::string(what) + ": no answer before the deadline");
}

Connection connect_console(const std::string& conninfo, const Deadline& deadline) {
    Connection conn(PQconnectStart(conninfo.c_str()), &PQfinish);
    if (!conn) throw ConsoleError("cannot connect: out of memory");
    if (PQstatus(conn.get()) == CONNECTION_BAD)
        throw ConsoleError("cannot connect: " + first_line(PQerrorMessage(conn.get())));
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED)
            throw ConsoleError("cannot connect: " + first_line(PQerrorMessage(conn.get())));
        wait_socket(conn.get(), st == PGRES_POLLING_WRITING, deadline, "connect");
        st = PQconnectPoll(conn.get());
    }
    return conn;
}

// One SHOW command; its rows as column -> text maps.
std::vector<std::map<std::string, std::string>> show(PGconn* conn, const char* command,
                                                     const Deadline& deadline) {
    if (PQsendQuery(conn, command) != 1)
        throw ConsoleError(std::string(command) + ": " + first_line(PQerrorMessage(conn)));
    std::vector<std::map<std::string, std::string>> rows;
    std::string error;
    while (true) {
        while (PQisBusy(conn) == 1) {
            wait_socket(conn, false, deadline, command);
            if (PQconsumeInput(conn) != 1)
                throw ConsoleError(std::string(command) + ": " + first_line(PQerrorMessage(conn)));
        }
        Result res(PQgetResult(conn), &PQclear);
        if (!res) break;
        if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
            error = first_line(PQresultErrorMessage(res.get()));
            continue;  // read on to the end of the results
        }
        for (int r = 0; r < PQntuples(res.get()); ++r) {
            auto& row = rows.emplace_back();
            for (int c = 0; c < PQnfields(res.get()); ++c)
                row[PQfname(res.get(), c)] = PQgetvalue(res.get(), r, c);
        }
    }
    if (!error.empty()) throw ConsoleError(std::string(command) + ": " + error);
    return rows;
}

double number(const std::map<std::string, std::string>& row, const std::string& column) {
    const auto it = row.find(column);
    if (it == row.end() || it->second.empty()) return 0;
    char* end = nullptr;
    const double v = std::strtod(it->second.c_str(), &end);
    return end != it->second.c_str() && std::isfinite(v) ? v : 0;
}

std::string text(const std::map<std::string, std::string>& row, const std::string& column) {
    const auto it = row.find(column);
    return it == row.end() ? std::string() : it->second;
}

std::string seconds_text(double s) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f s", s);
    return buf;
}

class PgBouncerCheck final : public Check {
  public:
    PgBouncerCheck(Url url, Limits limits) : url_(std::move(url)), limits_(limits) {
        url_.path = "/pgbouncer";  // the admin console, whatever database the URL named
    }

    CheckResult run(const Deadline& deadline) override {
        Connection conn(nullptr, &PQfinish);
        try {
            conn = connect_console(postgres_conninfo(url_, deadline).text, deadline);
        } catch (const ConsoleError& e) {
            return verdict(Status::fail,
                           "admin console at " + url_.authority(6432) + ": " + e.what() +
                               " (the URL's user must be in admin_users or stats_users)");
        }
        using Rows = std::vector<std::map<std::string, std::string>>;
        Rows config, lists, databases, pools, stats;
        try {
            config = show(conn.get(), "SHOW CONFIG", deadline);
            lists = show(conn.get(), "SHOW LISTS", deadline);
            databases = show(conn.get(), "SHOW DATABASES", deadline);
            pools = show(conn.get(), "SHOW POOLS", deadline);
            stats = show(conn.get(), "SHOW STATS", deadline);
        } catch (const ConsoleError& e) {
            return verdict(Status::fail,
                           "admin console at " + url_.authority(6432) + ": " + e.what());
        }

        CheckResult result;
        Findings findings;
        std::map<std::string, std::string> settings;
        for (const auto& row : config)
            settings[text(row, "key")] = text(row, "value");
        judge_clients(settings, lists, result, findings);
        const auto pool_sizes = judge_databases(settings, databases, result, findings);
        const double worst_wait = judge_pools(pools, pool_sizes, result, findings);
        for (const auto& row : stats) {
            const std::string db = text(row, "database");
            if (db == "pgbouncer") continue;
            result.observe("transactions_total", "database", db, number(row, "total_xact_count"));
            result.observe("queries_total", "database", db, number(row, "total_query_count"));
            result.observe("wait_seconds_total", "database", db,
                           number(row, "total_wait_time") / 1e6);
        }
        const std::size_t count = result.details["pools"].size();
        findings.conclude(result, std::to_string(count) + (count == 1 ? " pool" : " pools") +
                                      ", longest client wait " + seconds_text(worst_wait));
        return result;
    }

  private:
    // Client connections against max_client_conn: past it, pgBouncer refuses new clients.
    void judge_clients(const std::map<std::string, std::string>& settings,
                       const std::vector<std::map<std::string, std::string>>& lists,
                       CheckResult& result, Findings& findings) const {
        double used = 0;
        for (const auto& row : lists) {
            const std::string list = text(row, "list");
            if (list == "used_clients" || list == "login_clients") used += number(row, "items");
        }
        const double max = settings.count("max_client_conn") != 0
                               ? std::strtod(settings.at("max_client_conn").c_str(), nullptr)
                               : 0;
        result.observe("client_connections", used);
        if (max <= 0) return;
        result.observe("max_client_conn", max);
        const double ratio = used / max;
        const std::string what = std::to_string(static_cast<long long>(used)) + " of " +
                                 std::to_string(static_cast<long long>(max)) +
                                 " client connections (max_client_conn) in use";
        if (ratio >= limits_.clients_fail) {
            findings.add(Status::fail, what + ": new clients are about to be refused",
                         Cause::elsewhere);
        } else if (ratio >= limits_.clients_warn) {
            findings.add(Status::warn, what, Cause::elsewhere);
        }
    }

    // Paused and disabled databases; the pool size each database's pools may use.
    std::map<std::string, double> judge_databases(
        const std::map<std::string, std::string>& settings,
        const std::vector<std::map<std::string, std::string>>& databases, CheckResult& result,
        Findings& findings) const {
        std::map<std::string, double> sizes;
        const double default_size =
            settings.count("default_pool_size") != 0
                ? std::strtod(settings.at("default_pool_size").c_str(), nullptr)
                : 0;
        nlohmann::json out = nlohmann::json::object();
        for (const auto& row : databases) {
            const std::string name = text(row, "name");
            if (name == "pgbouncer") continue;
            const double size =
                number(row, "pool_size") > 0 ? number(row, "pool_size") : default_size;
            sizes[name] = size;
            const bool paused = number(row, "paused") > 0;
            const bool disabled = number(row, "disabled") > 0;
            out[name] = {{"host", text(row, "host")},
                         {"port", text(row, "port")},
                         {"pool_size", size},
                         {"current_connections", number(row, "current_connections")},
                         {"paused", paused},
                         {"disabled", disabled}};
            result.observe("server_connections", "database", name,
                           number(row, "current_connections"));
            if (disabled) {
                findings.add(Status::fail,
                             "database " + name + " is disabled (DISABLE): new clients are refused",
                             Cause::elsewhere);
            } else if (paused) {
                findings.add(Status::warn,
                             "database " + name + " is paused (PAUSE): clients wait until RESUME",
                             Cause::elsewhere);
            }
        }
        result.details["databases"] = std::move(out);
        return sizes;
    }

    // Clients queued for a server connection, per pool; returns the longest wait seen.
    double judge_pools(const std::vector<std::map<std::string, std::string>>& pools,
                       const std::map<std::string, double>& sizes, CheckResult& result,
                       Findings& findings) const {
        double worst = 0;
        nlohmann::json out = nlohmann::json::object();
        for (const auto& row : pools) {
            const std::string db = text(row, "database");
            if (db == "pgbouncer") continue;
            const std::string pool = db + "/" + text(row, "user");
            const double waiting = number(row, "cl_waiting");
            const double wait = number(row, "maxwait") + number(row, "maxwait_us") / 1e6;
            const double in_use = number(row, "sv_active");
            const auto size = sizes.find(db);
            worst = std::max(worst, wait);
            nlohmann::json p = {{"clients_active", number(row, "cl_active")},
                                {"clients_waiting", waiting},
                                {"maxwait_seconds", wait},
                                {"servers_active", in_use},
                                {"servers_idle", number(row, "sv_idle")},
                                {"pool_mode", text(row, "pool_mode")}};
            result.observe("clients_active", "pool", pool, number(row, "cl_active"));
            result.observe("clients_waiting", "pool", pool, waiting);
            result.observe("maxwait_seconds", "pool", pool, wait);
            result.observe("servers_active", "pool", pool, in_use);
            if (size != sizes.end() && size->second > 0) {
                p["pool_size"] = size->second;
                result.observe("pool_used_ratio", "pool", pool, in_use / size->second);
            }
            out[pool] = std::move(p);
            const Millis waited{static_cast<long long>(wait * 1000)};
            if (waited < limits_.maxwait_warn) continue;
            const std::string what = std::to_string(static_cast<long long>(waiting)) +
                                     (waiting == 1 ? " client has" : " clients have") +
                                     " queued up to " + seconds_text(wait) +
                                     " for a server connection in pool " + pool +
                                     ": raise default_pool_size or find the slow transactions";
            findings.add(waited >= limits_.maxwait_fail ? Status::fail : Status::warn, what,
                         Cause::elsewhere);
        }
        result.details["pools"] = std::move(out);
        return worst;
    }

    Url url_;
    Limits limits_;
};

}  // namespace

// The pgbouncer kind's settings, each declared once: the table lists these members and the
// factory reads its values through them.
struct PgbouncerSettings {
    Setting url =
        Setting::of("url", SettingType::url,
                    "postgres://user:password@host:6432/ of a user in admin_users or stats_users "
                    "(the database is always the console, \"pgbouncer\")")
            .required();
    Setting maxwait_warn = Setting::of("maxwait_warn", SettingType::duration,
                                       "a client queued this long for a server connection warns")
                               .defaults("1s")
                               .range(1, 86'400'000);
    Setting maxwait_fail = Setting::of("maxwait_fail", SettingType::duration,
                                       "a client queued this long for a server connection fails")
                               .defaults("5s")
                               .range(1, 86'400'000);
    Setting clients_warn_ratio = Setting::of("clients_warn_ratio", SettingType::number,
                                             "client connections / max_client_conn: warn at")
                                     .defaults(0.8)
                                     .range(0, 1);
    Setting clients_fail_ratio = Setting::of("clients_fail_ratio", SettingType::number,
                                             "client connections / max_client_conn: fail at")
                                     .defaults(0.95)
                                     .range(0, 1);
    SettingsTable table() const {
        return {url, maxwait_warn, maxwait_fail, clients_warn_ratio, clients_fail_ratio};
    }
};

CheckKind pgbouncer_kind() {
    static const PgbouncerSettings s;
    CheckKind kind;
    kind.name = "pgbouncer";
    kind.summary =
        "pgBouncer's admin console: clients queued per pool and for how long, paused "
        "or disabled databases, client connections against max_client_conn";
    kind.about = About::shared;  // a shared dependency's state
    kind.default_groups = {};
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::counter("transactions_total", U::none, "Transactions pooled, per database.")
            .by("database"),
        O::counter("queries_total", U::none, "Queries pooled, per database.").by("database"),
        O::counter("wait_seconds_total", U::seconds,
                   "Time clients spent waiting for a server connection, per database.")
            .by("database"),
        O::gauge("client_connections", U::none, "Client connections to pgBouncer.").headline(),
        O::gauge("max_client_conn", U::none, "pgBouncer's max_client_conn."),
        O::gauge("server_connections", U::none, "Server connections, per database.").by("database"),
        O::gauge("clients_active", U::none, "Clients paired with a server connection, per pool.")
            .by("pool"),
        O::gauge("clients_waiting", U::none, "Clients queued for a server connection, per pool.")
            .by("pool")
            .headline(),
        O::gauge("maxwait_seconds", U::seconds, "How long the oldest queued client has waited.")
            .by("pool"),
        O::gauge("servers_active", U::none, "Server connections in use, per pool.").by("pool"),
        O::gauge("pool_used_ratio", U::ratio, "servers_active / the pool's size.").by("pool"),
    };
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        Url url = ctx.params.url(s.url);
        if (!is_postgres_scheme(url.scheme))
            throw SettingError(s.url.key, "must be a postgres:// URL pointing at pgBouncer");
        Limits limits;
        limits.maxwait_warn = ctx.params.duration(s.maxwait_warn);
        limits.maxwait_fail = ctx.params.duration(s.maxwait_fail);
        limits.clients_warn = ctx.params.number(s.clients_warn_ratio);
        limits.clients_fail = ctx.params.number(s.clients_fail_ratio);
        if (limits.maxwait_warn > limits.maxwait_fail)
            ctx.refuse(s.maxwait_warn.key, "must not be above maxwait_fail");
        if (limits.clients_warn > limits.clients_fail)
            ctx.refuse(s.clients_warn_ratio.key, "must not be above clients_fail_ratio");
        return std::make_unique<PgBouncerCheck>(std::move(url), limits);
    };
    kind.from_env = [](const Environment& env) -> std::optional<nlohmann::json> {
        const auto it = env.find("VITALS_PGBOUNCER_URL");
        if (it == env.end() || it->second.empty()) return std::nullopt;
        return nlohmann::json{{"url", it->second}};
    };
    return kind;
}

}  // namespace vitals::checks
