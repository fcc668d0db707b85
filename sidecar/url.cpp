#include "sidecar/url.hpp"

#include <cctype>

namespace vitals {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out.push_back(in[i]);
            continue;
        }
        if (i + 2 >= in.size()) {
            return std::nullopt;
        }
        const int hi = hex_value(in[i + 1]);
        const int lo = hex_value(in[i + 2]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

namespace {

bool valid_scheme(std::string_view s) {
    if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
    for (char c : s) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
            return false;
        }
    }
    return true;
}

UrlParse failure(std::string message) {
    return {std::nullopt, std::move(message)};
}

}  // namespace

UrlParse parse_url(std::string_view text) {
    const auto sep = text.find("://");
    if (sep == std::string_view::npos) {
        return failure("not a URL (expected scheme://host...)");
    }
    Url url;
    for (char c : text.substr(0, sep)) {
        url.scheme.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    if (!valid_scheme(url.scheme)) {
        return failure("invalid URL scheme");
    }
    std::string_view rest = text.substr(sep + 3);
    const auto path_at = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, path_at);
    std::string_view tail =
        path_at == std::string_view::npos ? std::string_view() : rest.substr(path_at);
    if (const auto hash = tail.find('#'); hash != std::string_view::npos) {
        tail = tail.substr(0, hash);
    }
    if (const auto q = tail.find('?'); q != std::string_view::npos) {
        url.query = std::string(tail.substr(q + 1));
        tail = tail.substr(0, q);
    }
    url.path = std::string(tail);
    // An '@' after the host, with none before it: a password holding an unencoded '/', '?'
    // or '#' cut the URL short, and part of the password would be printed as its path.
    if (authority.find('@') == std::string_view::npos &&
        rest.find('@', authority.size()) != std::string_view::npos) {
        return failure(
            "the URL has an '@' after its host: percent-encode the password ('/' as %2F, '?' "
            "as %3F, '#' as %23)");
    }

    // userinfo: the last '@' ends it (passwords may contain unescaped '@').
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = authority.substr(0, at);
        authority = authority.substr(at + 1);
        const auto colon = userinfo.find(':');
        auto user = percent_decode(userinfo.substr(0, colon));
        if (!user) return failure("invalid percent-encoding in the URL's user name");
        url.user = *user;
        if (colon != std::string_view::npos) {
            auto password = percent_decode(userinfo.substr(colon + 1));
            if (!password) return failure("invalid percent-encoding in the URL's password");
            url.password = *password;
            url.has_password = true;
        }
    }

    // PostgreSQL URLs may list several hosts (libpq tries them in order), memcached URLs
    // several servers (django-environ splits them at ',' or ';').
    const bool memcached =
        url.scheme == "memcache" || url.scheme == "pymemcache" || url.scheme == "pylibmc";
    const bool host_list = memcached || url.scheme == "postgres" || url.scheme == "postgresql" ||
                           url.scheme == "pgsql" || url.scheme == "psql" || url.scheme == "postgis";
    const std::string_view separators = memcached ? ",;" : ",";
    if (host_list && authority.find_first_of(separators) != std::string_view::npos) {
        std::vector<HostPort> hosts;
        std::string_view list = authority;
        while (true) {
            const auto comma = list.find_first_of(separators);
            UrlParse one = parse_url("x://" + std::string(list.substr(0, comma)));
            if (!one.url || one.url->host.empty() || !one.url->path.empty())
                return failure("invalid host list in URL (host:port,host:port)");
            hosts.push_back({one.url->host, one.url->port});
            if (comma == std::string_view::npos) break;
            list = list.substr(comma + 1);
        }
        url.host = hosts.front().host;
        url.port = hosts.front().port;
        url.more_hosts.assign(hosts.begin() + 1, hosts.end());
        return {std::move(url), {}};
    }

    std::string_view port_text;
    if (!authority.empty() && authority[0] == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return failure("unterminated IPv6 address in URL");
        url.host = std::string(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') return failure("unexpected text after IPv6 address in URL");
            port_text = after.substr(1);
        }
    } else {
        const auto colon = authority.rfind(':');
        // Percent-decoded: a Unix socket directory is written %2Fvar%2Frun%2Fpostgresql.
        auto host = percent_decode(authority.substr(0, colon));
        if (!host) return failure("invalid percent-encoding in the URL's host");
        url.host = *host;
        if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    }
    if (!port_text.empty()) {
        unsigned long port = 0;
        for (char c : port_text) {
            if (c < '0' || c > '9' || port > 65535) return failure("invalid port in URL");
            port = port * 10 + static_cast<unsigned long>(c - '0');
        }
        if (port == 0 || port > 65535) return failure("port in URL out of range 1-65535");
        url.port = static_cast<std::uint16_t>(port);
    }
    const bool socket_path = !url.host.empty() && url.host.front() == '/';
    for (char c : url.host) {
        if (std::isspace(static_cast<unsigned char>(c)) || (c == '/' && !socket_path) || c == '@') {
            return failure("invalid host in URL");
        }
    }
    return {std::move(url), {}};
}

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
    if (host.find(':') != std::string::npos) {
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

std::string Url::authority(std::uint16_t default_port) const {
    const auto one = [&](const std::string& h, const std::optional<std::uint16_t>& p) {
        return (h.find(':') != std::string::npos ? '[' + h + ']' : h) + ':' +
               std::to_string(p.value_or(default_port));
    };
    std::string out = one(host, port);
    for (const HostPort& h : more_hosts)
        out += ',' + one(h.host, h.port);
    return out;
}

std::optional<std::string> Url::query_value(std::string_view key) const {
    std::optional<std::string> found;
    std::string_view rest = query;
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) != key) continue;
        found =
            eq == std::string_view::npos
                ? std::string()
                : percent_decode(pair.substr(eq + 1)).value_or(std::string(pair.substr(eq + 1)));
    }
    return found;
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

std::optional<ListenAddress> ListenAddress::parse(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon + 1 == text.size()) return std::nullopt;
    ListenAddress out;
    out.host = text.substr(0, colon);
    if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']') {
        out.host = out.host.substr(1, out.host.size() - 2);
    }
    if (out.host.empty()) return std::nullopt;
    unsigned long port = 0;
    for (char c : text.substr(colon + 1)) {
        if (c < '0' || c > '9' || port > 65535) return std::nullopt;
        port = port * 10 + static_cast<unsigned long>(c - '0');
    }
    if (port > 65535) return std::nullopt;
    out.port = static_cast<std::uint16_t>(port);
    return out;
}

}  // namespace vitals
