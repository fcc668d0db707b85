// The redis check against a real redis-server started by the test.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "checks/builtin.hpp"
#include "support/make_check.hpp"
#include "support/net_fixtures.hpp"
#include "support/running_sidecar.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

TEST_CASE("redis: REDIS_URL alone gives a working check, the probe key is short-lived", "[redis]") {
    RedisServer redis;
    RunningSidecar sidecar(R"({"checks": {}})", builtin_registry(),
                           {{"VITALS_LISTEN", "127.0.0.1:0"},
                            {"REDIS_URL", redis.url("", 2)},
                            {"HOSTNAME", "web-7f9c"}});
    REQUIRE(sidecar.wait_for_status("redis", Status::ok));
    const json check = json::parse(get(sidecar.port(), "/health").body)["checks"]["redis"];
    CHECK(check["kind"] == "redis");
    const json& obs = check["observations"];
    CHECK(obs["used_memory_bytes"].get<double>() > 0);
    CHECK(obs["connected_clients"].get<double>() >= 1);
    CHECK(obs["maxclients"].get<double>() > 0);
    CHECK(obs.contains("roundtrip_seconds"));
    CHECK_FALSE(obs.contains("memory_used_ratio"));  // no maxmemory configured
    const int ttl = std::stoi(redis.cli("-n 2 PTTL vitals:probe:web-7f9c"));
    CHECK(ttl > 0);
    CHECK(ttl <= 10'000);
    CHECK(redis.cli("-n 0 EXISTS vitals:probe:web-7f9c") == "0");  // the URL's database was used
}

TEST_CASE("redis: CACHE_URL is used when REDIS_URL is absent", "[redis]") {
    RedisServer redis;
    const ConfigLoad load = load_config({{"CACHE_URL", redis.url()}}, "", builtin_registry());
    REQUIRE(load.config);
    REQUIRE(load.config->checks.size() == 1);
    CHECK(load.config->checks[0].name == "redis");
    CHECK(load.config->checks[0].check->run(Deadline::in(2s)).status == Status::ok);
}

TEST_CASE("redis: a full LRU cache is healthy, thrashing warns, noeviction refusing writes fails",
          "[redis]") {
    // allkeys-lru sits at maxmemory by design: once every pod went unready at 95%.
    RedisServer redis({"--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru"});
    auto check = make_check("redis", {{"url", redis.url()}});
    REQUIRE(check->run(Deadline::in(2s)).status == Status::ok);
    // Fill well past maxmemory: Redis evicts, the cache keeps working.
    redis.cli("EVAL \"for i=1,400 do redis.call('SET','fill:'..i,string.rep('x',16384)) end\" 0");
    CheckResult full = check->run(Deadline::in(2s));
    INFO(full.message);
    CHECK(observed(full, "memory_used_ratio") > 0.9);
    CHECK(observed(full, "evicted_keys_total") > 0);
    CHECK(full.status == Status::ok);
    // Thrashing: every lookup misses while keys are evicted (the working set does not fit).
    redis.cli(
        "EVAL \"for i=1,300 do redis.call('GET','gone:'..i); "
        "redis.call('SET','more:'..i,string.rep('x',16384)) end\" 0");
    const CheckResult thrash = check->run(Deadline::in(2s));
    INFO(thrash.message);
    CHECK(thrash.status == Status::warn);
    CHECK(thrash.message.find("hit ratio") == 0);
    CHECK(thrash.cause == Cause::shared);

    // noeviction at maxmemory: the probe's own SET is refused, and that fails.
    RedisServer strict({"--maxmemory", "2mb", "--maxmemory-policy", "noeviction"});
    auto strict_check = make_check("redis", {{"url", strict.url()}});
    strict.cli(
        "EVAL \"for i=1,400 do pcall(redis.call,'SET','fill:'..i,string.rep('x',16384)) end\" 0");
    const CheckResult refused = strict_check->run(Deadline::in(2s));
    INFO(refused.message);
    CHECK(refused.status == Status::fail);
    CHECK(refused.cause == Cause::shared);  // every pod alike: no pod is taken out for it
}

TEST_CASE("redis: stopped server fails within one interval + timeout, recovers after restart",
          "[redis]") {
    RedisServer redis;
    RunningSidecar sidecar(R"({"checks": {"cache": {"kind": "redis", "url": ")" + redis.url() +
                           R"(", "interval": "500ms", "timeout": "500ms"}}})");
    REQUIRE(sidecar.wait_for_status("cache", Status::ok));
    redis.stop();
    const auto stopped = std::chrono::steady_clock::now();
    REQUIRE(sidecar.wait_for_status("cache", Status::fail, 3s));
    CHECK(std::chrono::steady_clock::now() - stopped <
          1000ms + 550ms);  // interval (+10% jitter) + timeout
    CHECK(json::parse(get(sidecar.port(), "/health/cache").body)["message"].get<std::string>().find(
              "cannot connect") == 0);
    redis.start();
    REQUIRE(sidecar.wait_for_status("cache", Status::ok, 3s));
}

