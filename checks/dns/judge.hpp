// The dns kind's verdict on what one run resolved: plain data in, findings out.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sidecar/core/check.hpp"
#include "sidecar/duration.hpp"

namespace vitals {

// One name as this run resolved it.
struct DnsAnswer {
    std::string name;
    double seconds = 0;                // how long getaddrinfo took
    std::optional<std::string> error;  // why it did not resolve; nullopt: it did
    int addresses = 0;
};

// Read from the kind's settings (whose declarations hold the defaults).
struct DnsLimits {
    Millis slow{};  // a name taking longer warns
};

// Each name that did not resolve fails (restarting the pod cannot fix the cluster's DNS);
// each that took longer than `slow` warns. Observes resolve_seconds per name and the count
// of names unresolved.
CheckResult judge_dns(const std::vector<DnsAnswer>& answers, const DnsLimits& limits);

}  // namespace vitals
