// The status page in a real browser: Debian's Chromium, headless, loads "/" from vitals
// watching a real Redis and a real Gunicorn; the DOM it builds shows every check, and a check
// turns red once the test stops its dependency.
#include <catch2/catch.hpp>

#include <regex>
#include <thread>

#include "support/net_fixtures.hpp"
#include "support/running_sidecar.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;

namespace {

// The DOM Chromium built for `url`, after its scripts ran. The flags keep it off the
// network this machine does not have (PROTOCOLS.md / env notes) and away from any profile.
std::string browser_dom(const std::string& url) {
    const std::string profile = make_temp_dir("chromium");
    const std::string dom = capture(
        "timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic "
        "--no-first-run --disable-background-networking --disable-component-update "
        "--disable-sync --user-data-dir='" +
        profile + "' --dump-dom '" + url + "' 2>/dev/null");
    shell("rm -rf '" + profile + "'");
    return dom;
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
    const std::string url = "http://127.0.0.1:" + std::to_string(sidecar.port()) + "/";

    const std::string before = browser_dom(url);
    INFO(before.substr(0, 2000));
    REQUIRE(before.find("<h1>vitals") != std::string::npos);
    CHECK(row_status(before, "cache") == "ok");
    CHECK(row_status(before, "web") == "ok");
    CHECK(row_status(before, "nightly") == "ok");
    CHECK(before.find("<svg") != std::string::npos);  // the sparklines

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
