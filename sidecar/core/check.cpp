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

std::string_view cause_name(Cause c) {
    switch (c) {
        case Cause::here:
            return "here";
        case Cause::elsewhere:
            return "elsewhere";
        case Cause::shared:
            return "shared";
    }
    return "here";
}

std::optional<Cause> cause_named(std::string_view name) {
    for (Cause c : {Cause::here, Cause::elsewhere, Cause::shared})
        if (cause_name(c) == name) return c;
    return std::nullopt;
}

void Findings::conclude(CheckResult& result, std::string ok_message) const {
    // The worst finding; among equally bad ones the first that lies here, since that is the
    // one a liveness failure is about.
    const auto worse = [](const Item& a, const Item& b) {
        if (severity(a.status) != severity(b.status))
            return severity(a.status) < severity(b.status);
        return a.cause > b.cause;  // here, then elsewhere, then shared
    };
    const auto worst = std::max_element(items_.begin(), items_.end(), worse);
    if (worst == items_.end()) {
        result.status = Status::ok;
        result.message = std::move(ok_message);
        return;
    }
    result.status = worst->status;
    result.cause = worst->cause;
    result.message = worst->text;
    if (items_.size() > 1)
        result.message += " (+" + std::to_string(items_.size() - 1) + " more in details)";
    nlohmann::json all = nlohmann::json::array();
    for (const Item& item : items_) {
        nlohmann::json one = {{"status", status_name(item.status)}, {"finding", item.text}};
        if (item.cause != Cause::here) one["restart_helps"] = false;
        if (item.cause == Cause::shared) one["unready_helps"] = false;
        all.push_back(std::move(one));
    }
    result.details["findings"] = all;
}

CheckResult verdict(Status status, std::string text, Cause cause) {
    CheckResult result;
    Findings findings;
    if (status == Status::ok) {
        findings.conclude(result, std::move(text));
    } else {
        findings.add(status, std::move(text), cause);
        findings.conclude(result, "");
    }
    return result;
}

}  // namespace vitals
