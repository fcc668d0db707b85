#include <catch2/catch.hpp>

#include <algorithm>

#include "checks/builtin.hpp"
#include "sidecar/config/config.hpp"
#include "sidecar/heartbeat/board.hpp"
#include "support/temp_file.hpp"

using namespace vitals;
using vitals::testing::TempFile;

namespace {

bool has_error(const ConfigErrors& errors, const std::string& pointer,
               const std::string& fragment) {
    return std::any_of(errors.begin(), errors.end(), [&](const ConfigError& e) {
        return e.pointer == pointer && e.message.find(fragment) != std::string::npos;
    });
}

std::string all_text(const ConfigErrors& errors) {
    std::string out;
    for (const auto& e : errors)
        out += e.text() + "\n";
    return out;
}

ConfigLoad load_text(const std::string& json, const Environment& env = {}) {
    TempFile file(json);
    return load_config(env, file.path(), builtin_registry());
}

class NoopCheck final : public Check {
  public:
    CheckResult run(const Deadline&) override { return CheckResult::ok(); }
};

// A registry with a kind that configures itself from DEMO_URL, as postgres does from DATABASE_URL.
Registry registry_with_env_kind() {
    Registry r = builtin_registry();
    CheckKind k;
    k.name = "demo";
    k.about = About::reach;
    k.default_groups = {"ready"};
    k.settings = {Setting::of("url", SettingType::url, "where").required()};
    k.make = [](const CheckContext&) { return std::make_unique<NoopCheck>(); };
    k.from_env = [](const Environment& env) -> std::optional<nlohmann::json> {
        const auto it = env.find("DEMO_URL");
        if (it == env.end()) return std::nullopt;
        return nlohmann::json{{"url", it->second}};
    };
    r.add(std::move(k));
    return r;
}

}  // namespace

TEST_CASE("no configuration at all gives working defaults", "[config]") {
    const ConfigLoad load = load_config({}, "", builtin_registry());
    REQUIRE(load.errors.empty());
    CHECK(load.config->listen.host == "0.0.0.0");
    CHECK(load.config->listen.port == 8686);
    CHECK(load.config->trusted.contains("127.0.0.1"));
    CHECK(load.config->trusted.contains("::1"));
    CHECK_FALSE(load.config->trusted.contains("10.0.0.1"));
    CHECK(load.config->http_threads == 1);
    CHECK(load.config->checks.empty());
}

TEST_CASE("a valid file configures checks with defaults filled in", "[config]") {
    const ConfigLoad load = load_text(R"({"listen": "127.0.0.1:9000", "checks": {
        "web": {"kind": "http", "url": "http://127.0.0.1:8000/", "interval": "5s", "timeout": "2s", "groups": ["live", "ready"]},
        "db_port": {"kind": "tcp", "host": "127.0.0.1", "port": 5432, "critical": false}}})");
    REQUIRE(load.errors.empty());
    const Config& c = *load.config;
    CHECK(c.listen.port == 9000);
    REQUIRE(c.checks.size() == 2);
    const auto web = std::find_if(c.checks.begin(), c.checks.end(),
                                  [](const CheckConfig& x) { return x.name == "web"; });
    REQUIRE(web != c.checks.end());
    CHECK(web->kind == "http");
    CHECK(web->policy.interval == Millis(5000));
    CHECK(web->policy.timeout == Millis(2000));
    CHECK(web->policy.groups == (kGroupLive | kGroupReady));
    CHECK(web->policy.critical);
    CHECK(web->described["expect_status"] == "200");
    const auto db = std::find_if(c.checks.begin(), c.checks.end(),
                                 [](const CheckConfig& x) { return x.name == "db_port"; });
    CHECK(db->policy.groups == kGroupReady);  // the kind's default
    CHECK_FALSE(db->policy.critical);
    CHECK(db->policy.timeout == Millis(3000));
}

