#include "sidecar/cli/common.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "sidecar/clients/http_client.hpp"
#include "sidecar/json.hpp"
#include "sidecar/text.hpp"

namespace vitals::cli {

using nlohmann::json;

namespace {

// Seconds since an RFC 3339 UTC stamp as vitals writes it (2026-12-02T13:08:02.123Z).
std::optional<double> seconds_since(const std::string& stamp) {
    std::tm tm{};
    const char* rest = ::strptime(stamp.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest == nullptr) return std::nullopt;
    double fraction = 0;
    if (*rest == '.') fraction = std::atof(rest);
    const double at = static_cast<double>(::timegm(&tm)) + fraction;
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    return now - at;
}

}  // namespace

void print_usage(const char* format, const std::string& url, std::ostream& out) {
    std::string text = format;
    const auto at = text.find("%s");
    if (at != std::string::npos) text.replace(at, 2, url);
    out << text;
}

Expected<Fetched> fetch(const std::string& base, const std::string& path, const std::string& token,
                        const Deadline& deadline) {
    std::string text = base;
    while (!text.empty() && text.back() == '/')
        text.pop_back();
    const Expected<Url> parsed = parse_url(text + path);
    if (!parsed || parsed->scheme != "http")
        return Failure{"\"" + base + "\" is not an http:// URL"};
    HttpTarget target;
    target.url = *parsed;
    if (!token.empty()) target.headers.emplace_back("Authorization", "Bearer " + token);
    const Expected<HttpReply> reply = http_get(target, deadline);
    if (!reply)
        return Failure{"cannot reach vitals at " + parsed->redacted() + ": " +
                       reply.error().message};
    Fetched f;
    f.status = reply->status;
    f.body = vitals::parse_json(reply->body);
    if (f.body.is_discarded()) f.body = json();
    return f;
}

std::string text_of(const json& j, const char* key, const std::string& otherwise) {
    if (!j.is_object()) return otherwise;
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? printable(it->get<std::string>()) : otherwise;
}

std::string age_text(double seconds) {
    if (seconds < 0) seconds = 0;
    const auto s = static_cast<long long>(seconds);
    const auto two = [](long long a, const char* ua, long long b, const char* ub) {
        return std::to_string(a) + ua + (b > 0 ? std::to_string(b) + ub : "");
    };
    if (s < 120) return std::to_string(s) + "s";
    if (s < 600) return two(s / 60, "m", s % 60, "s");
    constexpr long long kHour = 3600, kDay = 86400;
    if (s < 3 * kHour) return std::to_string(s / 60) + "m";
    if (s < 8 * kHour) return two(s / kHour, "h", (s % kHour) / 60, "m");
    if (s < 2 * kDay) return std::to_string(s / kHour) + "h";
    if (s < 8 * kDay) return two(s / kDay, "d", (s % kDay) / kHour, "h");
    return std::to_string(s / 86400) + "d";
}

std::string age_of(const json& check, const char* key) {
    const std::string stamp = text_of(check, key);
    const auto since = seconds_since(stamp);
    return since ? age_text(*since) : "-";
}

std::string millis(const json& check) {
    const auto it = check.find("duration_seconds");
    if (it == check.end() || !it->is_number()) return "-";
    std::ostringstream s;
    s << std::fixed << std::setprecision(1) << it->get<double>() * 1000 << "ms";
    return s.str();
}

std::string groups_of(const json& check, bool with_critical) {
    std::string out;
    if (const auto it = check.find("groups"); it != check.end() && it->is_array())
        for (const json& g : *it)
            if (g.is_string()) out += (out.empty() ? "" : ",") + printable(g.get<std::string>());
    if (with_critical && check.value("critical", false))
        out += std::string(out.empty() ? "" : ",") + "critical";
    return out.empty() ? "-" : out;
}

bool take_value(const std::vector<std::string>& args, std::size_t& i, std::string& value) {
    const std::string& arg = args[i];
    const auto eq = arg.find('=');
    if (eq != std::string::npos && arg.rfind("--", 0) == 0) {
        value = arg.substr(eq + 1);
        return true;
    }
    if (i + 1 >= args.size()) return false;
    value = args[++i];
    return true;
}

}  // namespace vitals::cli
