#include <algorithm>
#include <ostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "sidecar/cli/cli.hpp"
#include "sidecar/cli/common.hpp"
#include "sidecar/text.hpp"

namespace vitals {

namespace {

using nlohmann::json;
using namespace cli;

const char kStatusUsage[] =
    "usage: vitals status [CHECK] [URL] [-o wide|json] [--fleet] [--token TOKEN]\n"
    "\n"
    "  CHECK           one check in full: findings, observations, details, last pings\n"
    "  URL             a vitals to read (default %s)\n"
    "  -o wide         more columns (kind, critical, last run) and whole messages\n"
    "  -o json         /health (or /health/CHECK) as vitals answered it\n"
    "  --fleet         every pod of the deployment, as the fleet check sees them\n"
    "  --token TOKEN   the detail token (default $VITALS_DETAIL_TOKEN): messages and details\n"
    "\n"
    "Exit 0 when healthy (ok or warn), 1 when not, 2 on a usage error, 3 when vitals is\n"
    "unreachable.\n";

// Failing checks first, then warnings, then the rest, each in the order vitals lists them.
std::vector<std::pair<std::string, const json*>> in_order(const json& checks) {
    std::vector<std::pair<std::string, const json*>> out;
    for (const auto& item : checks.items())
        out.emplace_back(item.key(), &item.value());
    const auto rank = [](const json* c) {
        const std::string s = c->is_object() ? c->value("status", "") : "";
        return s == "fail" ? 0 : s == "warn" ? 1 : 2;
    };
    std::stable_sort(out.begin(), out.end(),
                     [&](const auto& a, const auto& b) { return rank(a.second) < rank(b.second); });
    return out;
}

void print_table(const json& health, bool wide, std::size_t width, const Painter& paint,
                 std::ostream& out) {
    std::size_t name_width = 4;
    for (const auto& item : health["checks"].items())
        name_width = std::max(name_width, printable(item.key()).size());
    name_width = std::min<std::size_t>(name_width, 40);
    std::string header = Painter::pad("NAME", name_width) + Painter::pad("STATUS", 7) +
                         Painter::pad("AGE", 6) + Painter::pad("GROUPS", 10) +
                         Painter::pad("LATENCY", 8);
    if (wide)
        header +=
            Painter::pad("KIND", 14) + Painter::pad("CRITICAL", 8) + Painter::pad("LAST RUN", 8);
    out << header << "MESSAGE\n";
    for (const auto& [name, check] : in_order(health["checks"])) {
        const json& c = *check;
        std::string status = text_of(c, "status", "?");
        if (c.value("stale", false)) status += "*";
        // A check another's failure explains says so first: read the root's row.
        const std::string blocked = c.contains("blocked_by") && c["blocked_by"].is_string()
                                        ? "[blocked by " + text_of(c, "blocked_by") + "] "
                                        : "";
        std::string line = Painter::pad(printable(name), name_width);
        line += paint.status(status, 7) + Painter::pad(age_of(c, "since"), 6) +
                Painter::pad(groups_of(c, false), 10) + Painter::pad(millis(c), 8);
        std::size_t used = name_width + 2 + 9 + 8 + 12 + 10;
        if (wide) {
            line += Painter::pad(text_of(c, "kind", "?"), 14) +
                    Painter::pad(c.value("critical", false) ? "yes" : "no", 8) +
                    Painter::pad(age_of(c, "last_run"), 8);
            used += 16 + 10 + 10;
        }
        std::string message = blocked + text_of(c, "message");
        // On a terminal a line is cut to its width; -o wide and pipes get it whole.
        if (!wide && width > used + 10 && message.size() > width - used)
            message = message.substr(0, width - used - 1) + "~";
        out << line << message << "\n";
    }
}

// The pods a fleet view sees (a check whose details carry `pods`), one line each: who is not
// ready and why, which versions.
void print_fleet(const json& health, std::ostream& out) {
    for (const auto& item : health["checks"].items()) {
        const json& c = item.value();
        if (!c.is_object() || !c.contains("details") || !c["details"].is_object()) continue;
        const json pods = c["details"].value("pods", json());
        if (!pods.is_array()) continue;
        out << "\nFLEET (" << pods.size() << " pods, from check " << printable(item.key()) << ")\n"
            << Painter::pad("POD", 32) << Painter::pad("FLEET", 14) << Painter::pad("READY", 6)
            << Painter::pad("LIVE", 5) << Painter::pad("APP", 14) << "FAILING\n";
        for (const json& p : pods) {
            if (!p.is_object()) continue;
            std::string failing;
            for (const json& name : p.value("failing", json::array()))
                if (name.is_string())
                    failing += (failing.empty() ? "" : ", ") + name.get<std::string>();
            out << Painter::pad(text_of(p, "pod", "?"), 32)
                << Painter::pad(text_of(p, "fleet", "?"), 14)
                << Painter::pad(p.value("ready", false) ? "yes" : "NO", 6)
                << Painter::pad(p.value("live", false) ? "yes" : "NO", 5)
                << Painter::pad(text_of(p, "app_version", "-"), 14) << printable(failing) << "\n";
        }
        if (const std::string skew = text_of(c["details"], "app_versions"); !skew.empty())
            out << "app versions differ: " << skew << "\n";
        return;
    }
    out << "\n(no fleet view: add a fleet check, docs/checks/fleet.md)\n";
}

// One check in full: `vitals status CHECK`.
void print_check(const json& c, const Painter& paint, std::ostream& out) {
    const auto row = [&](const char* label, const std::string& value) {
        if (!value.empty()) out << "  " << Painter::pad(label, 13) << value << "\n";
    };
    std::string status = text_of(c, "status", "?");
    if (c.value("stale", false)) status += " (stale)";
    out << paint.bold(text_of(c, "name", "?")) << " (" << text_of(c, "kind", "?")
        << "): " << paint.status(status, status.size()) << "since " << age_of(c, "since") << " ("
        << text_of(c, "since", "-") << ")\n";
    if (c.contains("blocked_by"))
        row("blocked by", text_of(c, "blocked_by") + ": read that check first");
    row("groups", groups_of(c, true));
    std::string last = age_of(c, "last_run");
    if (last != "-") {
        last += " ago, took " + millis(c);
        if (c.value("timed_out", false)) last += " (timed out)";
    }
    row("last run", last);
    if (c.contains("last_success")) row("last success", age_of(c, "last_success") + " ago");
    if (c.contains("interval_seconds") && c["interval_seconds"].is_number()) {
        std::ostringstream every;
        every << "every " << c["interval_seconds"].get<double>() << "s, timeout "
              << c.value("timeout_seconds", 0.0) << "s, fails after "
              << c.value("failure_threshold", 1) << " in a row";
        row("schedule", every.str());
    }
    if (const json runs = c.value("runs", json()); runs.is_object()) {
        std::string counts;
        for (const auto& item : runs.items())
            if (item.value().is_number() && item.value().get<long>() > 0)
                counts += (counts.empty() ? "" : ", ") + std::to_string(item.value().get<long>()) +
                          " " + item.key();
        row("runs", counts);
    }
    row("message", text_of(c, "message"));
    const json details = c.value("details", json());
    if (details.is_object() && details.contains("findings") && details["findings"].is_array()) {
        out << "  findings:\n";
        for (const json& f : details["findings"])
            out << "    " << paint.status(text_of(f, "status", "?"), 5) << text_of(f, "finding")
                << "\n";
    }
    if (const json obs = c.value("observations", json()); obs.is_object() && !obs.empty()) {
        out << "  observations:\n";
        for (const auto& item : obs.items())
            out << "    " << Painter::pad(printable(item.key()), 36) << item.value().dump() << "\n";
    }
    if (details.is_object() && details.contains("pings") && details["pings"].is_array()) {
        out << "  last pings:\n";
        for (const json& p : details["pings"]) {
            out << "    " << text_of(p, "time", "-") << "  " << text_of(p, "kind");
            if (p.contains("exit_status")) out << " (exit " << p["exit_status"].dump() << ")";
            if (const std::string rid = text_of(p, "rid"); !rid.empty()) out << " rid " << rid;
            if (const std::string line = text_of(p, "line"); !line.empty()) out << ": " << line;
            out << "\n";
        }
    }
    json rest = details.is_object() ? details : json::object();
    rest.erase("findings");
    rest.erase("pings");
    if (!rest.empty()) {
        std::istringstream lines(rest.dump(2));
        out << "  details:\n";
        for (std::string line; std::getline(lines, line);)
            out << "    " << printable(line) << "\n";
    }
}

}  // namespace

int cli_status(const std::vector<std::string>& args, const CliEnvironment& env, std::ostream& out,
               std::ostream& err) {
    bool fleet = false;
    std::string output;
    std::string token = env.token;
    std::string base, check;
    const auto usage_error = [&](const std::string& why) {
        err << "vitals status: " << why << "\n";
        print_usage(kStatusUsage, env.default_url, err);
        return kCliUsage;
    };
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        std::string value;
        if (a == "--help" || a == "-h") {
            print_usage(kStatusUsage, env.default_url, out);
            return 0;
        }
        if (a == "--fleet") {
            fleet = true;
        } else if (a == "-o" || a.rfind("--output", 0) == 0 || a.rfind("-o", 0) == 0) {
            if (a.size() > 2 && a.rfind("-o", 0) == 0 && a.rfind("--", 0) != 0) {
                output = a.substr(a[2] == '=' ? 3 : 2);
            } else if (!take_value(args, i, output)) {
                return usage_error("-o needs wide or json");
            }
            if (output != "wide" && output != "json")
                return usage_error("-o takes wide or json, not \"" + output + "\"");
        } else if (a.rfind("--token", 0) == 0) {
            if (!take_value(args, i, token)) return usage_error("--token needs a value");
        } else if (a.rfind('-', 0) == 0) {
            return usage_error("unknown argument " + a);
        } else if (a.find("://") != std::string::npos) {
            if (!base.empty()) return usage_error("one URL at most");
            base = a;
        } else {
            if (!check.empty()) return usage_error("one check at most");
            check = a;
        }
    }
    if (base.empty()) base = env.default_url;
    const Painter paint(env.color && output.empty());

