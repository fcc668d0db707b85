// The HTTP face of vitals, and the only user of Pistache. Every answer is a body rendered
// once per publication (on the scheduler's thread, in publish()); a request picks one from
// a table of routes. No dependency is touched, nothing waits, and a request takes no lock (a new
// connection takes one, briefly, to find its place under the caps).
#pragma once

#include <chrono>
#include <memory>

#include "sidecar/clock.hpp"
#include "sidecar/config/trust.hpp"
#include "sidecar/core/store.hpp"
#include "sidecar/http/render.hpp"
#include "sidecar/url.hpp"

namespace Pistache::Http {
class Endpoint;
}

namespace vitals {

class HeartbeatBoard;
class Connections;

struct HttpOptions {
    ListenAddress listen;
    int threads = 1;
    // Connections served at once (loopback sources and the rest each), a quarter of it from
    // one address; one more gets 503 and is closed, except on the probe paths.
    std::size_t max_connections = 1024;
    TrustedNetworks trusted;
    // When set, details go to requests bearing it (Authorization: Bearer), and to no other.
    std::string detail_token;
    // /livez, /readyz and /health fail when the scheduler has not ticked for this long.
    std::chrono::milliseconds stall_after{10'000};
    // A request whose headers have not arrived by then gets 408 and is closed.
    std::chrono::milliseconds header_timeout{5'000};
    // An idle keep-alive connection is closed after this: every held connection costs
    // memory, and a probe reconnecting every 10 s costs nothing.
    std::chrono::milliseconds keepalive_timeout{10'000};
    // Where /heartbeat/<name> pings are recorded; null: the route answers 404.
    HeartbeatBoard* heartbeats = nullptr;
    // Which pod this is, and the kinds configured (each with a page at /kinds/<kind>).
    PageContext page;
};

class HttpServer {
  public:
    HttpServer(const Store& store, const Clock& clock, HttpOptions options);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Renders every body of `snapshot` and makes them the ones served. One caller at a time
    // (the scheduler's publisher); readers never wait for it.
    void publish(const Snapshot& snapshot);

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
    std::shared_ptr<Connections> connections_;
    Latest<Rendered> pages_;
    std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
};

}  // namespace vitals
