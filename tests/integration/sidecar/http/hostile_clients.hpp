// The hostile clients and the watched vitals binary hostile_test.cpp sets against each other:
// raw sockets from chosen sources, a prober on fresh connections, the limits they are held to.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include "support/net_fixtures.hpp"
#include "support/process.hpp"
#include "support/temp_file.hpp"

namespace vitals::testing {

using namespace std::chrono_literals;

// Generous: a bound that catches a starved or spinning HTTP thread, not a benchmark.
constexpr double kProbeLimitMs = 50;
#if defined(__SANITIZE_ADDRESS__)
constexpr int kGrowthLimitMiB = 96;
#else
constexpr int kGrowthLimitMiB = 24;
#endif

// A config whose /metrics and status page are tens of KiB (30 checks), with a heartbeat.
inline std::string hostile_config() {
    std::string checks = R"("nightly": {"kind": "heartbeat", "period": "1h", "interval": "100ms"})";
    for (int i = 0; i < 30; ++i)
        checks += ", \"port_" + std::to_string(i) +
                  R"(": {"kind": "tcp", "host": "127.0.0.1", "port": )" +
                  std::to_string(closed_port()) + R"(, "interval": "1s"})";
    return R"({"checks": {)" + checks + "}}";
}

class Vitals {
  public:
    explicit Vitals(const std::string& config_json)
        : config_(config_json),
          process_({"--config", config_.path()}, {{"VITALS_LISTEN", "127.0.0.1:0"}}) {
        const auto line = process_.wait_for_line("\"event\":\"start\"", 10s);
        REQUIRE(line);
        const std::string listen = nlohmann::json::parse(*line)["listen"];
        port_ = static_cast<std::uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1)));
    }
    std::uint16_t port() const { return port_; }
    ChildProcess& process() { return process_; }
    bool alive() const { return ::kill(process_pid(), 0) == 0; }
    int rss_mib() const {
        std::ifstream in("/proc/" + std::to_string(process_pid()) + "/status");
        for (std::string line; std::getline(in, line);)
            if (line.rfind("VmRSS:", 0) == 0) return std::stoi(line.substr(6)) / 1024;
        return -1;
    }

  private:
    pid_t process_pid() const { return process_.pid(); }
    TempFile config_;
    ChildProcess process_;
    std::uint16_t port_ = 0;
};

// A probe as kubelet sends it: a new connection, one request.
inline RawReply probe(std::uint16_t port, const std::string& path = "/livez") {
    return get(port, path);
}

inline bool probe_answered(std::uint16_t port, const std::string& path = "/livez") {
    const RawReply r = probe(port, path);
    INFO(path << ": " << (r.ok ? std::to_string(r.status) : r.error) << " in "
              << r.total_seconds * 1000 << " ms");
    return r.ok && r.status == 200 && r.total_seconds * 1000 < kProbeLimitMs;
}

// Probes every 20 ms on its own thread for as long as it lives; counts what went wrong.
class Prober {
  public:
    explicit Prober(std::uint16_t port) : port_(port) {
        thread_ = std::thread([this] {
            const char* paths[] = {"/livez", "/readyz", "/startupz", "/vitalz"};
            for (int i = 0; !stop_; ++i) {
                const RawReply r = probe(port_, paths[i % 4]);
                ++probes_;
                // /readyz and /startupz may answer 503 (the checks fail by design); an
                // answer is what matters.
                if (!r.ok || (r.status != 200 && r.status != 503)) ++lost_;
                worst_ms_ = std::max(worst_ms_.load(), r.total_seconds * 1000);
                std::this_thread::sleep_for(20ms);
            }
        });
    }
    ~Prober() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    int probes() const { return probes_; }
    int lost() const { return lost_; }
    double worst_ms() const { return worst_ms_; }

  private:
    std::uint16_t port_;
    std::atomic<bool> stop_{false};
    std::atomic<int> probes_{0}, lost_{0};
    std::atomic<double> worst_ms_{0};
    std::thread thread_;
};

inline int connect_from(std::uint16_t port, const char* source = "127.0.0.1", int rcvbuf = 0) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &from.sin_addr);
    ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

inline void send_all(int fd, const std::string& data) {
    std::size_t at = 0;
    while (at < data.size()) {
        const ssize_t n = ::send(fd, data.data() + at, data.size() - at, MSG_NOSIGNAL);
        if (n <= 0) return;
        at += static_cast<std::size_t>(n);
    }
}

// Everything the server sends until it closes (or `wait` passes with nothing more).
inline std::string read_until_closed(int fd, std::chrono::milliseconds wait = 2s) {
    timeval tv{static_cast<time_t>(wait.count() / 1000),
               static_cast<suseconds_t>(wait.count() % 1000 * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) return out;
        out.append(buffer, static_cast<std::size_t>(n));
    }
}

inline int count(const std::string& text, const std::string& what) {
    int n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

}  // namespace vitals::testing
