// The Check interface: a check only talks to its dependency and reports what it saw.
// Intervals, thresholds, timeouts and probe groups are policy and live in the scheduler.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sidecar/deadline.hpp"

namespace vitals {

enum class Status : std::uint8_t { ok, warn, fail, unknown };

std::string_view status_name(Status s);

// Higher is worse: ok < warn < unknown < fail.
int severity(Status s);

// A named number a check observed, in base units (seconds, bytes, ratios, counts).
// The name becomes a metric `vitals_<kind>_<name>`; names ending in `_total` are counters.
// One optional label tells apart several values of one observation (the queue of a queue
// depth); its values must be bounded by configuration, never taken from error text.
struct Observation {
    std::string name;
    double value = 0;
    std::string label;        // e.g. "queue"; empty: none
    std::string label_value;  // e.g. "celery"

    // How the observation is keyed in JSON: "queue_messages.celery".
    std::string key() const { return label.empty() ? name : name + "." + label_value; }
};

struct CheckResult {
    Status status = Status::unknown;
    // One short sentence. Shown only to trusted clients; must never hold a password.
    std::string message;
    std::vector<Observation> observations;
    // Structured lists (slow queries, workers...). Trusted clients only.
    nlohmann::json details;

    static CheckResult ok(std::string message = "") {
        return {Status::ok, std::move(message), {}, {}};
    }
    static CheckResult warn(std::string message) {
        return {Status::warn, std::move(message), {}, {}};
    }
    static CheckResult fail(std::string message) {
        return {Status::fail, std::move(message), {}, {}};
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
    void add(Status status, std::string text) { items_.emplace_back(status, std::move(text)); }
    // None: `result` is ok with `ok_message`. Otherwise it takes the worst finding's status
    // and text (with "+N more in details"), and details["findings"] lists every one.
    void conclude(CheckResult& result, std::string ok_message) const;

  private:
    std::vector<std::pair<Status, std::string>> items_;
};

class Check {
  public:
    virtual ~Check() = default;
    // Probes the dependency once and must return by `deadline`: push it into every client
    // library call. The scheduler guards anyway, but a run that overstays it is wasted.
    // Throwing is allowed; the scheduler records the exception text as a failure.
    virtual CheckResult run(const Deadline& deadline) = 0;
};

}  // namespace vitals