TEST_CASE("redis: a cache filling up to maxmemory warns, then fails", "[redis]") {
    RedisServer redis({"--maxmemory", "4mb", "--maxmemory-policy", "noeviction"});
    auto check = make_check("redis", {{"url", redis.url()}});
    const CheckResult empty = check->run(Deadline::in(2s));
    REQUIRE(empty.status == Status::ok);
    REQUIRE(has_observation(empty, "memory_used_ratio"));
    const double max = observed(empty, "maxmemory_bytes");
    // Fill with 64 KiB values until used memory passes 85% of maxmemory.
    int i = 0;
    CheckResult r = empty;
    while (observed(r, "memory_used_ratio") < 0.85 && i < 200) {
        redis.cli("SET filler:" + std::to_string(i++) + " " + std::string(64 * 1024, 'x'));
        r = check->run(Deadline::in(2s));
    }
    INFO("used " << observed(r, "used_memory_bytes") << " of " << max);
    CHECK(r.status == Status::warn);
    CHECK(r.message.find("of maxmemory") != std::string::npos);
    while (observed(r, "memory_used_ratio") < 0.96 && i < 400) {
        redis.cli("SET filler:" + std::to_string(i++) + " " + std::string(16 * 1024, 'x'));
        r = check->run(Deadline::in(2s));
        if (r.status == Status::fail) break;
    }
    CHECK(r.status == Status::fail);
}

TEST_CASE("redis: a wrong password fails without showing it", "[redis]") {
    RedisServer redis({"--requirepass", "right-secret"});
    CHECK(make_check("redis", {{"url", redis.url("right-secret")}})->run(Deadline::in(2s)).status ==
          Status::ok);
    RunningSidecar sidecar(R"({"checks": {"cache": {"kind": "redis", "url": ")" +
                           redis.url("hunter2-wrong") + R"(", "interval": "300ms"}}})");
    REQUIRE(sidecar.wait_for_status("cache", Status::fail));
    const std::string message =
        json::parse(get(sidecar.port(), "/health").body)["checks"]["cache"]["message"];
    CHECK(message.find("AUTH") == 0);
    for (const char* path : {"/health", "/health/cache", "/metrics", "/"}) {
        CHECK(get(sidecar.port(), path).body.find("hunter2") == std::string::npos);
    }
}

TEST_CASE("redis: a port that never answers fails at the deadline, probes stay fast", "[redis]") {
    Blackhole hole;
    auto check =
        make_check("redis", {{"url", "redis://127.0.0.1:" + std::to_string(hole.port()) + "/0"}});
    const auto started = std::chrono::steady_clock::now();
    const CheckResult r = check->run(Deadline::in(500ms));
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("no answer before the deadline") != std::string::npos);
    CHECK(took < 1500ms);

    RunningSidecar sidecar(R"({"checks": {"cache": {"kind": "redis", "url": "redis://127.0.0.1:)" +
                           std::to_string(hole.port()) +
                           R"(/0", "interval": "5s", "timeout": "1s"}}})");
    double worst = 0;
    for (int i = 0; i < 300; ++i)
        worst = std::max(worst, get(sidecar.port(), "/readyz").total_seconds);
    INFO("slowest /readyz " << worst * 1000 << " ms");
    CHECK(worst < 0.050);
    REQUIRE(sidecar.wait_for_status("cache", Status::fail, 3s));
}

