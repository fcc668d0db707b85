// /metrics as Prometheus' own tool reads it: vitals watching every kind of dependency, each a
// real server, and `promtool check metrics` (Debian's prometheus package) on what it serves.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>

#include "support/net_fixtures.hpp"
#include "support/running_sidecar.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;

TEST_CASE("metrics: every kind against a real server, and promtool finds nothing to say",
          "[e2e][metrics]") {
    PostgresServer pg(20, 30);  // TLS on, for the tls kind
    REQUIRE(django_manage("migrate --noinput -v 0", pg.url()) == 0);
    REQUIRE(django_manage("shell -c \"from django_celery_beat.models import *; "
                          "hourly = IntervalSchedule.objects.create(every=1, period='hours'); "
                          "PeriodicTask.objects.create(name='tick', task='shop.tick', "
                          "interval=hourly)\"",
                          pg.url()) == 0);
    PgBouncerServer bouncer(pg, "transaction", 2);
    RedisServer redis;
    CeleryWorker worker(redis.url("", 1), "metrics");
    const std::uint16_t statsd = free_udp_port();
    GunicornServer app(2, statsd, false);  // started once vitals listens for its statsd
    const std::string every = R"("interval": "1s", "timeout": "1s")";
    RunningSidecar sidecar(R"({"checks": {
        "port": {"kind": "tcp", "host": "127.0.0.1", "port": )" +
                           std::to_string(app.port()) + ", " + every + R"(},
        "page": {"kind": "http", "url": ")" +
                           app.url("/health/") + R"(", )" + every + R"(},
        "db": {"kind": "postgres", "url": ")" +
                           pg.url() + R"(", )" + every + R"(},
        "pooler": {"kind": "pgbouncer", "url": ")" +
                           bouncer.url("pgbouncer") + R"(", )" + every + R"(},
        "cache": {"kind": "redis", "url": ")" +
                           redis.url() + R"(", )" + every + R"(},
        "broker": {"kind": "celery_broker", "url": ")" +
                           redis.url("", 1) + R"(", )" + every + R"(},
        "workers": {"kind": "celery_workers", "url": ")" +
                           redis.url("", 1) + R"(", "window": "1s", )" + every + R"(},
        "web": {"kind": "gunicorn", "url": ")" +
                           app.url() + R"(", "statsd_listen": "127.0.0.1:)" +
                           std::to_string(statsd) + R"(", )" + every + R"(},
        "assets": {"kind": "static", "url": ")" +
                           app.url("/static/admin/css/base.css") + R"(", )" + every + R"(},
        "cert": {"kind": "tls", "host": "127.0.0.1", "port": )" +
                           std::to_string(pg.port()) + R"(, "protocol": "postgres", )" + every +
                           R"(},
        "nightly": {"kind": "heartbeat", "period": "1h", )" +
                           every + R"(},
        "beat": {"kind": "beat", "url": ")" +
                           pg.url() + R"(", )" + every + R"(}}})");
    app.start();
    REQUIRE(get(sidecar.port(), "/heartbeat/nightly").status == 200);
    for (int i = 0; i < 5; ++i)
        REQUIRE(get(app.port(), "/").status == 200);
    // Every check has run since the heartbeat and the requests: their observations are in.
    const auto began = std::chrono::steady_clock::now();
    REQUIRE(sidecar.wait_until(
        [&](const Snapshot& s) {
            for (const CheckState& c : s.checks) {
                if (!c.last_run_steady || *c.last_run_steady < began) return false;
            }
            return true;
        },
        30s));

    const std::string metrics = get(sidecar.port(), "/metrics").body;
    const std::string file = make_temp_dir("metrics") + "/metrics.txt";
    std::ofstream(file) << metrics;
    const std::string said = capture("promtool check metrics < '" + file + "' 2>&1; echo exit=$?");
    INFO(said);
    CHECK(said == "exit=0");

    // Every kind's families went through promtool, not only the core's.
    const Registry registry = builtin_registry();
    for (const auto& [kind, declared] : registry.kinds()) {
        INFO(kind);
        CHECK(metrics.find("\nvitals_" + kind + "_") != std::string::npos);
    }
    CHECK(metrics.find("\nprocess_resident_memory_bytes ") != std::string::npos);
    CHECK(metrics.find("\nprocess_open_fds ") != std::string::npos);
    CHECK(metrics.find(
              "vitals_gunicorn_request_duration_seconds_bucket{check=\"web\",le=\"+Inf\"}") !=
          std::string::npos);
}
