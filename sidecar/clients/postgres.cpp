#include "sidecar/clients/postgres.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>
#include <sstream>

namespace vitals {

namespace {

// A libpq conninfo value, quoted: 'it''s' style escaping is not libpq's; it wants \' and \\.
std::string quote(const std::string& value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

std::string percent_decoded(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() &&
            std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
            out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += text[i] == '+' ? ' ' : text[i];
        }
    }
    return out;
}

}  // namespace

const std::set<std::string>& libpq_keywords() {
    // Asked of libpq itself, once: what this libpq accepts in a connection string.
    static const std::set<std::string> keywords = [] {
        std::set<std::string> out;
        PQconninfoOption* options = PQconndefaults();
        for (PQconninfoOption* o = options; o != nullptr && o->keyword != nullptr; ++o)
            out.insert(o->keyword);
        PQconninfoFree(options);
        return out;
    }();
    return keywords;
}

bool is_postgres_scheme(const std::string& scheme) {
    // dj-database-url and django-environ spellings of PostgreSQL itself (TimescaleDB is
    // PostgreSQL with an extension).
    return scheme == "postgres" || scheme == "postgresql" || scheme == "pgsql" ||
           scheme == "psql" || scheme == "postgis" || scheme == "timescale" ||
           scheme == "timescalegis";
}

bool is_postgres_wire_scheme(const std::string& scheme) {
    // Databases that speak PostgreSQL's protocol but not its statistics views.
    return scheme == "cockroach" || scheme == "cockroachdb" || scheme == "redshift";
}

PostgresConninfo postgres_conninfo(const Url& url, const Deadline& deadline) {
    const auto left = std::max<long long>(deadline.remaining().count(), 1);
    PostgresConninfo out;
    std::ostringstream ci;
    // An empty host leaves libpq its default (the Unix socket); a host that is a path
    // (%2Fvar%2Frun%2Fpostgresql, decoded by the URL parser) is a socket directory.
    // Several hosts (h1:5432,h2:5433) are libpq's own lists, tried in order.
    // No port unless the URL has one: libpq's own default then applies (PGPORT, a service
    // file, ?service=), as it does for Django. A list with some ports gives the others 5432.
    std::string hosts = url.host;
    bool any_port = url.port.has_value();
    for (const HostPort& h : url.more_hosts) {
        hosts += ',' + h.host;
        any_port = any_port || h.port.has_value();
    }
    if (!hosts.empty()) ci << "host=" << quote(hosts) << ' ';
    if (any_port) {
        std::string ports = std::to_string(url.port.value_or(5432));
        for (const HostPort& h : url.more_hosts)
            ports += ',' + std::to_string(h.port.value_or(5432));
        ci << "port=" << quote(ports) << ' ';
    }
    const std::string db = url.path.size() > 1 ? url.path.substr(1) : "";
    if (!db.empty()) ci << "dbname=" << quote(db) << ' ';
    if (!url.user.empty()) ci << "user=" << quote(url.user) << ' ';
    if (url.has_password) ci << "password=" << quote(url.password) << ' ';
    // libpq raises connect_timeout below 2 s to 2 s; the scheduler guards the rest. No
    // startup `options` (pgBouncer refuses them) and no session SET: a statement deadline
    // is set per transaction by whoever runs statements (SET LOCAL).
    ci << "connect_timeout=" << std::max<long long>(2, (left + 999) / 1000)
       << " application_name=vitals"
       << " keepalives=1 keepalives_idle=5 keepalives_interval=2 keepalives_count=2"
       << " tcp_user_timeout=" << left;
    // No GSSAPI encryption unless asked for (the URL's gssencmode, or PGGSSENCMODE): libpq's
    // default "prefer" starts Kerberos on every connection to look for a ticket no pod has
    // (krb5.conf read, 0.5 MiB more resident); TLS (sslmode) is unaffected.
    if (const char* mode = std::getenv("PGGSSENCMODE"); mode == nullptr || *mode == '\0')
        ci << " gssencmode=disable";
    // The URL's own parameters (sslmode=require, ...) that libpq knows; the others are
    // Django's (conn_max_age, conn_health_checks, ...) and mean nothing to libpq, which
    // would refuse the whole connection string for them.
    static const std::set<std::string> ours = {
        "connect_timeout",     "application_name", "keepalives",      "keepalives_idle",
        "keepalives_interval", "keepalives_count", "tcp_user_timeout"};
    std::istringstream query(url.query);
    std::string pair;
    while (std::getline(query, pair, '&')) {
        const auto eq = pair.find('=');
        if (eq == std::string::npos || eq == 0) continue;
        const std::string key = pair.substr(0, eq);
        if (libpq_keywords().count(key) == 0 || ours.count(key) != 0 ||
            key == "options") {  // startup options: see above
            out.dropped.push_back(key);
            continue;
        }
        ci << ' ' << key << '=' << quote(percent_decoded(pair.substr(eq + 1)));
    }
    out.text = ci.str();
    return out;
}

std::string first_line(const std::string& text) {
    std::string line = text.substr(0, text.find('\n'));
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r'))
        line.pop_back();
    return line;
}

}  // namespace vitals