TEST_CASE("every problem in a file is reported at once, each with its JSON pointer", "[config]") {
    const ConfigLoad load =
        load_text(R"({"listen": "nonsense", "trusted": ["10.0.0.0/99"], "colour": "blue",
      "checks": {
        "Bad Name": {"kind": "tcp", "host": "h", "port": 1},
        "web": {"kind": "http", "url": "http://x/", "interval": "5 seconds", "timeout": 3, "groups": ["alive"],
                "expect_status": 999, "typo_key": true},
        "port": {"kind": "tcp", "host": "h", "port": 70000},
        "mystery": {"kind": "ftp"},
        "nokind": {"host": "h"},
        "slow": {"kind": "tcp", "host": "h", "port": 1, "interval": "1s", "timeout": "2s"},
        "notweb": {"kind": "http", "url": "ftp://example.com/"}
      }})");
    REQUIRE_FALSE(load.config);
    const ConfigErrors& e = load.errors;
    INFO(all_text(e));
    CHECK(has_error(e, "/listen", "host:port"));
    CHECK(has_error(e, "/trusted/0", "CIDR"));
    CHECK(has_error(e, "/colour", "unknown setting"));
    CHECK(has_error(e, "/checks/Bad Name", "[a-z0-9_-]"));
    CHECK(has_error(e, "/checks/web/interval", "not a duration"));
    CHECK(has_error(e, "/checks/web/timeout", "duration string"));
    CHECK(has_error(e, "/checks/web/groups/0", "one of"));
    CHECK(has_error(e, "/checks/web/expect_status", "999 is not a status code (100-599)"));
    CHECK(has_error(e, "/checks/web/typo_key", "unknown setting"));
    CHECK(has_error(e, "/checks/port/port", "between 1 and 65535"));
    CHECK(has_error(e, "/checks/mystery/kind", "unknown check kind \"ftp\""));
    CHECK(has_error(e, "/checks/nokind/kind", "is required"));
    CHECK(has_error(e, "/checks/slow/timeout", "not be longer than interval"));
    CHECK(has_error(e, "/checks/notweb/url", "http:// or https://"));
    CHECK(e.size() == 14);
}

TEST_CASE("a kind's factory reports every setting it refuses, not only the first", "[config]") {
    HeartbeatBoard board;
    Services services;
    services.heartbeats = &board;
    TempFile file(R"({"checks": {
        "db": {"kind": "postgres", "url": "postgres://u:p@h/db", "connections_warn_ratio": 0.9,
               "connections_fail_ratio": 0.5, "xid_age_warn": 2000000000, "xid_age_fail": 1000},
        "site": {"kind": "domain", "domain": "b\u00fccher.de", "warn_days": 5, "fail_days": 10},
        "nightly": {"kind": "heartbeat", "cron": "0 3 * * *", "timezone": "Mars/Olympus",
                    "uuid": "not a uuid!"}
      }})");
    const ConfigLoad load = load_config({}, file.path(), builtin_registry(), services);
    REQUIRE_FALSE(load.config);
    const ConfigErrors& e = load.errors;
    INFO(all_text(e));
    CHECK(has_error(e, "/checks/db/connections_warn_ratio", "connections_fail_ratio"));
    CHECK(has_error(e, "/checks/db/xid_age_warn", "xid_age_fail"));
    CHECK(has_error(e, "/checks/site/domain", "ASCII"));
    CHECK(has_error(e, "/checks/site/fail_days", "warn_days"));
    CHECK(has_error(e, "/checks/nightly/timezone", "Mars/Olympus"));
    CHECK(has_error(e, "/checks/nightly/uuid", "UUID"));
    CHECK(e.size() == 6);
}

TEST_CASE("a short interval shrinks the default timeout instead of failing", "[config]") {
    const ConfigLoad load = load_text(
        R"({"checks": {"fast": {"kind": "tcp", "host": "h", "port": 1, "interval": "1s"}}})");
    REQUIRE(load.errors.empty());
    CHECK(load.config->checks[0].policy.timeout == Millis(1000));
}

TEST_CASE("unreadable and malformed files are errors naming the file", "[config]") {
    const ConfigLoad missing = load_config({}, "/nonexistent/vitals.json", builtin_registry());
    REQUIRE(missing.errors.size() == 1);
    CHECK(missing.errors[0].text().find("/nonexistent/vitals.json") == 0);
    const ConfigLoad broken = load_text("{\"checks\": {");
    REQUIRE(broken.errors.size() == 1);
    CHECK(broken.errors[0].message.find("not valid JSON") == 0);
    const ConfigLoad array = load_text("[]");
    CHECK_FALSE(array.config);
}

