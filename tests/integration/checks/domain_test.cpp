// The domain check against a local RDAP registry over HTTPS (Python's http.server with a
// certificate the test makes), found through a bootstrap file the test serves too: CI has no
// internet, and IANA's file is only a setting.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>

#include "checks/domain/rdap.hpp"
#include "support/fake_clock.hpp"
#include "support/make_check.hpp"
#include "support/net_fixtures.hpp"
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/servers_internal.hpp"
#include "support/temp_file.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr double kDay = 86'400;

void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
}

// A registry for .test and IANA's bootstrap file naming it, both on one HTTPS server.
struct RdapRegistry {
    std::string dir = make_temp_dir("rdap");
    std::string cert = (make_certificate(dir, "rdap", "127.0.0.1", 30), dir + "/rdap.crt");
    HttpsFileServer server{init(dir), cert, dir + "/rdap.key"};

    static std::string init(const std::string& dir) {
        ::mkdir((dir + "/www").c_str(), 0755);
        ::mkdir((dir + "/www/rdap").c_str(), 0755);
        ::mkdir((dir + "/www/rdap/domain").c_str(), 0755);
        return dir + "/www";
    }
    std::string bootstrap_url() const { return server.url() + "dns.json"; }
    void publish_bootstrap() const {
        const json bootstrap = {
            {"version", "1.0"},
            {"services", json::array({json::array(
                             {json::array({"test"}), json::array({server.url() + "rdap/"})})})}};
        write(dir + "/www/dns.json", bootstrap.dump());
    }
    // The registry's answer for `name`.
    void answer(const std::string& name, double expires, const std::string& registrar,
                const std::vector<std::string>& nameservers,
                const std::vector<std::string>& status) const {
        json ns = json::array();
        for (const std::string& host : nameservers)
            ns.push_back({{"objectClassName", "nameserver"}, {"ldhName", host}});
        char date[32];
        const auto t = static_cast<std::time_t>(expires);
        std::tm tm{};
        ::gmtime_r(&t, &tm);
        std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
        const json answer = {
            {"objectClassName", "domain"},
            {"ldhName", name},
            {"status", status},
            {"events", json::array({{{"eventAction", "expiration"}, {"eventDate", date}}})},
            {"entities",
             json::array(
                 {{{"objectClassName", "entity"},
                   {"roles", json::array({"registrar"})},
                   {"vcardArray",
                    json::array({"vcard", json::array({json::array(
                                              {"fn", json::object(), "text", registrar})})})}}})},
            {"nameservers", ns}};
        write(dir + "/www/rdap/domain/" + name, answer.dump());
    }
    void answer_status(const std::string& name, int status) const {
        write(dir + "/www/rdap/domain/" + name + ".status", std::to_string(status));
    }
    std::size_t count(const std::string& path) const {
        std::size_t n = 0;
        for (const std::string& line : server.requests())
            n += line.rfind(path + " ", 0) == 0 ? 1 : 0;
        return n;
    }
};

double wall_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

