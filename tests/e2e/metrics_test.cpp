// /metrics as Prometheus reads it: vitals watching every kind of dependency, each a real
// server; `promtool check metrics` (Debian's prometheus package) on what it serves, and a real
// Prometheus scraping it with the shipped alert rules and dashboard queries.
#include <catch2/catch.hpp>

#include <fstream>
#include <iostream>
#include <regex>
#include <set>

#include "support/net_fixtures.hpp"
#include "support/running_sidecar.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;

namespace {

// A free port for the statsd listener, then the servers of a Django deployment.
struct Ports {
    std::uint16_t statsd = free_udp_port();
};

std::string sidecar_config(const PostgresServer& pg, const PgBouncerServer& bouncer,
                           const RedisServer& redis, const MemcachedServer& memcached,
                           const GunicornServer& app, std::uint16_t statsd,
                           const std::string& rdap_url, const std::string& rdap_ca) {
    const std::string every = R"("interval": "1s", "timeout": "1s")";
    return R"({"checks": {
        "names": {"kind": "dns", "names": ["localhost"], )" +
           every + R"(},
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
        "sessions": {"kind": "memcached", "url": ")" +
           memcached.url() + R"(", )" + every + R"(},
        "broker": {"kind": "celery_broker", "url": ")" +
           redis.url("", 1) + R"(", )" + every + R"(},
        "workers": {"kind": "celery_workers", "url": ")" +
           redis.url("", 1) + R"(", "window": "1s", )" + every + R"(},
        "tasks": {"kind": "celery_tasks", "url": ")" +
           redis.url("", 1) + R"(", )" + every + R"(},
        "web": {"kind": "gunicorn", "url": ")" +
           app.url() + R"(", "statsd_listen": "127.0.0.1:)" + std::to_string(statsd) + R"(", )" +
           every + R"(},
        "assets": {"kind": "static", "url": ")" +
           app.url("/static/admin/css/base.css") + R"(", )" + every + R"(},
        "media": {"kind": "storage", "path": "/tmp", "expect_mount": false, )" +
           every + R"(},
        "site": {"kind": "domain", "domain": "shop.test", "rdap_url": ")" +
           rdap_url + R"(", "ca_file": ")" + rdap_ca + R"(", )" + every + R"(},
        "cert": {"kind": "tls", "host": "127.0.0.1", "port": )" +
           std::to_string(pg.port()) + R"(, "protocol": "postgres", )" + every + R"(},
        "nightly": {"kind": "heartbeat", "period": "1h", )" +
           every + R"(},
        "beat": {"kind": "beat", "url": ")" +
           pg.url() + R"(", )" + every + R"(},
        "fleet": {"kind": "fleet", "url": ")" +
           redis.url("", 2) + R"(", )" + every + R"(}}})";
}

// A registry's RDAP answer for shop.test, a year from expiry, in <dir>/www/domain/, with the
// certificate the server presents in <dir>/rdap.crt; returns <dir>.
std::string rdap_registry() {
    const std::string dir = make_temp_dir("rdap");
    make_certificate(dir, "rdap", "127.0.0.1", 30);
    const auto expires = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() +
                                                              std::chrono::hours(24 * 365));
    std::tm tm{};
    ::gmtime_r(&expires, &tm);
    char date[32];
    std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
    shell("mkdir -p '" + dir + "/www/domain'");
    std::ofstream(dir + "/www/domain/shop.test")
        << nlohmann::json{{"objectClassName", "domain"},
                          {"ldhName", "shop.test"},
                          {"events", {{{"eventAction", "expiration"}, {"eventDate", date}}}}};
    return dir;
}

