// Parses raw HTTP/1.1 responses for the tests' own clients.
#pragma once

#include <string>

#include "sidecar/clients/http_client.hpp"

namespace vitals::testing {

// Parses a complete response held in `raw`. Returns false if `raw` is not yet complete or
// malformed; `reply.error` tells which.
bool parse_http_response(const std::string& raw, bool connection_closed, std::size_t max_body,
                         HttpReply& reply);

}  // namespace vitals::testing
