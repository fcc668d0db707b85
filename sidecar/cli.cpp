#include "sidecar/cli.hpp"

#include <algorithm>
#include <iomanip>
#include <ostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "sidecar/clients/http_client.hpp"
#include "sidecar/duration.hpp"
#include "sidecar/json.hpp"
#include "sidecar/text.hpp"

namespace vitals {

namespace {

using nlohmann::json;
using Steady = std::chrono::steady_clock;

struct Fetched {
    int status = 0;
    json body;  // null unless the body is JSON
};

// GET base + path with a short deadline; a failure when vitals did not answer.
Expected<Fetched> fetch(const std::string& base, const std::string& path) {
    std::string text = base;
    while (!text.empty() && text.back() == '/')
        text.pop_back();
    const Expected<Url> parsed = parse_url(text + path);
    if (!parsed || parsed->scheme != "http")
        return Failure{"\"" + base + "\" is not an http:// URL"};
    const Expected<HttpReply> reply = http_get(*parsed, "", Deadline::in(std::chrono::seconds(3)));
    if (!reply)
        return Failure{"cannot reach vitals at " + parsed->redacted() + ": " +
                       reply.error().message};
    Fetched f;
    f.status = reply->status;
    f.body = vitals::parse_json(reply->body);
    if (f.body.is_discarded()) f.body = json();
    return f;
}

std::string cell(std::string text, std::size_t width) {
    if (text.size() > width) text = text.substr(0, width - 1) + "~";
    return text + std::string(width - text.size() + 2, ' ');
}

std::string millis(const json& check) {
    if (!check.contains("duration_seconds")) return "-";
    std::ostringstream s;
    s << std::fixed << std::setprecision(1) << check["duration_seconds"].get<double>() * 1000
      << " ms";
    return s.str();
}

void print_table(const json& health, std::ostream& out) {
    std::size_t name_width = 5;
    for (const auto& item : health["checks"].items())
        name_width = std::max(name_width, item.key().size());
    out << cell("CHECK", name_width) << cell("STATUS", 7) << cell("SINCE", 20)
        << cell("LAST RUN", 9) << "MESSAGE\n";
    for (const auto& item : health["checks"].items()) {
        const json& c = item.value();
        // Everything printed came over the network: a message could carry escape sequences
        // that retitle or clear an operator's terminal.
        std::string status = printable(c.value("status", "?"));
        if (c.value("stale", false)) status += "*";
        // A check another's failure explains says so first: read the root's row.
        const std::string blocked =
            c.contains("blocked_by") && c["blocked_by"].is_string()
                ? "[blocked by " + printable(c["blocked_by"].get<std::string>()) + "] "
                : "";
        out << cell(printable(item.key()), name_width) << cell(status, 7)
            << cell(printable(c.value("since", "-")), 20) << cell(millis(c), 9) << blocked
            << printable(c.value("message", "")) << "\n";
    }
}

// The pods a `fleet` check sees, one line each: who is not ready and why, which versions.
void print_fleet(const json& health, std::ostream& out) {
    for (const auto& item : health["checks"].items()) {
        const json& c = item.value();
        if (c.value("kind", "") != "fleet" || !c.contains("details")) continue;
        const json& pods = c["details"].value("pods", json::array());
        out << "\nFLEET (" << pods.size() << " pods, from check " << printable(item.key()) << ")\n"
            << cell("POD", 32) << cell("FLEET", 14) << cell("READY", 6) << cell("LIVE", 5)
            << cell("APP", 14) << "FAILING\n";
        for (const json& p : pods) {
            if (!p.is_object()) continue;
            std::string failing;
            for (const json& name : p.value("failing", json::array()))
                if (name.is_string())
                    failing += (failing.empty() ? "" : ", ") + name.get<std::string>();
            out << cell(printable(p.value("pod", "?")), 32)
                << cell(printable(p.value("fleet", "?")), 14)
                << cell(p.value("ready", false) ? "yes" : "NO", 6)
                << cell(p.value("live", false) ? "yes" : "NO", 5)
                << cell(printable(p.value("app_version", "-")), 14) << printable(failing) << "\n";
        }
        if (c["details"].contains("app_versions"))
            out << "app versions differ: " << printable(c["details"].value("app_versions", ""))
                << "\n";
    }
}

bool take_value(const std::vector<std::string>& args, std::size_t& i, std::string& value) {
    const std::string& arg = args[i];
    const auto eq = arg.find('=');
    if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
        return true;
    }
    if (i + 1 >= args.size()) return false;
    value = args[++i];
    return true;
}

}  // namespace