// Every kind watching its real server: PostgreSQL with TLS and django-celery-beat's tables,
// pgBouncer, a Redis cache with maxmemory and LRU eviction (also the Celery broker, db 1)
// with a Celery worker, a memcached, Gunicorn sending statsd to vitals, an RDAP registry over
// HTTPS, and a heartbeat pinged once.
struct Stack {
    Ports ports;
    PostgresServer pg{20, 30};
    bool migrated = django_manage("migrate --noinput -v 0", pg.url()) == 0 &&
                    django_manage(
                        "shell -c \"from django_celery_beat.models import *; "
                        "hourly = IntervalSchedule.objects.create(every=1, "
                        "period='hours'); PeriodicTask.objects.create(name='tick', "
                        "task='shop.tick', interval=hourly)\"",
                        pg.url()) == 0;
    PgBouncerServer bouncer{pg, "transaction", 2};
    RedisServer redis{{"--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"}};
    MemcachedServer memcached;
    CeleryWorker worker{redis.url("", 1), "metrics"};
    GunicornServer app{2, ports.statsd, false};  // started once vitals listens for its statsd
    std::string rdap_dir = rdap_registry();
    HttpsFileServer rdap{rdap_dir + "/www", rdap_dir + "/rdap.crt", rdap_dir + "/rdap.key"};
    RunningSidecar sidecar{sidecar_config(pg, bouncer, redis, memcached, app, ports.statsd,
                                          rdap.url(), rdap_dir + "/rdap.crt")};

    Stack() {
        if (!migrated) throw std::runtime_error("django migrate failed");
        app.start();
    }
    // Sends requests through Gunicorn and pings the heartbeat, then waits until every check
    // has run since: their observations are in.
    bool traffic() {
        if (get(sidecar.port(), "/heartbeat/nightly").status != 200) return false;
        for (int i = 0; i < 5; ++i) {
            if (get(app.port(), "/").status != 200) return false;
        }
        const auto began = std::chrono::steady_clock::now();
        return sidecar.wait_until(
            [&](const Snapshot& s) {
                for (const CheckState& c : s.checks) {
                    if (!c.last_run_steady || *c.last_run_steady < began) return false;
                }
                return true;
            },
            30s);
    }
};

// Polls `ready` every 200 ms for up to `limit`; how long it took, or nullopt.
template <typename Predicate>
std::optional<double> seconds_until(Predicate ready, std::chrono::seconds limit) {
    const auto started = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - started < limit) {
        if (ready()) {
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                .count();
        }
        std::this_thread::sleep_for(200ms);
    }
    return std::nullopt;
}

std::string alert_state(const nlohmann::json& alerts, const std::string& name) {
    for (const auto& a : alerts) {
        if (a["labels"]["alertname"] == name) return a["state"];
    }
    return "";
}

}  // namespace

TEST_CASE("metrics: every kind against a real server, and promtool finds nothing to say",
          "[e2e][metrics]") {
    Stack stack;
    REQUIRE(stack.traffic());
    RunningSidecar& sidecar = stack.sidecar;
    // Every kind's families, waited for rather than assumed: on a loaded machine a check's
    // first run may end before its dependency answers (a Celery worker still starting), and
    // only its next run has numbers.
    const Registry registry = builtin_registry();
    const auto missing_kind = [&](const std::string& text) -> std::string {
        for (const auto& [kind, declared] : registry.kinds())
            if (text.find("\nvitals_" + kind + "_") == std::string::npos) return kind;
        return "";
    };
    std::string metrics;
    const auto all_in = seconds_until(
        [&] {
            metrics = get(sidecar.port(), "/metrics").body;
            return missing_kind(metrics).empty();
        },
        60s);
    INFO("a kind with no series: " << missing_kind(metrics));
    REQUIRE(all_in);
    const std::string file = make_temp_dir("metrics") + "/metrics.txt";
    std::ofstream(file) << metrics;
    const std::string said = capture("promtool check metrics < '" + file + "' 2>&1; echo exit=$?");
    INFO(said);
    CHECK(said == "exit=0");

    // Every answer of /health and /health/<check>, from every kind, validates against the
    // published schema (docs/schema), trusted (details, messages) and not.
    const std::string dir = make_temp_dir("schema");
    std::string checks_files;
    const auto health = nlohmann::json::parse(get(sidecar.port(), "/health").body);
    std::ofstream(dir + "/health.json") << health.dump();
    std::ofstream(dir + "/public.json") << get(sidecar.port(), "/health", "127.0.0.2").body;
    for (const auto& item : health["checks"].items()) {
        const std::string answer = dir + "/" + item.key() + ".json";
        std::ofstream(answer) << get(sidecar.port(), "/health/" + item.key()).body;
        checks_files += " '" + answer + "'";
    }
    const std::string validate = "python3 " + std::string(VITALS_TESTS_DIR) +
                                 "/e2e/validate_schema.py " + std::string(VITALS_TESTS_DIR) +
                                 "/../docs/schema ";
    const std::string health_said =
        capture(validate + "health.v1.schema.json '" + dir + "/health.json' '" + dir +
                "/public.json' 2>&1; echo exit=$?");
    INFO(health_said);
    CHECK(health_said == "exit=0");
    const std::string checks_said =
        capture(validate + "check.v1.schema.json" + checks_files + " 2>&1; echo exit=$?");
    INFO(checks_said);
    CHECK(checks_said == "exit=0");

    // Every kind's families went through promtool, not only the core's (waited for above).
    CHECK(metrics.find("\nprocess_resident_memory_bytes ") != std::string::npos);
    CHECK(metrics.find("\nprocess_open_fds ") != std::string::npos);
    CHECK(metrics.find(
              "vitals_gunicorn_request_duration_seconds_bucket{check=\"web\",le=\"+Inf\"}") !=
          std::string::npos);
}

