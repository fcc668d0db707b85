// Parses raw HTTP/1.1 responses for the tests' own clients.
#pragma once

#include <map>
#include <string>

namespace vitals::testing {

// A response as the tests' own clients read it off the wire, or why none arrived.
struct RawReply {
    bool ok = false;  // a whole response arrived
    bool timed_out = false;
    std::string error;  // when !ok
    int status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
    bool body_truncated = false;
    double total_seconds = 0;  // set by get()
};

// Parses a complete response held in `raw`. Returns false if `raw` is not yet complete or
// malformed; `reply.error` tells which.
bool parse_http_response(const std::string& raw, bool connection_closed, std::size_t max_body,
                         RawReply& reply);

}  // namespace vitals::testing
