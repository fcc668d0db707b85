// vitals beside a real Gunicorn serving a real Django project, as in a pod.
#include <catch2/catch.hpp>

#include <thread>

#include "checks/builtin.hpp"
#include "support/net_fixtures.hpp"
#include "support/running_sidecar.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

json check_of(const RunningSidecar& sidecar, const std::string& name) {
    return json::parse(get(sidecar.port(), "/health/" + name).body);
}

double observation(const Snapshot& s, const std::string& check, const std::string& name) {
    for (const CheckState& c : s.checks) {
        if (c.name != check || !c.has_run()) continue;
        for (const Observation& o : c.last->observations) {
            if (o.name == name) return o.value;
        }
    }
    return -1;
}

// What the check judged over statsd's last minute (its details), -1 when absent.
double last_minute(const Snapshot& s, const std::string& check, const std::string& name) {
    for (const CheckState& c : s.checks) {
        if (c.name != check || !c.has_run()) continue;
        const auto& window = c.last->details["statsd_last_minute"];
        if (window.is_object() && window.contains(name)) return window[name].get<double>();
    }
    return -1;
}

std::string gunicorn_config(const GunicornServer& app, std::uint16_t statsd,
                            const std::string& extra = "", bool with_static = true) {
    std::string config = R"({"checks": {
        "web": {"kind": "gunicorn", "url": ")" +
                         app.url() + R"(", "statsd_listen": "127.0.0.1:)" + std::to_string(statsd) +
                         R"(", "interval": "300ms", "timeout": "300ms")" + extra + "}";
    if (with_static) {
        config += R"(, "assets": {"kind": "static", "url": ")" +
                  app.url("/static/admin/css/base.css") +
                  R"(", "interval": "300ms", "timeout": "300ms"})";
    }
    return config + "}}";
}

}  // namespace

TEST_CASE("e2e: VITALS_APP_URL alone checks Gunicorn and the static files", "[e2e]") {
    GunicornServer app(2);
    RunningSidecar sidecar(R"({"checks": {}})", builtin_registry(),
                           {{"VITALS_LISTEN", "127.0.0.1:0"},
                            {"VITALS_APP_URL", app.url()},
                            {"VITALS_STATSD_LISTEN", ""}});
    REQUIRE(sidecar.wait_for_status("gunicorn", Status::ok));
    REQUIRE(sidecar.wait_for_status("static", Status::ok));
    const json web = check_of(sidecar, "gunicorn");
    CHECK(web["groups"] == json::array({"live", "ready"}));
    CHECK(web["observations"]["status_code"] == 200);
    CHECK(web["observations"]["accept_backlog"] == 0);
    CHECK(web["observations"]["listen_sockets"] == 1);
    CHECK(web["observations"]["master_alive"] == 1);  // the test shares its process namespace
    CHECK(web["observations"]["worker_processes"] == 2);
    CHECK(check_of(sidecar, "static")["message"].get<std::string>().find("served as text/css") !=
          std::string::npos);
    CHECK(get(sidecar.port(), "/livez").status == 200);
    CHECK(get(sidecar.port(), "/readyz").status == 200);
}

