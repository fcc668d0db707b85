// RedisServer: a private redis-server, plaintext or TLS only.
#include "support/servers.hpp"
#include "support/servers_internal.hpp"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

#include "support/net_fixtures.hpp"

namespace vitals::testing {

RedisServer::RedisServer(std::vector<std::string> extra_args)
    : RedisServer(std::move(extra_args), "") {}

RedisServer::RedisServer(std::vector<std::string> extra_args, std::string tls_dir)
    : port_(closed_port()),
      dir_(temp_dir("redis")),
      args_(std::move(extra_args)),
      tls_dir_(std::move(tls_dir)) {
    start();
}

RedisServer RedisServer::with_tls(const std::string& tls_dir) {
    return RedisServer({}, tls_dir);
}

RedisServer::~RedisServer() {
    stop();
    shell("rm -rf '" + dir_ + "'");
}

std::string RedisServer::url(const std::string& password, int db) const {
    return (tls_dir_.empty() ? "redis://" : "rediss://") +
           (password.empty() ? "" : ":" + password + "@") + "127.0.0.1:" + std::to_string(port_) +
           "/" + std::to_string(db);
}

void RedisServer::start() {
    std::vector<std::string> args = {"redis-server",
                                     "--bind",
                                     "127.0.0.1",
                                     "--port",
                                     tls_dir_.empty() ? std::to_string(port_) : "0",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--daemonize",
                                     "no",
                                     "--dir",
                                     dir_};
    if (!tls_dir_.empty()) {
        const std::string crt = tls_dir_ + "/server.crt";
        args.insert(args.end(), {"--tls-port", std::to_string(port_), "--tls-cert-file", crt,
                                 "--tls-key-file", tls_dir_ + "/server.key", "--tls-ca-cert-file",
                                 crt, "--tls-auth-clients", "no"});
    }
    args.insert(args.end(), args_.begin(), args_.end());
    std::fflush(nullptr);  // or the child would flush the test's buffered output again
    pid_ = ::fork();
    if (pid_ == 0) {
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        const int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 1);
        ::execvp("redis-server", argv.data());
        ::_exit(127);
    }
    const bool up = wait_until(
        [&] {
            redisContext* c = redisConnect("127.0.0.1", port_);
            const bool ok = c != nullptr && c->err == 0;
            redisFree(c);
            return ok;
        },
        std::chrono::seconds(10));
    if (!up) {
        stop();
        throw std::runtime_error("redis-server did not start");
    }
}

void RedisServer::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

std::string RedisServer::cli(const std::string& args, const std::string& password) const {
    const std::string auth = password.empty() ? "" : " --no-auth-warning -a '" + password + "'";
    const std::string tls = tls_dir_.empty() ? "" : " --tls --cacert '" + tls_dir_ + "/server.crt'";
    return capture("redis-cli -h 127.0.0.1 -p " + std::to_string(port_) + tls + auth + " " + args +
                   " 2>&1");
}

}  // namespace vitals::testing
