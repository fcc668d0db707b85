// The fault suite's attacks on vitals' own port: slow readers of the largest answer, one
// source holding 1,100 connections, pipelining peers that stop reading, fast senders, junk
// streams, a smuggled request, 10,000 connections opened and dropped, malformed requests and
// thousands of half-sent requests. Each is a row of the table, with the probes' window.
#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <iomanip>
#include <sstream>
#include <thread>

#include "fault/harness.hpp"
#include "support/net_fixtures.hpp"

namespace vitals::fault {

using namespace vitals::testing;
using namespace std::chrono_literals;

namespace {

// How much RSS 3,000 connections each holding most of a request may add (MiB).
// The longest a probe may wait behind a burst of 100-10,000 connections (ms). The sanitized
// build frames and parses each malformed request several times slower (569 ms measured for
// the 5,000-header-line burst in CI under ASan, 2 cores), so it gets four times the bound.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kHeldGrowthLimitMiB = 96;
constexpr double kBurstProbeLimitMs = 2000;
#else
constexpr int kHeldGrowthLimitMiB = 48;
constexpr double kBurstProbeLimitMs = 500;
#endif

}  // namespace

void abuse_port(Vitals& vitals, ProbeLoad& load, Table& table) {
    const std::uint16_t port = vitals.port();
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
        // One source holding 1,100 keep-alive connections (each asked once): it gets its
        // quarter of max_connections; the probes from that same address are still answered.
        std::vector<int> held;
        for (int i = 0; i < 1100; ++i) {
            const int fd = raw_connect(port);
            if (fd < 0) break;
            const std::string request = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
            (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
            held.push_back(fd);
        }
        std::this_thread::sleep_for(3s);
        for (const int fd : held)
            ::close(fd);
        const auto w = load.take();
        const bool passed = held.size() == 1100 && probes_ok(w) && vitals.alive();
        table.add({"1,100 connections held by one source, 3 s", "probes answered from it too", w,
                   passed});
        CHECK(passed);
    }
    {
        // Pipelined requests for the largest answers, a 4 KiB receive buffer, then no reading
        // (this Pistache busy-looped its thread there) and fast senders of requests whose
        // answers are never read (4 KiB and 35-byte ones), and two junk streams: each
        // connection is let go; CPU and memory stay where they were.
        const int rss_before = vitals.rss_kib();
        int rss_peak = rss_before;
        const double cpu_before = vitals.cpu_seconds();
        const auto started = Clock::now();
        std::string pipeline;
        for (int i = 0; i < 2300; ++i)
            pipeline += i % 2 ? "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                              : "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        const std::string big =
            "GET /livez HTTP/1.1\r\nX-Pad: " + std::string(4000, 'a') + "\r\n\r\n";
        const std::string small = "GET /livez HTTP/1.1\r\nHost: abc\r\n\r\n";
        std::string junk(64 * 1024, '\0');
        for (std::size_t i = 0; i < junk.size(); ++i)
            junk[i] = static_cast<char>(i * 2654435761u >> 13);
        int let_go = 0;
        const std::vector<const std::string*> streams = {&pipeline, &big, &small, &junk, &junk};
        for (const std::string* stream : streams) {
            const int fd = raw_connect(port, stream == &pipeline ? 4096 : 0);
            std::string burst;
            while (burst.size() < 64 * 1024)
                burst += *stream;
            const auto until = Clock::now() + 2s;
            bool closed = false;
            while (Clock::now() < until && !closed) {
                const ssize_t n =
                    ::send(fd, burst.data(), burst.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
                closed = n < 0 && errno != EAGAIN && errno != EWOULDBLOCK;
                if (n < 0 && !closed) std::this_thread::sleep_for(5ms);
                rss_peak = std::max(rss_peak, vitals.rss_kib());
            }
            // Let go: what vitals sent ends in end-of-stream (or a reset) within 5 s. (A peer
            // still sending may see no error: vitals' side has stopped reading.)
            timeval wait{5, 0};
            ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
            char sink[65536];
            ssize_t got = 1;
            while (!closed && got > 0)
                got = ::recv(fd, sink, sizeof sink, 0);
            closed = closed || got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
            let_go += closed;
            ::close(fd);
        }
        const double cpu_share = (vitals.cpu_seconds() - cpu_before) / seconds_since(started);
        const auto w = load.take();
        std::ostringstream outcome;
        outcome << let_go << " of 5 let go; CPU " << std::fixed << std::setprecision(0)
                << cpu_share * 100 << "%; RSS " << rss_before / 1024 << " -> " << rss_peak / 1024
                << " MiB";
        const bool passed = let_go == 5 && rss_peak - rss_before < kHeldGrowthLimitMiB * 1024 &&
                            probes_ok(w) && vitals.alive();
        table.add({"pipelining non-readers, fast senders, junk", outcome.str(), w, passed});
        CHECK(passed);
    }
    {
        // A body past the 12 KiB cap with a request hidden after it: 413, the connection
        // closed, and the hidden request never runs.
        RawClient client(port);
        client.send(
            "POST /heartbeat/nope/fail HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\n\r\n" +
            std::string(16 * 1024, 'a') + "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n");
        const RawReply r = client.read_response(2s);
        const bool closed = client.closed_by_peer(2s);
        const auto w = load.take();
        const bool passed = r.ok && r.status == 413 && closed && probes_ok(w);
        table.add({"a body past the cap, a request behind it",
                   "413 " + std::string(closed ? "and closed" : "left open"), w, passed});
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
        // A probe that arrives in the middle of the burst queues behind the connections
        // accepted before it (up to the listen queue's max_connections), so this row bounds
        // the slowest probe rather than the p99 of a few: none lost, none near kubelet's
        // default 1 s timeout. With Pistache's own queue of 128 the kernel dropped probes'
        // handshakes instead, and they waited out a 1 s SYN retransmit or were lost.
        const bool passed =
            opened == 10000 && w.unanswered == 0 && w.max_ms < kBurstProbeLimitMs && vitals.alive();
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
                const RawReply r = c->read_response(8s);
                const std::string key = r.ok ? std::to_string(r.status / 100) + "xx" : "closed";
                ++answers[name][key];
            }
        }
        const auto w = load.take();
        // 100 connections opened at once per kind: a burst, which a probe may wait behind
        // (bounded as the 10,000-connection burst above is).
        bool passed = w.unanswered == 0 && w.max_ms < kBurstProbeLimitMs && vitals.alive();
        std::string outcome;
        for (const auto& [name, counts] : answers) {
            for (const auto& [key, n] : counts) {
                outcome += outcome.empty() ? "" : ", ";
                outcome += name + ": " + std::to_string(n) + "x " + key;
                // 5xx is a server bug: every malformed request is vitals' 4xx now, framed
                // before the library parses it.
                if (key == "5xx") passed = false;
                if (key == "2xx") passed = false;
            }
        }
        std::cout << "malformed requests: " << outcome << "\n";
        table.add({"1,000 malformed requests (10 kinds)", "no 2xx, no 5xx, no crash", w, passed});
        CHECK(passed);
    }
    {
        // 3,000 connections that each finished a request and then sent most of a second one
        // (11.5 KiB, under the 12 KiB request limit that a ping's 10 KB body needs), and hold
        // it: what memory that costs, and
        // that vitals lets go of them within keepalive_timeout (10 s) while probes go on.
        rlimit files{};
        ::getrlimit(RLIMIT_NOFILE, &files);
        const int held_target = files.rlim_cur >= 7000 ? 3000 : 400;
        const int rss_before = vitals.rss_kib();
        std::vector<int> held;
        // Not a probe path: over the caps, a probe is answered (then closed), this is refused.
        const std::string first = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        const std::string half =
            "GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + std::string(11'800, 'a');
        for (int i = 0; i < held_target; ++i) {
            const int fd = raw_connect(port);
            if (fd < 0) break;
            (void)::send(fd, first.data(), first.size(), MSG_NOSIGNAL);
            held.push_back(fd);
        }
        char buffer[4096];
        int refused = 0;  // over the source's share (256): 503 and closed at once
        for (const int fd : held) {
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);  // the first answer
            if (n > 0 && std::string_view(buffer, static_cast<std::size_t>(n))
                                 .find("too many connections") != std::string_view::npos)
                ++refused;
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
            // The rest of the first answer (a /health body may pass 4 KiB), then the close.
            ssize_t n = 1;
            while (n > 0)
                n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) ++closed;
        }
        const double took = seconds_since(started);
        for (const int fd : held)
            ::close(fd);
        const auto w = load.take();
        std::ostringstream outcome;
        outcome << held.size() << " tried, " << refused << " over the cap; RSS "
                << rss_before / 1024 << " -> " << rss_held / 1024 << " MiB; all closed in "
                << std::fixed << std::setprecision(1) << took << " s";
        // The cap refused what was over it. Not exactly held_target - 256: on a slow run
        // (ASan) early connections reach their keep-alive end and free their places.
        const bool capped = held_target < 256 || refused > 0;
        const bool passed = static_cast<int>(held.size()) == held_target && capped &&
                            closed == held.size() && took < 15 && probes_ok(w) && vitals.alive() &&
                            // What the held connections cost, well within the manifests' 64 MiB
                            // (growth, not the total: under ASan the total is 500+ MiB, and
                            // its redzones around each 12 KiB buffer double the growth:
                            // measured 53 MiB there against 17 MiB in the release build).
                            rss_held - rss_before < kHeldGrowthLimitMiB * 1024;
        table.add({std::to_string(held_target) + " connections holding half a request",
                   outcome.str(), w, passed});
        CHECK(passed);
    }
}

}  // namespace vitals::fault