TEST_CASE("e2e: requests through Gunicorn show up in the statsd numbers", "[e2e]") {
    // Plain statsd lines, and DogStatsD's with tags (a team that also feeds Datadog).
    const std::string tags = GENERATE(as<std::string>{}, "", "env:prod,service:shop");
    INFO("--dogstatsd-tags '" << tags << "'");
    const std::uint16_t statsd = free_udp_port();
    GunicornServer app(3, statsd, false);
    app.dogstatsd_tags(tags);
    // vitals first: Gunicorn reports its worker count once, when it starts.
    RunningSidecar sidecar(
        gunicorn_config(app, statsd, "", false));  // only the check's own probes add requests
    REQUIRE(sidecar.wait_until(
        [](const Snapshot& s) { return s.checks[0].has_run(); }));  // listener is up
    app.start();  // its readiness poll is one request
    REQUIRE(sidecar.wait_for_status("web", Status::ok));
    constexpr int kOk = 40, kErrors = 10;
    for (int i = 0; i < kOk; ++i)
        REQUIRE(get(app.port(), "/").status == 200);
    for (int i = 0; i < kErrors; ++i)
        REQUIRE(get(app.port(), "/boom/").status == 500);
    // Datagrams in flight: until a run has counted every request the test made.
    REQUIRE(sidecar.wait_until([&](const Snapshot& s) {
        return observation(s, "web", "requests_total") >= kOk + kErrors + 1 &&
               observation(s, "web", "responses_5xx_total") >= kErrors;
    }));

    const auto snapshot = sidecar.store().load();
    const CheckState* web = nullptr;
    for (const CheckState& c : snapshot->checks) {
        if (c.name == "web") web = &c;
    }
    REQUIRE(web != nullptr);
    // Every run after Gunicorn came up sent one request; the newest may not be counted yet.
    const double probes = static_cast<double>(web->runs[0] + web->runs[1]);
    const double expected = kOk + kErrors + 1 + probes;
    const double seen = observation(*snapshot, "web", "requests_total");
    INFO("statsd counted " << seen << ", expected " << expected << " (" << probes << " probes)");
    CHECK(seen >= expected - 2);
    CHECK(seen <= expected);
    CHECK(observation(*snapshot, "web", "error_5xx_ratio") == Approx(kErrors / seen).epsilon(0.05));
    CHECK(last_minute(*snapshot, "web", "requests_per_second") == Approx(seen / 60).epsilon(0.05));
    CHECK(observation(*snapshot, "web", "responses_5xx_total") == kErrors);
    CHECK(observation(*snapshot, "web", "workers") == 3);
    CHECK(last_minute(*snapshot, "web", "request_p50_seconds") > 0);
    // Every request's time is in the histogram, the sum is positive.
    CHECK(observation(*snapshot, "web", "request_duration_seconds_count") >= expected - 2);
    CHECK(observation(*snapshot, "web", "request_duration_seconds_sum") > 0);
    CHECK(observation(*snapshot, "web", "statsd_malformed_total") == 0);
    // 10 of ~60 requests failed: over the 5% warning, under the 25% failure.
    CHECK(web->status == Status::warn);
    CHECK(web->last->message.find("answered 5xx") != std::string::npos);
    const std::string metrics = get(sidecar.port(), "/metrics").body;
    CHECK(metrics.find("# TYPE vitals_gunicorn_requests_total counter") != std::string::npos);
    CHECK(metrics.find("vitals_gunicorn_error_5xx_ratio{check=\"web\"}") != std::string::npos);
    CHECK(metrics.find("# TYPE vitals_gunicorn_request_duration_seconds histogram") !=
          std::string::npos);
    CHECK(metrics.find(
              "vitals_gunicorn_request_duration_seconds_bucket{check=\"web\",le=\"+Inf\"}") !=
          std::string::npos);
}

TEST_CASE("e2e: every worker busy shows in the accept backlog and p95, /livez stays fast",
          "[e2e]") {
    const std::uint16_t statsd = free_udp_port();
    GunicornServer app(2, statsd, false);
    RunningSidecar sidecar(
        gunicorn_config(app, statsd, R"(, "backlog_warn_runs": 2, "latency_runs": 5)"));
    REQUIRE(sidecar.wait_until(
        [](const Snapshot& s) { return s.checks[1].has_run(); }));  // checks are sorted: web is [1]
    app.start();
    REQUIRE(sidecar.wait_for_status("web", Status::ok));

    // 8 slow requests for 2 workers: 2 run, the rest wait in the listen socket's queue.
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < 8; ++i) {
        clients.push_back(std::make_unique<RawClient>(app.port()));
        clients.back()->send("GET /slow/?s=3 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    }
    double worst_livez = 0;
    double most_queued = 0;
    bool named_backlog = false;
    const auto until = std::chrono::steady_clock::now() + 2500ms;
    while (std::chrono::steady_clock::now() < until) {
        const RawReply live = get(sidecar.port(), "/livez");
        REQUIRE(live.ok);
        worst_livez = std::max(worst_livez, live.total_seconds);
        const auto s = sidecar.store().load();
        most_queued = std::max(most_queued, observation(*s, "web", "accept_backlog"));
        for (const CheckState& c : s->checks) {
            if (c.name == "web" && c.has_run() && c.last->details.contains("findings")) {
                named_backlog = named_backlog || c.last->details["findings"].dump().find(
                                                     "accept queue") != std::string::npos;
            }
        }
        std::this_thread::sleep_for(20ms);
    }
    INFO("slowest /livez " << worst_livez * 1000 << " ms; most queued " << most_queued);
    CHECK(worst_livez < 0.050);
    CHECK(most_queued >= 4);
    CHECK(named_backlog);
    REQUIRE(
        sidecar.wait_for_status("web", Status::fail, 3s));  // the probe itself cannot get through
    // Busy is not dead: the queue is load (Gunicorn replaces a stuck worker itself), and a
    // restart would drop it. Not ready, still live.
    CHECK(get(sidecar.port(), "/readyz").status == 503);
    CHECK(get(sidecar.port(), "/livez").status == 200);

    // Once the slow requests are done, statsd shows what they cost: p95 over the 2 s page limit.
    for (auto& c : clients)
        c->read_response(15s);
    REQUIRE(sidecar.wait_until(
        [](const Snapshot& s) {
            return observation(s, "web", "accept_backlog") == 0 &&
                   last_minute(s, "web", "request_p95_seconds") >= 2.9;
        },
        10s));
    const json web = check_of(sidecar, "web");
    CHECK(web["details"]["findings"].dump().find("request p95 over the last minute") !=
          std::string::npos);
}

TEST_CASE("e2e: Gunicorn killed fails the check and liveness", "[e2e]") {
    GunicornServer app(2);
    RunningSidecar sidecar(gunicorn_config(app, free_udp_port()));
    REQUIRE(sidecar.wait_for_status("web", Status::ok));
    app.kill();
    REQUIRE(sidecar.wait_for_status("web", Status::fail, 3s));
    CHECK(check_of(sidecar, "web")["message"].get<std::string>().find("the app does not answer") ==
          0);
    CHECK(get(sidecar.port(), "/livez").status == 503);
    CHECK(get(sidecar.port(), "/readyz").status == 503);
}

TEST_CASE("e2e: static files missing after a deploy fail with the collectstatic hint", "[e2e]") {
    GunicornServer app(2);
    RunningSidecar sidecar(gunicorn_config(app, free_udp_port()));
    REQUIRE(sidecar.wait_for_status("assets", Status::ok));
    app.remove_static();
    REQUIRE(sidecar.wait_for_status("assets", Status::fail, 3s));
    CHECK(check_of(sidecar, "assets")["message"].get<std::string>().find(
              "collectstatic probably did not run") != std::string::npos);
    CHECK(get(sidecar.port(), "/health").status == 503);  // critical by default
    CHECK(get(sidecar.port(), "/readyz").status ==
          200);  // but in no probe group: the app still serves
    CHECK(sidecar.wait_for_status("web", Status::ok));
}

TEST_CASE("e2e: Gunicorn bound to a Unix socket is checked through it", "[e2e]") {
    // As behind nginx in the same pod: gunicorn --bind unix:/run/gunicorn.sock.
    GunicornServer app(1, 0, false);
    const std::string dir = make_temp_dir("sock");
    app.bind_unix(dir + "/gunicorn.sock");
    app.start();
    RunningSidecar sidecar(R"({"trusted": ["127.0.0.1/32"], "checks": {
        "web": {"kind": "gunicorn", "url": "http://localhost/health/", "unix_socket": ")" +
                           dir + R"(/gunicorn.sock", "statsd_listen": "", "interval": "300ms"},
        "assets": {"kind": "static", "url": "http://localhost/static/admin/css/base.css",
                   "unix_socket": ")" +
                           dir + R"(/gunicorn.sock", "interval": "300ms"}}})");
    REQUIRE(sidecar.wait_for_status("web", Status::ok, 20s));
    REQUIRE(sidecar.wait_for_status("assets", Status::ok, 20s));
    const json web = check_of(sidecar, "web");
    CHECK(web["observations"]["status_code"] == 200);
    CHECK(web["details"]["accept_backlog"].get<std::string>().find("Unix socket") !=
          std::string::npos);
    app.kill();
    REQUIRE(sidecar.wait_for_status("web", Status::fail, 10s));
    CHECK(check_of(sidecar, "web")["message"].get<std::string>().find(dir + "/gunicorn.sock") !=
          std::string::npos);
    shell("rm -rf '" + dir + "'");
}

