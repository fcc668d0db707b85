// The hand-over point between one writer (the scheduler thread) and many readers (the HTTP
// threads): readers get the current immutable value and never wait for a writer to build
// the next one.
//
// libstdc++'s atomic_load on a shared_ptr takes a mutex from a small pool, so readers on the
// probe path do not call it per request: each reader keeps a `Latest<T>::Reader` (one per
// thread) holding its own reference and the version it saw. A request costs one atomic load
// of the version; only the first request after a publication takes the pooled mutex, to
// pick up the new value. The value a reader holds stays alive through its own reference.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "sidecar/clock.hpp"
#include "sidecar/core/snapshot.hpp"

namespace vitals {

template <typename T>
class Latest {
  public:
    explicit Latest(std::shared_ptr<const T> initial) : current_(std::move(initial)) {}

    std::shared_ptr<const T> load() const {
        return std::atomic_load_explicit(&current_, std::memory_order_acquire);
    }
    void publish(std::shared_ptr<const T> next) {
        std::atomic_store_explicit(&current_, std::move(next), std::memory_order_release);
        version_.fetch_add(1, std::memory_order_release);
    }
    std::uint64_t version() const { return version_.load(std::memory_order_acquire); }

    // One per reading thread; not itself thread-safe.
    class Reader {
      public:
        explicit Reader(const Latest& source) : source_(&source) {}
        const T& get() {
            const std::uint64_t now = source_->version();
            if (!held_ || now != seen_) {
                // The version is read first: a value published after it is picked up by the
                // next call, never missed.
                seen_ = now;
                held_ = source_->load();
            }
            return *held_;
        }

      private:
        const Latest* source_;
        std::shared_ptr<const T> held_;
        std::uint64_t seen_ = 0;
    };

  private:
    std::shared_ptr<const T> current_;
    std::atomic<std::uint64_t> version_{0};
};

// The scheduler's snapshots and its pulse, so /livez can tell when vitals itself has stalled.
class Store : public Latest<Snapshot> {
  public:
    Store() : Latest<Snapshot>(std::make_shared<const Snapshot>()) {}

    void beat(SteadyTime now) {
        last_beat_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
    }
    SteadyTime last_beat() const {
        return SteadyTime(SteadyTime::duration(last_beat_.load(std::memory_order_relaxed)));
    }

  private:
    std::atomic<SteadyTime::rep> last_beat_{0};
};

// This process's latest snapshot for a check that reports on the pod itself (the fleet view
// publishes the pod's probes): attached once the App exists, empty before.
class SnapshotView {
  public:
    void attach(const Store* store) { store_.store(store, std::memory_order_release); }
    std::shared_ptr<const Snapshot> load() const {
        const Store* store = store_.load(std::memory_order_acquire);
        return store == nullptr ? nullptr : store->load();
    }

  private:
    std::atomic<const Store*> store_{nullptr};
};

}  // namespace vitals
