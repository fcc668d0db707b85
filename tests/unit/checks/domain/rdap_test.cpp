// Reading RDAP's bootstrap file and a registry's domain answer, and judging them at explicit
// instants.
#include <catch2/catch.hpp>

#include "checks/domain/judge.hpp"
#include "checks/domain/rdap.hpp"
#include "sidecar/json.hpp"
#include "support/make_check.hpp"

using namespace vitals;
using nlohmann::json;

namespace {

constexpr double kNow = 1'795'000'000;  // 2026-11-18 07:46:40 UTC
constexpr double kDay = 86'400;

// Shaped like a gTLD registry's answer (RFC 9083 with the ICANN profile's registrar entity).
json answer() {
    return json::parse(R"({
      "objectClassName": "domain",
      "handle": "2336799_DOMAIN_COM-VRSN",
      "ldhName": "EXAMPLE.COM",
      "status": ["client delete prohibited", "client transfer prohibited",
                 "client update prohibited"],
      "entities": [
        {"objectClassName": "entity", "handle": "376", "roles": ["registrar"],
         "publicIds": [{"type": "IANA Registrar ID", "identifier": "376"}],
         "vcardArray": ["vcard", [["version", {}, "text", "4.0"],
                                  ["fn", {}, "text", "RESERVED-Internet Assigned Numbers Authority"]]]},
        {"objectClassName": "entity", "roles": ["abuse"],
         "vcardArray": ["vcard", [["fn", {}, "text", "Abuse desk"]]]}
      ],
      "events": [
        {"eventAction": "registration", "eventDate": "1995-08-14T04:00:00Z"},
        {"eventAction": "expiration", "eventDate": "2027-08-13T04:00:00Z"},
        {"eventAction": "last update of RDAP database", "eventDate": "2026-11-18T07:00:00Z"}
      ],
      "nameservers": [
        {"objectClassName": "nameserver", "ldhName": "B.IANA-SERVERS.NET"},
        {"objectClassName": "nameserver", "ldhName": "A.IANA-SERVERS.NET."}
      ]
    })");
}

DomainRecord record_of(const json& j) {
    std::string error;
    const auto record = parse_domain_record(j, error);
    REQUIRE(record);
    return *record;
}

DomainState state_with(DomainRecord record) {
    DomainState state;
    state.domain = "example.com";
    state.record = std::move(record);
    state.fetched_at = kNow;
    return state;
}

}  // namespace

