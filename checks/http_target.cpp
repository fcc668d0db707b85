#include "checks/http_target.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace vitals::checks {

namespace {

// RFC 9110 token characters: what a header name may hold.
bool is_token(const std::string& name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) ||
               std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    });
}

}  // namespace

SettingsTable HttpTargetSettings::with(SettingsTable table) const {
    for (const Setting* s :
         {&headers, &follow_redirects, &max_redirects, &unix_socket, &ca_file, &insecure})
        table.push_back(*s);
    return table;
}

HttpTarget HttpTargetSettings::target(const Params& params, const Url& url,
                                      const std::string& url_key, const std::string& host) const {
    if (url.scheme != "http" && url.scheme != "https")
        throw SettingError(url_key, "must be an http:// or https:// URL");
    HttpTarget t;
    t.url = url;
    t.host_header = host;
    if (params.has(headers)) {
        for (const auto& [name, value] : params.string_map(headers)) {
            if (!is_token(name))
                throw SettingError(headers.key, "\"" + name + "\" is not a header name");
            if (value.find_first_of(std::string("\r\n\0", 3)) != std::string::npos)
                throw SettingError(headers.key, "the value of " + name + " holds a line break");
            t.headers.emplace_back(name, value);
        }
    }
    t.follow_redirects = params.boolean(follow_redirects);
    t.max_redirects = static_cast<int>(params.integer(max_redirects));
    if (params.has(unix_socket)) t.unix_socket = params.str(unix_socket);
    if (params.has(ca_file)) {
        t.ca_file = params.str(ca_file);
        if (::access(t.ca_file.c_str(), R_OK) != 0)
            throw SettingError(ca_file.key, "cannot read " + t.ca_file);
    }
    t.insecure = params.boolean(insecure);
    if (t.insecure && !t.ca_file.empty())
        throw SettingError(insecure.key, "give ca_file or insecure, not both");
    return t;
}

const HttpTargetSettings& http_target_settings() {
    static const HttpTargetSettings settings;
    return settings;
}

void observe_timings(CheckResult& result, const HttpExchange& exchange) {
    const HttpTimings& t = exchange.timings;
    result.observe("connect_seconds", t.connect_seconds);
    if (t.tls_seconds > 0) result.observe("tls_seconds", t.tls_seconds);
    if (t.first_byte_seconds > 0) result.observe("first_byte_seconds", t.first_byte_seconds);
    if (t.redirects > 0) {
        result.observe("redirects", t.redirects);
        if (exchange.reply) result.details["final_url"] = exchange.reply->final_url;
    }
}

void add_timing_observations(ObservationTable& table) {
    using O = ObservationSpec;
    using U = Unit;
    table.push_back(O::gauge("connect_seconds", U::seconds,
                             "Time until the connection was open (TCP or Unix socket)."));
    table.push_back(O::gauge("tls_seconds", U::seconds,
                             "Time until the TLS handshake was done, from the start (https)."));
    table.push_back(O::gauge("first_byte_seconds", U::seconds,
                             "Time until the first byte of the answer, from the start."));
    table.push_back(O::gauge("redirects", U::none, "Redirects followed (follow_redirects)."));
}

}  // namespace vitals::checks
