// vitals' port against hostile clients, on the real binary: connection floods from one
// source, peers that pipeline and never read, junk streams, a body past the size limit with a
// request hidden behind it, a SIGTERM while answers sit unread. Throughout, a probe on a new
// connection is answered (well under kubelet's 1 s timeout), the process lives, and its
// memory stays bounded.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "integration/sidecar/http/hostile_clients.hpp"
#include "support/net_fixtures.hpp"
#include "support/process.hpp"
#include "support/temp_file.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;

TEST_CASE("one source holding 1,100 connections takes no probe down", "[http][hostile]") {
    rlimit files{};
    ::getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, 4096);
    ::setrlimit(RLIMIT_NOFILE, &files);
    Vitals vitals(hostile_config());
    std::vector<int> held;
    int refused = 0;
    for (int i = 0; i < 1100; ++i) {
        const int fd = connect_from(vitals.port());
        if (fd < 0) break;
        held.push_back(fd);
        send_all(fd, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    }
    for (const int fd : held) {
        char head[12];
        if (::recv(fd, head, sizeof head, MSG_WAITALL) == 12 &&
            std::string_view(head, 12) == "HTTP/1.1 503")
            ++refused;
    }
    CHECK(held.size() == 1100);
    // A quarter of max_connections (1,024) per source: the rest were refused.
    CHECK(refused >= 1100 - 256);
    // Probes from that same source still pass: their paths are kept.
    for (const char* path : {"/livez", "/readyz", "/startupz", "/vitalz"}) {
        const RawReply r = probe(vitals.port(), path);
        CHECK(r.ok);
        CHECK(r.total_seconds * 1000 < kProbeLimitMs);
    }
    // Another source is not crowded out on any path.
    RawClient other(vitals.port(), "127.0.0.2");
    REQUIRE(other.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    const RawReply health = other.read_response(2s);
    CHECK(health.ok);  // its checks fail (closed ports), but it is no "too many connections"
    CHECK(health.body.find("\"checks\"") != std::string::npos);
    CHECK(health.body.find("too many connections") == std::string::npos);
    for (const int fd : held)
        ::close(fd);
    CHECK(vitals.alive());
}

TEST_CASE("a peer that pipelines and stops reading is let go, and the thread does not spin",
          "[http][hostile]") {
    Vitals vitals(hostile_config());
    REQUIRE(probe_answered(vitals.port()));
    Prober prober(vitals.port());
    // 2,300 requests for the largest answers, a small receive buffer, 16 KiB read.
    const int fd = connect_from(vitals.port(), "127.0.0.1", 4096);
    REQUIRE(fd >= 0);
    std::string pipeline;
    for (int i = 0; i < 2300; ++i)
        pipeline += i % 2 ? "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                          : "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    timeval tv{3, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    send_all(fd, pipeline);
    char buffer[16384];
    (void)::recv(fd, buffer, sizeof buffer, MSG_WAITALL);
    // Then nothing is read for 2 s, while the probes go on.
    std::this_thread::sleep_for(2s);
    prober.stop();
    // vitals has shut the connection: what the socket still holds ends in end-of-stream.
    const auto started = std::chrono::steady_clock::now();
    const std::string rest = read_until_closed(fd, 5s);
    CHECK(std::chrono::steady_clock::now() - started < 4s);
    ::close(fd);
    INFO("probes " << prober.probes() << ", lost " << prober.lost() << ", worst "
                   << prober.worst_ms() << " ms");
    CHECK(prober.probes() > 20);
    CHECK(prober.lost() == 0);
    CHECK(prober.worst_ms() < 500);
    CHECK(probe_answered(vitals.port()));
    CHECK(vitals.alive());
}

TEST_CASE("a fast pipelining sender that never reads costs bounded memory", "[http][hostile]") {
    Vitals vitals(hostile_config());
    REQUIRE(probe_answered(vitals.port()));
    const int rss_before = vitals.rss_mib();
    int rss_peak = rss_before;
    for (const std::size_t pad : {std::size_t{4000}, std::size_t{0}}) {
        // 4 KiB requests, then 35-byte ones, for 3 s each, answers never read.
        const std::string request =
            pad ? "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(pad, 'a') + "\r\n\r\n"
                : std::string("GET /livez HTTP/1.1\r\nHost: abc\r\n\r\n");
        std::string burst;
        while (burst.size() < 64 * 1024)
            burst += request;
        Prober prober(vitals.port());
        const int fd = connect_from(vitals.port());
        REQUIRE(fd >= 0);
        const auto until = std::chrono::steady_clock::now() + 3s;
        std::size_t sent = 0;
        while (std::chrono::steady_clock::now() < until) {
            const ssize_t n = ::send(fd, burst.data(), burst.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) sent += static_cast<std::size_t>(n);
            if (n < 0 && errno != EAGAIN) break;  // shut down by vitals
            if (n < 0) std::this_thread::sleep_for(1ms);
            rss_peak = std::max(rss_peak, vitals.rss_mib());
        }
        ::close(fd);
        prober.stop();
        INFO("pad " << pad << ": sent " << sent / 1024 << " KiB; probes " << prober.probes()
                    << ", lost " << prober.lost() << ", worst " << prober.worst_ms() << " ms");
        CHECK(prober.lost() == 0);
        CHECK(prober.worst_ms() < 500);
    }
    INFO("RSS " << rss_before << " -> " << rss_peak << " MiB");
    CHECK(rss_peak - rss_before < kGrowthLimitMiB);
    CHECK(vitals.alive());
}

TEST_CASE("two connections streaming junk are closed, and probes go on", "[http][hostile]") {
    Vitals vitals(hostile_config());
    std::atomic<bool> stop{false};
    std::atomic<int> closed{0};
    std::vector<std::thread> streams;
    for (int i = 0; i < 2; ++i) {
        streams.emplace_back([&, i] {
            std::mt19937 random(static_cast<unsigned>(i));
            std::string junk(64 * 1024, '\0');
            for (char& c : junk)
                c = static_cast<char>(random());
            const int fd = connect_from(vitals.port());
            while (!stop) {
                if (::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL) < 0) {
                    ++closed;
                    break;
                }
            }
            ::close(fd);
        });
    }
    for (int i = 0; i < 3; ++i) {
        const RawReply r = probe(vitals.port(), "/readyz");
        CHECK(r.ok);
        CHECK(r.total_seconds * 1000 < kProbeLimitMs);
    }
    // Both streams were cut off by vitals (a send failed), within a few seconds.
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (closed < 2 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(10ms);
    stop = true;
    for (auto& t : streams)
        t.join();
    CHECK(closed == 2);
    CHECK(vitals.alive());
}

TEST_CASE("a body past the limit is refused and what follows it never runs", "[http][hostile]") {
    Vitals vitals(hostile_config());
    const int fd = connect_from(vitals.port());
    REQUIRE(fd >= 0);
    send_all(fd, "POST /ping/nightly/log HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\n\r\n" +
                     std::string(12 * 1024, 'a') + std::string(4000, 'b') +
                     "GET /heartbeat/nightly/fail HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string answer = read_until_closed(fd);
    ::close(fd);
    CHECK(answer.rfind("HTTP/1.1 413", 0) == 0);
    CHECK(count(answer, "HTTP/1.1 ") == 1);  // one answer, then closed
    CHECK(answer.find("Connection: close") != std::string::npos);
    // The hidden request did not fail the heartbeat.
    const RawReply health = get(vitals.port(), "/health/nightly");
    REQUIRE(health.ok);
    CHECK(nlohmann::json::parse(health.body)["status"] != "fail");
}

TEST_CASE("two requests pipelined in one write get two answers", "[http][hostile]") {
    Vitals vitals(hostile_config());
    const int fd = connect_from(vitals.port());
    REQUIRE(fd >= 0);
    send_all(fd,
             "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /vitalz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string answers = read_until_closed(fd);
    ::close(fd);
    CHECK(count(answers, "HTTP/1.1 200") == 2);
}

TEST_CASE("the library's error answers are vitals': its headers, no exception text, closed",
          "[http][hostile]") {
    Vitals vitals(hostile_config());
    const std::vector<std::string> requests = {
        "GET /livez HTTP/1.1\r\nHost: x\r\nDate: not a date\r\n\r\n",
        "POST /ping/nightly HTTP/1.1\r\nHost: x\r\nContent-Length: 1e22\r\n\r\n",
        "POST /ping/nightly HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        "GET /livez HTTP/1.1\r\nHost: x:99999999\r\n\r\n",
        "POST /ping/nightly HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n\r\n",
        "GET /livez HTTP/9.9\r\nHost: x\r\n\r\n",
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15),
        "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n",
    };
    for (const std::string& request : requests) {
        INFO(request.substr(0, 80));
        const int fd = connect_from(vitals.port());
        REQUIRE(fd >= 0);
        send_all(fd, request);
        const std::string answer = read_until_closed(fd);
        ::close(fd);
        CHECK(answer.rfind("HTTP/1.1 4", 0) == 0);
        CHECK(answer.find("X-Content-Type-Options: nosniff") != std::string::npos);
        CHECK(answer.find("Content-Security-Policy: default-src 'none'") != std::string::npos);
        CHECK(answer.find("Cache-Control: no-store") != std::string::npos);
        CHECK(answer.find("Content-Type: application/json") != std::string::npos);
        CHECK(answer.find("Connection: close") != std::string::npos);
        for (const char* leak : {"stoull", "stoi", "bad_alloc", "exception", "what()"})
            CHECK(answer.find(leak) == std::string::npos);
    }
    CHECK(vitals.alive());
}

TEST_CASE("a percent-encoded token in the query is accepted", "[http][hostile]") {
    Vitals vitals(
        R"({"checks": {"nightly": {"kind": "heartbeat", "period": "1h", "token": "a b/c+d",
            "interval": "100ms"}}})");
    CHECK(get(vitals.port(), "/ping/nightly?token=a%20b%2Fc%2Bd").status == 200);
    CHECK(get(vitals.port(), "/ping/nightly?token=a%20b%2Fc%2Be").status == 401);
    CHECK(get(vitals.port(), "/ping/nightly?token=%zz").status == 401);
}

TEST_CASE("SIGTERM while a client holds unread answers: vitals exits within seconds",
          "[http][hostile]") {
    Vitals vitals(hostile_config());
    std::vector<int> readers;
    std::string pipeline;
    for (int i = 0; i < 200; ++i)
        pipeline += "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    for (int i = 0; i < 10; ++i) {
        const int fd = connect_from(vitals.port(), "127.0.0.1", 4096);
        REQUIRE(fd >= 0);
        (void)::send(fd, pipeline.data(), pipeline.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        readers.push_back(fd);
    }
    const auto started = std::chrono::steady_clock::now();
    vitals.process().signal(SIGTERM);
    const auto code = vitals.process().wait_exit(10s);
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    for (const int fd : readers)
        ::close(fd);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(took < 5);
}
