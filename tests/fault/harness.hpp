// The fault suite's harness: the vitals binary as a child process, the probe load that
// runs through every fault, and the table the suite prints. Included by fault_test.cpp only.
#pragma once

#include <sys/resource.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>
#include <thread>

#include "support/net_fixtures.hpp"
#include "support/servers.hpp"
#include "support/temp_file.hpp"

namespace vitals::fault {

using namespace vitals::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// The vitals binary as a child process, its log in a file (a pipe nobody drains would
// eventually block its logging).
class Vitals {
  public:
    explicit Vitals(const std::string& config_path) : log_(make_temp_dir("fault") + "/vitals.log") {
        std::vector<std::string> args = {VITALS_BINARY, "--config", config_path};
        std::vector<char*> argv;
        argv.reserve(args.size() + 1);
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        std::vector<std::string> env = {"VITALS_LISTEN=127.0.0.1:0", "PATH=/usr/bin:/bin"};
        std::vector<char*> envp;
        envp.reserve(env.size() + 1);
        for (auto& e : env)
            envp.push_back(e.data());
        envp.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        if (posix_spawn(&pid_, VITALS_BINARY, &actions, nullptr, argv.data(), envp.data()) != 0)
            throw std::runtime_error("cannot start vitals");
        posix_spawn_file_actions_destroy(&actions);
        const auto until = Clock::now() + 10s;
        while (Clock::now() < until && port_ == 0) {
            std::ifstream in(log_);
            std::string line;
            while (std::getline(in, line)) {
                if (line.find("\"event\":\"start\"") == std::string::npos) continue;
                const std::string listen = nlohmann::json::parse(line)["listen"];
                port_ = static_cast<std::uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1)));
            }
            std::this_thread::sleep_for(20ms);
        }
        if (port_ == 0) throw std::runtime_error("vitals did not start; see " + log_);
    }
    ~Vitals() {
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    std::uint16_t port() const { return port_; }
    bool alive() const { return ::kill(pid_, 0) == 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }
    int fds() const {
        int n = 0;
        DIR* d = ::opendir(("/proc/" + std::to_string(pid_) + "/fd").c_str());
        if (d == nullptr) return -1;
        while (const dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') ++n;
        ::closedir(d);
        return n;
    }
    int threads() const { return status_field("Threads:"); }
    int rss_kib() const { return status_field("VmRSS:"); }
    // User + system CPU time so far, in seconds.
    double cpu_seconds() const {
        std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::istringstream fields(text.substr(text.rfind(')') + 2));
        std::string f;
        double ticks = 0;
        for (int i = 3; i <= 15 && fields >> f; ++i)
            if (i == 14 || i == 15) ticks += std::stod(f);
        return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
    }

  private:
    int status_field(const std::string& name) const {
        std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
        std::string line;
        while (std::getline(in, line))
            if (line.rfind(name, 0) == 0) return std::stoi(line.substr(name.size()));
        return -1;
    }
    std::string log_;
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

// Probes all the time, as kubelet (a new connection per probe, /readyz and /livez) and a
// monitor on a kept connection (/health) would; the latencies of each window are collected.
class ProbeLoad {
  public:
    explicit ProbeLoad(std::uint16_t port) : port_(port) {
        threads_.emplace_back([this] {
            const char* paths[] = {"/readyz", "/livez", "/startupz"};
            for (int i = 0; !stop_; ++i) {
                record(get(port_, paths[i % 3]));
                std::this_thread::sleep_for(2ms);
            }
        });
        threads_.emplace_back([this] {
            auto client = std::make_unique<RawClient>(port_);
            while (!stop_) {
                const auto started = Clock::now();
                RawReply r;
                if (client->send("GET /health HTTP/1.1\r\nHost: monitor\r\n\r\n"))
                    r = client->read_response(2s);
                r.total_seconds = seconds_since(started);
                record(r);
                if (!r.ok) client = std::make_unique<RawClient>(port_);
                std::this_thread::sleep_for(2ms);
            }
        });
    }
    ~ProbeLoad() {
        stop_ = true;
        for (auto& t : threads_)
            t.join();
    }
    struct Window {
        std::size_t probes = 0, unanswered = 0;
        double p99_ms = 0, max_ms = 0;
    };
    // What the probes saw since the last call.
    Window take() {
        std::vector<double> ms;
        Window w;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            ms.swap(ms_);
            w.unanswered = unanswered_;
            unanswered_ = 0;
        }
        w.probes = ms.size() + w.unanswered;
        if (!ms.empty()) {
            std::sort(ms.begin(), ms.end());
            w.p99_ms = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
            w.max_ms = ms.back();
        }
        return w;
    }

  private:
    void record(const RawReply& r) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (r.ok && (r.status == 200 || r.status == 503))
            ms_.push_back(r.total_seconds * 1000);
        else
            ++unanswered_;
    }
    std::uint16_t port_;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::vector<double> ms_;
    std::size_t unanswered_ = 0;
    std::vector<std::thread> threads_;
};