TEST_CASE("domain: the registry named by the bootstrap file answers, and expiry warns, then fails",
          "[domain]") {
    RdapRegistry registry;
    registry.publish_bootstrap();
    const std::vector<std::string> ns = {"ns1.example.test", "ns2.example.test"};
    registry.answer("example.test", wall_now() + 400 * kDay, "Good Registrar", ns,
                    {"client transfer prohibited"});
    auto check = make_check("domain", {{"domain", "Example.TEST."},
                                       {"bootstrap_url", registry.bootstrap_url()},
                                       {"ca_file", registry.cert},
                                       {"refresh", "0s"}});
    const CheckResult ok = check->run(Deadline::in(5s));
    INFO(ok.message << " " << ok.details.dump());
    CHECK(ok.status == Status::ok);
    CHECK(ok.message.find("example.test is registered until ") == 0);
    CHECK(ok.details["registrar"] == "Good Registrar");
    CHECK(ok.details["nameservers"] == json(ns));
    CHECK(ok.details["rdap_url"] == registry.server.url() + "rdap/domain/example.test");
    CHECK(observed(ok, "expiry_timestamp_seconds") > wall_now() + 399 * kDay);
    // Asked as RDAP asks: for application/rdap+json.
    const auto requests = registry.server.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[0].rfind("/dns.json ", 0) == 0);
    CHECK(requests[1] == "/rdap/domain/example.test application/rdap+json");

    registry.answer("example.test", wall_now() + 20 * kDay, "Good Registrar", ns,
                    {"client transfer prohibited"});
    const CheckResult warn = check->run(Deadline::in(5s));
    CHECK(warn.status == Status::warn);
    CHECK(warn.message.find("example.test's registration expires in 19 days") == 0);
    registry.answer("example.test", wall_now() + 3 * kDay, "Good Registrar", ns,
                    {"client transfer prohibited"});
    const CheckResult fail = check->run(Deadline::in(5s));
    CHECK(fail.status == Status::fail);
    CHECK(fail.message.find("expires in 2 days") != std::string::npos);
    // The bootstrap file was read once: the registry it named serves every run.
    CHECK(registry.count("/dns.json") == 1);
    CHECK(registry.count("/rdap/domain/example.test") == 3);

    registry.answer_status("example.test", 404);
    const CheckResult gone = check->run(Deadline::in(5s));
    CHECK(gone.status == Status::fail);
    CHECK(gone.message.find("example.test is not registered: the registry's RDAP server (https://"
                            "127.0.0.1:") == 0);
}

TEST_CASE(
    "domain: a change of registrar, nameservers or lock warns with before and after, "
    "and a restart remembers it without asking again",
    "[domain]") {
    RdapRegistry registry;
    registry.publish_bootstrap();
    const std::string state = make_temp_dir("domain-state");
    FakeClock clock;  // the fake wall clock: days pass at once
    const double now = std::chrono::duration<double>(clock.wall().time_since_epoch()).count();
    const json settings = {{"domain", "shop.test"},
                           {"bootstrap_url", registry.bootstrap_url()},
                           {"ca_file", registry.cert}};
    registry.answer("shop.test", now + 300 * kDay, "Good Registrar",
                    {"ns1.shop.test", "ns2.shop.test"},
                    {"client transfer prohibited", "client update prohibited"});
    auto first = make_check("domain", settings, {}, &clock, state);
    CHECK(first->run(Deadline::in(5s)).status == Status::ok);

    // The registry now says otherwise: moved registrar, other nameservers, a lock removed.
    registry.answer("shop.test", now + 300 * kDay, "Elsewhere LLC", {"ns1.attacker.test"},
                    {"client update prohibited"});
    clock.advance(30min);
    const CheckResult reused = first->run(Deadline::in(5s));
    CHECK(reused.status == Status::ok);  // the answer is 30 min old: not asked again
    CHECK(registry.count("/rdap/domain/shop.test") == 1);
    CHECK(reused.details["next_question_in"] == "30 min");

    clock.advance(31min);
    const CheckResult changed = first->run(Deadline::in(5s));
    INFO(changed.details.dump());
    CHECK(registry.count("/rdap/domain/shop.test") == 2);
    CHECK(changed.status == Status::warn);
    CHECK(changed.message.find("shop.test's registrar changed from Good Registrar to Elsewhere "
                               "LLC (seen ") == 0);
    CHECK(observed(changed, "changes") == 3);
    REQUIRE(changed.details["changes"].size() == 3);
    CHECK(changed.details["changes"][1]["before"] == "ns1.shop.test, ns2.shop.test");
    CHECK(changed.details["changes"][1]["after"] == "ns1.attacker.test");
    CHECK(changed.details["changes"][2]["before"] ==
          "client transfer prohibited, client update prohibited");

    // A restart ten minutes later: the saved answer and the changes, no question asked.
    clock.advance(10min);
    first.reset();
    auto second = make_check("domain", settings, {}, &clock, state);
    const CheckResult restarted = second->run(Deadline::in(5s));
    CHECK(restarted.status == Status::warn);
    CHECK(observed(restarted, "changes") == 3);
    CHECK(observed(restarted, "answer_age_seconds") == Approx(600).margin(1));
    CHECK(registry.count("/rdap/domain/shop.test") == 2);
    CHECK(registry.count("/dns.json") == 1);  // the bootstrap's answer was saved too

    // A week on, the changes have been warned about long enough.
    clock.advance(std::chrono::hours(24 * 7));
    const CheckResult later = second->run(Deadline::in(5s));
    CHECK(later.status == Status::ok);
    CHECK(observed(later, "changes") == 0);
    CHECK(registry.count("/dns.json") == 2);  // a day old: read again

    // A state file for another domain is not taken for this one's.
    auto other = make_check("domain",
                            {{"domain", "other.test"},
                             {"rdap_url", registry.server.url() + "rdap"},
                             {"ca_file", registry.cert}},
                            {}, &clock, state);
    registry.answer("other.test", now + 300 * kDay, "Good Registrar", {"ns1.other.test"}, {});
    CHECK(other->run(Deadline::in(5s)).status == Status::ok);
}