int cli_status(const std::vector<std::string>& args, const std::string& default_url,
               std::ostream& out, std::ostream& err) {
    bool fleet = false;
    std::vector<std::string> rest;
    for (const std::string& a : args) {
        if (a == "--fleet") {
            fleet = true;
        } else {
            rest.push_back(a);
        }
    }
    if (rest.size() > 1 || (!rest.empty() && rest[0].rfind('-', 0) == 0)) {
        err << "usage: vitals status [--fleet] [URL]   (default " << default_url << ")\n";
        return kCliUsage;
    }
    const std::string base = rest.empty() ? default_url : rest[0];
    const Expected<Fetched> fetched = fetch(base, "/health");
    if (!fetched || !fetched->body.is_object() || !fetched->body.contains("checks")) {
        err << "vitals status: "
            << (fetched ? "no vitals /health answer at " + base : fetched.error().message) << "\n";
        return kCliUnreachable;
    }
    const Fetched& health = *fetched;
    const std::string overall = health.body.value("status", "unknown");
    out << "vitals " << printable(health.body.value("version", "?")) << " at " << base << ": "
        << overall;
    for (const char* probe : {"livez", "readyz", "startupz"}) {
        const Expected<Fetched> p = fetch(base, std::string("/") + probe);
        out << "  " << probe << " " << (p ? (p->status == 200 ? "pass" : "FAIL") : "?");
    }
    out << "\n\n";
    print_table(health.body, out);
    if (fleet) print_fleet(health.body, out);
    if (!health.body.empty() && health.body["checks"].begin() != health.body["checks"].end()) {
        bool any_message = false;
        for (const auto& item : health.body["checks"].items())
            any_message = any_message || item.value().contains("message");
        if (!any_message)
            out << "\n(messages are shown to trusted networks only: run it inside the pod)\n";
    }
    return overall == "fail" ? kCliNotHealthy : 0;
}

int cli_wait(const std::vector<std::string>& args, const std::string& default_url,
             std::ostream& out, std::ostream& err) {
    std::string probe = "readyz";
    std::string base = default_url;
    Millis timeout{120'000};
    Millis interval{1'000};
    const char* usage =
        "usage: vitals wait [--ready|--live|--startup] [URL] [--timeout 120s] [--interval 1s]\n";
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        std::string value;
        if (a == "--ready" || a == "--live" || a == "--startup") {
            probe = a.substr(2) + "z";
            if (a == "--ready") probe = "readyz";
        } else if (a.rfind("--timeout", 0) == 0 || a.rfind("--interval", 0) == 0) {
            const bool is_timeout = a.rfind("--timeout", 0) == 0;
            std::optional<Millis> d;
            if (take_value(args, i, value)) d = parse_duration(value);
            if (!d || d->count() <= 0) {
                err << "vitals wait: " << (is_timeout ? "--timeout" : "--interval")
                    << " needs a duration like 120s or 2m\n"
                    << usage;
                return kCliUsage;
            }
            (is_timeout ? timeout : interval) = *d;
        } else if (a.rfind('-', 0) != 0) {
            base = a;
        } else {
            err << "vitals wait: unknown argument " << a << "\n" << usage;
            return kCliUsage;
        }
    }
    const auto started = Steady::now();
    const auto until = started + timeout;
    std::string last_error;
    json last_body;
    for (;;) {
        const Expected<Fetched> f = fetch(base, "/" + probe);
        if (f && f->status == 200) {
            const double took = std::chrono::duration<double>(Steady::now() - started).count();
            out << "vitals wait: " << probe << " passed after " << std::fixed
                << std::setprecision(1) << took << "s\n";
            return 0;
        }
        last_error = f ? "" : f.error().message;
        last_body = f ? f->body : json();
        if (Steady::now() + interval > until) break;
        std::this_thread::sleep_for(interval);
    }
    err << "vitals wait: " << probe << " did not pass within " << format_duration(timeout) << "\n";
    if (!last_error.empty()) {
        err << "  " << last_error << "\n";
        return kCliNotHealthy;
    }
    // Which checks hold it back, with their messages where vitals shows them.
    const Expected<Fetched> fetched = fetch(base, "/health");
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
            err << ": " << printable(c.value("status", "?"));
            if (c.contains("message") && c["message"].is_string())
                err << " - " << printable(c["message"].get<std::string>());
        }
        err << "\n";
    }
    return kCliNotHealthy;
}

}  // namespace vitals
