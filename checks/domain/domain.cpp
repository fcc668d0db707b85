// domain: the site's domain registration through RDAP — days until it expires, and a change of
// registrar, nameservers or registry lock since the last answer. IANA's bootstrap file names
// the registry's RDAP server for the TLD (read once a day); the registry is asked at most once
// per `refresh` (an hour), and the answer, the server and the changes seen are kept in the
// state dir, so a restart neither asks again at once nor forgets a change.
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>

#include "checks/builtin.hpp"
#include "checks/domain/judge.hpp"
#include "checks/domain/rdap.hpp"
#include "checks/expiry.hpp"
#include "checks/http_target.hpp"
#include "sidecar/clients/http_client.hpp"
#include "sidecar/json.hpp"
#include "sidecar/text.hpp"

namespace vitals::checks {

namespace {

using nlohmann::json;

// The bootstrap file changes a few times a year; RFC 9224 asks clients to cache it.
constexpr double kBootstrapMaxAge = 86400;
// An hourly check asks every hour, not every other one: a run lands a little early.
constexpr double kRefreshSlack = 60;
// A registry unreachable this long warns; before that, the last answer is judged alone.
constexpr double kStaleAnswer = 2 * 86400;
constexpr std::size_t kMaxAnswer = std::size_t{4} << 20;

struct DomainPolicy {
    std::string domain;
    Url bootstrap;
    std::string rdap_base;  // configured: the bootstrap is not read
    std::string ca_file;
    DomainLimits limits;
    double refresh = 0;  // seconds; every field here is read from the settings
    double changes_for = 0;
    std::string state_file;  // empty: memory only
};

double unix_seconds(WallTime t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

std::string age_text(double seconds) {
    if (seconds < 120) return std::to_string(static_cast<int>(seconds)) + " s";
    if (seconds < 7200) return std::to_string(static_cast<int>(seconds / 60)) + " min";
    if (seconds < 172800) return std::to_string(static_cast<int>(seconds / 3600)) + " h";
    return std::to_string(static_cast<int>(seconds / 86400)) + " days";
}

class DomainCheck final : public Check {
  public:
    DomainCheck(DomainPolicy policy, const Clock& clock) : p_(std::move(policy)), clock_(clock) {
        state_.domain = p_.domain;
    }

    CheckResult run(const Deadline& deadline) override {
        const double now = unix_seconds(clock_.wall());
        if (!loaded_) load();
        Findings findings;
        std::optional<std::string> rdap_error;
        bool not_registered = false;
        const bool ask = !state_.record || now - state_.fetched_at >= p_.refresh - kRefreshSlack ||
                         now < state_.fetched_at;  // the clock went back
        if (ask) {
            rdap_error = fetch(now, deadline, not_registered);
            dirty_ = true;
        }
        const auto old_end =
            std::remove_if(state_.changes.begin(), state_.changes.end(),
                           [&](const DomainChange& c) { return now - c.seen_at > p_.changes_for; });
        if (old_end != state_.changes.end()) {
            state_.changes.erase(old_end, state_.changes.end());
            dirty_ = true;
        }
        if (not_registered) {
            findings.add(Status::fail,
                         p_.domain + " is not registered: " + rdap_error.value_or("") +
                             " (expired and deleted, or a typo in the setting?)",
                         Cause::elsewhere);
        } else if (rdap_error) {
            const double age = now - state_.fetched_at;
            if (!state_.record)
                findings.add(Status::warn,
                             "cannot learn " + p_.domain + "'s registration: " + *rdap_error,
                             Cause::elsewhere);
            else if (age >= kStaleAnswer)
                findings.add(Status::warn,
                             "cannot ask RDAP about " + p_.domain + " (" + *rdap_error +
                                 "); the last answer is " + age_text(age) + " old",
                             Cause::elsewhere);
        }
        CheckResult result = judge_domain(state_, now, p_.limits, std::move(findings));
        if (rdap_error) result.details["rdap_error"] = *rdap_error;
        if (state_.record) {
            result.observe("answer_age_seconds", std::max(0.0, now - state_.fetched_at));
            result.details["rdap_url"] = state_.rdap_url;
            result.details["answered"] = utc_date(state_.fetched_at);
        }
        if (!ask && state_.record)
            result.details["next_question_in"] =
                age_text(std::max(0.0, p_.refresh - (now - state_.fetched_at)));
        if (!save_error_.empty()) result.details["state_error"] = save_error_;
        if (dirty_) save();
        return result;
    }

  private:
    // Asks the registry: why it did not answer the domain's record, with `not_registered` set
    // for a 404; nullopt when it did (the record is now in state_).
    std::optional<std::string> fetch(double now, const Deadline& deadline, bool& not_registered) {
        std::string base = p_.rdap_base;
        if (base.empty()) {
            if (state_.rdap_base.empty() || now - state_.base_at >= kBootstrapMaxAge ||
                now < state_.base_at) {
                const auto problem = read_bootstrap(now, deadline);
                // A bootstrap that cannot be read now: the server it named before still serves.
                if (problem && state_.rdap_base.empty()) return problem;
            }
            base = state_.rdap_base;
        }
        HttpTarget target;
        const Expected<Url> url = parse_url(base + "domain/" + p_.domain);
        if (!url) return "the RDAP URL " + base + " is not usable: " + url.error().message;
        target.url = *url;
        target.ca_file = p_.ca_file;
        target.follow_redirects = true;  // registries send thin-registry lookups on
        target.max_redirects = 3;
        target.headers.emplace_back("Accept", "application/rdap+json");
        const Expected<HttpReply> got = http_get(target, deadline, kMaxAnswer);
        if (!got) return got.error().message;
        const HttpReply& reply = *got;
        const std::string where = url->redacted();
        if (reply.status == 404) {
            not_registered = true;
            return "the registry's RDAP server (" + where + ") answered 404";
        }
        if (reply.status == 429)
            return "the registry's RDAP server (" + where + ") asks to slow down (429)";
        if (reply.status != 200)
            return "the registry's RDAP server (" + where + ") answered " +
                   std::to_string(reply.status);
        if (reply.body_truncated) return where + " answered more than 4 MiB";
        const json answer = vitals::parse_json(reply.body);
        std::string error;
        std::optional<DomainRecord> record = parse_domain_record(answer, error);
        if (!record) return where + ": " + error;
        if (state_.record) {
            for (DomainChange& change : domain_changes(*state_.record, *record, now))
                state_.changes.push_back(std::move(change));
        }
        state_.record = std::move(record);
        state_.fetched_at = now;
        state_.rdap_url = reply.final_url.empty() ? where : reply.final_url;
        return std::nullopt;
    }

    // Reads IANA's bootstrap file into state_.rdap_base: why it could not, or nullopt.
    std::optional<std::string> read_bootstrap(double now, const Deadline& deadline) {
        HttpTarget target;
        target.url = p_.bootstrap;
        target.ca_file = p_.ca_file;
        target.follow_redirects = true;
        const Expected<HttpReply> got = http_get(target, deadline, kMaxAnswer);
        if (!got) return "cannot read RDAP's bootstrap file: " + got.error().message;
        const HttpReply& reply = *got;
        const std::string where = p_.bootstrap.redacted();
        if (reply.status != 200)
            return "RDAP's bootstrap file " + where + " answered " + std::to_string(reply.status);
        const json bootstrap = vitals::parse_json(reply.body);
        if (!bootstrap.is_object() || !bootstrap.contains("services"))
            return "RDAP's bootstrap file " + where + " is not a bootstrap file (RFC 9224)";
        const std::vector<std::string> bases = rdap_bases(bootstrap, p_.domain);
        if (bases.empty()) {
            const std::string tld = p_.domain.substr(p_.domain.rfind('.') + 1);
            return "IANA's bootstrap file lists no RDAP server for ." + tld +
                   " (set rdap_url to the registry's RDAP server)";
        }
        state_.rdap_base = bases.front();
        state_.base_at = now;
        return std::nullopt;
    }

    void load() {
        loaded_ = true;
        if (p_.state_file.empty()) return;
        std::ifstream in(p_.state_file);
        if (!in) return;  // the first start
        std::stringstream text;
        text << in.rdbuf();
        // A state file that is not this domain's (or not JSON) is replaced at the next save.
        state_ = domain_state_from_json(vitals::parse_json(text.str()), p_.domain);
    }

    void save() {
        dirty_ = false;
        if (p_.state_file.empty()) return;
        const std::string tmp = p_.state_file + ".tmp";
        {
            std::ofstream out(tmp, std::ios::trunc);
            out << to_json(state_).dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
            out.flush();
            if (!out) {
                save_error_ = "cannot write " + tmp;
                return;
            }
        }
        save_error_ = std::rename(tmp.c_str(), p_.state_file.c_str()) == 0
                          ? ""
                          : "cannot replace " + p_.state_file;
    }

    DomainPolicy p_;
    const Clock& clock_;
    DomainState state_;
    bool loaded_ = false;
    bool dirty_ = false;
    std::string save_error_;
};

}  // namespace

// The domain kind's settings, each declared once: the table lists these members and the
// factory reads its values through them.
struct DomainSettings {
    Setting domain =
        Setting::of("domain", SettingType::string, "the registered domain, e.g. example.com")
            .required();
    const Setting& warn_days = expiry_settings().warn_days;
    const Setting& fail_days = expiry_settings().fail_days;
    Setting refresh = Setting::of("refresh", SettingType::duration,
                                  "how old the registry's answer gets before it is asked again "
                                  "(registries rate-limit)")
                          .defaults("1h");
    Setting changes_warn_for =
        Setting::of("changes_warn_for", SettingType::duration,
                    "how long a change of registrar, nameservers or lock keeps warning")
            .defaults("7d");
    Setting rdap_url =
        Setting::of("rdap_url", SettingType::string,
                    "the registry's RDAP base URL; default: from the bootstrap file");
    Setting bootstrap_url = Setting::of("bootstrap_url", SettingType::url,
                                        "IANA's RDAP bootstrap file for domains (RFC 9224)")
                                .defaults("https://data.iana.org/rdap/dns.json");
    SettingsTable table() const {
        return {domain,           warn_days, fail_days,     refresh,
                changes_warn_for, rdap_url,  bootstrap_url, http_target_settings().ca_file};
    }
};

CheckKind domain_kind() {
    static const DomainSettings s;
    CheckKind kind;
    kind.name = "domain";
    kind.summary =
        "domain registration through RDAP: expiry, and registrar, nameserver or lock "
        "changes";
    kind.about = About::shared;  // a shared dependency's state
    kind.default_groups = {};
    // The answer changes over days, and registries rate-limit: hourly is plenty.
    kind.default_interval = "1h";
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::gauge("expiry_timestamp_seconds", U::timestamp,
                 "When the registration expires (RDAP's expiration event).")
            .headline(),
        O::gauge("changes", U::none,
                 "Registrar, nameserver or lock changes seen within changes_warn_for."),
        O::gauge("answer_age_seconds", U::seconds, "Age of the registry's last answer."),
    };
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        DomainPolicy p;
        p.domain = ctx.params.str(s.domain);
        for (char& c : p.domain)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        while (!p.domain.empty() && p.domain.back() == '.')
            p.domain.pop_back();
        if (const auto problem = domain_name_problem(p.domain)) ctx.refuse(s.domain.key, *problem);
        const ExpiryDays days = expiry_days(ctx);
        p.limits.warn_days = days.warn;
        p.limits.fail_days = days.fail;
        p.refresh = static_cast<double>(ctx.params.duration(s.refresh).count()) / 1000;
        p.changes_for = static_cast<double>(ctx.params.duration(s.changes_warn_for).count()) / 1000;
        const auto web = [&](const Setting& setting) {
            const Url url = ctx.params.url(setting);
            if (url.scheme != "http" && url.scheme != "https")
                throw SettingError(setting.key, "must be an http:// or https:// URL");
            return url;
        };
        p.bootstrap = web(s.bootstrap_url);
        if (ctx.params.has(s.rdap_url)) {
            p.rdap_base = ctx.params.str(s.rdap_url);
            const Expected<Url> parsed = parse_url(p.rdap_base);
            if (!parsed) throw SettingError(s.rdap_url.key, parsed.error().message);
            if (parsed->scheme != "http" && parsed->scheme != "https")
                throw SettingError(s.rdap_url.key, "must be an http:// or https:// URL");
            if (!parsed->query.empty())
                throw SettingError(s.rdap_url.key, "must be a base URL, without a query");
            if (p.rdap_base.back() != '/') p.rdap_base += '/';
        }
        const Setting& ca = http_target_settings().ca_file;
        if (ctx.params.has(ca)) {
            p.ca_file = ctx.params.str(ca);
            if (::access(p.ca_file.c_str(), R_OK) != 0)
                ctx.refuse(ca.key, "cannot read " + p.ca_file);
        }
        if (!ctx.services.state_dir.empty())
            p.state_file = ctx.services.state_dir + "/domain-" + ctx.name + ".json";
        return std::make_unique<DomainCheck>(std::move(p), ctx.services.clock_or_system());
    };
    return kind;
}

}  // namespace vitals::checks