TEST_CASE("domain: an unreachable registry keeps the last answer, and warns after two days",
          "[domain]") {
    RdapRegistry registry;
    registry.publish_bootstrap();
    FakeClock clock;
    const double now = std::chrono::duration<double>(clock.wall().time_since_epoch()).count();
    registry.answer("flaky.test", now + 300 * kDay, "Good Registrar", {"ns1.flaky.test"}, {});
    auto check = make_check("domain",
                            {{"domain", "flaky.test"},
                             {"bootstrap_url", registry.bootstrap_url()},
                             {"ca_file", registry.cert}},
                            {}, &clock);
    REQUIRE(check->run(Deadline::in(5s)).status == Status::ok);

    registry.answer_status("flaky.test", 503);
    clock.advance(2h);
    const CheckResult shaky = check->run(Deadline::in(5s));
    CHECK(shaky.status == Status::ok);  // judged on the answer from two hours ago
    CHECK(shaky.details["rdap_error"].get<std::string>().find("answered 503") != std::string::npos);
    clock.advance(std::chrono::hours(47));
    const CheckResult stale = check->run(Deadline::in(5s));
    CHECK(stale.status == Status::warn);
    CHECK(stale.message.find("cannot ask RDAP about flaky.test (the registry's RDAP server") == 0);
    CHECK(stale.message.find("the last answer is 2 days old") != std::string::npos);

    registry.answer_status("flaky.test", 429);
    clock.advance(1h);
    CHECK(check->run(Deadline::in(5s))
              .details["rdap_error"]
              .get<std::string>()
              .find("asks to slow down (429)") != std::string::npos);
}