TEST_CASE("e2e: the hashed names Django's manifest lists are served, and a stale one fails",
          "[e2e]") {
    GunicornServer app(1, 0, true, /*manifest=*/true);
    const std::string manifest = app.static_root() + "/staticfiles.json";
    RunningSidecar sidecar(R"({"trusted": ["127.0.0.1/32"], "checks": {
        "assets": {"kind": "static", "url": ")" +
                           app.url("/static/admin/css/base.css") + R"(", "manifest": ")" +
                           manifest + R"(", "interval": "200ms"}}})");
    REQUIRE(sidecar.wait_for_status("assets", Status::ok, 20s));
    json assets = check_of(sidecar, "assets");
    CHECK(assets["observations"]["manifest_entries"].get<double>() > 50);  // Django's admin
    CHECK(assets["observations"]["manifest_checked"] == 3);
    CHECK(assets["observations"]["manifest_missing"] == 0);

    // A half-uploaded collectstatic: the unhashed files are there, the hashed ones the
    // templates ask for are not.
    shell("find '" + app.static_root() +
          "' -regextype posix-extended -regex '.*\\.[0-9a-f]{12}\\.[a-z0-9]+' -delete");
    REQUIRE(sidecar.wait_for_status("assets", Status::fail, 10s));
    assets = check_of(sidecar, "assets");
    const std::string message = assets["message"];
    CHECK(message.find("(in the manifest for admin/css/base.css) answered 404") !=
          std::string::npos);
    CHECK(message.find("half-uploaded collectstatic") != std::string::npos);
    CHECK(assets["observations"]["manifest_missing"].get<double>() >= 1);

    // A manifest from another deploy: the asset is not in it.
    shell(
        "echo '{\"paths\": {\"app/site.css\": \"app/site.0123456789ab.css\"}, \"version\": "
        "\"1.1\"}' > '" +
        manifest + "'");
    REQUIRE(sidecar.wait_until(
        [](const Snapshot& s) {
            return s.checks[0].has_run() &&
                   s.checks[0].last->message.find("is not in the manifest") != std::string::npos;
        },
        10s));
}