TEST_CASE("redis: non-numeric databases and bad TLS options are configuration errors", "[redis]") {
    CHECK_THROWS_WITH(make_check("redis", {{"url", "redis://cache:6379/sessions"}}),
                      Catch::Contains("database number"));
    CHECK_THROWS_WITH(make_check("redis", {{"url", "rediss://cache:6380/0?ssl_cert_reqs=maybe"}}),
                      Catch::Contains("ssl_cert_reqs"));
    CHECK_THROWS_WITH(make_check("redis", {{"url", "rediss://cache:6380/0?ssl_keyfile=%2Fk.pem"}}),
                      Catch::Contains("ssl_keyfile needs ssl_certfile"));
}

TEST_CASE("redis: rediss:// verifies the chain and the host name, never falls back to plaintext",
          "[redis][tls]") {
    const std::string dir = make_temp_dir("redis-tls");
    make_certificate(dir, "server", "127.0.0.1", 30);
    make_certificate(dir, "other", "cache.internal", 30);
    RedisServer redis = RedisServer::with_tls(dir);
    const std::string ca = "ssl_ca_certs=" + dir + "/server.crt";
    const auto run = [](const std::string& url) {
        return make_check("redis", {{"url", url}})->run(Deadline::in(3s));
    };

    // The CA given as redis-py spells it: the whole check passes over TLS.
    const CheckResult ok = run(redis.url("", 3) + "?" + ca);
    INFO(ok.message);
    CHECK(ok.status == Status::ok);
    CHECK(observed(ok, "used_memory_bytes") > 0);
    CHECK(redis.cli("-n 3 DBSIZE") == "1");  // the probe key went to ?db's database over TLS

    // Without it, the system's CAs do not know this one: a clear reason, and how to fix it.
    const CheckResult untrusted = run(redis.url());
    CHECK(untrusted.status == Status::fail);
    CHECK_THAT(untrusted.message, Catch::Contains("does not verify") &&
                                      Catch::Contains("self-signed") &&
                                      Catch::Contains("ssl_ca_certs"));
    // ssl_cert_reqs=none (also Celery's CERT_NONE) takes the server as it is.
    CHECK(run(redis.url() + "?ssl_cert_reqs=none").status == Status::ok);
    CHECK(run(redis.url() + "?ssl_cert_reqs=CERT_NONE").status == Status::ok);

    // A certificate for another name: refused, unless the host name check is turned off.
    const std::string other_ca = "ssl_ca_certs=" + dir + "/other.crt";
    const std::string other_dir = make_temp_dir("redis-tls-named");
    shell("cp '" + dir + "/other.crt' '" + other_dir + "/server.crt' && cp '" + dir +
          "/other.key' '" + other_dir + "/server.key'");
    RedisServer named = RedisServer::with_tls(other_dir);
    const CheckResult wrong_name = run(named.url() + "?" + other_ca);
    CHECK(wrong_name.status == Status::fail);
    CHECK_THAT(wrong_name.message, Catch::Contains("not for 127.0.0.1"));
    CHECK(run(named.url() + "?" + other_ca + "&ssl_check_hostname=false").status == Status::ok);

    // A plaintext redis:// URL against the TLS port does not pass, nor does rediss:// against
    // a plaintext server: no fallback either way.
    CHECK(run("redis://127.0.0.1:" + std::to_string(redis.port())).status == Status::fail);
    RedisServer plain;
    const CheckResult downgrade = run("rediss://127.0.0.1:" + std::to_string(plain.port()));
    CHECK(downgrade.status == Status::fail);
    CHECK_THAT(downgrade.message, Catch::Contains("TLS"));
}

TEST_CASE("redis: a TLS server that never finishes the handshake is a timeout, not a hang",
          "[redis][tls]") {
    Blackhole hole;  // accepts, never answers
    const auto started = std::chrono::steady_clock::now();
    const CheckResult r =
        make_check("redis", {{"url", "rediss://127.0.0.1:" + std::to_string(hole.port())}})
            ->run(Deadline::in(500ms));
    CHECK(r.status == Status::fail);
    CHECK_THAT(r.message, Catch::Contains("deadline"));
    CHECK(std::chrono::steady_clock::now() - started < 2s);
}

