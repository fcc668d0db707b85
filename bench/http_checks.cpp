// The check path's cost of an http check: runs the built-in http kind N times in a row
// against a loopback server that answers every request with a small fixed response, and
// prints the CPU the checking thread used per 1,000 runs, the wall time per run, and the
// process's peak RSS. The probe path is not involved: checks run on their own threads.
//   vitals_http_checks [runs]     (default 1000)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "checks/builtin.hpp"
#include "sidecar/heartbeat/board.hpp"

namespace {

double thread_cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_THREAD, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long peak_rss_kib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
    const int runs = argc > 1 ? std::stoi(argv[1]) : 1000;
    // The server: accept, read the request head, answer, close.
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int one = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0 ||
        ::listen(listener, 128) != 0)
        return 1;
    socklen_t len = sizeof at;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&at), &len);
    std::atomic<bool> stop{false};
    std::thread server([&] {
        const std::string answer =
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
            "Connection: close\r\n\r\nok";
        while (!stop) {
            pollfd p{listener, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            const int c = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            std::string head;
            char buf[2048];
            while (head.find("\r\n\r\n") == std::string::npos) {
                const ssize_t n = ::recv(c, buf, sizeof buf, 0);
                if (n <= 0) break;
                head.append(buf, static_cast<std::size_t>(n));
            }
            (void)::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
            ::close(c);
        }
    });

    const vitals::Registry registry = vitals::builtin_registry();
    const vitals::CheckKind* kind = registry.find("http");
    vitals::ConfigErrors errors;
    const nlohmann::json settings = {
        {"url", "http://127.0.0.1:" + std::to_string(ntohs(at.sin_port)) + "/health/"}};
    const vitals::Params params =
        vitals::read_settings(settings, kind->settings, "bench", "", errors);
    vitals::HeartbeatBoard board;
    vitals::Services services;
    services.heartbeats = &board;
    auto check = kind->make(vitals::CheckContext{"bench", params, {}, services});

    int ok = 0;
    const double cpu_before = thread_cpu_seconds();
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < runs; ++i) {
        if (check->run(vitals::Deadline::in(std::chrono::seconds(2))).status == vitals::Status::ok)
            ++ok;
    }
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double cpu = thread_cpu_seconds() - cpu_before;
    stop = true;
    server.join();
    ::close(listener);
    std::printf("runs %d, ok %d\n", runs, ok);
    std::printf("check thread CPU per 1,000 runs: %.1f ms\n", cpu * 1000.0 / runs * 1000.0);
    std::printf("wall time per run: %.3f ms\n", wall * 1000.0 / runs);
    std::printf("peak RSS: %.1f MiB\n", static_cast<double>(peak_rss_kib()) / 1024.0);
    return ok == runs ? 0 : 1;
}
