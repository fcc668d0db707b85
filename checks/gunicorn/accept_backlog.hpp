// The accept queue of a listening TCP socket, from /proc/net/tcp and /proc/net/tcp6: for a
// LISTEN socket the kernel reports in rx_queue the connections that completed the handshake
// and wait for accept(). Gunicorn with every worker busy shows exactly there, before users
// see 502/504. A sidecar shares the pod's network namespace, so it sees the app's socket.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vitals {

struct ListenSocket {
    std::uint16_t port = 0;
    std::uint32_t accept_queue = 0;
};

struct ProcNetTcp {
    std::vector<ListenSocket> listening;
    std::size_t malformed_lines = 0;
};

// Parses the text of /proc/net/tcp or /proc/net/tcp6 (header line first); keeps LISTEN rows.
ProcNetTcp parse_proc_net_tcp(std::string_view text);

struct AcceptBacklog {
    int listeners = 0;         // LISTEN sockets on the port (several with SO_REUSEPORT, v4 + v6)
    std::uint32_t queued = 0;  // their accept queues, summed
};

// Reads <proc>/net/tcp and <proc>/net/tcp6 and sums every listener on `port`.
AcceptBacklog read_accept_backlog(std::uint16_t port, const std::string& proc = "/proc");

}  // namespace vitals
