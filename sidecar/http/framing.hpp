// Where one HTTP/1.1 request ends in the bytes a connection has sent, found before any of it
// is parsed: so that pipelined requests are each answered, a body past the size limit is
// refused before it is read, and no byte after a refused request is ever run as a request.
#pragma once

#include <cstddef>
#include <string_view>

namespace vitals {

struct Frame {
    enum Kind {
        incomplete,  // more bytes are needed
        complete,    // the first `length` bytes are one request
        bad,         // malformed framing: answer 400 and close
        too_large,   // over the limit: answer 413 and close
    };
    Kind kind = incomplete;
    std::size_t length = 0;
};

// The first request in `bytes`, which may hold at most `max_bytes` (headers and body).
// Content-Length must be one run of digits (repeated only with the same value); a chunked
// body is followed to its last chunk; both at once, or any other Transfer-Encoding, is bad.
Frame frame_request(std::string_view bytes, std::size_t max_bytes);

}  // namespace vitals
