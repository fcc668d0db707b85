#include "sidecar/clients/postgres.hpp"

#include <algorithm>
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

}  // namespace

std::string postgres_conninfo(const Url& url, const Deadline& deadline) {
    const auto left = std::max<long long>(deadline.remaining().count(), 1);
    std::ostringstream ci;
    ci << "host=" << quote(url.host) << " port=" << url.port.value_or(5432);
    const std::string db = url.path.size() > 1 ? url.path.substr(1) : "";
    if (!db.empty()) ci << " dbname=" << quote(db);
    if (!url.user.empty()) ci << " user=" << quote(url.user);
    if (url.has_password) ci << " password=" << quote(url.password);
    // libpq raises connect_timeout below 2 s to 2 s; the scheduler guards the rest.
    ci << " connect_timeout=" << std::max<long long>(2, (left + 999) / 1000)
       << " application_name=vitals"
       << " keepalives=1 keepalives_idle=5 keepalives_interval=2 keepalives_count=2"
       << " tcp_user_timeout=" << left
       << " options=" << quote("-c statement_timeout=" + std::to_string(left));
    // Pass the URL's own parameters (sslmode=require, ...) through.
    std::istringstream query(url.query);
    std::string pair;
    while (std::getline(query, pair, '&')) {
        const auto eq = pair.find('=');
        if (eq != std::string::npos && eq > 0)
            ci << ' ' << pair.substr(0, eq) << '=' << quote(pair.substr(eq + 1));
    }
    return ci.str();
}

std::string first_line(const std::string& text) {
    std::string line = text.substr(0, text.find('\n'));
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r'))
        line.pop_back();
    return line;
}

}  // namespace vitals
