// Who holds vitals' port: each connection's source, its place under the caps, its unread
// answers. Pistache-free (file descriptors and addresses), shared by the HTTP threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace vitals {

struct ConnectionLimits {
    // Connections served at once, counted apart for loopback sources (port-forward, a mesh's
    // proxy) and for the rest, so that neither can crowd the other out.
    std::size_t max_connections = 1024;
    // What one source address may hold of that: a quarter.
    std::size_t per_source() const { return max_connections / 4 > 0 ? max_connections / 4 : 1; }
    // Answers a connection may leave unread (in its socket and queued behind it) before it
    // is shut down. A first answer on an empty socket always goes out, whatever its size.
    std::size_t max_unsent_bytes = std::size_t{256} * 1024;
};

class Connections;

// One connection, from its first byte to its close. Owned by the connection (Pistache's
// peer); only its HTTP thread touches the mutable part.
class ServedConnection {
  public:
    ServedConnection(std::shared_ptr<Connections> owner, int fd, std::string source, bool loopback,
                     bool admitted);
    ~ServedConnection();
    ServedConnection(const ServedConnection&) = delete;
    ServedConnection& operator=(const ServedConnection&) = delete;

    int fd() const { return fd_; }
    // Within the caps when it connected. A connection over them is still answered on the
    // probe paths, and closed after that answer; on every other path it gets 503.
    bool admitted() const { return admitted_; }
    bool closing() const { return closing_; }

    // Whether an answer of `bytes` may be handed on: false when the connection's peer has not
    // read what it was sent (the socket's unsent bytes plus answers still queued) and this
    // one would take it past the limit. Grows the socket's send buffer to hold the answer
    // whole, so that a write never meets a full socket (where this Pistache busy-loops).
    bool may_send(std::size_t bytes, const ConnectionLimits& limits);
    void queued(std::size_t bytes) { pending_ += bytes; }
    void written(std::size_t bytes) { pending_ -= bytes < pending_ ? bytes : pending_; }

    // Writes `raw` straight to the socket if it fits (an error answer), then shuts the
    // connection down: nothing more is read from it or answered on it.
    void close_with(std::string_view raw);
    void close();

    std::string inbox;  // bytes of a request not yet complete

  private:
    std::shared_ptr<Connections> owner_;
    int fd_;
    std::uint64_t socket_id_;  // the socket's inode, so a reused descriptor is never shut
    std::string source_;
    bool loopback_;
    bool admitted_;
    bool closing_ = false;
    std::size_t pending_ = 0;
    friend class Connections;
};

class Connections : public std::enable_shared_from_this<Connections> {
  public:
    explicit Connections(ConnectionLimits limits) : limits_(limits) {}
    const ConnectionLimits& limits() const { return limits_; }

    // A connection from `source` (an address as text) on descriptor `fd`.
    std::shared_ptr<ServedConnection> open(int fd, const std::string& source);
    // Shuts every open connection down, whatever it is doing: a write blocked on a peer that
    // does not read returns at once, and so can the HTTP threads.
    void shut_all();

    struct Counts {
        std::size_t open = 0, admitted_local = 0, admitted_remote = 0;
    };
    Counts counts() const;

  private:
    friend class ServedConnection;
    void forget(ServedConnection* c);

    ConnectionLimits limits_;
    mutable std::mutex mutex_;
    std::unordered_set<ServedConnection*> open_;
    std::unordered_map<std::string, std::size_t> per_source_;
    std::size_t local_ = 0, remote_ = 0;
};

// 127.0.0.0/8, ::1 and ::ffff:127.x.y.z.
bool is_loopback(const std::string& address);

}  // namespace vitals
