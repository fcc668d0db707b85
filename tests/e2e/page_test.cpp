// The status page in a real browser: Debian's Chromium, headless, loads "/" from vitals
// watching a real Redis and a real Gunicorn; the DOM it builds shows every check, and a check
// turns red once the test stops its dependency.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <memory>
#include <regex>
#include <thread>

#include "support/net_fixtures.hpp"
#include "support/running_sidecar.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;

namespace {

// Chromium, headless, kept off the network this machine does not have (PROTOCOLS.md / env
// notes) and away from any profile, doing `what` with `url`.
std::string chromium(const std::string& what, const std::string& url) {
    const std::string profile = make_temp_dir("chromium");
    const std::string out = capture(
        "timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic "
        "--no-first-run --disable-background-networking --disable-component-update "
        "--disable-sync --user-data-dir='" +
        profile + "' " + what + " '" + url + "' 2>/dev/null");
    shell("rm -rf '" + profile + "'");
    return out;
}

// The DOM Chromium built for `url` once its scripts had run for 3 s of (virtual) time:
// /page.js has fetched /page.json and updated the page in place.
std::string browser_dom(const std::string& url) {
    return chromium("--virtual-time-budget=3000 --dump-dom", url);
}

// What tests/e2e/page_probe.py prints, a JSON line at a time, while it drives Chromium.
class PageProbe {
  public:
    PageProbe(const std::string& url, const std::string& shots, const std::string& stop_file)
        : pipe_(::popen(("/usr/bin/python3 " + std::string(VITALS_TESTS_DIR) +
                         "/e2e/page_probe.py '" + url + "' '" + shots + "' '" + stop_file + "'")
                            .c_str(),
                        "r")) {}
    ~PageProbe() {
        if (pipe_ != nullptr) ::pclose(pipe_);
    }
    PageProbe(const PageProbe&) = delete;
    PageProbe& operator=(const PageProbe&) = delete;
    // The next line, parsed; null when the script ended without one.
    nlohmann::json next() {
        std::string line;
        char buf[4096];
        while (pipe_ != nullptr && std::fgets(buf, sizeof buf, pipe_) != nullptr) {
            line += buf;
            if (!line.empty() && line.back() == '\n') break;
        }
        return nlohmann::json::parse(line, nullptr, false);
    }

  private:
    FILE* pipe_;
};

// data-status of the row of `check`, or "" when the page has no such row.
std::string row_status(const std::string& dom, const std::string& check) {
    const std::regex row("<tr class=\"check\" data-check=\"" + check +
                         "\" data-status=\"([a-z]+)\"");
    std::smatch m;
    return std::regex_search(dom, m, row) ? m[1].str() : "";
}

}  // namespace

TEST_CASE("page: Chromium renders every check, and a stopped Redis turns its row red",
          "[page][browser]") {
    RedisServer redis;
    GunicornServer gunicorn(2);
    RunningSidecar sidecar(R"({"checks": {
        "cache": {"kind": "redis", "url": ")" +
                           redis.url() + R"(", "interval": "200ms"},
        "web": {"kind": "http", "url": ")" +
                           gunicorn.url("/health/") + R"(", "interval": "200ms"},
        "nightly": {"kind": "heartbeat", "period": "1h", "interval": "200ms"}}})");
    REQUIRE(sidecar.wait_for_status("cache", Status::ok));
    REQUIRE(sidecar.wait_for_status("web", Status::ok));
    REQUIRE(sidecar.wait_for_status("nightly", Status::ok));
    REQUIRE(get(sidecar.port(), "/heartbeat/nightly").status == 200);
    REQUIRE(sidecar.wait_until([](const Snapshot& s) {
        for (const CheckState& c : s.checks) {
            if (c.trend.empty()) return false;  // every check has a point to chart
        }
        return true;
    }));
    const std::string url = "http://127.0.0.1:" + std::to_string(sidecar.port()) + "/";

    const std::string before = browser_dom(url);
    INFO(before.substr(0, 2000));
    REQUIRE(before.find("<h1>vitals") != std::string::npos);
    CHECK(row_status(before, "cache") == "ok");
    CHECK(row_status(before, "web") == "ok");
    CHECK(row_status(before, "nightly") == "ok");
    CHECK(before.find("<svg") != std::string::npos);  // the sparklines
    // /page.js updated the page in place from /page.json (no reload: no meta refresh).
    const std::regex updates("<body data-updates=\"([0-9]+)\"");
    std::smatch m;
    REQUIRE(std::regex_search(before, m, updates));
    CHECK(std::stoi(m[1].str()) >= 1);
    CHECK(before.find("http-equiv=\"refresh\"") == std::string::npos);
    // Values written for people by their unit, and the charted observation drawn.
    CHECK(std::regex_search(before,
                            std::regex("<div class=\"head\">ping [0-9.]+ ms \u00b7 used memory "
                                       "[0-9.]+ [kM]?B</div>")));
    CHECK(std::regex_search(before, std::regex("<polyline points=\"[0-9.]+,[0-9.]+")));
    CHECK(before.find("ping over the last ") != std::string::npos);
    CHECK(before.find("since success ") != std::string::npos);  // the heartbeat, pinged below

    // A screenshot for a person to review: build/…/page.png.
    const std::string png =
        std::string(VITALS_BINARY).substr(0, std::string(VITALS_BINARY).rfind('/')) + "/page.png";
    chromium("--window-size=1280,900 --virtual-time-budget=3000 --screenshot='" + png + "'", url);
    CHECK(std::ifstream(png).good());

    redis.stop();
    REQUIRE(sidecar.wait_for_status("cache", Status::fail, 5s));
    const std::string after = browser_dom(url);
    INFO(after.substr(0, 2000));
    CHECK(row_status(after, "cache") == "fail");
    CHECK(row_status(after, "web") == "ok");
    // Red, as the badge is drawn, and the change is listed with what every check showed.
    const std::regex red_badge(
        "data-check=\"cache\" data-status=\"fail\">.*?<span class=\"st "
        "fail\">fail");
    CHECK(std::regex_search(after, red_badge));
    CHECK(after.find("Recent changes") != std::string::npos);
    CHECK(after.find("class=\"incident\" data-check=\"cache\"") != std::string::npos);
    CHECK(after.find("Connection refused") != std::string::npos);  // loopback sees messages
}