TEST_CASE("rdap: RFC 3339 dates with fractions and offsets", "[domain]") {
    CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == 0.0);
    CHECK(parse_rfc3339("2027-08-13T04:00:00Z") == 1'818'129'600.0);
    CHECK(parse_rfc3339("2027-08-13T06:00:00+02:00") == 1'818'129'600.0);
    CHECK(parse_rfc3339("2027-08-13T06:00:00+0200") == 1'818'129'600.0);
    CHECK(parse_rfc3339("2027-08-12T23:00:00-05:00") == 1'818'129'600.0);
    CHECK(parse_rfc3339("2027-08-13T04:00:00.250Z") == 1'818'129'600.25);
    CHECK(parse_rfc3339("2024-02-29t00:00:00z") == 1'709'164'800.0);
    CHECK_FALSE(parse_rfc3339("2027-08-13"));
    CHECK_FALSE(parse_rfc3339("2027-13-13T04:00:00Z"));
    CHECK_FALSE(parse_rfc3339("2027-08-13T04:00:00Zjunk"));
    CHECK_FALSE(parse_rfc3339("2027-08-13T04:00:00+2"));
    CHECK_FALSE(parse_rfc3339("2027-08-13T04:00:00."));
    CHECK_FALSE(parse_rfc3339(""));
    CHECK(utc_date(1'818'129'600) == "2027-08-13");
}

TEST_CASE("rdap: domain names RDAP can be asked about", "[domain]") {
    CHECK_FALSE(domain_name_problem("example.com"));
    CHECK_FALSE(domain_name_problem("shop.example.co.uk"));
    CHECK_FALSE(domain_name_problem("xn--bcher-kva.example"));
    CHECK(domain_name_problem("com").value_or("") ==
          "must be a registered name with its suffix (example.com), not a TLD");
    CHECK(domain_name_problem("bücher.de").value_or("").find("ASCII") != std::string::npos);
    CHECK(domain_name_problem("a..com").value_or("").find("labels of 1 to 63") !=
          std::string::npos);
    CHECK(domain_name_problem("-a.com").value_or("").find("hyphen") != std::string::npos);
    CHECK(domain_name_problem("https://example.com").value_or("").find("ASCII") !=
          std::string::npos);
    CHECK(domain_name_problem(""));
    CHECK(domain_name_problem(std::string(64, 'a') + ".com"));
}

TEST_CASE("rdap: the bootstrap file's longest matching suffix wins, https first", "[domain]") {
    const json bootstrap = json::parse(R"({
      "version": "1.0", "publication": "2026-11-01T00:00:00Z",
      "services": [
        [["com", "net"], ["http://rdap.example-registry.test/com", "https://rdap.example-registry.test/com/v1"]],
        [["uk"], ["https://rdap.nominet.test/uk/"]],
        [["co.uk"], ["https://rdap.nominet.test/co.uk/"]],
        "garbage", [["org"]], [[7], [8]]
      ]})");
    CHECK(rdap_bases(bootstrap, "example.com") ==
          std::vector<std::string>{"https://rdap.example-registry.test/com/v1/",
                                   "http://rdap.example-registry.test/com/"});
    CHECK(rdap_bases(bootstrap, "shop.example.CO.UK") ==
          std::vector<std::string>{"https://rdap.nominet.test/co.uk/"});
    CHECK(rdap_bases(bootstrap, "example.uk") ==
          std::vector<std::string>{"https://rdap.nominet.test/uk/"});
    CHECK(rdap_bases(bootstrap, "examplecom.org").empty());
    CHECK(rdap_bases(bootstrap, "notcom").empty());
    CHECK(rdap_bases(json::array(), "example.com").empty());
    CHECK(rdap_bases(json::parse(R"({"services": 3})"), "example.com").empty());
}

TEST_CASE("rdap: a registry's answer gives expiry, registrar, nameservers and status", "[domain]") {
    const DomainRecord r = record_of(answer());
    CHECK(r.expires == 1'818'129'600.0);
    CHECK(r.registrar == "RESERVED-Internet Assigned Numbers Authority (IANA 376)");
    CHECK(r.nameservers == std::vector<std::string>{"a.iana-servers.net", "b.iana-servers.net"});
    CHECK(r.status.size() == 3);
    CHECK(r.status[1] == "client transfer prohibited");

    std::string error;
    CHECK_FALSE(parse_domain_record(json::parse(R"({"objectClassName": "entity"})"), error));
    CHECK(error == "the answer is an RDAP entity object, not a domain");
    CHECK_FALSE(parse_domain_record(json::parse(R"({"errorCode": 404})"), error));
    CHECK(error == "the answer is not an RDAP domain object");
    CHECK_FALSE(parse_domain_record(json::array(), error));

    // Whatever the registry leaves out or sends oddly shaped is simply absent.
    const DomainRecord sparse =
        record_of(json::parse(R"({"objectClassName": "domain", "events": [{"eventAction":
        "expiration", "eventDate": "soon"}], "entities": [{"roles": "registrar"}, {"roles":
        ["registrar"], "handle": "R-1"}], "nameservers": [{}, 3], "status": [1, "active"]})"));
    CHECK_FALSE(sparse.expires);
    CHECK(sparse.registrar == "R-1");
    CHECK(sparse.nameservers.empty());
    CHECK(sparse.status == std::vector<std::string>{"active"});
}

TEST_CASE("rdap: expiry warns and fails by days left, and a lapsed one fails", "[domain]") {
    DomainRecord r = record_of(answer());
    const DomainLimits limits{30, 7};  // the declared defaults
    r.expires = kNow + 31 * kDay;
    CheckResult ok = judge_domain(state_with(r), kNow, limits);
    CHECK(ok.status == Status::ok);
    CHECK(ok.message == "example.com is registered until 2026-12-19");
    CHECK(testing::observed(ok, "expiry_timestamp_seconds") == kNow + 31 * kDay);
    CHECK(testing::observed(ok, "changes") == 0);
    CHECK(ok.details["registrar"] == r.registrar);

    r.expires = kNow + 29.5 * kDay;
    const CheckResult warn = judge_domain(state_with(r), kNow, limits);
    CHECK(warn.status == Status::warn);
    CHECK(warn.message ==
          "example.com's registration expires in 29 days (2026-12-17): renew it, or check "
          "auto-renew");
    CHECK(warn.cause == Cause::elsewhere);

    r.expires = kNow + 6 * kDay;
    CHECK(judge_domain(state_with(r), kNow, limits).status == Status::fail);
    r.expires = kNow - kDay;
    const CheckResult lapsed = judge_domain(state_with(r), kNow, limits);
    CHECK(lapsed.status == Status::fail);
    CHECK(lapsed.message == "example.com's registration expired on 2026-11-17");

    r.expires.reset();
    CHECK(judge_domain(state_with(r), kNow, limits).message ==
          "example.com is registered (the registry publishes no expiry date)");
}

TEST_CASE("rdap: a hold or a pending delete fails whatever the expiry", "[domain]") {
    DomainRecord r = record_of(answer());
    r.status = {"client hold"};
    CHECK(judge_domain(state_with(r), kNow, {30, 7})
              .message.find("example.com is on hold (client "
                            "hold)") == 0);
    r.status = {"redemptionPeriod"};
    const CheckResult deleted = judge_domain(state_with(r), kNow, {30, 7});
    CHECK(deleted.status == Status::fail);
    CHECK(deleted.message.find("is being deleted (redemptionPeriod)") != std::string::npos);
}

TEST_CASE("rdap: registrar, nameserver and lock changes are found, others are not", "[domain]") {
    const DomainRecord before = record_of(answer());
    DomainRecord after = before;
    after.expires = *before.expires + 365 * kDay;  // renewed
    after.status.push_back("auto renew period");
    CHECK(domain_changes(before, after, kNow).empty());

    after.registrar = "Evil Registrar LLC (IANA 666)";
    after.nameservers = {"ns1.attacker.test"};
    after.status = {"client delete prohibited", "client update prohibited"};
    const auto changes = domain_changes(before, after, kNow);
    REQUIRE(changes.size() == 3);
    CHECK(changes[0].what == "registrar");
    CHECK(changes[0].before == before.registrar);
    CHECK(changes[1].what == "nameservers");
    CHECK(changes[1].before == "a.iana-servers.net, b.iana-servers.net");
    CHECK(changes[1].after == "ns1.attacker.test");
    CHECK(changes[2].what == "status");
    CHECK(changes[2].seen_at == kNow);

    // EPP's spelling of the same lock is the same lock.
    DomainRecord epp = before;
    epp.status = {"clientDeleteProhibited", "clientTransferProhibited", "clientUpdateProhibited"};
    CHECK(domain_changes(before, epp, kNow).empty());

    DomainState state = state_with(after);
    state.changes = changes;
    const CheckResult r = judge_domain(state, kNow, {30, 7});
    CHECK(r.status == Status::warn);
    CHECK(r.message ==
          "example.com's registrar changed from RESERVED-Internet Assigned Numbers Authority "
          "(IANA 376) to Evil Registrar LLC (IANA 666) (seen 2026-11-18): expected, or a hijack? "
          "(+2 more in details)");
    CHECK(testing::observed(r, "changes") == 3);
    CHECK(r.details["changes"][1]["after"] == "ns1.attacker.test");
}

TEST_CASE("rdap: the state survives a round trip and belongs to one domain", "[domain]") {
    DomainState state = state_with(record_of(answer()));
    state.rdap_base = "https://rdap.example-registry.test/com/v1/";
    state.base_at = kNow - 100;
    state.rdap_url = "https://rdap.example-registry.test/com/v1/domain/example.com";
    state.changes.push_back({"registrar", "A", "B", kNow - 5});
    const json j = to_json(state);
    const DomainState back = domain_state_from_json(json::parse(j.dump()), "example.com");
    CHECK(back.record == state.record);
    CHECK(back.rdap_base == state.rdap_base);
    CHECK(back.base_at == state.base_at);
    CHECK(back.fetched_at == kNow);
    CHECK(back.rdap_url == state.rdap_url);
    REQUIRE(back.changes.size() == 1);
    CHECK(back.changes[0].after == "B");

    const DomainState other = domain_state_from_json(j, "example.org");
    CHECK(other.domain == "example.org");
    CHECK_FALSE(other.record);
    CHECK(other.rdap_base.empty());
    CHECK_FALSE(domain_state_from_json(json::parse("[1]"), "example.com").record);
    CHECK_FALSE(domain_state_from_json(json::parse(R"({"domain": "example.com", "record": 4,
        "changes": [1, {"what": 2}]})"),
                                       "example.com")
                    .record);
}

TEST_CASE("rdap: a hostile answer is refused or read without recursing", "[domain]") {
    // 400,000 levels deep in the registrar's identifier: not parsed at all.
    const std::string deep = R"({"objectClassName": "domain", "entities": [{"roles":
        ["registrar"], "publicIds": [{"type": "IANA Registrar ID", "identifier": )" +
                             std::string(400'000, '[') + std::string(400'000, ']') + "}]}]}";
    CHECK(vitals::parse_json(deep).is_discarded());
    // Within the depth limit, an identifier that is neither a string nor a number is not
    // shown, and a type of the wrong kind is passed over.
    const DomainRecord r = record_of(json::parse(R"({"objectClassName": "domain", "entities":
        [{"roles": ["registrar"], "handle": "R-2", "publicIds": [{"type": 5, "identifier": 1},
        {"type": "IANA Registrar ID", "identifier": [[[["x"]]]]}]}]})"));
    CHECK(r.registrar == "R-2");
    const DomainRecord n = record_of(json::parse(R"({"objectClassName": "domain", "entities":
        [{"roles": ["registrar"], "publicIds": [{"type": "IANA Registrar ID", "identifier":
        292}]}]})"));
    CHECK(n.registrar == "IANA 292");
}
