// A point in monotonic time every blocking call must finish by: the vocabulary every client
// and check shares, so that a deadline is pushed into each library call.
#pragma once

#include <chrono>

namespace vitals {

// A point in monotonic time every blocking call of a run must finish by.
class Deadline {
  public:
    explicit Deadline(std::chrono::steady_clock::time_point at) : at_(at) {}
    static Deadline in(std::chrono::steady_clock::duration d) {
        return Deadline(std::chrono::steady_clock::now() + d);
    }
    std::chrono::steady_clock::time_point at() const { return at_; }
    // Time left, never negative, rounded up to whole milliseconds.
    std::chrono::milliseconds remaining() const {
        const auto left = at_ - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero())
            return std::chrono::milliseconds(0);
        return std::chrono::ceil<std::chrono::milliseconds>(left);
    }
    bool expired() const { return std::chrono::steady_clock::now() >= at_; }

  private:
    std::chrono::steady_clock::time_point at_;
};

}  // namespace vitals
