// Real sockets for tests: a listener that accepts and never answers (a blackholed
// dependency), a tiny scripted HTTP server, and a raw HTTP client that can choose its source
// address and keep its connection open.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sidecar/clients/http_client.hpp"
#include "sidecar/clients/net.hpp"
#include "support/http_parse.hpp"

namespace vitals::testing {

// Listens on 127.0.0.1:<ephemeral>; accepts connections and holds them without a byte.
class Blackhole {
  public:
    Blackhole();
    ~Blackhole();
    std::uint16_t port() const { return port_; }
    // Waits until `n` connections have been accepted (a check's run has reached it and now
    // hangs there); false when `limit` passed first.
    bool wait_accepted(int n, std::chrono::milliseconds limit) const;

  private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    std::vector<int> held_;
    std::thread thread_;
};

// An HTTP server on 127.0.0.1:<ephemeral> that answers every request with `respond(path)`,
// a complete raw HTTP response, and closes the connection.
class ScriptedHttpServer {
  public:
    using Responder = std::function<std::string(const std::string& path)>;
    explicit ScriptedHttpServer(Responder respond);
    ~ScriptedHttpServer();
    std::uint16_t port() const { return port_; }
    int requests() const { return requests_.load(); }
    // The request line and headers of the last request, as received.
    std::string last_head() const;

  private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    Responder respond_;
    mutable std::mutex mutex_;
    std::string last_head_;
    std::atomic<bool> stop_{false};
    std::atomic<int> requests_{0};
    std::thread thread_;
};

// A port nothing listens on (bound, then closed).
std::uint16_t closed_port();

// A raw client connection to 127.0.0.1:port, optionally from another loopback source.
class RawClient {
  public:
    explicit RawClient(std::uint16_t port, const std::string& source = "");
    bool connected() const { return socket_.valid(); }
    bool send(const std::string& data);
    // Reads one response; ok=false if none arrived within `wait`.
    RawReply read_response(std::chrono::milliseconds wait = std::chrono::seconds(5));
    // True if the server closed the connection within `wait`.
    bool closed_by_peer(std::chrono::milliseconds wait);

  private:
    Socket socket_;
    std::string buffer_;
};

// GET path over a fresh connection; the reply and how long it took.
RawReply get(std::uint16_t port, const std::string& path, const std::string& source = "",
             const std::string& method = "GET");

std::string http_response(int status, const std::string& body,
                          const std::string& content_type = "text/plain");

}  // namespace vitals::testing
