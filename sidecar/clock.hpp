// Time is injected: the scheduler, staleness and probe logic read this interface, so tests
// advance a fake clock instead of sleeping.
#pragma once

#include <chrono>
#include <random>

namespace vitals {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

class Clock {
  public:
    virtual ~Clock() = default;
    // Monotonic time, for intervals, deadlines and staleness.
    virtual SteadyTime now() const = 0;
    // Calendar time, only for timestamps shown to people and Prometheus.
    virtual WallTime wall() const = 0;
};

class SystemClock final : public Clock {
  public:
    SteadyTime now() const override { return std::chrono::steady_clock::now(); }
    WallTime wall() const override { return std::chrono::system_clock::now(); }
};

// Randomness is injected too (scheduler jitter).
class Random {
  public:
    virtual ~Random() = default;
    // Uniform in [0, 1).
    virtual double uniform() = 0;
};

class SystemRandom final : public Random {
  public:
    SystemRandom() : engine_(std::random_device{}()) {}
    double uniform() override { return std::uniform_real_distribution<double>(0.0, 1.0)(engine_); }

  private:
    std::mt19937_64 engine_;
};

}  // namespace vitals