TEST_CASE(
    "page: the on-call view leads with the pod and what fails, fits a phone, is readable "
    "and says when vitals stops answering",
    "[page][browser]") {
    RedisServer redis;
    GunicornServer gunicorn(2);
    // In configuration order (by name) the failing check comes between the others; the page
    // puts it first.
    auto sidecar = std::make_unique<RunningSidecar>(
        R"({"checks": {
        "web": {"kind": "http", "url": ")" +
            gunicorn.url("/health/") + R"(", "interval": "200ms"},
        "nightly": {"kind": "heartbeat", "period": "1h", "interval": "200ms"},
        "sessions": {"kind": "redis", "url": ")" +
            redis.url() + R"(", "interval": "200ms"}}})",
        builtin_registry(),
        Environment{{"VITALS_LISTEN", "127.0.0.1:0"},
                    {"POD_NAME", "web-7d9f-x2"},
                    {"POD_NAMESPACE", "shop"},
                    {"NODE_NAME", "pool-1-a"}});
    REQUIRE(sidecar->wait_for_status("web", Status::ok));
    redis.stop();
    REQUIRE(sidecar->wait_for_status("sessions", Status::fail, 5s));
    const std::uint16_t port = sidecar->port();

    // Served as HTML: a heartbeat never pinged says so, not "overdue 0 s"; each kind links to
    // its reference page, which exists; a kind not configured has none.
    const std::string html = get(port, "/").body;
    const std::regex nightly_head(
        "data-check=\"nightly\".*?<div class=\"head\">([^<]*)</div>"
        "<div class=\"msg\">([^<]*)</div>");
    std::smatch m;
    REQUIRE(std::regex_search(html, m, nightly_head));
    CHECK(m[1].str().empty());
    CHECK(m[2].str().find("waiting for the first ping") == 0);
    const auto kind_page = get(port, "/kinds/redis");
    CHECK(kind_page.status == 200);
    CHECK(kind_page.body.find("memory_fail_ratio") != std::string::npos);
    CHECK(kind_page.body.find("vitals_redis_used_memory_bytes") != std::string::npos);
    CHECK(get(port, "/kinds/postgres").status == 404);
    CHECK(get(port, "/health").body.find("\"name\": \"web-7d9f-x2\"") != std::string::npos);

    const std::string build =
        std::string(VITALS_BINARY).substr(0, std::string(VITALS_BINARY).rfind('/'));
    const std::string shots = build + "/page-shots";
    shell("mkdir -p '" + shots + "'");
    const std::string stop_file = make_temp_dir("page-stop") + "/stopped";
    PageProbe probe("http://127.0.0.1:" + std::to_string(port) + "/", shots, stop_file);
    const nlohmann::json measured = probe.next();
    INFO(measured.dump().substr(0, 4000));
    REQUIRE(measured.contains("views"));
    REQUIRE(measured["views"].size() == 3);
    for (const auto& view : measured["views"]) {
        INFO(view["width"] << " px, " << view["scheme"]);
        CHECK(view["updates"].get<int>() >= 1);
        CHECK(view["pod"] == "web-7d9f-x2");
        CHECK(view["title"].get<std::string>().find("web-7d9f-x2") != std::string::npos);
        // Failing first, then the rest in configuration order.
        REQUIRE(view["rows"].size() == 3);
        CHECK(view["rows"][0]["name"] == "sessions");
        CHECK(view["rows"][0]["status"] == "fail");
        CHECK(view["rows"][1]["name"] == "nightly");
        CHECK(view["rows"][2]["name"] == "web");
        for (const auto& row : view["rows"]) {
            CHECK_FALSE(row["groups"].empty());  // a group badge per row
            CHECK(row["name_link"] == "/health/" + row["name"].get<std::string>());
        }
        CHECK(view["rows"][0]["groups"][0] == "ready");
        CHECK(view["rows"][0]["kind_link"] == "/kinds/redis");
        // Nothing wider than the window, at 430 px too.
        CHECK(view["scroll_width"].get<int>() <= view["window_width"].get<int>());
        // Every badge readable: WCAG AA, 4.5:1, from the colours Chromium rendered.
        CHECK(view["badges"].size() >= 6);
        for (const auto& badge : view["badges"]) {
            INFO(badge.dump());
            CHECK(badge["contrast"].get<double>() >= 4.5);
        }
        CHECK(view["empty_folds"] == 0);
        CHECK(std::ifstream(view["screenshot"].get<std::string>()).good());
    }

    // vitals goes away with the page open: within a refresh (5 s) and its time limit (4 s)
    // the page says so.
    sidecar.reset();
    std::ofstream(stop_file) << "stopped\n";
    const nlohmann::json after = probe.next();
    INFO(after.dump());
    REQUIRE(after.contains("banner"));
    CHECK(after["banner"]["shown"] == true);
    CHECK(after["banner"]["stale"] == "true");
    CHECK(after["banner"]["text"].get<std::string>().find("disconnected") == 0);
    CHECK(after["banner"]["after_seconds"].get<double>() < 20);
}
