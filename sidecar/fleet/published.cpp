#include "sidecar/fleet/published.hpp"

#include "sidecar/json.hpp"

namespace vitals {

namespace {

constexpr std::int64_t kMaxClockAheadMs = 5'000;
constexpr std::size_t kMaxMessageBytes = 2'048;

std::optional<Status> status_of(const std::string& text) {
    for (const Status s : {Status::ok, Status::warn, Status::fail, Status::unknown})
        if (status_name(s) == text) return s;
    return std::nullopt;
}

}  // namespace

std::string encode_published(const CheckResult& result, const std::string& pod,
                             std::int64_t at_ms) {
    nlohmann::json observations = nlohmann::json::array();
    for (const Observation& o : result.observations)
        observations.push_back({o.name, o.value, o.label, o.label_value});
    nlohmann::json out = {
        {"v", 1},
        {"pod", pod},
        {"at_ms", at_ms},
        {"status", std::string(status_name(result.status))},
        {"message", result.message},
        {"cause", cause_name(result.cause)},
        {"observations", std::move(observations)},
        {"details", result.details.is_null() ? nlohmann::json::object() : result.details}};
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Expected<Published> decode_published(std::string_view text, std::int64_t now_ms, Millis max_age) {
    if (text.size() > kMaxPublishedBytes)
        return Failure{"a published result of " + std::to_string(text.size()) + " bytes (over " +
                       std::to_string(kMaxPublishedBytes / 1024) + " KiB)"};
    const nlohmann::json j = parse_json(text);
    if (!j.is_object() || j.value("v", 0) != 1)
        return Failure{"a published result that is not one"};
    Published p;
    try {
        p.pod = j.at("pod").get<std::string>();
        p.at_ms = j.at("at_ms").get<std::int64_t>();
        const auto status = status_of(j.at("status").get<std::string>());
        if (!status) return Failure{"a published result with an unknown status"};
        p.result.status = *status;
        p.result.message = j.at("message").get<std::string>();
        if (p.result.message.size() > kMaxMessageBytes) p.result.message.resize(kMaxMessageBytes);
        // A cause this version does not know lies elsewhere: it counts for readiness.
        p.result.cause = cause_named(j.at("cause").get<std::string>()).value_or(Cause::elsewhere);
        for (const auto& o : j.at("observations")) {
            if (!o.is_array() || o.size() != 4 || !o[1].is_number())
                return Failure{"a published result with a malformed observation"};
            p.result.observations.push_back({o[0].get<std::string>(), o[1].get<double>(),
                                             o[2].get<std::string>(), o[3].get<std::string>()});
        }
        p.result.details = j.at("details");
        if (!p.result.details.is_object())
            return Failure{"a published result whose details are not an object"};
    } catch (const nlohmann::json::exception&) {
        return Failure{"a published result with a field missing or of the wrong type"};
    }
    if (p.pod.empty() || p.pod.size() > 253) return Failure{"a published result without its pod"};
    if (p.at_ms > now_ms + kMaxClockAheadMs)
        return Failure{"a published result stamped in the future (clocks apart?)"};
    if (now_ms - p.at_ms > max_age.count())
        return Failure{"the published result is " + std::to_string((now_ms - p.at_ms) / 1000) +
                       " s old"};
    return p;
}

}  // namespace vitals
