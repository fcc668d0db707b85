#include "checks/domain/judge.hpp"

#include <algorithm>
#include <cctype>

namespace vitals {

namespace {

using nlohmann::json;

// "client transfer prohibited" and EPP's "clientTransferProhibited" compare equal.
std::string status_key(const std::string& status) {
    std::string key;
    for (const char c : status)
        if (std::isalpha(static_cast<unsigned char>(c)))
            key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return key;
}

bool is_lock(const std::string& status) {
    const std::string key = status_key(status);
    return key.find("prohibited") != std::string::npos || key == "locked";
}

std::string joined(const std::vector<std::string>& items) {
    if (items.empty()) return "(none)";
    std::string text;
    for (const std::string& item : items)
        text += (text.empty() ? "" : ", ") + item;
    return text;
}

}  // namespace

std::vector<DomainChange> domain_changes(const DomainRecord& before, const DomainRecord& after,
                                         double now) {
    std::vector<DomainChange> changes;
    if (before.registrar != after.registrar)
        changes.push_back({"registrar", before.registrar, after.registrar, now});
    if (before.nameservers != after.nameservers)
        changes.push_back(
            {"nameservers", joined(before.nameservers), joined(after.nameservers), now});
    std::vector<std::string> locks_before, locks_after;
    for (const std::string& s : before.status)
        if (is_lock(s)) locks_before.push_back(status_key(s));
    for (const std::string& s : after.status)
        if (is_lock(s)) locks_after.push_back(status_key(s));
    const bool lock_removed =
        std::any_of(locks_before.begin(), locks_before.end(), [&](const std::string& key) {
            return std::find(locks_after.begin(), locks_after.end(), key) == locks_after.end();
        });
    if (lock_removed)
        changes.push_back({"status", joined(before.status), joined(after.status), now});
    return changes;
}

CheckResult judge_domain(const DomainState& state, double now, const DomainLimits& limits,
                         Findings findings) {
    CheckResult result;
    const std::string& domain = state.domain;
    std::string ok = domain + " is registered";
    if (state.record) {
        const DomainRecord& r = *state.record;
        result.details["registrar"] = r.registrar;
        result.details["nameservers"] = r.nameservers;
        result.details["status"] = r.status;
        if (r.expires) {
            const double days_left = (*r.expires - now) / 86400;
            const std::string date = utc_date(*r.expires);
            result.details["expires"] = date;
            result.observe("expiry_timestamp_seconds", *r.expires);
            ok += " until " + date;
            const std::string expires = domain + "'s registration expires in " +
                                        std::to_string(static_cast<int>(days_left)) + " days (" +
                                        date + "): renew it, or check auto-renew";
            if (days_left < 0)
                findings.add(Status::fail, domain + "'s registration expired on " + date,
                             Cause::elsewhere);
            else if (days_left <= limits.fail_days)
                findings.add(Status::fail, expires, Cause::elsewhere);
            else if (days_left <= limits.warn_days)
                findings.add(Status::warn, expires, Cause::elsewhere);
        } else {
            ok += " (the registry publishes no expiry date)";
        }
        for (const std::string& status : r.status) {
            const std::string key = status_key(status);
            if (key == "clienthold" || key == "serverhold")
                findings.add(Status::fail,
                             domain + " is on hold (" + status +
                                 "): the registry does not publish "
                                 "it in DNS",
                             Cause::elsewhere);
            else if (key == "pendingdelete" || key == "redemptionperiod")
                findings.add(Status::fail,
                             domain + " is being deleted (" + status +
                                 "): restore it with the registrar now",
                             Cause::elsewhere);
        }
    }
    json changes = json::array();
    for (const DomainChange& c : state.changes) {
        changes.push_back({{"what", c.what},
                           {"before", c.before},
                           {"after", c.after},
                           {"seen", utc_date(c.seen_at)}});
        findings.add(Status::warn,
                     domain + "'s " + c.what + " changed from " + c.before + " to " + c.after +
                         " (seen " + utc_date(c.seen_at) + "): expected, or a hijack?",
                     Cause::elsewhere);
    }
    result.observe("changes", static_cast<double>(state.changes.size()));
    if (!changes.empty()) result.details["changes"] = changes;
    findings.conclude(result, ok);
    return result;
}

}  // namespace vitals
