#include "sidecar/clients/kept_redis.hpp"

#include <algorithm>

#include "sidecar/clients/redis_client.hpp"

namespace vitals {

KeptRedis::KeptRedis(Url url) : url_(std::move(url)) {}

KeptRedis::~KeptRedis() = default;

void KeptRedis::exchange(const Deadline& deadline,
                         const std::function<void(RedisClient&)>& what) const {
    const auto left = [&] { return std::max(deadline.remaining(), std::chrono::milliseconds(1)); };
    std::unique_lock<std::timed_mutex> lock(mutex_, std::defer_lock);
    if (!lock.try_lock_for(left())) throw RedisError("Redis is busy with another exchange");
    try {
        if (!client_) client_ = std::make_unique<RedisClient>(url_, deadline);
        client_->set_timeout(left());
        what(*client_);
    } catch (...) {
        client_.reset();
        throw;
    }
}

}  // namespace vitals
