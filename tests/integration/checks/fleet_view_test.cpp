// The fleet view against a real Redis: three vitals processes (web v1 twice, a worker on v2)
// see each other, `vitals status --fleet` lists them, and the version skew warns after its
// limit and not before.
#include <catch2/catch.hpp>

#include <memory>
#include <thread>

#include "support/make_check.hpp"
#include "support/net_fixtures.hpp"
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/temp_file.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

json fleet_of(const VitalsPod& pod) {
    const RawReply r = get(pod.port, "/health/fleet");
    return r.ok ? json::parse(r.body, nullptr, false) : json();
}

}  // namespace

TEST_CASE("fleet view: every pod seen from any pod, and version skew warns after its limit",
          "[fleet]") {
    RedisServer redis;
    TempFile config(R"({"checks": {"fleet": {"kind": "fleet", "url": ")" + redis.url() +
                    R"(", "skew_after": "3s", "interval": "300ms"}}})");
    VitalsPod web1 = start_pod("web-7d9f8b6c4-aaaaa", config.path(), {{"APP_VERSION", "v1"}});
    VitalsPod web2 = start_pod("web-7d9f8b6c4-bbbbb", config.path(), {{"APP_VERSION", "v1"}});
    // Two pods, one version: ok, both listed with their fleet.
    json view;
    const auto both_seen = [&](const VitalsPod& from, std::size_t count) {
        for (int i = 0; i < 100; ++i) {
            view = fleet_of(from);
            if (view.is_object() && view.contains("details") &&
                view["details"].value("pods", json::array()).size() == count)
                return true;
            std::this_thread::sleep_for(100ms);
        }
        return false;
    };
    REQUIRE(both_seen(web2, 2));
    CHECK(view["status"] == "ok");
    CHECK(view["details"]["pods"][0]["fleet"] == "web");
    CHECK(view["details"]["pods"][0]["ready"] == true);

    // A worker on another version: the skew is seen at once, warned only after 3 s.
    const auto skew_seen_at = std::chrono::steady_clock::now();
    VitalsPod worker = start_pod("celery-worker-0", config.path(), {{"APP_VERSION", "v2"}});
    REQUIRE(both_seen(web1, 3));
    CHECK(view["details"].value("app_versions", "").find("v2 (celery-worker: 1)") !=
          std::string::npos);
    bool warned = false;
    for (int i = 0; i < 100 && !warned; ++i) {
        view = fleet_of(web1);
        warned = view.value("status", "") == "warn";
        if (!warned) std::this_thread::sleep_for(100ms);
    }
    REQUIRE(warned);
    const double after =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - skew_seen_at).count();
    CHECK(after >= 3.0);  // not before the limit
    CHECK(view["message"].get<std::string>().find("v1 (web: 2)") != std::string::npos);

    // `vitals status --fleet` lists every pod.
    const Finished status =
        run_binary({"status", "--fleet", "http://127.0.0.1:" + std::to_string(web1.port)}, {});
    INFO(status.out << status.err);
    CHECK(status.out.find("FLEET (3 pods") != std::string::npos);
    CHECK(status.out.find("celery-worker-0") != std::string::npos);
    CHECK(status.out.find("app versions differ") != std::string::npos);
}

TEST_CASE("fleet view: Redis unreachable warns and never fails", "[fleet]") {
    auto check =
        make_check("fleet", {{"url", "redis://127.0.0.1:" + std::to_string(closed_port()) + "/0"}});
    const CheckResult r = check->run(Deadline::in(2s));
    INFO(r.message);
    CHECK(r.status == Status::warn);
    CHECK(r.message.find("the fleet view is unavailable") == 0);
}
