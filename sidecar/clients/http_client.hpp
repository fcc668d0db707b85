// A small HTTP/1.1 GET client with one deadline over connect, send and receive, for checks
// that probe the application (http, and the Gunicorn and static-file checks built on it).
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "sidecar/deadline.hpp"
#include "sidecar/url.hpp"

namespace vitals {

struct HttpReply {
    bool ok = false;         // a complete response arrived
    bool timed_out = false;  // the deadline passed first
    std::string error;       // when !ok: what went wrong, with host:port
    int status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;                            // de-chunked, cut at max_body
    bool body_truncated = false;
    double connect_seconds = 0;
    double total_seconds = 0;
};

// What a healthy answer looks like, shared by the checks that GET the app.
struct HttpExpectation {
    int status = 200;
    std::string body_contains;  // empty: any body
    // Why `reply` (a complete one) falls short, or empty when it does not.
    std::string unmet(const HttpReply& reply) const;
};

// GETs `url` (http:// only) with `host_header` (empty: the URL's host) as Host.
HttpReply http_get(const Url& url, const std::string& host_header, const Deadline& deadline,
                   std::size_t max_body = 1 << 20);

// Parses a complete response held in `raw` (for tests and the client). Returns false if
// `raw` is not yet complete or malformed; `error` tells which.
bool parse_http_response(const std::string& raw, bool connection_closed, std::size_t max_body,
                         HttpReply& reply);

}  // namespace vitals
