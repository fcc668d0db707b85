// The fault suite: the real vitals binary watching real PostgreSQL, Redis, RabbitMQ, a Celery
// worker and Gunicorn, under continuous probe load, while each dependency is stopped,
// restarted, blackholed or exhausted, and while vitals' own port is abused (slow-loris
// clients, slow readers of the largest response, 10,000 connections opened and dropped,
// 1,000 malformed requests). Asserted throughout: vitals answers every probe, probe p99
// stays under 50 ms, each status flips within interval + timeout and recovers, and file
// descriptors and threads return to where they started. Prints a table of every fault.
//
// Run by scripts/test directly (not through ctest, so its table is always shown):
//   build/test/tests/fault
#include <catch2/catch.hpp>

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

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) {
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
                HttpReply r;
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
    void record(const HttpReply& r) {
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

std::string status_of(std::uint16_t port, const std::string& check) {
    const HttpReply r = get(port, "/health");
    if (!r.ok) return "unanswered";
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("checks") || !j["checks"].contains(check)) return "missing";
    return j["checks"][check].value("status", "missing");
}

// Seconds until `check` shows `status` (polled every 50 ms), or -1 after `limit`.
double seconds_until(std::uint16_t port, const std::string& check, const std::string& status,
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

std::string fmt(double seconds) {
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

int raw_connect(std::uint16_t port, int rcvbuf = 0) {
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

}  // namespace

TEST_CASE("fault: vitals keeps answering through every fault, flips and recovers", "[fault]") {
    // 3,000 held connections need more descriptors than the usual soft limit of 1,024, for
    // this process and the vitals it starts (which inherits the limit).
    rlimit files{};
    ::getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, 8192);
    ::setrlimit(RLIMIT_NOFILE, &files);
    Table table;
    RedisServer redis;
    PostgresServer postgres(20);
    RabbitMqServer rabbit;
    auto worker = std::make_unique<CeleryWorker>(rabbit.url(), "fault");
    GunicornServer gunicorn(2);
    Blackhole hole;
    const std::string bh = std::to_string(hole.port());
    const std::string every = R"("interval": "1s", "timeout": "1s", "jitter": 0.1)";
    TempFile config(R"({"checks": {
      "postgres": {"kind": "postgres", "url": ")" +
                    postgres.url() + R"(", )" + every + R"(},
      "redis": {"kind": "redis", "url": ")" +
                    redis.url() + R"(", )" + every + R"(},
      "broker": {"kind": "celery_broker", "url": ")" +
                    rabbit.url() + R"(", )" + every + R"(},
      "workers": {"kind": "celery_workers", "url": ")" +
                    rabbit.url() + R"(", "window": "500ms", )" + every + R"(},
      "app": {"kind": "gunicorn", "url": ")" +
                    gunicorn.url("/") + R"(", "statsd_listen": "", )" + every + R"(},
      "hole_postgres": {"kind": "postgres", "url": "postgres://u:pw@127.0.0.1:)" +
                    bh + R"(/db", "critical": false, )" + every + R"(},
      "hole_redis": {"kind": "redis", "url": "redis://127.0.0.1:)" +
                    bh + R"(/0", "critical": false, )" + every + R"(},
      "hole_amqp": {"kind": "celery_broker", "url": "amqp://u:pw@127.0.0.1:)" +
                    bh + R"(//", "critical": false, )" + every + R"(},
      "hole_http": {"kind": "http", "url": "http://127.0.0.1:)" +
                    bh + R"(/", "critical": false, )" + every + R"(}
    }})");
    Vitals vitals(config.path());
    const std::uint16_t port = vitals.port();
    for (const char* check : {"postgres", "redis", "broker", "workers", "app"})
        REQUIRE(seconds_until(port, check, "ok", 30s) >= 0);
    std::this_thread::sleep_for(2s);  // every check has run a few times: the baseline
    const int fds_before = vitals.fds();
    const int threads_before = vitals.threads();
    ProbeLoad load(port);
    load.take();

    const auto probes_ok = [](const ProbeLoad::Window& w) {
        return w.unanswered == 0 && w.p99_ms < kProbeP99Limit;
    };
    // Stop a dependency, see `check` fail; restart it, see it recover.
    const auto stop_start = [&](const std::string& fault, const std::string& check,
                                const std::function<void()>& stop,
                                const std::function<void()>& start, double recover_limit,
                                const std::string& restarted = "restart") {
        stop();
        const double flip = seconds_until(port, check, "fail", 30s);
        start();
        const double back = seconds_until(port, check, "ok", 90s);
        const auto w = load.take();
        const bool passed =
            flip >= 0 && flip <= kFlipLimit && back >= 0 && back <= recover_limit && probes_ok(w);
        table.add(
            {fault,
             check + ": fail after " + fmt(flip) + ", ok " + fmt(back) + " after " + restarted, w,
             passed});
        CHECK(passed);
    };

    stop_start(
        "redis stopped, restarted", "redis", [&] { redis.stop(); }, [&] { redis.start(); },
        kFlipLimit);
    stop_start(
        "postgresql stopped, restarted", "postgres", [&] { postgres.stop(); },
        [&] { postgres.start(); }, kFlipLimit);
    stop_start(
        "rabbitmq stopped, restarted", "broker", [&] { rabbit.stop(); }, [&] { rabbit.start(); },
        kFlipLimit);
    {
        // The worker reconnects to the restarted broker on its own backoff.
        const double back = seconds_until(port, "workers", "ok", 90s);
        const auto w = load.take();
        const bool passed = back >= 0 && probes_ok(w);
        table.add({"celery worker after the broker restart",
                   "workers: ok again " + fmt(back) + " after the broker", w, passed});
        CHECK(passed);
    }
    stop_start(
        "celery worker killed, started again", "workers", [&] { worker->kill(); },
        [&] {
            worker.reset();
            worker = std::make_unique<CeleryWorker>(rabbit.url(), "fault");
        },
        kFlipLimit);
    stop_start(
        "gunicorn killed, started again", "app", [&] { gunicorn.kill(); },
        [&] { gunicorn.start(); }, kFlipLimit);
    {
        std::unique_ptr<ConnectionHog> hog;
        stop_start(
            "postgresql connections exhausted", "postgres",
            [&] { hog = std::make_unique<ConnectionHog>(postgres.url()); }, [&] { hog.reset(); },
            kFlipLimit, "release");
    }
    {
        // Blackholed from the start: each reports a failure within its deadline, every run.
        std::string outcome;
        bool all = true;
        for (const char* check : {"hole_postgres", "hole_redis", "hole_amqp", "hole_http"}) {
            const std::string s = status_of(port, check);
            all = all && s == "fail";
            outcome += std::string(check).substr(5) + " " + s + "  ";
        }
        const auto w = load.take();
        const bool passed = all && probes_ok(w);
        table.add({"blackholed postgres, redis, amqp, http", outcome, w, passed});
        CHECK(passed);
    }
    {
        // Slow-loris: 200 connections that send a request a byte at a time, never finishing.
        std::vector<int> loris;
        for (int i = 0; i < 200; ++i)
            if (const int fd = raw_connect(port); fd >= 0) loris.push_back(fd);
        const std::string request = "GET /health HTTP/1.1\r\nHost: slow\r\nX-Pad: ";
        for (std::size_t i = 0; i < 30; ++i) {
            for (const int fd : loris)
                (void)::send(fd, &request[i % request.size()], 1, MSG_NOSIGNAL);
            std::this_thread::sleep_for(100ms);
        }
        for (const int fd : loris)
            ::close(fd);
        const auto w = load.take();
        const bool passed = loris.size() == 200 && probes_ok(w) && vitals.alive();
        table.add({"200 slow-loris clients for 3 s", "vitals kept answering", w, passed});
        CHECK(passed);
    }
    {
        // Slow readers of the largest response: 10 connections with a 4 KiB receive buffer
        // that ask for the status page every 50 ms for 5 s and never read, so vitals' sends
        // hit EAGAIN (this Pistache busy-loops there, PROTOCOLS.md section 7) and its
        // pending output grows. Asserted: no busy loop, probes unaffected. Reported: memory.
        std::vector<int> readers;
        for (int i = 0; i < 10; ++i)
            if (const int fd = raw_connect(port, 4096); fd >= 0) readers.push_back(fd);
        const std::string request = "GET / HTTP/1.1\r\nHost: slow-reader\r\n\r\n";
        const int rss_before = vitals.rss_kib();
        int rss_peak = rss_before;
        const double cpu_before = vitals.cpu_seconds();
        const auto started = Clock::now();
        for (int round = 0; round < 100; ++round) {
            for (const int fd : readers)
                (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            rss_peak = std::max(rss_peak, vitals.rss_kib());
            std::this_thread::sleep_for(50ms);
        }
        const double cpu_share = (vitals.cpu_seconds() - cpu_before) / seconds_since(started);
        for (const int fd : readers)
            ::close(fd);
        const auto w = load.take();
        // The same 5 s with the probes alone: the difference is what the stuck sends cost.
        const double base_before = vitals.cpu_seconds();
        const auto base_started = Clock::now();
        std::this_thread::sleep_for(5s);
        const double base_share =
            (vitals.cpu_seconds() - base_before) / seconds_since(base_started);
        load.take();
        std::ostringstream outcome;
        outcome << std::fixed << std::setprecision(0) << "CPU " << cpu_share * 100 << "% vs "
                << base_share * 100 << "% probes alone; RSS " << rss_before / 1024 << " -> "
                << rss_peak / 1024 << " -> " << vitals.rss_kib() / 1024 << " MiB";
        const bool passed = readers.size() == 10 && cpu_share - base_share < 0.25 && probes_ok(w);
        table.add({"10 slow readers of the status page, 5 s", outcome.str(), w, passed});
        CHECK(passed);
    }
    {
        int opened = 0;
        for (int i = 0; i < 10000; ++i) {
            const int fd = raw_connect(port);
            if (fd < 0) continue;
            ++opened;
            ::close(fd);
        }
        const auto w = load.take();
        // A probe whose handshake the kernel dropped (a full listen queue) is answered only
        // after a 1 s SYN retransmit, or not at all: the slowest probe tells.
        const bool passed = opened == 10000 && probes_ok(w) && w.max_ms < 900 && vitals.alive();
        table.add({"10,000 connections opened and dropped",
                   std::to_string(opened) + " opened, vitals kept answering", w, passed});
        CHECK(passed);
    }
    {
        // 1,000 malformed requests, 100 of each kind, 100 connections at a time.
        const std::vector<std::pair<std::string, std::string>> kinds = {
            {"request line of 20 KiB", "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n"},
            {"5,000 header lines", "GET /livez HTTP/1.1\r\n" +
                                       [] {
                                           std::string h;
                                           for (int i = 0; i < 5000; ++i)
                                               h += "X-" + std::to_string(i) + ": y\r\n";
                                           return h;
                                       }() +
                                       "\r\n"},
            {"HTTP/9.9", "GET /livez HTTP/9.9\r\nHost: x\r\n\r\n"},
            {"unknown method", "BREW /readyz HTTP/1.1\r\nHost: x\r\n\r\n"},
            {"path traversal", "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"},
            {"header without colon", "GET /livez HTTP/1.1\r\nHost x\r\n\r\n"},
            {"heartbeat body over 1 KiB",
             "POST /heartbeat/nope/fail HTTP/1.1\r\nHost: x\r\n"
             "Content-Length: 4000\r\n\r\n" +
                 std::string(4000, 'x')},
            {"binary garbage",
             std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15)},
            {"NUL bytes in the path", std::string("GET /live\0z HTTP/1.1\r\n\r\n", 24)},
            {"Content-Length: -5", "POST /heartbeat/x HTTP/1.1\r\nContent-Length: -5\r\n\r\n"},
        };
        std::map<std::string, std::map<std::string, int>> answers;  // kind -> "4xx"... -> count
        for (const auto& [name, request] : kinds) {
            std::vector<std::unique_ptr<RawClient>> clients;
            for (int i = 0; i < 100; ++i) {
                clients.push_back(std::make_unique<RawClient>(port));
                clients.back()->send(request);
            }
            for (auto& c : clients) {
                const HttpReply r = c->read_response(8s);
                const std::string key = r.ok ? std::to_string(r.status / 100) + "xx" : "closed";
                ++answers[name][key];
            }
        }
        const auto w = load.take();
        bool passed = probes_ok(w) && vitals.alive();
        std::string outcome;
        for (const auto& [name, counts] : answers) {
            for (const auto& [key, n] : counts) {
                outcome += outcome.empty() ? "" : ", ";
                outcome += name + ": " + std::to_string(n) + "x " + key;
                // 5xx is a server bug, except Pistache's own 500 for a negative
                // Content-Length, which it sends before vitals sees the request (README).
                if (key == "5xx" && name != "Content-Length: -5") passed = false;
                if (key == "2xx") passed = false;
            }
        }
        std::cout << "malformed requests: " << outcome << "\n";
        table.add({"1,000 malformed requests (10 kinds)",
                   "no 2xx, no crash; 5xx only Pistache's -5 length", w, passed});
        CHECK(passed);
    }
    {
        // 3,000 connections that each finished a request and then sent most of a second one
        // (3.5 KiB, under the 4 KiB request limit), and hold it: what memory that costs, and
        // that vitals lets go of them within keepalive_timeout (10 s) while probes go on.
        const int held_target = files.rlim_cur >= 7000 ? 3000 : 400;
        const int rss_before = vitals.rss_kib();
        std::vector<int> held;
        const std::string first = "GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        const std::string half =
            "GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + std::string(3500, 'a');
        for (int i = 0; i < held_target; ++i) {
            const int fd = raw_connect(port);
            if (fd < 0) break;
            (void)::send(fd, first.data(), first.size(), MSG_NOSIGNAL);
            held.push_back(fd);
        }
        char buffer[4096];
        int refused = 0;  // over max_connections (1,024): 503 and closed at once
        for (const int fd : held) {
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);  // the first answer
            if (n > 12 && std::string_view(buffer, 12) == "HTTP/1.1 503") ++refused;
            (void)::send(fd, half.data(), half.size(), MSG_NOSIGNAL);
        }
        std::this_thread::sleep_for(1s);
        const int rss_held = vitals.rss_kib();
        // Then wait for vitals to close every one (a read returns 0, or an error).
        const auto started = Clock::now();
        std::size_t closed = 0;
        for (const int fd : held) {
            timeval wait{20, 0};
            ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
            if (::recv(fd, buffer, sizeof buffer, 0) <= 0) ++closed;
        }
        const double took = seconds_since(started);
        for (const int fd : held)
            ::close(fd);
        const auto w = load.take();
        std::ostringstream outcome;
        outcome << held.size() << " tried, " << refused << " over the cap; RSS "
                << rss_before / 1024 << " -> " << rss_held / 1024 << " MiB; all closed in "
                << std::fixed << std::setprecision(1) << took << " s";
        // The cap refused what was over it. Not exactly held_target - 1,024: on a slow run
        // (ASan) early connections reach their keep-alive end and free their places.
        const bool capped = held_target < 1024 || refused > 0;
        const bool passed = static_cast<int>(held.size()) == held_target && capped &&
                            closed == held.size() && took < 15 && probes_ok(w) && vitals.alive() &&
                            // What the held connections cost, well within the manifests' 64 MiB
                            // (growth, not the total: under ASan the total is 500+ MiB).
                            rss_held - rss_before < 48 * 1024;
        table.add({std::to_string(held_target) + " connections holding half a request",
                   outcome.str(), w, passed});
        CHECK(passed);
    }
    {
        // Every connection closed: descriptors and threads come back to where they started.
        int fds = -1;
        const auto until = Clock::now() + 15s;
        while (Clock::now() < until) {
            fds = vitals.fds();
            if (fds <= fds_before) break;
            std::this_thread::sleep_for(200ms);
        }
        const int threads = vitals.threads();
        const auto w = load.take();
        const bool passed = fds <= fds_before && threads == threads_before && vitals.alive();
        table.add({"resources after every fault",
                   "fds " + std::to_string(fds_before) + " -> " + std::to_string(fds) +
                       ", threads " + std::to_string(threads_before) + " -> " +
                       std::to_string(threads),
                   w, passed});
        CHECK(passed);
    }
}
