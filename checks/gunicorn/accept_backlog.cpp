#include "checks/gunicorn/accept_backlog.hpp"

#include <fstream>

namespace vitals {

namespace {

bool parse_hex(std::string_view text, std::uint64_t* out) {
    if (text.empty() || text.size() > 16) return false;
    std::uint64_t v = 0;
    for (char c : text) {
        int d = 0;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (c >= 'A' && c <= 'F') {
            d = c - 'A' + 10;
        } else if (c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
        } else {
            return false;
        }
        v = v * 16 + static_cast<std::uint64_t>(d);
    }
    *out = v;
    return true;
}

std::vector<std::string_view> fields(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
            ++i;
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t')
            ++i;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

constexpr std::uint64_t kListen = 0x0A;

// One row of /proc/net/tcp (not the header): a LISTEN row is kept in `out`.
void parse_row(std::string_view line, ProcNetTcp& out) {
    const auto f = fields(line);
    if (f.empty()) return;
    // sl local rem st tx:rx ...
    if (f.size() < 5 || f[0].back() != ':') {
        ++out.malformed_lines;
        return;
    }
    const auto port_colon = f[1].rfind(':');
    const auto queue_colon = f[4].find(':');
    std::uint64_t port = 0, state = 0, rx = 0, tx = 0;
    if (port_colon == std::string_view::npos || queue_colon == std::string_view::npos ||
        !parse_hex(f[1].substr(port_colon + 1), &port) || port > 0xFFFF ||
        !parse_hex(f[3], &state) || !parse_hex(f[4].substr(0, queue_colon), &tx) ||
        !parse_hex(f[4].substr(queue_colon + 1), &rx) || rx > 0xFFFFFFFF) {
        ++out.malformed_lines;
        return;
    }
    if (state == kListen)
        out.listening.push_back({static_cast<std::uint16_t>(port), static_cast<std::uint32_t>(rx)});
}

}  // namespace

ProcNetTcp parse_proc_net_tcp(std::string_view text) {
    ProcNetTcp out;
    bool header = true;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (header) {  // "  sl  local_address rem_address   st tx_queue rx_queue ..."
            header = false;
            continue;
        }
        parse_row(line, out);
    }
    return out;
}

AcceptBacklog read_accept_backlog(std::uint16_t port, const std::string& proc) {
    AcceptBacklog backlog;
    for (const char* file : {"/net/tcp", "/net/tcp6"}) {
        std::ifstream in(proc + file);
        if (!in) continue;
        // Row by row: on a node's network namespace (hostNetwork) the file holds every
        // connection, megabytes that were read whole each run.
        ProcNetTcp rows;
        std::string line;
        std::getline(in, line);  // the header
        while (std::getline(in, line)) {
            parse_row(line, rows);
            for (const ListenSocket& s : rows.listening) {
                if (s.port != port) continue;
                ++backlog.listeners;
                backlog.queued += s.accept_queue;
            }
            rows.listening.clear();
        }
    }
    return backlog;
}

}  // namespace vitals
