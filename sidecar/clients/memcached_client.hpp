// One memcached server, spoken to in its text protocol (set, get, stats) over a socket whose
// every wait is bounded by the caller's deadline. Three commands and a line-based reply do
// not need libmemcached, whose name resolution and per-operation timeouts could not be held
// to one deadline.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "sidecar/clients/net.hpp"
#include "sidecar/deadline.hpp"

namespace vitals {

class MemcachedError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A server as Django's LOCATION names it: host:port, or a Unix socket path.
struct MemcachedAddress {
    std::string host;  // empty for a socket
    std::uint16_t port = 11211;
    std::string socket_path;
    std::string name() const;  // "host:port" or "unix:/path", for messages and labels
};

class MemcachedClient {
  public:
    // A reply may not be longer than this: `stats` is a few KiB.
    static constexpr std::size_t kMaxReplyBytes = std::size_t{256} * 1024;

    // Connects by the deadline; throws MemcachedError saying what failed.
    MemcachedClient(const MemcachedAddress& server, const Deadline& deadline);
    // Stores `value` under `key` for `ttl_seconds`.
    void set(const std::string& key, const std::string& value, int ttl_seconds);
    // The value under `key`, or nullopt for a miss.
    std::optional<std::string> get(const std::string& key);
    // `stats`: name -> value.
    std::map<std::string, std::string> stats();
    double connect_seconds() const { return connect_seconds_; }

  private:
    // Sends `request` and reads until the reply ends with `end` (or is an error line).
    std::string exchange(const std::string& request, const char* what,
                         bool (*complete)(const std::string&));

    Socket socket_;
    Deadline deadline_;
    std::string where_;
    double connect_seconds_ = 0;
};

// Parsers, exposed for tests; never throw.
// "STAT pid 1\r\nSTAT uptime 5\r\nEND\r\n" -> {pid: 1, uptime: 5}.
std::map<std::string, std::string> parse_memcached_stats(const std::string& reply);
// "VALUE key flags bytes\r\n<data>\r\nEND\r\n" -> data; "END\r\n" -> nullopt (a miss);
// throws MemcachedError for any other shape.
std::optional<std::string> parse_memcached_get(const std::string& reply);

}  // namespace vitals
