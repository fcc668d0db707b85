// vitals assembled: scheduler, check threads, snapshot store and HTTP server for one
// configuration. main() runs one until a signal; integration tests run several.
#pragma once

#include <memory>
#include <thread>

#include "sidecar/config/config.hpp"
#include "sidecar/core/executor.hpp"
#include "sidecar/core/scheduler.hpp"
#include "sidecar/core/store.hpp"
#include "sidecar/http/server.hpp"
#include "sidecar/log.hpp"

namespace vitals {

class App {
  public:
    // Takes the checks out of `config`.
    App(Config& config, const Clock& clock, Random& random, Log& log,
        HeartbeatBoard* heartbeats = nullptr);
    ~App();
    App(const App&) = delete;
    App& operator=(const App&) = delete;

    // Starts checking and serving. Throws std::runtime_error if the address cannot be bound.
    void start();
    std::uint16_t port() const { return server_.port(); }
    // Stops serving, then checking. Returns false if a check run was stuck and abandoned.
    bool stop();

    const Store& store() const { return store_; }

  private:
    const Clock& clock_;
    HeartbeatBoard* heartbeats_;  // may be null
    Store store_;
    HttpServer server_;  // before the scheduler, which publishes to it from its constructor
    Scheduler scheduler_;
    std::unique_ptr<ThreadExecutor> executor_;
    std::vector<Check*> checks_;  // owned by executor_; started by start()
    std::thread scheduler_thread_;
    bool stopped_ = false;
    SteadyTime last_trim_{};  // the scheduler's thread only
};

}  // namespace vitals
