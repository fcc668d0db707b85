// The status page in a real browser: Debian's Chromium, headless, loads "/" from vitals
// watching a real Redis and a real Gunicorn; the DOM it builds shows every check, and a check
// turns red once the test stops its dependency.
#include <catch2/catch.hpp>

#include <fstream>
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
    CHECK(before.find("ping over the last hour: ") != std::string::npos);
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
        "data-check=\"cache\" data-status=\"fail\">.*?<span class=\"st\" style=\"background:"
        "#c62828;?\">fail");
    CHECK(std::regex_search(after, red_badge));
    CHECK(after.find("Recent changes") != std::string::npos);
    CHECK(after.find("class=\"incident\" data-check=\"cache\"") != std::string::npos);
    CHECK(after.find("Connection refused") != std::string::npos);  // loopback sees messages
}
