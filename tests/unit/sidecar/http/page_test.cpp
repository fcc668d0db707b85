// The status page for the engineer with 30 seconds: which pod, what fails first, what each
// row counts for, nothing folded that is empty, a young chart drawn across; and the kind
// pages its links lead to. (Chromium's view of it: tests/e2e/page_test.cpp.)
#include <catch2/catch.hpp>

#include <regex>

#include "sidecar/http/render.hpp"

using namespace vitals;

namespace {

const WallTime kPublished{std::chrono::seconds(1'795'000'000)};

CheckState row(const std::string& name, Status status, std::uint8_t groups = kGroupReady) {
    CheckState c;
    c.name = name;
    c.kind = "tcp";
    c.policy.groups = groups;
    c.policy.critical = false;
    c.status = status;
    c.last = std::make_shared<const CheckResult>(
        CheckResult{status, name + " says so", {}, {}, Cause::here, {}});
    c.last_run = kPublished;
    return c;
}

// The check names in the order the page's rows have them.
std::vector<std::string> row_order(const std::string& page) {
    std::vector<std::string> out;
    const std::regex name("<tr class=\"check\" data-check=\"([^\"]+)\"");
    for (auto it = std::sregex_iterator(page.begin(), page.end(), name);
         it != std::sregex_iterator(); ++it)
        out.push_back((*it)[1].str());
    return out;
}

}  // namespace

TEST_CASE("page: failing rows first, then warnings, then the rest, each in configuration order",
          "[page]") {
    Snapshot s;
    s.published = kPublished;
    s.checks = {row("a", Status::ok),  row("b", Status::warn), row("c", Status::fail),
                row("d", Status::ok),  row("e", Status::fail), row("f", Status::unknown),
                row("g", Status::warn)};
    const std::vector<std::string> expected = {"c", "e", "b", "g", "a", "d", "f"};
    CHECK(row_order(render_page(s, true)) == expected);
    const auto json = nlohmann::json::parse(render_page_json(s, true));
    std::vector<std::string> in_json;
    for (const auto& c : json["checks"])
        in_json.push_back(c["name"]);
    CHECK(in_json == expected);  // /page.js moves the rows into this order
    CHECK(json["counts"] == "2 failing \u00b7 2 warnings \u00b7 2 ok \u00b7 1 not run yet");
}

TEST_CASE("page: each row links to its check and its kind, with its group badges", "[page]") {
    Snapshot s;
    s.published = kPublished;
    CheckState live = row("app", Status::ok, kGroupLive | kGroupReady);
    live.policy.critical = true;
    s.checks = {live, row("side", Status::ok, 0)};
    const std::string page = render_page(s, false);
    CHECK(page.find("<a class=\"name\" href=\"/health/app\"") != std::string::npos);
    CHECK(page.find("<a class=\"kind\" href=\"/kinds/tcp\"") != std::string::npos);
    CHECK(page.find("<div class=\"groups\"><span class=\"grp\">live</span><span "
                    "class=\"grp\">ready</span><span class=\"grp\">critical</span></div>") !=
          std::string::npos);
    CHECK(page.find("<div class=\"groups\"></div>") != std::string::npos);  // "side": none
}

TEST_CASE("page: the pod is named to trusted callers only, in the title and at the top", "[page]") {
    Snapshot s;
    s.published = kPublished;
    s.checks = {row("app", Status::fail)};
    PageContext context;
    context.identity = {"web-7d9f-x2", "shop", "pool-1-a", "1.4.2"};
    const std::string trusted = render_page(s, true, context);
    CHECK(trusted.find("<title>vitals: warn \u00b7 web-7d9f-x2</title>") != std::string::npos);
    CHECK(trusted.find("pod <b id=\"id-pod\">web-7d9f-x2</b> &middot; namespace <b "
                       "id=\"id-namespace\">shop</b> &middot; node <b id=\"id-node\">pool-1-a</b> "
                       "&middot; app <b id=\"id-app\">1.4.2</b>") != std::string::npos);
    const std::string public_page = render_page(s, false, context);
    CHECK(public_page.find("web-7d9f-x2") == std::string::npos);
    CHECK(public_page.find("pool-1-a") == std::string::npos);
    // /health names the pod to trusted callers only, too.
    const Rendered r = render(s, nullptr, context);
    CHECK(r.health_trusted.body.find("\"pod\": {\n    \"name\": \"web-7d9f-x2\",\n    "
                                     "\"namespace\": \"shop\"") != std::string::npos);
    CHECK(r.health_public.body.find("web-7d9f-x2") == std::string::npos);
}

TEST_CASE("page: no empty fold, no zero that says nothing, and a young chart drawn across",
          "[page]") {
    CheckState c = row("nightly", Status::ok);
    c.observations = std::make_shared<const ObservationTable>(ObservationTable{
        ObservationSpec::gauge("since_success_seconds", Unit::seconds, "Since.").headline(),
        ObservationSpec::gauge("overdue_seconds", Unit::seconds, "Overdue.")
            .headline_when_not_zero(),
    });
    const auto waiting = [](double overdue) {
        CheckResult r{Status::ok, "waiting for the first ping", {}, {}, Cause::here, {}};
        r.observe("overdue_seconds", overdue);
        return std::make_shared<const CheckResult>(std::move(r));
    };
    c.last = waiting(0);
    CheckState quiet = row("quiet", Status::ok);  // no observations at all
    quiet.observations = c.observations;
    quiet.trend = {{1'794'999'990'000, 2.0f}};  // one point, 10 s old
    Snapshot s;
    s.published = kPublished;
    s.checks = {c, quiet};
    std::string page = render_page(s, true);
    // overdue 0 s is not a headline: it is the one "more" line; the message says why.
    CHECK(page.find("<div class=\"head\"></div><div class=\"msg\">waiting for the first "
                    "ping</div><details class=\"more\"><summary><span "
                    "class=\"more-count\">1</span>") != std::string::npos);
    // A row with nothing more has no fold to open.
    CHECK(page.find("<details class=\"more\" hidden><summary><span class=\"more-count\">0<") !=
          std::string::npos);
    // One point: a level line across the chart, labelled with the time it covers.
    CHECK(page.find("<polyline points=\"0.0,14.0 120.0,14.0\"/>") != std::string::npos);
    CHECK(page.find("since success over the last 10.0 s: 2.0 s<") != std::string::npos);

    s.checks[0].last = waiting(90);
    page = render_page(s, true);
    CHECK(page.find("<div class=\"head\">overdue 90.0 s</div>") != std::string::npos);
}

TEST_CASE("page: a kind's page lists its settings with defaults and its metrics", "[page]") {
    KindReference ref;
    ref.summary = "TCP connect <to> a port";
    Setting port;
    port.key = "port";
    port.type = SettingType::integer;
    port.is_required = true;
    port.help = "The port.";
    ref.settings = {port};
    ref.observations = std::make_shared<const ObservationTable>(
        ObservationTable{ObservationSpec::gauge("connect_seconds", Unit::seconds, "Connect.")});
    const std::string page = render_kind_page("tcp", ref);
    CHECK(page.find("<h1>tcp</h1><p>TCP connect &lt;to&gt; a port</p>") != std::string::npos);
    CHECK(page.find("<td><code>port</code></td><td>integer</td><td>required</td><td>The "
                    "port.</td>") != std::string::npos);
    CHECK(page.find("<code>vitals_tcp_connect_seconds</code></td><td>gauge</td>") !=
          std::string::npos);
    CHECK(page.find("docs/checks/tcp.md") != std::string::npos);
}

TEST_CASE("page: the fleet panel sits at the top, for trusted callers", "[page]") {
    CheckState fleet = row("fleet", Status::warn);
    fleet.last = std::make_shared<const CheckResult>(
        CheckResult{Status::warn,
                    "app versions differ",
                    {},
                    nlohmann::json{{"pods",
                                    {{{"pod", "web-1"},
                                      {"fleet", "web"},
                                      {"ready", true},
                                      {"live", true},
                                      {"app_version", "1.4.2"},
                                      {"failing", nlohmann::json::array()}},
                                     {{"pod", "worker-1"},
                                      {"fleet", "worker"},
                                      {"ready", false},
                                      {"live", true},
                                      {"app_version", "1.4.1"},
                                      {"failing", {"queues"}}}}},
                                   {"app_versions", "1.4.2 (1 pod), 1.4.1 (1 pod)"}},
                    Cause::here,
                    {}});
    Snapshot s;
    s.published = kPublished;
    s.checks = {row("app", Status::ok), fleet};
    const std::string page = render_page(s, true);
    const auto panel = page.find("<section id=\"fleet\">");
    REQUIRE(panel != std::string::npos);
    CHECK(panel < page.find("<table class=\"checks\">"));
    CHECK(page.find("(2 pods, seen by check fleet)") != std::string::npos);
    CHECK(page.find("<tr><td>worker-1</td><td>worker</td><td>NO</td><td>yes</td><td>1.4.1</td>"
                    "<td>queues</td></tr>") != std::string::npos);
    CHECK(page.find("app versions differ: 1.4.2 (1 pod), 1.4.1 (1 pod)") != std::string::npos);
    const auto json = nlohmann::json::parse(render_page_json(s, true));
    CHECK(json["fleet"]["rows"][1][0] == "worker-1");
    CHECK(render_page(s, false).find("id=\"fleet\"") == std::string::npos);
}

TEST_CASE("page: a check blocked by another's failure sits right under its root", "[page]") {
    Snapshot s;
    s.published = kPublished;
    CheckState workers = row("workers", Status::fail);
    workers.blocked_by = "cache";
    CheckState beat = row("beat", Status::fail);
    beat.blocked_by = "db";
    s.checks = {row("app", Status::ok), workers, row("db", Status::fail), beat,
                row("cache", Status::fail)};
    // Roots in page order (failing, configuration order), each followed by what it blocks.
    const std::vector<std::string> expected = {"db", "beat", "cache", "workers", "app"};
    const std::string page = render_page(s, true);
    CHECK(row_order(page) == expected);
    CHECK(page.find("data-check=\"workers\" data-status=\"fail\" data-root=\"cache\">") !=
          std::string::npos);
    CHECK(page.find("data-check=\"db\" data-status=\"fail\">") != std::string::npos);
    const auto json = nlohmann::json::parse(render_page_json(s, true));
    CHECK(json["checks"][3]["name"] == "workers");
    CHECK(json["checks"][3]["root"] == "cache");
    CHECK(json["checks"][3]["badge"] == "fail (blocked by cache)");
}
