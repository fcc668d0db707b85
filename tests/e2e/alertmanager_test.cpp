// One outage, one page: 1 and 5 vitals processes (the binary) scraped by a real Prometheus
// running the shipped rules, alerting a real Alertmanager running the shipped inhibit rules,
// whose webhook notifications are counted. Redis stopped: the cache pages once, whatever the
// number of pods; the broker check blocked by it and the pods' readiness are held back. The
// broker stopped: the broker pages, the workers' ping through it is held back. PostgreSQL
// stopped: the database pages, beat (reading it) is held back.
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "support/net_fixtures.hpp"
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/temp_file.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kMonitoring = std::string(VITALS_TESTS_DIR) + "/../k8s/monitoring";

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The shipped rules with minutes read as seconds (2m -> 2s, 5m -> 5s): the same expressions
// and the same order of `for:`, in a test's time.
std::string quick_rules() {
    return std::regex_replace(read_text(kMonitoring + "/rules.yaml"),
                              std::regex("for: ([0-9]+)[mh]"), "for: $1s");
}

// The shipped fragment in an Alertmanager configuration: its route under the root route
// (the root may not have matchers), its inhibit rules as they are, a webhook receiver.
std::string alertmanager_config() {
    const std::string shipped = read_text(kMonitoring + "/alertmanager.yaml");
    std::istringstream lines(shipped.substr(shipped.find("\nroute:\n") + 8));
    std::string route;
    std::string line;
    bool first = true;
    while (std::getline(lines, line) && line.rfind("  ", 0) == 0) {
        std::string entry = line.substr(2);
        entry = std::regex_replace(entry, std::regex("^receiver: .*"), "receiver: hook");
        entry = std::regex_replace(entry, std::regex("^(group_wait|group_interval): .*"), "$1: 1s");
        route += (first ? "    - " : "      ") + entry + "\n";
        first = false;
    }
    return "route:\n  receiver: hook\n  group_wait: 1s\n  group_interval: 1s\n"
           "  repeat_interval: 1h\n  routes:\n" +
           route + shipped.substr(shipped.find("\ninhibit_rules:") + 1) +
           "receivers:\n  - name: hook\n"
           "    webhook_configs: [{url: 'WEBHOOK_URL', send_resolved: true}]\n";
}

bool wait_for(const std::function<bool()>& ready, std::chrono::seconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (ready()) return true;
        std::this_thread::sleep_for(200ms);
    }
    return ready();
}

// Alertmanager's own view: each alert's name and whether it is held back.
std::map<std::string, std::string> alert_states(const AlertmanagerServer& am) {
    std::map<std::string, std::string> out;
    const json alerts =
        json::parse(capture("curl -s --max-time 5 http://127.0.0.1:" + std::to_string(am.port()) +
                            "/api/v2/alerts"),
                    nullptr, false);
    if (!alerts.is_array()) return out;
    for (const json& a : alerts)
        out[a["labels"].value("alertname", "") + "/" + a["labels"].value("check", "")] =
            a["status"].value("state", "");
    return out;
}

// What reached the webhook, firing or resolved: alertname/check -> labels.
std::map<std::string, json> notified(const AlertmanagerServer& am, const std::string& status) {
    std::map<std::string, json> out;
    for (const json& n : am.notifications())
        for (const json& a : n["alerts"])
            if (a["status"] == status)
                out[a["labels"].value("alertname", "") + "/" + a["labels"].value("check", "")] =
                    a["labels"];
    return out;
}