TEST_CASE("VITALS_* environment variables override the file, which overrides defaults",
          "[config]") {
    const std::string file = R"({"listen": "127.0.0.1:9000", "http_threads": 4})";
    const ConfigLoad from_file = load_text(file);
    REQUIRE(from_file.config);
    CHECK(from_file.config->listen.port == 9000);
    CHECK(from_file.config->http_threads == 4);

    const ConfigLoad from_env = load_text(file, {{"VITALS_LISTEN", "127.0.0.1:9100"},
                                                 {"VITALS_TRUSTED", "10.0.0.0/8, 127.0.0.1/32"}});
    REQUIRE(from_env.config);
    CHECK(from_env.config->listen.port == 9100);
    CHECK(from_env.config->http_threads == 4);
    CHECK(from_env.config->trusted.contains("10.2.3.4"));
    CHECK_FALSE(from_env.config->trusted.contains("127.0.0.2"));
}

TEST_CASE("bad environment values are errors naming the variable", "[config]") {
    const ConfigLoad load = load_config({{"VITALS_HTTP_THREADS", "many"}, {"VITALS_LISTEN", "x"}},
                                        "", builtin_registry());
    REQUIRE_FALSE(load.config);
    INFO(all_text(load.errors));
    CHECK(has_error(load.errors, "VITALS_HTTP_THREADS", "integer"));
    CHECK(has_error(load.errors, "/listen", "host:port"));
    const ConfigLoad range = load_config({{"VITALS_HTTP_THREADS", "64"}}, "", builtin_registry());
    CHECK(has_error(range.errors, "VITALS_HTTP_THREADS", "between 1 and 16"));
}

