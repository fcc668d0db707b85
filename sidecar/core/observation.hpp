// What a check observes, and how each kind declares it once: name, metric type, unit and help.
// /metrics, the JSON bodies and the status page are all built from the declarations, and the
// naming rules Prometheus follows are checked where a kind is registered.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vitals {

// A named number a check observed, in base units (seconds, bytes, ratios, counts).
// It becomes the metric `vitals_<kind>_<name>`. One optional label tells apart several values
// of one observation (the queue of a queue depth); its values must be bounded by
// configuration, never taken from error text.
struct Observation {
    std::string name;
    double value = 0;
    std::string label;        // e.g. "queue"; empty: none
    std::string label_value;  // e.g. "celery"

    // How the observation is keyed in JSON: "queue_messages.celery".
    std::string key() const { return label.empty() ? name : name + "." + label_value; }
};

enum class MetricType : std::uint8_t { gauge, counter, histogram };
enum class Unit : std::uint8_t { none, seconds, bytes, ratio, timestamp, boolean };

std::string_view metric_type_name(MetricType t);

// One declared observation. A histogram's values arrive as observations named
// `<name>_bucket` (label "le", cumulative, "+Inf" last), `<name>_sum` and `<name>_count`.
struct ObservationSpec {
    std::string name;
    MetricType type = MetricType::gauge;
    Unit unit = Unit::none;
    std::string help;
    std::string label;  // the label's name when the observation has several values
    // One of the one or two numbers the status page leads a check's row with; the first a
    // kind declares is also charted over the last hour.
    bool is_headline = false;
    // A headline only when not zero ("overdue 0 s" says nothing a person needs).
    bool headline_unless_zero = false;

    static ObservationSpec gauge(std::string name, Unit unit, std::string help) {
        return {std::move(name), MetricType::gauge, unit, std::move(help), {}, false};
    }
    static ObservationSpec counter(std::string name, Unit unit, std::string help) {
        return {std::move(name), MetricType::counter, unit, std::move(help), {}, false};
    }
    static ObservationSpec histogram(std::string name, Unit unit, std::string help) {
        return {std::move(name), MetricType::histogram, unit, std::move(help), {}, false};
    }
    ObservationSpec& by(std::string label_name) {
        label = std::move(label_name);
        return *this;
    }
    ObservationSpec& headline() {
        is_headline = true;
        return *this;
    }
    ObservationSpec& headline_when_not_zero() {
        is_headline = true;
        headline_unless_zero = true;
        return *this;
    }
};

using ObservationTable = std::vector<ObservationSpec>;

// The observation a kind charts on the status page: its first headline; null when none.
const ObservationSpec* charted(const ObservationTable& table);

// The declaration an observation belongs to (its own, or the histogram whose part it is);
// null when it is not declared.
const ObservationSpec* find_spec(const ObservationTable& table, const Observation& o);

// Whether an observation is part of a histogram (`_bucket`, `_sum`, `_count`: names nothing
// else may end in), which the JSON bodies and the page leave to /metrics.
bool is_histogram_part(const Observation& o);

// Where a kind's declarations break Prometheus' naming rules or repeat themselves: counters
// end in `_total` and nothing else does, units are base units spelled as the suffix
// (`_seconds`, `_bytes`, `_ratio`, `_timestamp_seconds`), no name repeats the kind's last word
// ("celery_workers_workers_…"), no name ends like a histogram's parts, no name is declared
// twice, help is never empty.
// Empty when all is well.
std::vector<std::string> naming_problems(std::string_view kind, const ObservationTable& table);

}  // namespace vitals