inline std::string status_of(std::uint16_t port, const std::string& check) {
    const RawReply r = get(port, "/health");
    if (!r.ok) return "unanswered";
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("checks") || !j["checks"].contains(check)) return "missing";
    return j["checks"][check].value("status", "missing");
}

// Seconds until `check` shows `status` (polled every 50 ms), or -1 after `limit`.
inline double seconds_until(std::uint16_t port, const std::string& check, const std::string& status,
                            std::chrono::seconds limit) {
    const auto started = Clock::now();
    while (Clock::now() - started < limit) {
        if (status_of(port, check) == status) return seconds_since(started);
        std::this_thread::sleep_for(50ms);
    }
    return -1;
}

struct Row {
    std::string fault, outcome;
    ProbeLoad::Window probes;
    bool passed;
};

class Table {
  public:
    ~Table() {
        std::ostringstream out;
        out << "\n"
            << std::left << std::setw(44) << "fault" << std::setw(62) << "outcome" << std::right
            << std::setw(8) << "probes" << std::setw(6) << "lost" << std::setw(10) << "p99 ms"
            << std::setw(10) << "max ms"
            << "  result\n";
        for (const Row& r : rows_) {
            out << std::left << std::setw(44) << r.fault << std::setw(62) << r.outcome << std::right
                << std::setw(8) << r.probes.probes << std::setw(6) << r.probes.unanswered
                << std::setw(10) << std::fixed << std::setprecision(2) << r.probes.p99_ms
                << std::setw(10) << r.probes.max_ms << "  " << (r.passed ? "pass" : "FAIL") << "\n";
        }
        std::cout << out.str() << std::flush;
    }
    void add(Row row) { rows_.push_back(std::move(row)); }

  private:
    std::vector<Row> rows_;
};

constexpr double kFlipLimit = 4.0;  // interval 1 s (+10% jitter) + timeout 1 s + slack
constexpr double kProbeP99Limit = 50.0;

inline std::string fmt(double seconds) {
    if (seconds < 0) return "never";
    std::ostringstream s;
    s << std::fixed << std::setprecision(1) << seconds << " s";
    return s.str();
}

// Opens PostgreSQL connections until the server refuses one; they close with the object.
class ConnectionHog {
  public:
    explicit ConnectionHog(const std::string& url) {
        for (int i = 0; i < 200; ++i) {
            PGconn* c = PQconnectdb(url.c_str());
            if (PQstatus(c) != CONNECTION_OK) {
                refused_with_ = PQerrorMessage(c);
                PQfinish(c);
                break;
            }
            held_.push_back(c);
        }
    }
    ~ConnectionHog() {
        for (PGconn* c : held_)
            PQfinish(c);
    }
    std::size_t held() const { return held_.size(); }

  private:
    std::vector<PGconn*> held_;
    std::string refused_with_;
};

inline int raw_connect(std::uint16_t port, int rcvbuf = 0) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Every probe of the window answered, p99 within the suite's limit.
inline bool probes_ok(const ProbeLoad::Window& w) {
    return w.unanswered == 0 && w.p99_ms < kProbeP99Limit;
}

// The attacks on vitals' port (port_abuse.cpp), each a row of `table`.
void abuse_port(Vitals& vitals, ProbeLoad& load, Table& table);

}  // namespace vitals::fault
