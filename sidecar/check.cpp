#include "sidecar/check.hpp"

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

std::chrono::milliseconds Deadline::remaining() const {
    const auto left = at_ - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) {
        return std::chrono::milliseconds(0);
    }
    return std::chrono::ceil<std::chrono::milliseconds>(left);
}

}  // namespace vitals
