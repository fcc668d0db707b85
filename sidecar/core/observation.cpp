#include "sidecar/core/observation.hpp"

#include <set>

namespace vitals {

namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.compare(0, prefix.size(), prefix) == 0;
}

// The suffix a unit puts before any `_total`.
std::string_view unit_suffix(Unit u) {
    switch (u) {
        case Unit::seconds:
            return "_seconds";
        case Unit::bytes:
            return "_bytes";
        case Unit::ratio:
            return "_ratio";
        case Unit::timestamp:
            return "_timestamp_seconds";
        case Unit::none:
        case Unit::boolean:
            return "";
    }
    return "";
}

}  // namespace

std::string_view metric_type_name(MetricType t) {
    switch (t) {
        case MetricType::gauge:
            return "gauge";
        case MetricType::counter:
            return "counter";
        case MetricType::histogram:
            return "histogram";
    }
    return "untyped";
}

const ObservationSpec* charted(const ObservationTable& table) {
    for (const ObservationSpec& spec : table)
        if (spec.is_headline && spec.type != MetricType::histogram) return &spec;
    return nullptr;
}

bool is_histogram_part(const Observation& o) {
    return ends_with(o.name, "_bucket") || ends_with(o.name, "_sum") || ends_with(o.name, "_count");
}

const ObservationSpec* find_spec(const ObservationTable& table, const Observation& o) {
    for (const ObservationSpec& spec : table) {
        if (spec.type == MetricType::histogram) {
            if (o.name == spec.name + "_bucket") return o.label == "le" ? &spec : nullptr;
            if (o.name == spec.name + "_sum" || o.name == spec.name + "_count")
                return o.label == spec.label ? &spec : nullptr;
            continue;
        }
        if (o.name == spec.name) return o.label == spec.label ? &spec : nullptr;
    }
    return nullptr;
}

std::vector<std::string> naming_problems(std::string_view kind, const ObservationTable& table) {
    std::vector<std::string> problems;
    const std::string last_word(
        kind.substr(kind.rfind('_') == std::string_view::npos ? 0 : kind.rfind('_') + 1));
    std::set<std::string> seen;
    for (const ObservationSpec& s : table) {
        const std::string where = std::string(kind) + "." + s.name + ": ";
        if (!seen.insert(s.name).second) problems.push_back(where + "declared twice");
        if (s.help.empty()) problems.push_back(where + "no help text");
        for (char c : s.name) {
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
                problems.push_back(where + "not snake_case");
                break;
            }
        }
        const bool total = ends_with(s.name, "_total");
        if (s.type == MetricType::counter && !total)
            problems.push_back(where + "a counter's name ends in _total");
        if (s.type != MetricType::counter && total)
            problems.push_back(where + "only a counter's name ends in _total");
        const std::string_view stem =
            total ? std::string_view(s.name).substr(0, s.name.size() - 6) : s.name;
        const std::string_view suffix = unit_suffix(s.unit);
        if (!suffix.empty() && !ends_with(stem, suffix))
            problems.push_back(where + "the unit is the suffix " + std::string(suffix));
        if (s.unit != Unit::timestamp && ends_with(stem, "_timestamp_seconds"))
            problems.push_back(where + "a _timestamp_seconds name has the unit timestamp");
        for (std::string_view abbreviated : {"_ms", "_millis", "_percent", "_days", "_kb", "_mb"}) {
            if (ends_with(stem, abbreviated))
                problems.push_back(where + "not a base unit (" + std::string(abbreviated) + ")");
        }
        if (starts_with(s.name, last_word + "_"))
            problems.push_back(where + "repeats the kind's name (vitals_" + std::string(kind) +
                               "_" + s.name + ")");
        for (std::string_view part : {"_bucket", "_sum", "_count"}) {
            if (ends_with(s.name, part))
                problems.push_back(where + "only a histogram's parts end in " + std::string(part));
        }
        if (s.type == MetricType::histogram && s.label == "le")
            problems.push_back(where + "a histogram's own label is le");
    }
    return problems;
}

}  // namespace vitals
