// The HTTP face of vitals on Pistache. Every handler answers from the current snapshot's
// pre-rendered bodies: no dependency is touched, no lock is taken, nothing waits.
#pragma once

#include <chrono>
#include <memory>

#include "sidecar/clock.hpp"
#include "sidecar/config.hpp"
#include "sidecar/store.hpp"
#include "sidecar/trust.hpp"

namespace Pistache::Http {
class Endpoint;
}

namespace vitals {

class HeartbeatBoard;

struct HttpOptions {
    ListenAddress listen;
    int threads = 2;
    TrustedNetworks trusted;
    // /livez, /readyz and /health fail when the scheduler has not ticked for this long.
    std::chrono::seconds stall_after{10};
    // A request whose headers have not arrived by then gets 408 and is closed.
    std::chrono::seconds header_timeout{5};
    // Where /heartbeat/<name> pings are recorded; null: the route answers 404.
    HeartbeatBoard* heartbeats = nullptr;
};

class HttpServer {
  public:
    HttpServer(const Store& store, const Clock& clock, HttpOptions options);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds and starts serving on background threads; throws std::runtime_error when the
    // address cannot be bound.
    void start();
    // The bound port (useful with port 0).
    std::uint16_t port() const;
    void stop();

  private:
    const Store& store_;
    const Clock& clock_;
    HttpOptions options_;
    std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
};

}  // namespace vitals