// One outage as the shipped rules and inhibit rules see it: `pods` vitals processes with
// `config`, scraped healthy; then `stop` takes a dependency away. The root check's alert
// (`root`, "alertname/check") must page, once, with no pod label; every alert in `held` must be
// suppressed by Alertmanager and never reach the webhook; at most one more (the deployment's
// readiness) may. After `start` the root's alert resolves. Returns how many alerts paged.
std::size_t pages_once(int count, const std::string& config_text, const std::string& root,
                       const std::vector<std::string>& held, const std::function<void()>& stop,
                       const std::function<void()>& start) {
    TempFile config(config_text);
    std::vector<VitalsPod> pods;
    std::vector<PrometheusServer::Target> targets;
    for (int i = 0; i < count; ++i) {
        pods.push_back(start_pod("web-" + std::to_string(i), config.path()));
        targets.push_back({pods.back().port, "shop", "web-" + std::to_string(i)});
    }
    AlertmanagerServer alertmanager(alertmanager_config());
    const std::string rules = make_temp_dir("rules") + "/rules.yaml";
    std::ofstream(rules) << quick_rules();
    PrometheusServer prometheus(targets, rules, alertmanager.port());
    const std::string root_check = root.substr(root.find('/') + 1);
    // Every pod scraped before the outage.
    REQUIRE(wait_for(
        [&] {
            const json r =
                prometheus.query("count(vitals_check_root{check=\"" + root_check + "\"})");
            return r["status"] == "success" && !r["data"]["result"].empty() &&
                   r["data"]["result"][0]["value"][1] == std::to_string(count);
        },
        30s));

    stop();
    // Prometheus fires them all; Alertmanager holds back the ones the root explains.
    const bool settled = wait_for(
        [&] {
            const auto states = alert_states(alertmanager);
            const auto state = [&](const std::string& key) {
                const auto it = states.find(key);
                return it == states.end() ? std::string() : it->second;
            };
            for (const std::string& key : held)
                if (state(key) != "suppressed") return false;
            return state(root) == "active" && notified(alertmanager, "firing").count(root) == 1;
        },
        90s);
    INFO(json(alert_states(alertmanager)).dump());
    REQUIRE(settled);
    const auto pages = notified(alertmanager, "firing");
    INFO(json(pages).dump());
    CHECK(pages.size() <= 2);
    CHECK(pages.count(root) == 1);
    for (const std::string& key : held)
        CHECK(pages.count(key) == 0);
    for (const auto& [key, labels] : pages)
        CHECK_FALSE(labels.contains("pod"));  // none once per pod

    start();
    CHECK(wait_for([&] { return notified(alertmanager, "resolved").count(root) == 1; }, 90s));
    return pages.size();
}

}  // namespace

TEST_CASE("alertmanager: Redis down pages once, with 1 pod and with 5", "[e2e][alertmanager]") {
    for (const int count : {1, 5}) {
        INFO(count << " pod(s)");
        RedisServer redis;
        const std::size_t pages = pages_once(
            count,
            R"({"checks": {
            "cache": {"kind": "redis", "url": ")" +
                redis.url() + R"(", "interval": "500ms", "groups": ["ready"]},
            "broker": {"kind": "celery_broker", "url": ")" +
                redis.url("", 1) + R"(", "queues": ["celery"], "interval": "500ms"}}})",
            "VitalsCacheDown/cache", {"VitalsBrokerDown/broker", "VitalsPodsNotReady/"},
            [&] { redis.stop(); }, [&] { redis.start(); });
        std::cout << "alertmanager: " << count << " pod(s), Redis stopped: " << pages
                  << " alert(s) notified\n";
    }
}

TEST_CASE("alertmanager: the broker down pages once, the workers' ping held back",
          "[e2e][alertmanager]") {
    RabbitMqServer rabbit;
    CeleryWorker worker(rabbit.url(), "alerts");
    const std::size_t pages = pages_once(
        2,
        R"({"checks": {
        "broker": {"kind": "celery_broker", "url": ")" +
            rabbit.url() + R"(", "queues": ["celery"], "interval": "500ms", "groups": ["ready"]},
        "workers": {"kind": "celery_workers", "url": ")" +
            rabbit.url() + R"(", "interval": "1s", "timeout": "900ms"}}})",
        "VitalsBrokerDown/broker", {"VitalsCheckFailing/workers", "VitalsPodsNotReady/"},
        [&] { rabbit.stop(); }, [&] { rabbit.start(); });
    std::cout << "alertmanager: 2 pods, RabbitMQ stopped: " << pages << " alert(s) notified\n";
}

TEST_CASE("alertmanager: PostgreSQL down pages once, beat and the pooler held back",
          "[e2e][alertmanager]") {
    PostgresServer postgres;
    REQUIRE(django_manage("migrate --noinput -v0", postgres.url()) == 0);
    PgBouncerServer bouncer(postgres, "transaction", 5);
    // beat reads the database the postgres check reaches (same endpoint); the pooler's check
    // names its server in configuration.
    const std::size_t pages = pages_once(
        2,
        R"({"checks": {
        "postgres": {"kind": "postgres", "url": ")" +
            postgres.url() + R"(", "interval": "500ms", "groups": ["ready"]},
        "beat": {"kind": "beat", "url": ")" +
            postgres.url() + R"(", "interval": "1s", "grace": "1h"},
        "pooler": {"kind": "pgbouncer", "url": ")" +
            bouncer.url("pgbouncer") + R"(", "interval": "1s", "depends_on": "postgres"}}})",
        "VitalsDatabaseDown/postgres", {"VitalsCheckFailing/beat", "VitalsPodsNotReady/"},
        [&] { postgres.stop(); }, [&] { postgres.start(); });
    std::cout << "alertmanager: 2 pods, PostgreSQL stopped: " << pages << " alert(s) notified\n";
}
