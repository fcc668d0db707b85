// PostgresServer and PgBouncerServer: a private PostgreSQL 15 cluster, and pgBouncer in front of
// it.
#include "support/servers.hpp"
#include "support/servers_internal.hpp"

#include <unistd.h>

#include <fstream>
#include <stdexcept>

#include "sidecar/clients/net.hpp"
#include "support/net_fixtures.hpp"

namespace vitals::testing {

namespace {

const char kPgBin[] = "/usr/lib/postgresql/15/bin";

}  // namespace

PostgresServer::PostgresServer(int max_connections, int ssl_days)
    : port_(closed_port()),
      dir_(temp_dir("pg")),
      max_connections_(max_connections),
      ssl_days_(ssl_days) {
    const std::string data = dir_ + "/data";
    shell("chmod 755 '" + dir_ + "'");
    if (::geteuid() == 0) shell("chown postgres: '" + dir_ + "'");
    const std::string pwfile = dir_ + "/pw";
    shell(as_owner("sh -c \"echo pg-super-secret > '" + pwfile + "'\""));
    if (shell(as_owner(std::string(kPgBin) + "/initdb -D '" + data + "' -U postgres --pwfile='" +
                       pwfile + "' --auth-local=trust --auth-host=scram-sha-256 >/dev/null")) !=
        0) {
        throw std::runtime_error("initdb failed");
    }
    if (ssl_days_ > 0) {
        make_certificate(dir_, "server", "127.0.0.1", ssl_days_);
        shell("chmod 600 '" + dir_ + "/server.key'");
        if (::geteuid() == 0)
            shell("chown postgres: '" + dir_ + "/server.key' '" + dir_ + "/server.crt'");
    }
    start();
    try {
        setup();
    } catch (...) {
        stop();  // a half-built cluster must not outlive the test
        shell("rm -rf '" + dir_ + "'");
        throw;
    }
}

PostgresServer::PostgresServer(ReplicaOf replica)
    : port_(closed_port()),
      dir_(temp_dir("pg-replica")),
      max_connections_(replica.primary.max_connections_),
      ssl_days_(0) {
    shell("chmod 755 '" + dir_ + "'");
    if (::geteuid() == 0) shell("chown postgres: '" + dir_ + "'");
    // initdb's pg_hba.conf lets local replication connections in (trust): over the socket.
    if (shell(as_owner(std::string(kPgBin) + "/pg_basebackup -h '" + replica.primary.dir_ +
                       "' -p " + std::to_string(replica.primary.port_) + " -U postgres -D '" +
                       dir_ + "/data' -R -X stream -c fast >/dev/null 2>&1")) != 0) {
        shell("rm -rf '" + dir_ + "'");
        throw std::runtime_error("pg_basebackup failed");
    }
    if (!replica.streaming)
        shell(as_owner("sed -i '/primary_conninfo/d' '" + dir_ + "/data/postgresql.auto.conf'"));
    try {
        start();
    } catch (...) {
        shell("rm -rf '" + dir_ + "'");
        throw;
    }
}

void PostgresServer::setup() const {
    const std::string setup =
        " -c \"CREATE ROLE app LOGIN PASSWORD 'app-secret'\" -c \"GRANT pg_read_all_stats TO app\""
        " -c \"CREATE DATABASE shop OWNER app\"";
    if (shell(as_owner("psql -q -v ON_ERROR_STOP=1 -h '" + dir_ + "' -p " + std::to_string(port_) +
                       " -U postgres -d postgres" + setup + " >/dev/null")) != 0 ||
        sql("CREATE EXTENSION pg_stat_statements") != 0) {
        throw std::runtime_error("PostgreSQL setup failed");
    }
}

PostgresServer::~PostgresServer() {
    stop();
    shell("rm -rf '" + dir_ + "'");
}

std::string PostgresServer::as_owner(const std::string& command) const {
    return ::geteuid() == 0 ? "runuser -u postgres -- " + command : command;
}

std::string PostgresServer::url(const std::string& user, const std::string& password,
                                const std::string& db) const {
    return "postgres://" + user + ":" + password + "@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

void PostgresServer::start() {
    const std::string options =
        "-p " + std::to_string(port_) + " -k " + dir_ +
        " -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements"
        " -c max_connections=" +
        std::to_string(max_connections_) + " -c superuser_reserved_connections=3 -c fsync=off" +
        (ssl_days_ > 0 ? " -c ssl=on -c ssl_cert_file=" + dir_ +
                             "/server.crt -c ssl_key_file=" + dir_ + "/server.key"
                       : std::string());
    if (shell(as_owner(std::string(kPgBin) + "/pg_ctl -D '" + dir_ + "/data' -l '" + dir_ +
                       "/log' -w -o '" + options + "' start >/dev/null")) != 0) {
        throw std::runtime_error("pg_ctl start failed; see " + dir_ + "/log");
    }
}

void PostgresServer::stop() {
    shell(as_owner(std::string(kPgBin) + "/pg_ctl -D '" + dir_ +
                   "/data' -m immediate -w stop >/dev/null 2>&1"));
}

int PostgresServer::sql(const std::string& statement) const {
    return shell(as_owner("psql -q -v ON_ERROR_STOP=1 -h '" + dir_ + "' -p " +
                          std::to_string(port_) + " -U postgres -d shop -c \"" + statement +
                          "\" >/dev/null"));
}

std::string PostgresServer::query(const std::string& statement) const {
    return capture(as_owner("psql -q -At -v ON_ERROR_STOP=1 -h '" + dir_ + "' -p " +
                            std::to_string(port_) + " -U postgres -d shop -c \"" + statement +
                            "\""));
}

PgBouncerServer::PgBouncerServer(const PostgresServer& postgres, const std::string& pool_mode,
                                 int pool_size)
    : port_(closed_port()), dir_(temp_dir("pgbouncer")) {
    const std::string config =
        "[databases]\n"
        "shop = host=127.0.0.1 port=" +
        std::to_string(postgres.port()) +
        " dbname=shop\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        "listen_port = " +
        std::to_string(port_) +
        "\n"
        "unix_socket_dir =\n"
        "auth_type = md5\n"
        "auth_file = " +
        dir_ +
        "/users.txt\n"
        "admin_users = app\n"
        "stats_users = app\n"
        "pool_mode = " +
        pool_mode +
        "\n"
        "default_pool_size = " +
        std::to_string(pool_size) +
        "\n"
        "max_client_conn = 100\n"
        "logfile = " +
        dir_ +
        "/log\n"
        "pidfile = " +
        dir_ + "/pid\n";
    std::ofstream(dir_ + "/pgbouncer.ini") << config;
    std::ofstream(dir_ + "/users.txt") << "\"app\" \"app-secret\"\n";
    // pgBouncer will not run as root.
    if (::geteuid() == 0) shell("chown -R postgres '" + dir_ + "'");
    const std::string run = "/usr/sbin/pgbouncer -d -q '" + dir_ + "/pgbouncer.ini'";
    if (shell(::geteuid() == 0 ? "runuser -u postgres -- " + run : run) != 0)
        throw std::runtime_error("pgbouncer did not start; see " + dir_ + "/log");
    const bool up = wait_until(
        [&] {
            return connect_tcp("127.0.0.1", port_, Deadline::in(std::chrono::milliseconds(200)))
                .has_value();
        },
        std::chrono::seconds(10));
    if (!up) throw std::runtime_error("pgbouncer did not listen; see " + dir_ + "/log");
}

PgBouncerServer::~PgBouncerServer() {
    shell("kill $(cat '" + dir_ + "/pid' 2>/dev/null) 2>/dev/null; sleep 0.2; rm -rf '" + dir_ +
          "'");
}

std::string PgBouncerServer::log() const {
    return capture("tail -n 20 '" + dir_ + "/log'");
}

std::string PgBouncerServer::url(const std::string& db) const {
    return "postgres://app:app-secret@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

}  // namespace vitals::testing
