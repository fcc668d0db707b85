#include <catch2/catch.hpp>

#include "sidecar/core/probes.hpp"

using namespace vitals;

namespace {

CheckState make(const std::string& name, std::uint8_t groups, Status status, bool ran = true,
                bool critical = true) {
    CheckState c;
    c.name = name;
    c.kind = "test";
    c.policy.groups = groups;
    c.policy.critical = critical;
    c.status = status;
    if (ran)
        c.last = std::make_shared<CheckResult>(CheckResult{status, "", {}, {}, Cause::here, {}});
    return c;
}

}  // namespace

TEST_CASE("liveness ignores dependencies and tolerates checks that have not run", "[probes]") {
    const std::vector<CheckState> checks = {
        make("app", kGroupLive | kGroupReady, Status::unknown, false),
        make("postgres", kGroupReady, Status::fail),
    };
    CHECK(evaluate(Probe::live, checks).pass);
    auto failing_app = checks;
    failing_app[0] = make("app", kGroupLive | kGroupReady, Status::fail);
    const ProbeVerdict v = evaluate(Probe::live, failing_app);
    CHECK_FALSE(v.pass);
    CHECK(v.failing == std::vector<std::string>{"app"});
}

TEST_CASE("readiness needs every ready check ok or warn, unknown and stale fail it", "[probes]") {
    std::vector<CheckState> checks = {make("app", kGroupReady, Status::ok),
                                      make("cache", kGroupReady, Status::warn),
                                      make("broker", 0, Status::fail)};
    CHECK(evaluate(Probe::ready, checks).pass);  // broker is in no group

    checks[1] = make("cache", kGroupReady, Status::unknown, false);
    CHECK(evaluate(Probe::ready, checks).failing == std::vector<std::string>{"cache"});

    checks[1] = make("cache", kGroupReady, Status::ok);
    checks[1].stale = true;
    CHECK_FALSE(evaluate(Probe::ready, checks).pass);
    CHECK(checks[1].effective() == Status::fail);
}

TEST_CASE("startup passes once every ready check has completed a run, whatever its result",
          "[probes]") {
    std::vector<CheckState> checks = {make("app", kGroupReady, Status::unknown, false),
                                      make("db", kGroupReady, Status::fail),
                                      make("other", 0, Status::unknown, false)};
    CHECK(evaluate(Probe::startup, checks).failing == std::vector<std::string>{"app"});
    checks[0] = make("app", kGroupReady, Status::ok);
    CHECK(evaluate(Probe::startup, checks).pass);
}

TEST_CASE("overall health: critical failures fail, anything less than ok warns", "[probes]") {
    CHECK(overall_health({}) == Status::ok);
    CHECK(overall_health({make("a", 0, Status::ok)}) == Status::ok);
    CHECK(overall_health({make("a", 0, Status::ok), make("b", 0, Status::warn)}) == Status::warn);
    CHECK(overall_health({make("a", 0, Status::unknown, false)}) == Status::warn);
    CHECK(overall_health({make("a", 0, Status::fail, true, false)}) == Status::warn);
    CHECK(overall_health({make("a", 0, Status::warn), make("b", 0, Status::fail)}) == Status::fail);
    auto stale = make("a", 0, Status::ok);
    stale.stale = true;
    CHECK(overall_health({stale}) == Status::fail);
}

TEST_CASE("liveness counts a failure only when a restart may fix it, and stale always counts",
          "[probes]") {
    CheckState app = make("app", kGroupLive | kGroupReady, Status::fail, true);
    auto elsewhere =
        std::make_shared<CheckResult>(CheckResult::fail("status 500", Cause::elsewhere));
    app.last = elsewhere;
    CHECK(evaluate(Probe::live, {app}).pass);
    CHECK_FALSE(evaluate(Probe::ready, {app}).pass);
    app.last = std::make_shared<CheckResult>(CheckResult::fail("does not answer"));
    CHECK_FALSE(evaluate(Probe::live, {app}).pass);
    app.last = elsewhere;
    app.stale = true;
    CHECK_FALSE(evaluate(Probe::live, {app}).pass);
}

TEST_CASE("findings: a failure lies here when any failing finding does", "[probes]") {
    CheckResult r;
    Findings f;
    f.add(Status::fail, "5xx share", Cause::elsewhere);
    f.add(Status::warn, "slow");
    f.conclude(r, "");
    CHECK(r.status == Status::fail);
    CHECK(r.cause == Cause::elsewhere);
    Findings g;
    g.add(Status::fail, "5xx share", Cause::elsewhere);
    g.add(Status::fail, "does not answer");
    CheckResult s;
    g.conclude(s, "");
    CHECK(s.cause == Cause::here);
    CHECK(s.message.rfind("does not answer", 0) == 0);
}

TEST_CASE("a shared dependency's state counts for no probe, and reaching it still does",
          "[probes]") {
    CheckState db = make("postgres", kGroupLive | kGroupReady, Status::fail, true);
    db.last = std::make_shared<CheckResult>(
        CheckResult::fail("93 of 97 usable connections in use (96%)", Cause::shared));
    CHECK(evaluate(Probe::ready, {db}).pass);
    CHECK(evaluate(Probe::live, {db}).pass);
    CHECK(overall_health({db}) == Status::fail);  // /health and the alert still say it
    // This pod cannot connect: that is this pod's to report, to its Service.
    db.last = std::make_shared<CheckResult>(
        CheckResult::fail("cannot connect to db:5432", Cause::elsewhere));
    CHECK_FALSE(evaluate(Probe::ready, {db}).pass);
    // A shared result that stopped coming is stale, and stale is not ready.
    db.last = std::make_shared<CheckResult>(CheckResult::fail("read-only", Cause::shared));
    db.stale = true;
    CHECK_FALSE(evaluate(Probe::ready, {db}).pass);
}

TEST_CASE("findings: among equal failures, here before elsewhere before shared", "[probes]") {
    Findings f;
    f.add(Status::fail, "wraparound", Cause::shared);
    f.add(Status::fail, "cannot connect", Cause::elsewhere);
    CheckResult r;
    f.conclude(r, "");
    CHECK(r.cause == Cause::elsewhere);
    CHECK(r.details["findings"][0]["unready_helps"] == false);
    CHECK(r.details["findings"][1].count("unready_helps") == 0);
    CHECK(cause_named("shared") == Cause::shared);
    CHECK_FALSE(cause_named("nowhere"));
}
