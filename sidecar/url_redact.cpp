// What of a URL, or of text that may hold one, may be printed: the password and the values
// of secret query keys masked. Declared in url.hpp.
#include <cctype>

#include "sidecar/url.hpp"

namespace vitals {

namespace {

// A user name as it stands in a URL: the characters that would end or split it, and bytes
// that are not printable, percent-encoded, so the redacted form reads back the same way.
std::string encode_user(const std::string& user) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (const char c : user) {
        const auto b = static_cast<unsigned char>(c);
        if (b <= 0x20 || b >= 0x7f || c == ':' || c == '@' || c == '/' || c == '%' || c == '?') {
            out += '%';
            out += hex[b >> 4];
            out += hex[b & 0xf];
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

std::string Url::redacted() const {
    std::string out = scheme + "://";
    if (!user.empty() || has_password) {
        out += encode_user(user);
        if (has_password) out += ":****";
        out += '@';
    }
    // An IPv6 literal in brackets; a socket directory (Cloud SQL's holds ':') encoded.
    if (host.find(':') != std::string::npos && host.front() != '/') {
        out += '[' + host + ']';
    } else {
        out += encode_user(host);  // a socket path's '/' as %2F, so it reads back the same
    }
    if (port) out += ':' + std::to_string(*port);
    for (const HostPort& h : more_hosts) {
        out += ',' + (h.host.find(':') != std::string::npos ? '[' + h.host + ']' : h.host);
        if (h.port) out += ':' + std::to_string(*h.port);
    }
    out += path;
    if (!query.empty()) out += '?' + redacted_query(query);
    for (const Url& next : failover)
        out += ';' + next.redacted();
    return out;
}

bool is_secret_key(std::string_view key) {
    std::string lower;
    for (char c : key)
        lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    for (const char* word : {"pass", "secret", "token"}) {
        if (lower.find(word) != std::string::npos) return true;
    }
    return false;
}

std::string redacted_query(std::string_view query) {
    std::string out;
    std::size_t pos = 0;
    while (pos <= query.size()) {
        const auto amp = query.find('&', pos);
        const std::string_view pair =
            query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
        const auto eq = pair.find('=');
        if (eq != std::string_view::npos && is_secret_key(pair.substr(0, eq))) {
            out.append(pair.substr(0, eq + 1)).append("****");
        } else {
            out.append(pair);
        }
        if (amp == std::string_view::npos) break;
        out += '&';
        pos = amp + 1;
    }
    return out;
}

std::string redact_secrets(std::string_view text) {
    std::string out;
    std::size_t pos = 0;
    while (true) {
        const auto scheme_end = text.find("://", pos);
        if (scheme_end == std::string_view::npos) break;
        const std::size_t start = scheme_end + 3;
        const auto end = text.find_first_of(" \t\n\"'/", start);
        const std::string_view authority = text.substr(
            start, end == std::string_view::npos ? std::string_view::npos : end - start);
        const auto at = authority.rfind('@');
        const auto colon = authority.find(':');
        out.append(text.substr(pos, start - pos));
        if (at != std::string_view::npos && colon != std::string_view::npos && colon < at) {
            out.append(authority.substr(0, colon + 1));
            out.append("****");
            out.append(authority.substr(at));
        } else {
            out.append(authority);
        }
        pos = start + authority.size();
    }
    out.append(text.substr(pos));
    // key=value pairs whose key names a secret (password=..., ?token=..., sslpassword='...').
    std::string masked;
    std::size_t from = 0;
    for (std::size_t eq = out.find('='); eq != std::string::npos; eq = out.find('=', eq + 1)) {
        std::size_t key_start = eq;
        while (key_start > 0 && (std::isalnum(static_cast<unsigned char>(out[key_start - 1])) ||
                                 out[key_start - 1] == '_' || out[key_start - 1] == '-'))
            --key_start;
        if (key_start == eq || key_start < from ||
            !is_secret_key(std::string_view(out).substr(key_start, eq - key_start)))
            continue;
        std::size_t value_end = eq + 1;
        const char quote =
            value_end < out.size() && (out[value_end] == '\'' || out[value_end] == '"')
                ? out[value_end]
                : '\0';
        if (quote != '\0') {
            const auto close = out.find(quote, value_end + 1);
            value_end = close == std::string::npos ? out.size() : close + 1;
        } else {
            while (value_end < out.size() &&
                   !std::isspace(static_cast<unsigned char>(out[value_end])) &&
                   out[value_end] != '&' && out[value_end] != ',' && out[value_end] != ';')
                ++value_end;
        }
        masked.append(out, from, eq + 1 - from).append("****");
        from = value_end;
        eq = value_end > 0 ? value_end - 1 : 0;
    }
    masked.append(out, from, std::string::npos);
    return masked;
}

}  // namespace vitals
