#include "sidecar/http/framing.hpp"

#include <cctype>
#include <optional>

namespace vitals {

namespace {

bool same_name(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// A run of at most 18 decimal digits (no sign, no exponent), or nullopt.
std::optional<std::size_t> decimal(std::string_view s) {
    if (s.empty() || s.size() > 18) return std::nullopt;
    std::size_t n = 0;
    for (const char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    return n;
}

// The length of a chunked body starting at `body`, given what may still follow.
Frame chunked_length(std::string_view body, std::size_t room) {
    std::size_t at = 0;
    for (;;) {
        const auto eol = body.find("\r\n", at);
        if (eol == std::string_view::npos)
            return {body.size() - at > 32 ? Frame::bad : Frame::incomplete, 0};
        std::string_view line = body.substr(at, eol - at);
        line = line.substr(0, line.find(';'));  // chunk extensions
        line = trim(line);
        if (line.empty() || line.size() > 8) return {Frame::bad, 0};
        std::size_t size = 0;
        for (const char c : line) {
            if (!std::isxdigit(static_cast<unsigned char>(c))) return {Frame::bad, 0};
            size = size * 16 + static_cast<std::size_t>(
                                   std::isdigit(static_cast<unsigned char>(c))
                                       ? c - '0'
                                       : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
        }
        at = eol + 2;
        if (size > room) return {Frame::too_large, 0};
        if (size == 0) {
            // Trailer lines, then an empty line.
            for (;;) {
                const auto end = body.find("\r\n", at);
                if (end == std::string_view::npos)
                    return {body.size() - at > room ? Frame::too_large : Frame::incomplete, 0};
                const bool empty = end == at;
                at = end + 2;
                if (empty) return {Frame::complete, at};
            }
        }
        if (body.size() < at + size + 2) {
            return {body.size() - at > room ? Frame::too_large : Frame::incomplete, 0};
        }
        if (body.compare(at + size, 2, "\r\n") != 0) return {Frame::bad, 0};
        at += size + 2;
        room -= size;
    }
}

}  // namespace

Frame frame_request(std::string_view bytes, std::size_t max_bytes) {
    const auto head_end = bytes.find("\r\n\r\n");
    if (head_end == std::string_view::npos)
        return {bytes.size() >= max_bytes ? Frame::too_large : Frame::incomplete, 0};
    const std::size_t head = head_end + 4;
    if (head > max_bytes) return {Frame::too_large, 0};
    std::optional<std::size_t> content_length;
    bool chunked = false;
    std::size_t at = bytes.find("\r\n") + 2;  // past the request line
    while (at < head_end + 2) {
        const auto eol = bytes.find("\r\n", at);
        const std::string_view line = bytes.substr(at, eol - at);
        at = eol + 2;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;  // the parser answers for it
        const std::string_view name = line.substr(0, colon);
        const std::string_view value = trim(line.substr(colon + 1));
        if (same_name(name, "Content-Length")) {
            const auto n = decimal(value);
            if (!n || (content_length && *content_length != *n)) return {Frame::bad, 0};
            content_length = n;
        } else if (same_name(name, "Transfer-Encoding")) {
            if (chunked || !same_name(value, "chunked")) return {Frame::bad, 0};
            chunked = true;
        }
    }
    if (chunked && content_length) return {Frame::bad, 0};
    if (chunked) {
        const Frame body = chunked_length(bytes.substr(head), max_bytes - head);
        if (body.kind != Frame::complete) return body;
        return {Frame::complete, head + body.length};
    }
    const std::size_t length = head + content_length.value_or(0);
    if (length > max_bytes) return {Frame::too_large, 0};
    if (bytes.size() < length) return {Frame::incomplete, 0};
    return {Frame::complete, length};
}

}  // namespace vitals