    if (!check.empty()) {
        const Expected<Fetched> one = fetch(base, "/health/" + check, token);
        if (!one) {
            err << "vitals status: " << one.error().message << "\n";
            return kCliUnreachable;
        }
        if (one->status == 404 || !one->body.is_object() || !one->body.contains("status")) {
            std::string names;
            if (const Expected<Fetched> all = fetch(base, "/health", token);
                all && all->body.is_object() && all->body.contains("checks"))
                for (const auto& item : all->body["checks"].items())
                    names += (names.empty() ? "" : ", ") + printable(item.key());
            err << "vitals status: no check named " << printable(check) << " at " << base
                << (names.empty() ? "" : " (there are: " + names + ")") << "\n";
            return kCliUsage;
        }
        if (output == "json") {
            out << one->body.dump(2) << "\n";
        } else {
            print_check(one->body, paint, out);
            if (!one->body.contains("message") && env.token.empty() && token.empty())
                out << "(messages and details are shown to trusted callers: run it inside the "
                       "pod, or give --token)\n";
        }
        const std::string st = one->body.value("status", "unknown");
        return st == "ok" || st == "warn" ? 0 : kCliNotHealthy;
    }

    const Expected<Fetched> fetched = fetch(base, "/health", token);
    if (!fetched || !fetched->body.is_object() || !fetched->body.contains("checks") ||
        !fetched->body["checks"].is_object()) {
        err << "vitals status: "
            << (fetched ? "no vitals /health answer at " + base : fetched.error().message) << "\n";
        return kCliUnreachable;
    }
    const json& health = fetched->body;
    const std::string overall = health.value("status", "unknown");
    if (output == "json") {
        out << health.dump(2) << "\n";
        return overall == "fail" ? kCliNotHealthy : 0;
    }
    out << "vitals " << text_of(health, "version", "?") << " at " << base << ": "
        << paint.status(overall, overall.size());
    for (const char* probe : {"livez", "readyz", "startupz"}) {
        const Expected<Fetched> p = fetch(base, std::string("/") + probe, token);
        out << " " << probe << " " << (p ? (p->status == 200 ? "pass" : "FAIL") : "?");
    }
    out << "\n";
    if (const json pod = health.value("pod", json()); pod.is_object()) {
        std::string where;
        for (const char* key : {"name", "namespace", "node", "app_version"}) {
            const std::string value = text_of(pod, key);
            const std::string label = std::string(key) == "name"          ? "pod"
                                      : std::string(key) == "app_version" ? "app"
                                                                          : key;
            if (value.empty()) continue;
            where += where.empty() ? "" : "  ";
            where += label;
            where += " " + value;
        }
        out << where << "\n";
    }
    out << "\n";
    print_table(health, output == "wide", env.width, paint, out);
    if (fleet) print_fleet(health, out);
    bool any_message = false;
    for (const auto& item : health["checks"].items())
        any_message = any_message || item.value().contains("message");
    if (!health["checks"].empty() && !any_message)
        out << "\n(messages are shown to trusted callers: run it inside the pod, or give --token; "
               "$VITALS_DETAIL_TOKEN is read when set)\n";
    return overall == "fail" ? kCliNotHealthy : 0;
}

}  // namespace vitals