namespace {

// A fake Redis on loopback that answers every connection by writing `reply_head`, then
// `stream_bytes` more in chunks of `chunk` bytes ('x', or `unit` repeated), one chunk every
// `pause` (until the client leaves).
class HostileRedis {
  public:
    HostileRedis(std::string reply_head, std::size_t stream_bytes, std::chrono::milliseconds pause,
                 std::size_t chunk = 64 * 1024, std::string unit = "")
        : listener_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        ::listen(listener_, 8);
        socklen_t len = sizeof addr;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([=] {
            const int fd = ::accept(listener_, nullptr, nullptr);
            if (fd < 0) return;
            char buffer[4096];
            (void)::recv(fd, buffer, sizeof buffer, 0);  // PING
            bool ok = ::send(fd, reply_head.data(), reply_head.size(), MSG_NOSIGNAL) > 0;
            const std::string block = unit.empty() ? std::string(chunk, 'x') : unit;
            for (std::size_t sent = 0; ok && sent < stream_bytes && !stop_; sent += chunk) {
                ok = ::send(fd, block.data(), block.size(), MSG_NOSIGNAL) > 0;
                std::this_thread::sleep_for(pause);
            }
            ::close(fd);
        });
    }
    ~HostileRedis() {
        stop_ = true;
        ::shutdown(listener_, SHUT_RDWR);
        ::close(listener_);
        thread_.join();
    }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

  private:
    int listener_;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

long rss_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

}  // namespace

TEST_CASE("redis: a 40 MB reply is cut off at the cap, not buffered whole", "[redis][hostile]") {
    HostileRedis server("$41943040\r\n", 41943040, 0ms);
    auto check = make_check("redis", {{"url", server.url()}});
    const long before = rss_kib();
    const CheckResult r = check->run(Deadline::in(3s));
    const long grown_kib = rss_kib() - before;
    INFO(r.message << "; RSS grew " << grown_kib << " KiB");
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("reply larger than 1024 KiB") != std::string::npos);
    CHECK(grown_kib < 8 * 1024);  // it once grew by the whole 40 MB
}

TEST_CASE("redis: a reply that drips in slowly ends at the deadline", "[redis][hostile]") {
    // 4 KiB every 200 ms: each read returns within the socket timeout, the whole never does.
    HostileRedis server("$1000000\r\n", 1000000, 200ms, 4096);
    auto check = make_check("redis", {{"url", server.url()}});
    const auto started = std::chrono::steady_clock::now();
    const CheckResult r = check->run(Deadline::in(1s));
    const auto took = std::chrono::steady_clock::now() - started;
    INFO(r.message);
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("before the deadline") != std::string::npos);
    CHECK(took < 2s);
}

TEST_CASE("redis: a malformed reply fails cleanly", "[redis][hostile]") {
    HostileRedis server("?garbage\r\n", 0, 0ms);
    auto check = make_check("redis", {{"url", server.url()}});
    const CheckResult r = check->run(Deadline::in(2s));
    INFO(r.message);
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("PING") == 0);
}

TEST_CASE("redis: an endless array of small elements is cut off at the cap", "[redis][hostile]") {
    // Each ":1" becomes a reply object while the buffer stays small: the cap counts bytes
    // received, so the objects cannot grow without bound either.
    std::string elements;
    for (int i = 0; i < 16 * 1024; ++i)
        elements += ":1\r\n";
    HostileRedis server("*100000000\r\n", 64 * 1024 * 1024, 0ms, elements.size(), elements);
    auto check = make_check("redis", {{"url", server.url()}});
    const long before = rss_kib();
    const CheckResult r = check->run(Deadline::in(3s));
    const long grown_kib = rss_kib() - before;
    INFO(r.message << "; RSS grew " << grown_kib << " KiB");
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("reply larger than 1024 KiB") != std::string::npos);
    CHECK(grown_kib < 64 * 1024);
}
