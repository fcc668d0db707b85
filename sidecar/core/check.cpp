#include "sidecar/core/check.hpp"

#include <algorithm>

namespace vitals {

std::string_view status_name(Status s) {
    switch (s) {
        case Status::ok:
            return "ok";
        case Status::warn:
            return "warn";
        case Status::fail:
            return "fail";
        case Status::unknown:
            break;
    }
    return "unknown";
}

int severity(Status s) {
    switch (s) {
        case Status::ok:
            return 0;
        case Status::warn:
            return 1;
        case Status::unknown:
            return 2;
        case Status::fail:
            break;
    }
    return 3;
}

void Findings::conclude(CheckResult& result, std::string ok_message) const {
    const auto worst = std::max_element(
        items_.begin(), items_.end(),
        [](const auto& a, const auto& b) { return severity(a.first) < severity(b.first); });
    if (worst == items_.end()) {
        result.status = Status::ok;
        result.message = std::move(ok_message);
        return;
    }
    result.status = worst->first;
    result.message = worst->second;
    if (items_.size() > 1)
        result.message += " (+" + std::to_string(items_.size() - 1) + " more in details)";
    nlohmann::json all = nlohmann::json::array();
    for (const auto& [status, text] : items_)
        all.push_back({{"status", status_name(status)}, {"finding", text}});
    result.details["findings"] = all;
}

}  // namespace vitals
