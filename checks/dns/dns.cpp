// dns: this pod resolves the names its app needs. A cluster's DNS overloaded (every lookup
// of an app with ndots:5 tries the search domains first), a Service deleted or renamed, a
// node whose resolver is broken: the app's connections fail before they start, and its
// other checks only say "cannot connect". This one says which name, and how slow.
#include <netdb.h>
#include <sys/socket.h>

#include <chrono>

#include "checks/builtin.hpp"
#include "checks/dns/judge.hpp"

namespace vitals::checks {

namespace {

class DnsCheck final : public Check {
  public:
    DnsCheck(std::vector<std::string> names, DnsLimits limits)
        : names_(std::move(names)), limits_(limits) {}

    // getaddrinfo takes no deadline: a resolver that hangs makes the run overstay, and the
    // scheduler records the timeout (and starts no second run while this one is stuck). Names
    // not reached before the deadline are reported unresolved.
    CheckResult run(const Deadline& deadline) override {
        std::vector<DnsAnswer> answers;
        for (const std::string& name : names_) {
            DnsAnswer a;
            a.name = name;
            if (deadline.expired()) {
                a.error = "not asked: the run's deadline passed";
                answers.push_back(std::move(a));
                continue;
            }
            addrinfo hints{};
            hints.ai_family = AF_UNSPEC;
            hints.ai_socktype = SOCK_STREAM;
            addrinfo* found = nullptr;
            const auto started = std::chrono::steady_clock::now();
            const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &found);
            a.seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            if (rc != 0) {
                a.error = ::gai_strerror(rc);
            } else {
                for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next)
                    ++a.addresses;
                ::freeaddrinfo(found);
            }
            answers.push_back(std::move(a));
        }
        return judge_dns(answers, limits_);
    }

  private:
    std::vector<std::string> names_;
    DnsLimits limits_;
};

}  // namespace

struct DnsSettings {
    Setting names = Setting::of("names", SettingType::string_list,
                                "host names the app connects to, as it spells them "
                                "(postgres.db.svc, redis, api.example.com)")
                        .required();
    Setting slow = Setting::of("slow", SettingType::duration, "a name taking longer warns")
                       .defaults("500ms")
                       .range(1, 60'000);
    SettingsTable table() const { return {names, slow}; }
};

CheckKind dns_kind() {
    static const DnsSettings s;
    CheckKind kind;
    kind.name = "dns";
    kind.summary = "this pod resolves the host names its app needs, in time";
    kind.about = About::reach;  // what this pod reaches
    kind.default_groups = {};   // its dependencies' own checks decide readiness
    kind.default_interval = "30s";
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::gauge("resolve_seconds", U::seconds, "Time getaddrinfo took for the name.")
            .by("name")
            .headline(),
        O::gauge("unresolved_names", U::none, "Names that did not resolve in the last run."),
    };
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        std::vector<std::string> names = ctx.params.strings(s.names);
        if (names.empty()) ctx.refuse(s.names.key, "lists no name");
        if (names.size() > 20) ctx.refuse(s.names.key, "lists more than 20 names");
        for (const std::string& name : names)
            if (name.empty() || name.size() > 253)
                ctx.refuse(s.names.key, "holds a name that is empty or over 253 characters");
        DnsLimits limits;
        limits.slow = ctx.params.duration(s.slow);
        return std::make_unique<DnsCheck>(std::move(names), limits);
    };
    return kind;
}

}  // namespace vitals::checks
