// The Check interface: a check only talks to its dependency and reports what it saw.
// Intervals, thresholds, timeouts and probe groups are policy and live in the scheduler.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sidecar/core/observation.hpp"
#include "sidecar/deadline.hpp"

namespace vitals {

enum class Status : std::uint8_t { ok, warn, fail, unknown };

std::string_view status_name(Status s);

// Higher is worse: ok < warn < unknown < fail.
int severity(Status s);

// Where what a failure reports lies, which decides the probes it may count for. A restart of
// this container can fix only what lies `here` (the app no longer answers, a worker no longer
// answers while its broker does). A dependency this pod cannot reach, a broker gone, an error
// rate or a slow page lie `elsewhere`: they count for /readyz, but restarting every pod for
// them makes the outage worse. A shared dependency's own state, which every pod of the fleet
// reads the same (PostgreSQL's connection headroom, wraparound or a read-only primary, a
// noeviction Redis near full), is `shared`: it counts for neither, since taking every pod out
// of the Service turns a degraded site into a down one; its status and alert say it. See
// "Probe groups" in docs/endpoints.md.
enum class Cause : std::uint8_t { here, elsewhere, shared };

// "here", "elsewhere", "shared"; and back, with nullopt for anything else.
std::string_view cause_name(Cause c);
std::optional<Cause> cause_named(std::string_view name);

struct CheckResult {
    Status status = Status::unknown;
    // One short sentence. Shown only to trusted clients; must never hold a password.
    std::string message;
    std::vector<Observation> observations;
    // Structured lists (slow queries, workers...). Trusted clients only.
    nlohmann::json details;
    // For a failure: whether a restart of this container may fix it (/livez counts it).
    Cause cause = Cause::here;
    // The check asks to run again by then, sooner than its interval would (a heartbeat's due
    // time): what it watches changes then without anything to see. The scheduler obliges.
    std::optional<std::chrono::system_clock::time_point> run_again_by;

    static CheckResult ok(std::string message = "") {
        return {Status::ok, std::move(message), {}, {}, Cause::here, {}};
    }
    static CheckResult warn(std::string message) {
        return {Status::warn, std::move(message), {}, {}, Cause::here, {}};
    }
    static CheckResult fail(std::string message, Cause cause = Cause::here) {
        return {Status::fail, std::move(message), {}, {}, cause, {}};
    }

    CheckResult& observe(std::string name, double value) {
        observations.push_back({std::move(name), value, {}, {}});
        return *this;
    }
    CheckResult& observe(std::string name, std::string label, std::string label_value,
                         double value) {
        observations.push_back({std::move(name), value, std::move(label), std::move(label_value)});
        return *this;
    }
};

// What one run found, each with a status; the result takes the worst of them.
class Findings {
  public:
    void add(Status status, std::string text, Cause cause = Cause::here) {
        items_.push_back({status, std::move(text), cause});
    }
    // None: `result` is ok with `ok_message`. Otherwise it takes the worst finding's status
    // and text (with "+N more in details"), and details["findings"] lists every one. A failed
    // result lies `here` when any failing finding does.
    void conclude(CheckResult& result, std::string ok_message) const;

  private:
    struct Item {
        Status status;
        std::string text;
        Cause cause;
    };
    std::vector<Item> items_;
};

// What a run returns when it ends on one finding before any other (the dependency could not
// be asked, the reply says all): the result Findings would conclude from that finding alone,
// and for Status::ok a result with `text` as its message. Checks make every verdict through
// Findings or this, so every result that is not ok lists its findings in details.
CheckResult verdict(Status status, std::string text, Cause cause = Cause::here);

class Check {
  public:
    virtual ~Check() = default;
    // Probes the dependency once and must return by `deadline`: push it into every client
    // library call. The scheduler guards anyway, but a run that overstays it is wasted.
    // Throwing is allowed; the scheduler records the exception text as a failure.
    virtual CheckResult run(const Deadline& deadline) = 0;
    // Background work the check needs beside its runs (a UDP listener), started once by the
    // App before the first run; never for --check-config. A check reports a failure to start
    // in its own results.
    virtual void start() {}
};

}  // namespace vitals