TEST_CASE("domain: what cannot be asked says why", "[domain]") {
    RdapRegistry registry;
    registry.publish_bootstrap();
    // Not trusted without the CA.
    const CheckResult untrusted =
        make_check("domain",
                   {{"domain", "example.test"}, {"bootstrap_url", registry.bootstrap_url()}})
            ->run(Deadline::in(5s));
    CHECK(untrusted.status == Status::warn);
    CHECK(untrusted.message.find("cannot learn example.test's registration: cannot read RDAP's "
                                 "bootstrap file: TLS") == 0);
    // A TLD the bootstrap file does not cover.
    const CheckResult uncovered = make_check("domain", {{"domain", "example.nope"},
                                                        {"bootstrap_url", registry.bootstrap_url()},
                                                        {"ca_file", registry.cert}})
                                      ->run(Deadline::in(5s));
    CHECK(uncovered.message.find("lists no RDAP server for .nope (set rdap_url") !=
          std::string::npos);
    // Not an RDAP answer.
    write(registry.dir + "/www/rdap/domain/odd.test", "<html>maintenance</html>");
    const CheckResult odd = make_check("domain", {{"domain", "odd.test"},
                                                  {"bootstrap_url", registry.bootstrap_url()},
                                                  {"ca_file", registry.cert}})
                                ->run(Deadline::in(5s));
    CHECK(odd.details["rdap_error"].get<std::string>().find("not a JSON object") !=
          std::string::npos);
    // A hostile answer (the registrar's identifier nested 400,000 deep, 781 KiB) is refused
    // without recursing: the run says why and the process goes on.
    write(registry.dir + "/www/rdap/domain/deep.test",
          R"({"objectClassName": "domain", "entities": [{"roles": ["registrar"], "publicIds":
          [{"type": "IANA Registrar ID", "identifier": )" +
              std::string(400'000, '[') + std::string(400'000, ']') + "}]}]}");
    const CheckResult deep = make_check("domain", {{"domain", "deep.test"},
                                                   {"bootstrap_url", registry.bootstrap_url()},
                                                   {"ca_file", registry.cert}})
                                 ->run(Deadline::in(5s));
    INFO(deep.details.dump());
    CHECK(deep.status == Status::warn);
    CHECK(deep.details["rdap_error"].get<std::string>().find("not a JSON object") !=
          std::string::npos);
    // A registry that never answers holds the run no longer than its deadline.
    Blackhole hole;
    const auto started = std::chrono::steady_clock::now();
    const CheckResult hung =
        make_check("domain", {{"domain", "example.test"},
                              {"rdap_url", "http://127.0.0.1:" + std::to_string(hole.port())}})
            ->run(Deadline::in(500ms));
    CHECK(std::chrono::steady_clock::now() - started < 3s);
    CHECK(hung.status == Status::warn);

    CHECK_THROWS_WITH(make_check("domain", {{"domain", "com"}}), Catch::Contains("not a TLD"));
    CHECK_THROWS_WITH(make_check("domain", {{"domain", "example.com"}, {"rdap_url", "ftp://x/"}}),
                      Catch::Contains("http:// or https://"));
    CHECK_THROWS_WITH(
        make_check("domain", {{"domain", "example.com"}, {"warn_days", 5}, {"fail_days", 10}}),
        Catch::Contains("must not be above warn_days"));
}

TEST_CASE("domain: the vitals binary keeps the answer in its state_dir across a restart",
          "[domain]") {
    RdapRegistry registry;
    registry.publish_bootstrap();
    registry.answer("site.test", wall_now() + 200 * kDay, "Good Registrar", {"ns1.site.test"},
                    {"client transfer prohibited"});
    const std::string state = make_temp_dir("domain-binary");
    TempFile config(json({{"state_dir", state},
                          {"checks",
                           {{"site_domain",
                             {{"kind", "domain"},
                              {"domain", "site.test"},
                              {"bootstrap_url", registry.bootstrap_url()},
                              {"ca_file", registry.cert}}}}}})
                        .dump());
    const auto run_once = [&] {
        ChildProcess vitals({"--config", config.path()}, {{"VITALS_LISTEN", "127.0.0.1:0"}});
        const auto start = vitals.wait_for_line("\"event\":\"start\"", 5s);
        REQUIRE(start);
        const std::string listen = json::parse(*start)["listen"];
        const auto port =
            static_cast<std::uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1)));
        json check;
        const bool judged = wait_until(
            [&] {
                check =
                    json::parse(get(port, "/health").body, nullptr, false)["checks"]["site_domain"];
                return check.is_object() && check.value("status", "unknown") != "unknown";
            },
            10s);
        vitals.signal(SIGTERM);
        vitals.wait_exit(5s);
        REQUIRE(judged);
        return check;
    };
    const json first = run_once();
    CHECK(first["status"] == "ok");
    std::ifstream saved(state + "/domain-site_domain.json");
    CHECK(json::parse(saved)["record"]["registrar"] == "Good Registrar");

    registry.answer("site.test", wall_now() + 200 * kDay, "Elsewhere LLC", {"ns1.site.test"},
                    {"client transfer prohibited"});
    const json second = run_once();
    CHECK(second["status"] == "ok");  // the saved answer: the registry was not asked again
    CHECK(registry.count("/rdap/domain/site.test") == 1);
}
