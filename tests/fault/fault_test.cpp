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

#include <algorithm>
#include <iomanip>
#include <sstream>
#include <thread>

#include "fault/harness.hpp"
#include "support/net_fixtures.hpp"
#include "support/servers.hpp"
#include "support/temp_file.hpp"

using namespace vitals;
using namespace vitals::fault;
using namespace vitals::testing;
using namespace std::chrono_literals;

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
    abuse_port(vitals, load, table);
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
