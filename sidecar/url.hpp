// Connection URLs as Django projects write them (dj-database-url, redis-py, kombu):
// scheme://[user[:password]@]host[:port][/path][?query]. Passwords never leave this type
// except through `password`; everything printable goes through `redacted()`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sidecar/expected.hpp"

namespace vitals {

struct HostPort {
    std::string host;
    std::optional<std::uint16_t> port;
};

struct Url {
    std::string scheme;    // lower-cased
    std::string user;      // percent-decoded
    std::string password;  // percent-decoded; never print it
    bool has_password = false;
    std::string host;  // without brackets for IPv6 literals
    std::optional<std::uint16_t> port;
    // libpq's multi-host form, postgres://u:p@h1:5432,h2:5433/db, and django-environ's list
    // of memcached servers, memcache://h1:11211;h2:11211 (those schemes only): the hosts
    // after the first.
    std::vector<HostPort> more_hosts;
    std::string path;   // from the first '/' (or empty), query excluded
    std::string query;  // after '?', without it
    // kombu's failover list, amqp://u:A@h1//;amqp://u:B@h2// (broker schemes only): the
    // URLs after the first, tried in turn when it cannot be reached. Redacted with it.
    std::vector<Url> failover;

    // The URL with the password replaced by "****": the only form that may be logged.
    std::string redacted() const;
    // host:port for messages, IPv6 in brackets; every host of a multi-host URL.
    std::string authority(std::uint16_t default_port) const;
    // The value of the last `key=value` in the query, percent-decoded ('+' stays '+');
    // nullopt when the key is absent. `key` alone (no '=') has the value "".
    std::optional<std::string> query_value(std::string_view key) const;
};

// Reads `text` as Python's urlsplit does first (surrounding blanks and control characters,
// and tabs and newlines anywhere, dropped). A failure's message never contains the input's
// password.
Expected<Url> parse_url(std::string_view text);

// Every byte but RFC 3986's unreserved ones (A-Z a-z 0-9 - . _ ~) as %XX: a user name,
// password or database name safe to put in a URL.
std::string percent_encode(std::string_view in);

// %XX sequences decoded ('+' stays '+'); nullopt for a '%' not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view in);

// Best effort for arbitrary text that may hold a URL (an exception message, say): masks
// whatever stands between "://user:" and "@", and the value of every key=value whose key
// names a secret.
std::string redact_secrets(std::string_view text);

// True for keys that name a secret: containing "pass", "secret" or "token", any case.
bool is_secret_key(std::string_view key);
// A query string with the values of secret keys replaced by "****".
std::string redacted_query(std::string_view query);

// A host:port to listen on; IPv6 hosts in brackets ("[::]:8686").
struct ListenAddress {
    std::string host;
    std::uint16_t port = 0;
    static std::optional<ListenAddress> parse(const std::string& text);
    // As it was written: "[::]:8686", "0.0.0.0:8686".
    std::string text(std::uint16_t actual_port) const {
        return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
               std::to_string(actual_port);
    }
};

}  // namespace vitals
