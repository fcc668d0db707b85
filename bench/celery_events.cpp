// What Celery's events cost vitals: a burst of 10,000 tasks' events (task-received,
// task-started, task-succeeded; 30,000 events in task.multi batches of 24, as a worker's
// event buffer flushes them) published on a real Redis, while two vitals processes watch the
// same broker: one with a celery_tasks check, one without. Prints, side by side, the CPU and
// resident memory each vitals used, how long the listener took to tally every event, and
// /readyz latency during the burst and at rest.
//   vitals_celery_events <vitals binary> [tasks]     (default 10000)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "checks/celery/celery.hpp"
#include "sidecar/clients/redis_client.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::uint16_t free_port() {
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&at), sizeof at);
    socklen_t len = sizeof at;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&at), &len);
    ::close(s);
    return ntohs(at.sin_port);
}

pid_t spawn(const std::vector<std::string>& args) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        std::vector<char*> argv;
        for (const std::string& a : args)
            argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        const int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 1);
        ::dup2(null, 2);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    return pid;
}

// One GET over a fresh connection; the status and body, or status 0.
std::pair<int, std::string> get(std::uint16_t port, const std::string& path) {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    at.sin_port = htons(port);
    if (::connect(s, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0) {
        ::close(s);
        return {0, ""};
    }
    const std::string request =
        "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    ::send(s, request.data(), request.size(), MSG_NOSIGNAL);
    // Read the head, then Content-Length bytes of body.
    std::string answer;
    char buf[65536];
    std::size_t need = std::string::npos;
    while (need == std::string::npos || answer.size() < need) {
        const ssize_t n = ::recv(s, buf, sizeof buf, 0);
        if (n <= 0) break;
        answer.append(buf, static_cast<std::size_t>(n));
        const auto head_end = answer.find("\r\n\r\n");
        if (need == std::string::npos && head_end != std::string::npos) {
            const auto length = answer.find("Content-Length: ");
            need = head_end + 4 +
                   (length != std::string::npos && length < head_end
                        ? static_cast<std::size_t>(std::atol(answer.c_str() + length + 16))
                        : 0);
        }
    }
    ::close(s);
    if (answer.size() < 12) return {0, ""};
    const auto body = answer.find("\r\n\r\n");
    return {std::atoi(answer.c_str() + 9),
            body == std::string::npos ? "" : answer.substr(body + 4)};
}

double metric(std::uint16_t port, const std::string& series) {
    const std::string text = get(port, "/metrics").second;
    const auto at = text.find("\n" + series + " ");
    return at == std::string::npos ? -1 : std::atof(text.c_str() + at + series.size() + 2);
}

struct Usage {
    double cpu_seconds = 0;
    double rss_mib = 0, peak_mib = 0;
};

Usage usage(pid_t pid) {
    Usage u;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; fields >> field; ++i) {
        if (i == 14) utime = std::stod(field);
        if (i == 15) {
            stime = std::stod(field);
            break;
        }
    }
    u.cpu_seconds = (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) u.rss_mib = std::stod(line.substr(6)) / 1024;
        if (line.rfind("VmHWM:", 0) == 0) u.peak_mib = std::stod(line.substr(6)) / 1024;
    }
    return u;
}

