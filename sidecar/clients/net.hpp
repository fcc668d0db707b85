// Sockets with deadlines, for checks that speak plain TCP protocols themselves.
// Every wait is bounded by the caller's Deadline; name resolution (getaddrinfo) is the one
// call that cannot be bounded here, which the scheduler's own deadline guards.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sidecar/deadline.hpp"
#include "sidecar/expected.hpp"

namespace vitals {

class Socket {
  public:
    Socket() = default;
    explicit Socket(int fd) : fd_(fd) {}
    ~Socket();
    Socket(Socket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    Socket& operator=(Socket&& other) noexcept;
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;

    int fd() const { return fd_; }
    bool valid() const { return fd_ >= 0; }

  private:
    int fd_ = -1;
};

// Resolves `host` and connects to the first of its addresses that accepts by the deadline.
// A failure names host:port, never credentials.
Expected<Socket> connect_tcp(const std::string& host, std::uint16_t port, const Deadline& deadline);

// Resolves nothing: connects to the Unix socket at `path` by the deadline.
Expected<Socket> connect_unix(const std::string& path, const Deadline& deadline);

enum class IoStatus { ok, closed, timed_out, error };

// Waits until fd is readable (or writable) or the deadline passes; false on the deadline.
bool wait_ready(int fd, bool write, const Deadline& deadline);

// Writes all of `data` or fails.
IoStatus send_all(const Socket& socket, std::string_view data, const Deadline& deadline);
// Appends what arrives next (at most `max` bytes) to `out`.
IoStatus receive_some(const Socket& socket, std::string& out, std::size_t max,
                      const Deadline& deadline);

}  // namespace vitals
