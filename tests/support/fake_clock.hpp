// A clock and randomness tests control: time moves only when a test advances it.
#pragma once

#include <atomic>
#include <chrono>

#include "sidecar/clock.hpp"

namespace vitals::testing {

class FakeClock final : public Clock {
  public:
    SteadyTime now() const override {
        return SteadyTime(std::chrono::nanoseconds(steady_ns_.load()));
    }
    WallTime wall() const override {
        return WallTime(std::chrono::duration_cast<WallTime::duration>(
            std::chrono::nanoseconds(wall_ns_.load())));
    }
    template <typename Rep, typename Period>
    void advance(std::chrono::duration<Rep, Period> d) {
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
        steady_ns_ += ns;
        wall_ns_ += ns;
    }

  private:
    std::atomic<long long> steady_ns_{1'000'000'000'000};
    std::atomic<long long> wall_ns_{1'795'000'000'000'000'000};  // late 2026
};

// Returns the values it was given, in turn, then repeats the last.
class FixedRandom final : public Random {
  public:
    explicit FixedRandom(double value = 0.5) : value_(value) {}
    double uniform() override { return value_; }
    void set(double value) { value_ = value; }

  private:
    double value_;
};

}  // namespace vitals::testing