// /readyz latencies (ms) on `port` until `stop`.
std::vector<double> probe(std::uint16_t port, const std::atomic<bool>& stop) {
    std::vector<double> ms;
    while (!stop) {
        const auto t0 = Clock::now();
        get(port, "/readyz");
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return ms;
}

std::string percentiles(std::vector<double> ms) {
    if (ms.empty()) return "no probes";
    std::sort(ms.begin(), ms.end());
    char out[128];
    std::snprintf(out, sizeof out, "p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu probes)",
                  ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back(), ms.size());
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: vitals_celery_events <vitals binary> [tasks]\n");
        return 2;
    }
    const std::string vitals = argv[1];
    const int tasks = argc > 2 ? std::stoi(argv[2]) : 10000;
    const std::uint16_t redis_port = free_port();
    const pid_t redis = spawn({"redis-server", "--port", std::to_string(redis_port), "--bind",
                               "127.0.0.1", "--save", "", "--appendonly", "no"});
    const std::string broker = "redis://127.0.0.1:" + std::to_string(redis_port) + "/1";
    const std::string dir = "/tmp/vitals-bench-events";
    ::mkdir(dir.c_str(), 0755);
    const auto start_vitals = [&](const std::string& name, bool events, std::uint16_t port) {
        json checks = {{"broker", {{"kind", "celery_broker"}, {"url", broker}}}};
        // Run every 100 ms, so that the time to tally the burst is read to a tenth of a second.
        if (events)
            checks["tasks"] = {
                {"kind", "celery_tasks"}, {"url", broker}, {"top", 20}, {"interval", "100ms"}};
        std::ofstream(dir + "/" + name + ".json")
            << json{{"listen", "127.0.0.1:" + std::to_string(port)}, {"checks", checks}};
        return spawn({vitals, "--config", dir + "/" + name + ".json"});
    };
    const std::uint16_t with_port = free_port(), without_port = free_port();
    const pid_t with = start_vitals("with", true, with_port);
    const pid_t without = start_vitals("without", false, without_port);
    const auto cleanup = [&] {
        for (const pid_t p : {with, without, redis}) {
            ::kill(p, SIGTERM);
            ::waitpid(p, nullptr, 0);
        }
    };
    // Ready, and the listener subscribed.
    const auto until = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < until &&
           (metric(with_port, "vitals_celery_tasks_listening{check=\"tasks\"}") != 1 ||
            get(without_port, "/readyz").first != 200))
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (metric(with_port, "vitals_celery_tasks_listening{check=\"tasks\"}") != 1) {
        std::fprintf(stderr, "vitals did not start listening\n");
        cleanup();
        return 1;
    }
    // At rest.
    std::atomic<bool> stop{false};
    std::vector<double> rest_with, rest_without;
    {
        std::thread a([&] { rest_with = probe(with_port, stop); });
        std::thread b([&] { rest_without = probe(without_port, stop); });
        std::this_thread::sleep_for(std::chrono::seconds(3));
        stop = true;
        a.join();
        b.join();
    }
    // The burst.
    vitals::RedisClient publisher(*vitals::parse_url(broker),
                                  vitals::Deadline::in(std::chrono::seconds(5)));
    publisher.set_timeout(std::chrono::seconds(60));
    const Usage with_before = usage(with), without_before = usage(without);
    stop = false;
    std::vector<double> burst_with, burst_without;
    std::thread a([&] { burst_with = probe(with_port, stop); });
    std::thread b([&] { burst_without = probe(without_port, stop); });
    const auto began = Clock::now();
    json batch = json::array();
    const double t = 1.8e9;
    for (int i = 0; i < tasks; ++i) {
        const std::string id = "task-" + std::to_string(i);
        const std::string name = "shop.tasks.job_" + std::to_string(i % 50);
        batch.push_back({{"type", "task-received"},
                         {"uuid", id},
                         {"name", name},
                         {"hostname", "celery@bench"},
                         {"timestamp", t}});
        batch.push_back({{"type", "task-started"},
                         {"uuid", id},
                         {"hostname", "celery@bench"},
                         {"timestamp", t + 0.01}});
        batch.push_back({{"type", "task-succeeded"},
                         {"uuid", id},
                         {"runtime", 0.05},
                         {"hostname", "celery@bench"},
                         {"timestamp", t + 0.06}});
        if (batch.size() >= 24 || i == tasks - 1) {
            publisher.command(
                {"PUBLISH", "/1.celeryev/task.multi",
                 vitals::kombu_envelope(batch.dump(), "celeryev", "task.multi", json::object(), 1)},
                "PUBLISH");
            batch = json::array();
        }
    }
    const double published = std::chrono::duration<double>(Clock::now() - began).count();
    const double expected = 3.0 * tasks;
    double tallied = 0;
    while (Clock::now() - began < std::chrono::seconds(120) &&
           (tallied = metric(with_port, "vitals_celery_tasks_events{check=\"tasks\"}")) < expected)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const double all_in = std::chrono::duration<double>(Clock::now() - began).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    stop = true;
    a.join();
    b.join();
    const Usage with_after = usage(with), without_after = usage(without);
    std::printf("burst: %d tasks, %.0f events in task.multi batches of 24, published in %.2f s\n",
                tasks, expected, published);
    std::printf("celery_tasks tallied %.0f of them %.2f s after the first was published\n\n",
                tallied, all_in);
    std::printf("| | vitals with celery_tasks | vitals without |\n| --- | --- | --- |\n");
    std::printf("| CPU during the burst | %.3f s | %.3f s |\n",
                with_after.cpu_seconds - with_before.cpu_seconds,
                without_after.cpu_seconds - without_before.cpu_seconds);
    std::printf("| RSS before / after the burst | %.1f / %.1f MiB | %.1f / %.1f MiB |\n",
                with_before.rss_mib, with_after.rss_mib, without_before.rss_mib,
                without_after.rss_mib);
    std::printf("| /readyz at rest | %s | %s |\n", percentiles(rest_with).c_str(),
                percentiles(rest_without).c_str());
    std::printf("| /readyz during the burst | %s | %s |\n", percentiles(burst_with).c_str(),
                percentiles(burst_without).c_str());
    cleanup();
    return tallied >= expected ? 0 : 1;
}
