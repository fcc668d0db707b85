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

std::string percent_encode(std::string_view in) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (const char c : in) {
        const auto b = static_cast<unsigned char>(c);
        if (std::isalnum(b) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
            out += c;
        } else {
            out += '%';
            out += hex[b >> 4];
            out += hex[b & 0xf];
        }
    }
    return out;
}

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

Failure failure(std::string message) {
    return Failure{std::move(message)};
}

}  // namespace

namespace {

// Python's urlsplit, which every Django URL library calls: surrounding C0 controls and
// spaces go (a Secret written with `echo url | base64` ends in a newline), and so do tab,
// CR and LF anywhere. vitals reads the URL the app read.
std::string python_cleaned(std::string_view text) {
    while (!text.empty() && static_cast<unsigned char>(text.front()) <= 0x20)
        text.remove_prefix(1);
    while (!text.empty() && static_cast<unsigned char>(text.back()) <= 0x20)
        text.remove_suffix(1);
    std::string out;
    out.reserve(text.size());
    for (const char c : text)
        if (c != '\t' && c != '\r' && c != '\n') out += c;
    return out;
}

// The schemes of Celery brokers, whose URL may be kombu's failover list (`;` between URLs).
bool is_failover_scheme(std::string_view scheme) {
    for (const char* s : {"amqp", "amqps", "pyamqp", "librabbitmq", "redis", "rediss"})
        if (scheme == s) return true;
    return false;
}

std::string lower_scheme(std::string_view text) {
    std::string out;
    const auto sep = text.find("://");
    for (const char c : text.substr(0, sep))
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return out;
}

Expected<Url> parse_one(std::string_view text);

}  // namespace

Expected<Url> parse_url(std::string_view raw) {
    const std::string text = python_cleaned(raw);
    const std::string scheme = lower_scheme(text);
    if (text.find("://") == std::string::npos || text.find(';') == std::string::npos ||
        !is_failover_scheme(scheme))
        return parse_one(text);
    // kombu splits the whole text at every ';' and tries the parts in turn; a part without a
    // scheme ("u:B@h2", kombu's short form) is read as one with the first part's scheme.
    Expected<Url> first = failure("");
    std::size_t index = 0;
    std::size_t from = 0;
    while (from <= text.size()) {
        const auto semi = text.find(';', from);
        std::string part = text.substr(from, semi == std::string::npos ? semi : semi - from);
        from = semi == std::string::npos ? text.size() + 1 : semi + 1;
        ++index;
        if (part.empty()) continue;
        if (part.find("://") == std::string::npos) part.insert(0, scheme + "://");
        Expected<Url> url = parse_one(part);
        if (!url)
            return failure("failover URL " + std::to_string(index) +
                           " of the list: " + url.error().message);
        if (!first) {
            first = std::move(url);
        } else {
            first->failover.push_back(*std::move(url));
        }
    }
    if (!first) return failure("an empty failover list");
    return first;
}

namespace {

Expected<Url> parse_one(std::string_view text) {
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
    const bool postgres = url.scheme == "postgres" || url.scheme == "postgresql" ||
                          url.scheme == "pgsql" || url.scheme == "psql" ||
                          url.scheme == "postgis" || url.scheme == "timescale" ||
                          url.scheme == "timescalegis";
    // django-environ's rediscache://h1:6379,h2:6379/1: a primary and its replicas.
    const bool host_list = memcached || postgres || url.scheme == "rediscache";
    const std::string_view separators = memcached ? ",;" : ",";
    if (host_list && authority.find_first_of(separators) != std::string_view::npos) {
        std::vector<HostPort> hosts;
        std::string_view list = authority;
        while (true) {
            const auto comma = list.find_first_of(separators);
            const Expected<Url> one = parse_url("x://" + std::string(list.substr(0, comma)));
            if (!one || one->host.empty() || !one->path.empty())
                return failure("invalid host list in URL (host:port,host:port)");
            hosts.push_back({one->host, one->port});
            if (comma == std::string_view::npos) break;
            list = list.substr(comma + 1);
        }
        url.host = hosts.front().host;
        url.port = hosts.front().port;
        url.more_hosts.assign(hosts.begin() + 1, hosts.end());
        return url;
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
    // Cloud SQL's form, postgres://u:p@//cloudsql/project:region:instance/db: no host and a
    // path from "//"; django-environ reads the socket directory and the database from it.
    if (postgres && url.host.empty() && url.path.rfind("//", 0) == 0) {
        const auto last = url.path.rfind('/');
        if (last > 1) {
            url.host = url.path.substr(1, last - 1);
            url.path = url.path.substr(last);
        }
    }
    return url;
}

}  // namespace

std::string Url::authority(std::uint16_t default_port) const {
    const auto one = [&](const std::string& h, const std::optional<std::uint16_t>& p) {
        return (h.find(':') != std::string::npos && h.front() != '/' ? '[' + h + ']' : h) + ':' +
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
