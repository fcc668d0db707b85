// Real dependency servers for integration tests, each on a free loopback port with a private
// data directory, started and stopped by the test (never the standard ports: a server a
// developer runs by hand must not collide with, or be mistaken for, the test's own).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vitals::testing {

// Runs a shell command; returns its exit code. Output goes to the test's stderr.
int shell(const std::string& command);

class RedisServer {
  public:
    explicit RedisServer(std::vector<std::string> extra_args = {});
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    std::uint16_t port() const { return port_; }
    // redis://[:password@]127.0.0.1:port/db
    std::string url(const std::string& password = "", int db = 0) const;
    void start();
    void stop();
    // One command through redis-cli; its output, trimmed.
    std::string cli(const std::string& args, const std::string& password = "") const;

  private:
    std::uint16_t port_;
    std::string dir_;
    std::vector<std::string> args_;
    pid_t pid_ = -1;
};

// A private PostgreSQL 15 cluster with pg_stat_statements preloaded. Roles: the superuser
// "postgres" (password "pg-super-secret") and "app" (password "app-secret", member of
// pg_read_all_stats, owner of database "shop").
class PostgresServer {
  public:
    explicit PostgresServer(int max_connections = 20);
    ~PostgresServer();
    PostgresServer(const PostgresServer&) = delete;
    PostgresServer& operator=(const PostgresServer&) = delete;

    std::uint16_t port() const { return port_; }
    std::string url(const std::string& user = "app", const std::string& password = "app-secret",
                    const std::string& db = "shop") const;
    void start();
    void stop();
    // Runs SQL as the superuser in database "shop"; returns psql's exit code.
    int sql(const std::string& statement) const;

  private:
    std::string as_owner(const std::string& command) const;
    std::uint16_t port_;
    std::string dir_;
    int max_connections_;
};

}  // namespace vitals::testing
