// A domain's registration as RDAP tells it (RFC 9083, the JSON successor of WHOIS), and what
// the domain check makes of it: when the registration expires, and whether the registrar, the
// nameservers or a registry lock changed since the last answer (the article's "WHOIS record
// changes as a security signal"). Pure reading here, the verdict in judge.hpp;
// checks/domain/domain.cpp fetches IANA's bootstrap file and the registry's answer and keeps
// the state.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sidecar/core/check.hpp"

namespace vitals {

struct DomainRecord {
    std::optional<double> expires;         // Unix seconds (events[expiration]); none: unpublished
    std::string registrar;                 // the registrar entity's name, else its IANA id
    std::vector<std::string> nameservers;  // lower case, no trailing dot, sorted
    std::vector<std::string> status;       // as the registry spells them, sorted
    bool operator==(const DomainRecord& o) const {
        return expires == o.expires && registrar == o.registrar && nameservers == o.nameservers &&
               status == o.status;
    }
};

// A change between two answers, kept and warned about for a while after it was seen.
struct DomainChange {
    std::string what;  // "registrar", "nameservers", "status"
    std::string before, after;
    double seen_at = 0;  // Unix seconds
};

// What survives a restart (the state dir's domain-<check>.json) and what each run judges.
struct DomainState {
    std::string domain;
    std::string rdap_base;  // the registry's RDAP base URL, from the bootstrap file
    double base_at = 0;     // when the bootstrap file was read
    std::optional<DomainRecord> record;
    double fetched_at = 0;  // when `record` was answered
    std::string rdap_url;   // where it came from
    std::vector<DomainChange> changes;
};

nlohmann::json to_json(const DomainState& state);
// The state in `j`, or an empty one for `domain` when `j` is not a state of that domain.
DomainState domain_state_from_json(const nlohmann::json& j, const std::string& domain);

// RFC 3339 date-time ("2027-08-13T04:00:00Z", fractions and offsets allowed) as Unix seconds.
std::optional<double> parse_rfc3339(std::string_view text);

// Why `domain` is not a name RDAP can be asked about (ASCII labels, an A-label for an IDN, at
// least two labels); nullopt when it is.
std::optional<std::string> domain_name_problem(std::string_view domain);

// The RDAP base URLs IANA's bootstrap file (RFC 9224) lists for the longest suffix of `domain`
// it covers, https first, each ending in '/'. Empty when no entry covers it.
std::vector<std::string> rdap_bases(const nlohmann::json& bootstrap, const std::string& domain);

// The registration in a registry's RDAP answer for a domain; nullopt with `error` set when the
// answer is not a domain object.
std::optional<DomainRecord> parse_domain_record(const nlohmann::json& answer, std::string& error);

// "2027-08-13" for Unix seconds.
std::string utc_date(double unix_seconds);

}  // namespace vitals
