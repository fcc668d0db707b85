#include "checks/dns/judge.hpp"

#include <algorithm>

namespace vitals {

CheckResult judge_dns(const std::vector<DnsAnswer>& answers, const DnsLimits& limits) {
    CheckResult result;
    Findings findings;
    double unresolved = 0, slowest = 0;
    const double slow = std::chrono::duration<double>(limits.slow).count();
    for (const DnsAnswer& a : answers) {
        result.observe("resolve_seconds", "name", a.name, a.seconds);
        slowest = std::max(slowest, a.seconds);
        if (a.error) {
            ++unresolved;
            findings.add(Status::fail, "cannot resolve " + a.name + ": " + *a.error,
                         Cause::elsewhere);
        } else if (a.seconds > slow) {
            findings.add(Status::warn,
                         a.name + " took " + format_millis(a.seconds) + " to resolve (over " +
                             format_duration(limits.slow) +
                             "): is the cluster's DNS overloaded, or are search domains tried "
                             "first (ndots)?",
                         Cause::elsewhere);
        }
    }
    result.observe("unresolved_names", unresolved);
    findings.conclude(result, std::to_string(answers.size()) + " names resolved, the slowest in " +
                                  format_millis(slowest));
    return result;
}

}  // namespace vitals
