// The hand-over point between the scheduler (one writer) and the HTTP threads (readers):
// readers take a reference to the current immutable snapshot and never wait for a writer
// to finish building the next one.
#pragma once

#include <atomic>
#include <memory>

#include "sidecar/clock.hpp"
#include "sidecar/snapshot.hpp"

namespace vitals {

class Store {
  public:
    Store() : current_(std::make_shared<const Snapshot>()) {}

    std::shared_ptr<const Snapshot> load() const {
        return std::atomic_load_explicit(&current_, std::memory_order_acquire);
    }
    void publish(std::shared_ptr<const Snapshot> next) {
        std::atomic_store_explicit(&current_, std::move(next), std::memory_order_release);
    }

    // The scheduler's pulse, so /livez can tell when vitals itself has stalled.
    void beat(SteadyTime now) {
        last_beat_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
    }
    SteadyTime last_beat() const {
        return SteadyTime(SteadyTime::duration(last_beat_.load(std::memory_order_relaxed)));
    }

  private:
    std::shared_ptr<const Snapshot> current_;
    std::atomic<SteadyTime::rep> last_beat_{0};
};

}  // namespace vitals