TEST_CASE(
    "alerts: a real Prometheus runs the shipped rules, the cache alert fires and resolves, "
    "every dashboard panel returns series",
    "[e2e][metrics][prometheus]") {
    Stack stack;
    REQUIRE(stack.traffic());
    // The shipped rules, with every `for:` cut to 3 s so the test need not wait minutes; the
    // expressions are the ones that ship.
    const std::string monitoring = std::string(VITALS_TESTS_DIR) + "/../k8s/monitoring";
    const std::string rules = make_temp_dir("rules") + "/rules.yaml";
    std::ofstream(rules) << std::regex_replace(read_file(monitoring + "/rules.yaml"),
                                               std::regex("for: [0-9]+[smh]"), "for: 3s");
    PrometheusServer prometheus(stack.sidecar.port(), rules);

    // Scraped: rate() needs two samples of every counter.
    REQUIRE(seconds_until(
        [&] {
            const auto r = prometheus.query("rate(vitals_postgres_transactions_total[1m])");
            return r["status"] == "success" && !r["data"]["result"].empty();
        },
        30s));
    for (int i = 0; i < 5; ++i)
        REQUIRE(get(stack.app.port(), "/").status == 200);

    const auto dashboard = nlohmann::json::parse(read_file(monitoring + "/dashboard.json"));
    int queries = 0;
    for (const auto& panel : dashboard["panels"]) {
        for (const auto& target : panel["targets"]) {
            // The dashboard's variables, as Grafana fills them with "All".
            const std::string expr = std::regex_replace(
                target["expr"].get<std::string>(), std::regex("\\$(cluster|namespace|job)"), ".*");
            INFO(panel["title"] << ": " << expr);
            nlohmann::json r;
            const auto took = seconds_until(
                [&] {
                    r = prometheus.query(expr);
                    return r["status"] == "success" && !r["data"]["result"].empty();
                },
                20s);
            INFO(r.dump());
            CHECK(took);
            ++queries;
        }
    }
    CHECK(queries == static_cast<int>(dashboard["panels"].size()));

    // Healthy: no alert but the ones a test machine explains (a self-signed certificate
    // expires in 30 days, the hourly Beat task never ran) fires.
    CHECK(alert_state(prometheus.alerts(), "VitalsCacheDown").empty());
    CHECK(alert_state(prometheus.alerts(), "VitalsPodsNotReady").empty());

    stack.redis.stop();
    const auto fired = seconds_until(
        [&] { return alert_state(prometheus.alerts(), "VitalsCacheDown") == "firing"; }, 60s);
    REQUIRE(fired);
    stack.redis.start();
    const auto resolved = seconds_until(
        [&] { return alert_state(prometheus.alerts(), "VitalsCacheDown").empty(); }, 60s);
    CHECK(resolved);
    std::cout << "alerts: VitalsCacheDown fired " << *fired << " s after Redis stopped (for: 3s),"
              << " resolved " << resolved.value_or(-1) << " s after it was back\n";
}
