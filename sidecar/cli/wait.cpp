#include <algorithm>
#include <iomanip>
#include <ostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "sidecar/cli/cli.hpp"
#include "sidecar/cli/common.hpp"
#include "sidecar/duration.hpp"
#include "sidecar/text.hpp"

namespace vitals {

namespace {

using nlohmann::json;
using namespace cli;
using Steady = std::chrono::steady_clock;

const char kWaitUsage[] =
    "usage: vitals wait [--ready|--live|--startup] [URL] [--timeout 120s] [--interval 1s]\n"
    "\n"
    "Polls the probe until it passes (exit 0) or the timeout ends (exit 1, listing the checks\n"
    "holding it back with their messages). URL default %s.\n";

}  // namespace

int cli_wait(const std::vector<std::string>& args, const CliEnvironment& env, std::ostream& out,
             std::ostream& err) {
    std::string probe = "readyz";
    std::string base = env.default_url;
    Millis timeout{120'000};
    Millis interval{1'000};
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        std::string value;
        if (a == "--help" || a == "-h") {
            print_usage(kWaitUsage, env.default_url, out);
            return 0;
        }
        if (a == "--ready" || a == "--live" || a == "--startup") {
            probe = a.substr(2) + "z";
            if (a == "--ready") probe = "readyz";
        } else if (a.rfind("--timeout", 0) == 0 || a.rfind("--interval", 0) == 0) {
            const bool is_timeout = a.rfind("--timeout", 0) == 0;
            std::optional<Millis> d;
            if (take_value(args, i, value)) d = parse_duration(value);
            if (!d || d->count() <= 0) {
                err << "vitals wait: " << (is_timeout ? "--timeout" : "--interval")
                    << " needs a duration like 120s or 2m\n";
                print_usage(kWaitUsage, env.default_url, err);
                return kCliUsage;
            }
            (is_timeout ? timeout : interval) = *d;
        } else if (a.rfind('-', 0) != 0) {
            base = a;
        } else {
            err << "vitals wait: unknown argument " << a << "\n";
            print_usage(kWaitUsage, env.default_url, err);
            return kCliUsage;
        }
    }
    const auto started = Steady::now();
    const auto until = started + timeout;
    std::string last_error;
    json last_body;
    // Asked at once, then every interval, and a last time at the timeout itself: a pipeline
    // given 3s waits 3s, not the last whole interval before it.
    for (;;) {
        const auto now = Steady::now();
        const Deadline ask_by = Deadline::in(std::max<Steady::duration>(
            std::min<Steady::duration>(until - now, std::chrono::seconds(3)),
            std::chrono::milliseconds(200)));
        const Expected<Fetched> f = fetch(base, "/" + probe, env.token, ask_by);
        if (f && f->status == 200) {
            const double took = std::chrono::duration<double>(Steady::now() - started).count();
            out << "vitals wait: " << probe << " passed after " << std::fixed
                << std::setprecision(1) << took << "s\n";
            return 0;
        }
        last_error = f ? "" : f.error().message;
        last_body = f ? f->body : json();
        const auto after = Steady::now();
        if (after >= until) break;
        std::this_thread::sleep_for(std::min<Steady::duration>(interval, until - after));
    }
    err << "vitals wait: " << probe << " did not pass within " << format_duration(timeout) << "\n";
    if (!last_error.empty()) {
        err << "  " << last_error << "\n";
        return kCliNotHealthy;
    }
    // Which checks hold it back, with their messages where vitals shows them.
    const Expected<Fetched> fetched = fetch(base, "/health", env.token);
    const json health = fetched ? fetched->body : json();
    const json failing =
        last_body.is_object()
            ? last_body.value(probe == "startupz" ? "waiting" : "failing", json::array())
            : json::array();
    for (const auto& name : failing) {
        const std::string n = name.is_string() ? name.get<std::string>() : "?";
        err << "  " << printable(n);
        if (health.is_object() && health.contains("checks") && health["checks"].contains(n)) {
            const json& c = health["checks"][n];
            err << ": " << text_of(c, "status", "?");
            if (const std::string m = text_of(c, "message"); !m.empty()) err << " - " << m;
        }
        err << "\n";
    }
    return kCliNotHealthy;
}

}  // namespace vitals