TEST_CASE("kinds add checks from the environment, the file overrides or disables them",
          "[config]") {
    const Registry registry = registry_with_env_kind();
    const Environment env = {{"DEMO_URL", "demo://user:hunter2@svc:1/"}};
    const ConfigLoad zero = load_config(env, "", registry);
    REQUIRE(zero.config);
    REQUIRE(zero.config->checks.size() == 1);
    CHECK(zero.config->checks[0].name == "demo");
    CHECK(zero.config->checks[0].origin == "environment");
    CHECK(zero.config->checks[0].policy.groups == kGroupReady);

    TempFile disabling(R"({"checks": {"demo": {"kind": "demo", "enabled": false}}})");
    const ConfigLoad off = load_config(env, disabling.path(), registry);
    REQUIRE(off.config);
    CHECK(off.config->checks.empty());

    TempFile overriding(
        R"({"checks": {"demo": {"kind": "demo", "url": "demo://other:2/", "interval": "1m"}}})");
    const ConfigLoad over = load_config(env, overriding.path(), registry);
    REQUIRE(over.config);
    REQUIRE(over.config->checks.size() == 1);
    CHECK(over.config->checks[0].policy.interval == Millis(60'000));
    CHECK(over.config->checks[0].origin == overriding.path());
}

TEST_CASE("every <NAME>_DATABASE_URL is a postgres check of its own, its role by its name",
          "[config]") {
    const Environment env = {
        {"DATABASE_URL", "postgres://app:pw@db:5432/shop"},
        {"REPLICA_DATABASE_URL", "postgres://app:pw@db-ro:5432/shop"},
        {"Analytics-2_DATABASE_URL", "postgresql://app:pw@olap/warehouse"},
        {"LEGACY_DATABASE_URL", "mysql://app:pw@old/shop"},   // not PostgreSQL: not ours
        {"VITALS_X_DATABASE_URL", "postgres://app:pw@db/x"},  // vitals' own namespace
        {"_DATABASE_URL", "postgres://app:pw@db/none"}};      // no name to give it
    const ConfigLoad load = load_config(env, "", builtin_registry());
    REQUIRE(load.config);
    std::map<std::string, std::string> roles;
    for (const CheckConfig& c : load.config->checks) {
        if (c.kind == "postgres") roles[c.name] = c.described.value("role", "");
    }
    CHECK(roles == std::map<std::string, std::string>{{"postgres", "primary"},
                                                      {"postgres_replica", "replica"},
                                                      {"postgres_analytics_2", "any"}});
    // The file's entry of the same name replaces the environment's.
    TempFile file(
        R"({"checks": {"postgres_replica": {"kind": "postgres", "url": "postgres://a@b/c", "role": "any"}}})");
    const ConfigLoad over = load_config(env, file.path(), builtin_registry());
    REQUIRE(over.config);
    for (const CheckConfig& c : over.config->checks) {
        if (c.name == "postgres_replica") {
            CHECK(c.origin == file.path());
            CHECK(c.described["role"] == "any");
        }
    }
}

TEST_CASE("the effective configuration never shows a password", "[config]") {
    const Registry registry = registry_with_env_kind();
    TempFile file(
        R"({"checks": {"web": {"kind": "http", "url": "http://admin:hunter2@127.0.0.1:8000/"}}})");
    const ConfigLoad load =
        load_config({{"DEMO_URL", "demo://user:s3cret@svc:1/"}}, file.path(), registry);
    REQUIRE(load.config);
    const std::string text = load.config->describe().dump(2);
    CHECK(text.find("hunter2") == std::string::npos);
    CHECK(text.find("s3cret") == std::string::npos);
    CHECK(text.find("http://admin:****@127.0.0.1:8000/") != std::string::npos);
    CHECK(text.find("\"interval\": \"10s\"") != std::string::npos);
}

TEST_CASE("a JSON syntax error names the place but does not quote the file", "[config]") {
    // Found by tests/fuzz/config_fuzz: the parser's message quoted what it last read, which
    // can be a URL's password a few characters before the mistake.
    const ConfigLoad broken = load_text(
        R"({"checks": {"db": {"kind": "postgres", "url": "postgres://u:hunter22@h/d" x}}})");
    REQUIRE(broken.errors.size() == 1);
    CHECK(broken.errors[0].message.find("line 1, column") != std::string::npos);
    CHECK(broken.errors[0].message.find("hunter22") == std::string::npos);
}

TEST_CASE("a kind may set its own default interval, and a check's own still wins", "[config]") {
    const ConfigLoad load = load_text(R"({"checks": {
        "media": {"kind": "storage", "path": "/tmp"},
        "quick": {"kind": "storage", "path": "/tmp", "interval": "5s"},
        "port": {"kind": "tcp", "host": "127.0.0.1", "port": 1}}})");
    REQUIRE(load.errors.empty());
    for (const CheckConfig& c : load.config->checks) {
        INFO(c.name);
        if (c.name == "media") CHECK(c.policy.interval == Millis(60'000));
        if (c.name == "quick") CHECK(c.policy.interval == Millis(5'000));
        if (c.name == "port") CHECK(c.policy.interval == Millis(10'000));
    }
}

TEST_CASE("values out of range, too large to be numbers, or absurdly nested are errors",
          "[config]") {
    {
        const ConfigLoad load = load_text(R"({"keepalive_timeout": "0s", "max_connections": 1})");
        INFO(all_text(load.errors));
        CHECK_FALSE(load.config);
        CHECK(has_error(load.errors, "/keepalive_timeout", ""));
        CHECK(has_error(load.errors, "/max_connections", ""));
    }
    {
        const ConfigLoad load = load_text(
            R"({"checks": {"x": {"kind": "tcp", "host": "127.0.0.1", "port": 1, "jitter": 1e400}}})");
        INFO(all_text(load.errors));
        CHECK_FALSE(load.config);
        REQUIRE(load.errors.size() == 1);
        CHECK(load.errors[0].message.find("not valid JSON") != std::string::npos);
    }
    {
        const ConfigLoad load = load_text(std::string(100'000, '[') + std::string(100'000, ']'));
        CHECK_FALSE(load.config);
        REQUIRE(load.errors.size() == 1);
        CHECK(load.errors[0].message.find("nests deeper than 64") != std::string::npos);
    }
}

TEST_CASE("a check in live is never shared across the fleet, however its kind defaults",
          "[config][fleet]") {
    // A worker pod's own worker: celery_workers pinging one destination counts for /livez.
    const ConfigLoad worker = load_config({{"CELERY_BROKER_URL", "redis://broker:6379/1"},
                                           {"VITALS_CELERY_DESTINATION", "celery@worker-0"}},
                                          "", builtin_registry());
    REQUIRE(worker.config);
    bool seen = false;
    for (const CheckConfig& c : worker.config->checks) {
        if (c.name == "celery_workers") {
            seen = true;
            CHECK_FALSE(c.policy.shared);
        }
        if (c.name == "celery_broker") CHECK(c.policy.shared);  // the queue is the fleet's
    }
    CHECK(seen);
    // Asked for by hand: a configuration error, not a silent wrong restart.
    TempFile file(R"({"checks": {"w": {"kind": "celery_workers", "url": "redis://b:6379/1",
                                        "groups": ["live"], "shared": true}}})");
    const ConfigLoad forced = load_config({}, file.path(), builtin_registry());
    REQUIRE_FALSE(forced.config);
    REQUIRE(forced.errors.size() == 1);
    CHECK(forced.errors[0].text().find("/checks/w/shared: a check in group live") !=
          std::string::npos);
}
