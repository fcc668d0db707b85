#include "sidecar/core/roots.hpp"

#include <algorithm>
#include <cctype>

#include "sidecar/core/snapshot.hpp"
#include "sidecar/url.hpp"

namespace vitals {

namespace {

std::uint16_t default_port(const std::string& scheme) {
    if (scheme.rfind("postgres", 0) == 0 || scheme == "pgsql" || scheme == "psql" ||
        scheme.rfind("timescale", 0) == 0)
        return 5432;
    if (scheme.rfind("redis", 0) == 0 || scheme == "rediscache") return 6379;
    if (scheme == "amqps") return 5671;
    if (scheme.find("amqp") != std::string::npos || scheme == "librabbitmq") return 5672;
    if (scheme.find("memcache") != std::string::npos || scheme == "pylibmc") return 11211;
    if (scheme == "https") return 443;
    return 80;
}

std::string lower(std::string s) {
    for (char& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string endpoint(const std::string& host, std::uint16_t port) {
    const std::string h = lower(host == "localhost" || host == "::1" ? "127.0.0.1" : host);
    return h + ":" + std::to_string(port);
}

void add_url(const Url& url, std::vector<std::string>& out) {
    if (url.host.empty() || url.host.front() == '/') {
        const std::string socket = url.host.empty() ? url.path : url.host;
        if (!socket.empty()) out.push_back(socket);
    } else {
        out.push_back(endpoint(url.host, url.port.value_or(default_port(url.scheme))));
    }
    for (const HostPort& h : url.more_hosts)
        out.push_back(endpoint(h.host, h.port.value_or(default_port(url.scheme))));
    for (const Url& next : url.failover)
        add_url(next, out);
}

int rank(About about) {
    switch (about) {
        case About::app:
            return 0;
        case About::reach:
            return 1;
        case About::shared:
            return 2;
    }
    return 2;
}

bool share_endpoint(const CheckState& a, const CheckState& b) {
    for (const std::string& e : a.policy.depends.endpoints)
        if (std::find(b.policy.depends.endpoints.begin(), b.policy.depends.endpoints.end(), e) !=
            b.policy.depends.endpoints.end())
            return true;
    return false;
}

}  // namespace

std::vector<std::string> endpoints_of(const nlohmann::json& settings) {
    std::vector<std::string> out;
    if (!settings.is_object()) return out;
    for (const auto& [key, value] : settings.items()) {
        if (!value.is_string()) continue;
        const std::string text = value.get<std::string>();
        if (text.find("://") == std::string::npos) continue;
        if (const Expected<Url> url = parse_url(text)) add_url(*url, out);
    }
    const auto host = settings.find("host");
    const auto port = settings.find("port");
    if (host != settings.end() && host->is_string() && port != settings.end() &&
        port->is_number_integer())
        out.push_back(endpoint(host->get<std::string>(), port->get<std::uint16_t>()));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::map<std::string, std::string> blocked_by(const std::vector<CheckState>& checks) {
    std::map<std::string, const CheckState*> failing;
    for (const CheckState& c : checks)
        if (c.effective() == Status::fail) failing.emplace(c.name, &c);
    // Each failing check's direct parent.
    std::map<std::string, std::string> parent;
    for (const auto& [name, check] : failing) {
        const std::string& named = check->policy.depends.on;
        if (!named.empty()) {
            if (failing.count(named) != 0 && named != name) parent[name] = named;
            continue;
        }
        const CheckState* best = nullptr;
        const auto& explained_by = check->policy.depends.explained_by;
        for (const auto& [other_name, other] : failing) {
            if (other_name == name || !share_endpoint(*check, *other)) continue;
            const bool named_kind = std::find(explained_by.begin(), explained_by.end(),
                                              other->kind) != explained_by.end();
            if (!named_kind &&
                rank(other->policy.depends.about) >= rank(check->policy.depends.about))
                continue;
            if (best == nullptr ||
                rank(other->policy.depends.about) < rank(best->policy.depends.about))
                best = other;
        }
        if (best != nullptr) parent[name] = best->name;
    }
    // To the end of each chain (a configured cycle stops where it would repeat).
    std::map<std::string, std::string> out;
    for (const auto& [name, first] : parent) {
        std::string root = first;
        for (std::size_t hops = 0; hops < parent.size(); ++hops) {
            const auto next = parent.find(root);
            if (next == parent.end() || next->second == name) break;
            root = next->second;
        }
        out[name] = root;
    }
    return out;
}

}  // namespace vitals
