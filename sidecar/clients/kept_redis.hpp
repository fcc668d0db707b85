// A Redis connection kept between exchanges, for vitals' own bookkeeping in Redis (the
// fleet's run tokens, shared heartbeats, the fleet view): opened by the first exchange's
// deadline, reopened after any error (a broken or half-read connection is never reused),
// one exchange at a time. A caller waits for another's exchange no longer than its own
// deadline, so a hung Redis never holds a check past its timeout.
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "sidecar/deadline.hpp"
#include "sidecar/url.hpp"

namespace vitals {

class RedisClient;

class KeptRedis {
  public:
    explicit KeptRedis(Url url);
    ~KeptRedis();
    KeptRedis(const KeptRedis&) = delete;
    KeptRedis& operator=(const KeptRedis&) = delete;

    // Runs `what` on the connection by `deadline`; throws RedisError (or what `what` throws)
    // when it cannot.
    void exchange(const Deadline& deadline, const std::function<void(RedisClient&)>& what) const;

  private:
    Url url_;
    mutable std::timed_mutex mutex_;
    mutable std::unique_ptr<RedisClient> client_;
};

}  // namespace vitals
