// vitals assembled in-process exactly as main() does, listening on 127.0.0.1:<ephemeral>,
// configured from JSON text. Tests can add kinds of their own to the built-in ones.
#pragma once

#include <memory>
#include <sstream>
#include <string>

#include "checks/builtin.hpp"
#include "sidecar/app.hpp"
#include "sidecar/config/config.hpp"
#include "sidecar/heartbeat/board.hpp"
#include "support/temp_file.hpp"

namespace vitals::testing {

class RunningSidecar {
  public:
    explicit RunningSidecar(const std::string& config_json, Registry registry = builtin_registry(),
                            Environment env = {{"VITALS_LISTEN", "127.0.0.1:0"}});
    ~RunningSidecar();

    std::uint16_t port() const { return app_->port(); }
    const Store& store() const { return app_->store(); }
    // Polls the store until `ready(snapshot)` holds or `wait` passes.
    template <typename Predicate>
    bool wait_until(Predicate ready,
                    std::chrono::milliseconds wait = std::chrono::seconds(10)) const {
        const auto until = std::chrono::steady_clock::now() + wait;
        while (std::chrono::steady_clock::now() < until) {
            if (ready(*app_->store().load())) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
    bool wait_for_status(const std::string& check, Status status,
                         std::chrono::milliseconds wait = std::chrono::seconds(10)) const;

  private:
    SystemClock clock_;
    SystemRandom random_;
    std::ostringstream log_text_;
    HeartbeatBoard heartbeats_;
    SnapshotView snapshots_;
    std::unique_ptr<Log> log_;
    std::unique_ptr<App> app_;
};

}  // namespace vitals::testing
