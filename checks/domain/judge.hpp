// The domain kind's verdict, a pure function of the state a run left (the registration
// RDAP answered, the changes seen), the time and the limits. No I/O here.
#pragma once

#include "checks/domain/rdap.hpp"

namespace vitals {

// What changed that is worth a warning: the registrar, the nameservers, a lock status removed
// ("client transfer prohibited" and the like). Other status changes are not.
std::vector<DomainChange> domain_changes(const DomainRecord& before, const DomainRecord& after,
                                         double now);

// The limits, read from the kind's settings (whose declarations hold the defaults).
struct DomainLimits {
    int warn_days = 0;
    int fail_days = 0;
};

// The verdict on `state.record` at `now`: days to expiry against the limits, a registry status
// that takes the domain down (hold, pending delete, redemption), the changes still in
// `state.changes`; after `findings`, what the caller found first (the fetch's own outcome).
CheckResult judge_domain(const DomainState& state, double now, const DomainLimits& limits,
                         Findings findings = {});

}  // namespace vitals
