// Outbound HTTP for the checks that fetch something (http, static, gunicorn, the CLI), through
// libcurl: http:// and https://, custom headers, redirects when asked, a Unix socket, an
// internal CA. One deadline covers everything, name resolution included: libcurl's threaded
// resolver is abandoned at the deadline (CURLOPT_QUICK_EXIT), so a hung DNS server cannot
// hold a check's thread past its timeout.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sidecar/deadline.hpp"
#include "sidecar/expected.hpp"
#include "sidecar/status_codes.hpp"
#include "sidecar/url.hpp"

namespace vitals {

// A response that arrived.
struct HttpReply {
    int status = 0;
    std::map<std::string, std::string> headers;  // of the last response; names lower-cased
    std::string body;                            // decoded, cut at max_body
    bool body_truncated = false;
    std::string final_url;  // where the last response came from (password-free)
};

// How long each step took, from the start; kept whether or not a response arrived.
struct HttpTimings {
    double connect_seconds = 0;  // TCP (or Unix socket) connected
    double tls_seconds = 0;      // TLS handshake done (0 for http://)
    double first_byte_seconds = 0;
    double total_seconds = 0;
    int redirects = 0;  // followed
};

// One request: the response or why there is none (a failure names host:port, never a
// password), and its timings either way.
struct HttpExchange {
    Expected<HttpReply> reply;
    HttpTimings timings;
};

// What a healthy answer looks like, shared by the checks that GET the app.
struct HttpExpectation {
    StatusCodes status{200};
    std::string body_contains;  // empty: any body
    // Why `reply` (one that arrived) falls short; nullopt when it does not.
    std::optional<std::string> unmet(const HttpReply& reply) const;
};

// Where and how to GET.
struct HttpTarget {
    Url url;                  // http:// or https://
    std::string host_header;  // empty: the URL's host
    std::vector<std::pair<std::string, std::string>> headers;
    bool follow_redirects = false;
    int max_redirects = 5;
    std::string unix_socket;  // connect here instead of the URL's host (its Host stays)
    std::string ca_file;      // verify TLS against this CA bundle instead of the system's
    bool insecure = false;    // do not verify TLS at all
    // Another method than GET ("PUT", "DELETE"), with `body` sent for PUT.
    std::string method = "GET";
    std::string body;
    // AWS Signature V4 ("aws:amz:<region>:s3") with this key id and secret; the payload's
    // SHA-256 goes in x-amz-content-sha256, as S3 requires.
    std::string aws_sigv4;
    std::string aws_key_id;
    std::string aws_secret;
};

HttpExchange http_exchange(const HttpTarget& target, const Deadline& deadline,
                           std::size_t max_body = 1 << 20);
// The response alone, for callers that do not report timings.
Expected<HttpReply> http_get(const HttpTarget& target, const Deadline& deadline,
                             std::size_t max_body = 1 << 20);
// A plain GET of `url` with `host_header` (empty: the URL's host) as Host.
Expected<HttpReply> http_get(const Url& url, const std::string& host_header,
                             const Deadline& deadline, std::size_t max_body = 1 << 20);

}  // namespace vitals
