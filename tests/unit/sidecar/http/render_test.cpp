#include <catch2/catch.hpp>

#include <cmath>
#include <set>
#include <sstream>

#include "sidecar/http/render.hpp"
#include "sidecar/log.hpp"

using namespace vitals;

namespace {

CheckState checked(const std::string& name, Status status, bool critical = true) {
    CheckState c;
    c.name = name;
    c.kind = "http";
    c.policy.groups = kGroupLive | kGroupReady;
    c.policy.critical = critical;
    c.status = status;
    CheckResult r{status,      "connect to db.internal:5432 refused",
                  {},          nlohmann::json{{"slow_queries", {"SELECT pg_sleep(60)"}}},
                  Cause::here, {}};
    r.observe("latency_seconds", 0.25)
        .observe("errors_total", 3)
        .observe("queue_messages", "queue", "celery", 7)
        .observe("undeclared_things", 9)
        .observe("wait_seconds_bucket", "le", "0.1", 4)
        .observe("wait_seconds_bucket", "le", "+Inf", 6)
        .observe("wait_seconds_sum", 1.5)
        .observe("wait_seconds_count", 6);
    c.last = std::make_shared<CheckResult>(r);
    using O = ObservationSpec;
    c.observations = std::make_shared<const ObservationTable>(ObservationTable{
        O::gauge("latency_seconds", Unit::seconds, "How long it took."),
        O::counter("errors_total", Unit::none, "Errors \\ seen\nso far."),
        O::gauge("queue_messages", Unit::none, "Waiting.").by("queue"),
        O::histogram("wait_seconds", Unit::seconds, "Waits."),
    });
    c.last_duration_seconds = 0.0125;
    c.last_success = WallTime(std::chrono::seconds(1'795'000'000));
    c.runs = {5, 1, 2, 1};
    return c;
}

Rendered rendered(std::vector<CheckState> checks) {
    Snapshot s;
    s.checks = std::move(checks);
    return render(s);
}

}  // namespace

TEST_CASE("/health writes \"status\": \"ok\" with the space keyword monitors match", "[render]") {
    const Rendered s = rendered({checked("app", Status::ok)});
    CHECK(s.health_public.code == 200);
    CHECK(s.health_public.body.find("\"status\": \"ok\"") != std::string::npos);
    const auto body = nlohmann::json::parse(s.health_trusted.body);
    CHECK(body["status"] == "ok");
    CHECK(body["checks"]["app"]["status"] == "ok");
    CHECK(body["checks"]["app"]["observations"]["latency_seconds"] == 0.25);
    CHECK(body["checks"]["app"]["duration_seconds"] == 0.0125);
}

TEST_CASE("/health is 503 with status fail when a critical check fails, 200 warn otherwise",
          "[render]") {
    const Rendered critical = rendered({checked("app", Status::ok), checked("db", Status::fail)});
    CHECK(critical.health_public.code == 503);
    CHECK(nlohmann::json::parse(critical.health_public.body)["status"] == "fail");
    const Rendered minor =
        rendered({checked("app", Status::ok), checked("db", Status::fail, false)});
    CHECK(minor.health_public.code == 200);
    CHECK(nlohmann::json::parse(minor.health_public.body)["status"] == "warn");
}

TEST_CASE("untrusted bodies carry statuses and numbers but no messages or details", "[render]") {
    const Rendered s = rendered({checked("db", Status::fail)});
    for (const std::string* body : {&s.health_public.body, &s.check_detail.at("db").first.body,
                                    &s.page_public.body, &s.page_json_public.body}) {
        CHECK(body->find("db.internal") == std::string::npos);
        CHECK(body->find("pg_sleep") == std::string::npos);
    }
    CHECK(s.health_public.body.find("latency_seconds") != std::string::npos);
    CHECK(s.page_public.body.find("latency 250.0 ms") != std::string::npos);
    CHECK(s.page_json_trusted.body.find("db.internal:5432 refused") != std::string::npos);
    CHECK(s.health_trusted.body.find("db.internal:5432 refused") != std::string::npos);
    CHECK(s.check_detail.at("db").second.body.find("pg_sleep") != std::string::npos);
    CHECK(s.page_trusted.body.find("db.internal:5432 refused") != std::string::npos);
}

TEST_CASE("probe bodies name what holds them back", "[render]") {
    const Rendered s = rendered({checked("app", Status::fail)});
    CHECK(s.livez.code == 503);
    CHECK(s.readyz.code == 503);
    CHECK(s.startupz.code == 200);
    const auto body = nlohmann::json::parse(s.readyz.body);
    CHECK(body["failing"] == nlohmann::json::array({"app"}));
    CHECK(s.check_detail.at("app").first.code == 503);
}

TEST_CASE("a check's detail has its policy, run counts and history", "[render]") {
    CheckState c = checked("app", Status::ok);
    c.history.push_back({Status::ok, 0.5f, 1'795'000'000'000});
    const Rendered s = rendered({c});
    const auto body = nlohmann::json::parse(s.check_detail.at("app").second.body);
    CHECK(body["name"] == "app");
    CHECK(body["runs"]["ok"] == 5);
    CHECK(body["runs"]["timeout"] == 1);
    CHECK(body["history"].size() == 1);
    CHECK(body["history"][0]["status"] == "ok");
    CHECK(body["interval_seconds"] == 10.0);
}

TEST_CASE("metrics follow the Prometheus text format with bounded labels", "[render]") {
    const Rendered s = rendered({checked("app", Status::warn), checked("db", Status::fail)});
    const std::string& m = s.metrics.body;
    CHECK(m.find("vitals_build_info{version=\"" VITALS_VERSION "\"} 1\n") != std::string::npos);
    CHECK(m.find("vitals_check_status{check=\"app\",kind=\"http\",status=\"warn\"} 1\n") !=
          std::string::npos);
    CHECK(m.find("vitals_check_status{check=\"app\",kind=\"http\",status=\"ok\"} 0\n") !=
          std::string::npos);
    CHECK(m.find("vitals_check_duration_seconds{check=\"db\"} 0.0125\n") != std::string::npos);
    CHECK(m.find("vitals_check_runs_total{check=\"db\",result=\"timeout\"} 1\n") !=
          std::string::npos);
    CHECK(m.find("vitals_check_last_success_timestamp_seconds{check=\"app\"} 1795000000\n") !=
          std::string::npos);
    CHECK(m.find("# TYPE vitals_http_errors_total counter\n") != std::string::npos);
    // HELP is the declaration's, escaped as the format wants.
    CHECK(m.find("# HELP vitals_http_errors_total Errors \\\\ seen\\nso far.\n") !=
          std::string::npos);
    CHECK(m.find("undeclared") == std::string::npos);
    CHECK(m.find("# TYPE vitals_http_wait_seconds histogram\n") != std::string::npos);
    CHECK(m.find("vitals_http_wait_seconds_bucket{check=\"app\",le=\"+Inf\"} 6\n") !=
          std::string::npos);
    CHECK(m.find("vitals_http_wait_seconds_count{check=\"db\"} 6\n") != std::string::npos);
    CHECK(m.find("# TYPE vitals_http_latency_seconds gauge\n") != std::string::npos);
    CHECK(m.find("vitals_http_queue_messages{check=\"app\",queue=\"celery\"} 7\n") !=
          std::string::npos);
    CHECK(nlohmann::json::parse(
              s.health_public.body)["checks"]["app"]["observations"]["queue_messages.celery"] == 7);
    CHECK(m.find("vitals_probe_up{probe=\"ready\"} 0\n") != std::string::npos);
    CHECK(m.find("refused") == std::string::npos);  // never error text
    // Every sample line belongs to a family declared before it.
    std::istringstream lines(m);
    std::string line;
    std::set<std::string> declared;
    while (std::getline(lines, line)) {
        if (line.rfind("# TYPE ", 0) == 0) {
            declared.insert(line.substr(7, line.find(' ', 7) - 7));
        } else if (line[0] != '#') {
            std::string name = line.substr(0, line.find_first_of("{ "));
            for (const std::string part : {"_bucket", "_sum", "_count"}) {
                if (declared.count(name) == 0 && name.size() > part.size() &&
                    name.compare(name.size() - part.size(), part.size(), part) == 0)
                    name.resize(name.size() - part.size());
            }
            INFO(line);
            CHECK(declared.count(name) == 1);
        }
    }
}

TEST_CASE("the status page escapes what it shows", "[render]") {
    CheckState c = checked("app", Status::fail);
    c.last = std::make_shared<CheckResult>(CheckResult::fail("<script>alert(1)</script>"));
    const Rendered s = rendered({c});
    CHECK(s.page_trusted.body.find("<script>") == std::string::npos);
    CHECK(s.page_trusted.body.find("&lt;script&gt;") != std::string::npos);
}

TEST_CASE("values are written for people, by their declared unit", "[render][page]") {
    const double now = 1'800'000'000;
    CHECK(format_value(0.0022, Unit::seconds, now) == "2.2 ms");
    CHECK(format_value(3.25, Unit::seconds, now) == "3.2 s");
    CHECK(format_value(600, Unit::seconds, now) == "10 min");
    CHECK(format_value(8.7e6, Unit::bytes, now) == "8.7 MB");
    CHECK(format_value(512, Unit::bytes, now) == "512 B");
    CHECK(format_value(0.62, Unit::ratio, now) == "62 %");
    CHECK(format_value(0.004, Unit::ratio, now) == "0.4 %");
    CHECK(format_value(now + 60 * 86400, Unit::timestamp, now) == "in 60 days");
    CHECK(format_value(now - 180, Unit::timestamp, now) == "3 min ago");
    CHECK(format_value(1, Unit::boolean, now) == "yes");
    CHECK(format_value(10000, Unit::none, now) == "10000");
    CHECK(format_value(0.5, Unit::none, now) == "0.5");
    CHECK(format_value(std::nan(""), Unit::seconds, now) == "-");
}

TEST_CASE("the page leads with the key numbers, the failing reason first, and a chart",
          "[render][page]") {
    CheckState c = checked("db", Status::fail);
    c.observations = std::make_shared<const ObservationTable>(ObservationTable{
        ObservationSpec::gauge("latency_seconds", Unit::seconds, "How long.").headline(),
        ObservationSpec::counter("errors_total", Unit::none, "Errors."),
    });
    c.trend = {{1'794'999'000'000, 0.1f}, {1'794'999'500'000, 0.4f}, {1'795'000'000'000, 0.25f}};
    Snapshot snap;
    snap.checks = {c};
    snap.published = WallTime(std::chrono::seconds(1'795'000'000));
    const std::string page = render_page(snap, true);
    CHECK(page.find("<div class=\"reason\">connect to db.internal:5432 refused</div>") !=
          std::string::npos);
    CHECK(page.find("<div class=\"head\">latency 250.0 ms</div>") != std::string::npos);
    CHECK(page.find("errors total 3\n") != std::string::npos);  // folded under "more"
    CHECK(page.find("<polyline points=\"") != std::string::npos);
    // The trend began 1,000 s ago: the chart spans that, not the hour.
    CHECK(page.find("latency over the last 16 min: 100.0 ms to 400.0 ms") != std::string::npos);
    CHECK(page.find("<script src=\"/page.js\">") != std::string::npos);
    CHECK(page.find("http-equiv=\"refresh\"") == std::string::npos);  // updated in place
    const auto json = nlohmann::json::parse(render_page_json(snap, true));
    CHECK(json["checks"][0]["headline"] == "latency 250.0 ms");
    CHECK(json["checks"][0]["reason"] == "connect to db.internal:5432 refused");
    CHECK(json["checks"][0]["trend_points"].get<std::string>().find(' ') != std::string::npos);
    CHECK(nlohmann::json::parse(render_page_json(snap, false))["checks"][0]["reason"] == "");
    CHECK(page_script().find("innerHTML") == std::string::npos);  // text, never markup
}

TEST_CASE("the page shows a heartbeat's last pings and output to trusted callers only",
          "[render][page]") {
    CheckState c = checked("nightly", Status::fail);
    CheckResult r = CheckResult::fail("exit status 3: rsync: error 3");
    r.details["pings"] =
        nlohmann::json::array({{{"at", 1'795'000'000'000LL},
                                {"kind", "fail"},
                                {"exit_status", 3},
                                {"rid", "run-7"},
                                {"duration_seconds", 42.5},
                                {"line", "rsync: <error> 3"}},
                               {{"at", 1'794'999'000'000LL}, {"kind", "start"}, {"rid", "run-7"}},
                               "not a ping",
                               {{"at", "yesterday"}, {"kind", 5}}});
    r.details["last_output"] = "rsync: <error> 3\nsecond line";
    r.details["last_output_at"] = "2026-11-18 07:06 UTC";
    c.last = std::make_shared<CheckResult>(r);
    Snapshot snap;
    snap.checks = {c};
    snap.published = WallTime(std::chrono::seconds(1'795'000'000));
    const std::string page = render_page(snap, true);
    CHECK(page.find("last pings:\n") != std::string::npos);
    CHECK(page.find(format_timestamp(WallTime(std::chrono::seconds(1'795'000'000))) +
                    " fail (exit 3) rid run-7 after 42.5 s: rsync: &lt;error&gt; 3\n") !=
          std::string::npos);
    CHECK(page.find(" start rid run-7\n") != std::string::npos);
    CHECK(page.find("last output (2026-11-18 07:06 UTC):\nrsync: &lt;error&gt; 3\nsecond line") !=
          std::string::npos);
    const auto json = nlohmann::json::parse(render_page_json(snap, true));
    CHECK(json["checks"][0]["more"].get<std::string>().find("fail (exit 3) rid run-7") !=
          std::string::npos);
    // Untrusted: neither the pings nor the output, on the page or in its data.
    const std::string open_page = render_page(snap, false);
    CHECK(open_page.find("rsync") == std::string::npos);
    CHECK(open_page.find("run-7") == std::string::npos);
    CHECK(render_page_json(snap, false).find("run-7") == std::string::npos);
}
