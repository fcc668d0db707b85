#include "sidecar/clients/http_client.hpp"

#include <algorithm>
#include <cctype>

#include "sidecar/clients/net.hpp"

namespace vitals {

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
bool dechunk(const std::string& raw, std::size_t pos, std::size_t max_body, HttpReply& reply,
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
                         HttpReply& reply) {
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

std::string HttpExpectation::unmet(const HttpReply& reply) const {
    if (reply.status != status) {
        return "status " + std::to_string(reply.status) + ", expected " + std::to_string(status);
    }
    if (!body_contains.empty() && reply.body.find(body_contains) == std::string::npos) {
        return "body does not contain \"" + body_contains + "\"";
    }
    return "";
}

HttpReply http_get(const Url& url, const std::string& host_header, const Deadline& deadline,
                   std::size_t max_body) {
    using Clock = std::chrono::steady_clock;
    const auto started = Clock::now();
    HttpReply reply;
    const std::uint16_t port = url.port.value_or(80);
    Connection conn = connect_tcp(url.host, port, deadline);
    reply.connect_seconds = std::chrono::duration<double>(Clock::now() - started).count();
    if (!conn.socket.valid()) {
        reply.error = conn.error;
        reply.timed_out = conn.timed_out;
        return reply;
    }
    std::string target = url.path.empty() ? "/" : url.path;
    if (!url.query.empty()) target += "?" + url.query;
    const std::string host = host_header.empty() ? url.authority(80) : host_header;
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + host +
                                "\r\nUser-Agent: vitals/" VITALS_VERSION
                                "\r\nAccept: */*\r\nConnection: close\r\n\r\n";
    const std::string where = url.authority(80);
    switch (send_all(conn.socket, request, deadline)) {
        case IoStatus::ok:
            break;
        case IoStatus::timed_out:
            reply.timed_out = true;
            reply.error = "could not send the request to " + where + " before the deadline";
            return reply;
        default:
            reply.error = "connection to " + where + " failed while sending";
            return reply;
    }
    std::string raw;
    const std::size_t limit = max_body + std::size_t{64} * 1024;  // body plus room for headers
    while (true) {
        const IoStatus st =
            receive_some(conn.socket, raw, limit - std::min(limit - 1, raw.size()), deadline);
        const bool closed = st == IoStatus::closed || raw.size() >= limit;
        if (st == IoStatus::timed_out) {
            reply.timed_out = true;
            reply.error = "no complete response from " + where + " before the deadline";
            break;
        }
        if (st == IoStatus::error) {
            reply.error = "connection to " + where + " failed while reading";
            break;
        }
        if (parse_http_response(raw, closed, max_body, reply)) {
            reply.ok = true;
            reply.error.clear();
            break;
        }
        if (closed) break;
    }
    reply.total_seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return reply;
}

}  // namespace vitals
