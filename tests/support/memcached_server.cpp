// MemcachedServer: a private memcached (Debian's), on 127.0.0.1 or a Unix socket.
#include "support/servers.hpp"
#include "support/servers_internal.hpp"

#include <signal.h>
#include <unistd.h>

#include <stdexcept>

#include "sidecar/clients/net.hpp"
#include "support/net_fixtures.hpp"

namespace vitals::testing {

MemcachedServer::MemcachedServer(int memory_mb, int max_connections, bool unix_socket)
    : port_(closed_port()),
      dir_(unix_socket ? temp_dir("memcached") : ""),
      memory_mb_(memory_mb),
      max_connections_(max_connections) {
    start();
}

MemcachedServer::~MemcachedServer() {
    stop();
    if (!dir_.empty()) shell("rm -rf '" + dir_ + "'");
}

std::string MemcachedServer::location() const {
    return dir_.empty() ? "127.0.0.1:" + std::to_string(port_) : dir_ + "/memcached.sock";
}

std::string MemcachedServer::url() const {
    return "memcache://" + location();
}

void MemcachedServer::start() {
    std::vector<std::string> args = {
        "memcached", "-m", std::to_string(memory_mb_), "-c", std::to_string(max_connections_),
        "-U",        "0"};
    if (dir_.empty()) {
        args.insert(args.end(), {"-l", "127.0.0.1", "-p", std::to_string(port_)});
    } else {
        args.insert(args.end(), {"-s", dir_ + "/memcached.sock", "-a", "0666"});
    }
    if (::geteuid() == 0) args.insert(args.end(), {"-u", "nobody"});  // it refuses root
    if (!dir_.empty() && ::geteuid() == 0) shell("chmod 777 '" + dir_ + "'");
    pid_ = spawn_group(args, {}, "/dev/null");
    const bool up = wait_until(
        [&] {
            const Deadline soon = Deadline::in(std::chrono::milliseconds(200));
            return (dir_.empty() ? connect_tcp("127.0.0.1", port_, soon)
                                 : connect_unix(dir_ + "/memcached.sock", soon))
                .has_value();
        },
        std::chrono::seconds(10));
    if (!up) {
        stop();
        throw std::runtime_error("memcached did not start");
    }
}

void MemcachedServer::stop() {
    kill_group(pid_, SIGTERM);
}

}  // namespace vitals::testing
