// The HTTP/1.1 response parser the tests read vitals' own answers with (raw sockets, so a
// test sees exactly what was sent). vitals itself fetches through libcurl.
#include "support/http_parse.hpp"

#include <algorithm>
#include <cctype>

namespace vitals::testing {

namespace {

std::string lower(std::string s) {
    for (char& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string trim(const std::string& s) {
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string::npos) return "";
    return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// Decodes a chunked body; returns false if incomplete or malformed.
bool dechunk(const std::string& raw, std::size_t pos, std::size_t max_body, RawReply& reply,
             bool* malformed) {
    *malformed = false;
    while (true) {
        const auto line_end = raw.find("\r\n", pos);
        if (line_end == std::string::npos) return false;
        std::size_t size = 0;
        std::size_t i = pos;
        for (; i < line_end && std::isxdigit(static_cast<unsigned char>(raw[i])); ++i) {
            if (size > (std::size_t{1} << 40)) {
                *malformed = true;
                return false;
            }
            const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(raw[i])));
            size = size * 16 + static_cast<std::size_t>(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        if (i == pos) {
            *malformed = true;
            return false;
        }
        pos = line_end + 2;
        if (size == 0) return true;  // trailers are ignored
        if (raw.size() < pos + size + 2) return false;
        const std::size_t room = max_body - std::min(max_body, reply.body.size());
        reply.body.append(raw, pos, std::min(size, room));
        if (size > room) reply.body_truncated = true;
        pos += size + 2;
    }
}

}  // namespace

bool parse_http_response(const std::string& raw, bool connection_closed, std::size_t max_body,
                         RawReply& reply) {
    const auto head_end = raw.find("\r\n\r\n");
    if (head_end == std::string::npos) {
        reply.error = connection_closed ? "connection closed before a complete response"
                                        : "incomplete response";
        return false;
    }
    const auto first_line_end = raw.find("\r\n");
    const std::string status_line = raw.substr(0, first_line_end);
    if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12 || status_line[8] != ' ' ||
        !std::isdigit(static_cast<unsigned char>(status_line[9])) ||
        !std::isdigit(static_cast<unsigned char>(status_line[10])) ||
        !std::isdigit(static_cast<unsigned char>(status_line[11]))) {
        reply.error = "not an HTTP response";
        return false;
    }
    reply.status = std::stoi(status_line.substr(9, 3));
    reply.headers.clear();
    std::size_t pos = first_line_end + 2;
    while (pos < head_end) {
        const auto end = raw.find("\r\n", pos);
        const std::string line = raw.substr(pos, end - pos);
        pos = end + 2;
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        reply.headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
    }
    const std::size_t body_at = head_end + 4;
    reply.body.clear();
    reply.body_truncated = false;
    const auto te = reply.headers.find("transfer-encoding");
    if (te != reply.headers.end() && lower(te->second).find("chunked") != std::string::npos) {
        bool malformed = false;
        if (dechunk(raw, body_at, max_body, reply, &malformed)) return true;
        reply.error =
            malformed ? "malformed chunked body" : "connection closed in the middle of the body";
        return false;
    }
    const auto cl = reply.headers.find("content-length");
    if (cl != reply.headers.end()) {
        std::size_t length = 0;
        for (char c : cl->second) {
            if (!std::isdigit(static_cast<unsigned char>(c)) || length > (std::size_t{1} << 40)) {
                reply.error = "invalid Content-Length";
                return false;
            }
            length = length * 10 + static_cast<std::size_t>(c - '0');
        }
        const std::size_t have = raw.size() - body_at;
        if (have < length && have < max_body) {
            reply.error = "connection closed in the middle of the body";
            return false;
        }
        reply.body = raw.substr(body_at, std::min({length, max_body, have}));
        reply.body_truncated = length > max_body;
        return true;
    }
    if (!connection_closed && raw.size() - body_at < max_body) {
        reply.error = "incomplete response";
        return false;
    }
    reply.body = raw.substr(body_at, max_body);
    reply.body_truncated = raw.size() - body_at > max_body;
    return true;
}

}  // namespace vitals::testing
