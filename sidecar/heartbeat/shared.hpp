// Heartbeat state shared by a Deployment's replicas through Redis: one hash per heartbeat,
// `<prefix><name>`, which every replica merges its pings into with one script (the later of
// each event wins, histories and run ids are merged and cut to the same limits as here) and
// reads back before judging. A ping that reached one pod counts for all of them.
#pragma once

#include <map>
#include <set>
#include <string>

#include "sidecar/clients/kept_redis.hpp"
#include "sidecar/deadline.hpp"
#include "sidecar/heartbeat/state.hpp"
#include "sidecar/url.hpp"

namespace vitals {

class RedisClient;

// A heartbeat's shared hash (HGETALL's field -> value) read back, run ids and pings cut to
// their limits in one pass; still to be sanitized. Whatever the hash holds, nothing throws.
HeartbeatState shared_state_from_fields(std::map<std::string, std::string> fields);

class SharedHeartbeats {
  public:
    SharedHeartbeats(Url redis, std::string prefix);
    ~SharedHeartbeats();
    SharedHeartbeats(const SharedHeartbeats&) = delete;
    SharedHeartbeats& operator=(const SharedHeartbeats&) = delete;
    // What the replicas wrote for `name`, as written (not yet sanitized). Throws when Redis
    // cannot be asked by `deadline`.
    HeartbeatState read(const std::string& name, const Deadline& deadline) const;
    // Merges each of `names`' state into its hash. Throws when Redis cannot be written.
    void write(const std::map<std::string, HeartbeatState>& states,
               const std::set<std::string>& names, const Deadline& deadline) const;

  private:
    void write_on(RedisClient& client, const std::map<std::string, HeartbeatState>& states,
                  const std::set<std::string>& names) const;

    KeptRedis redis_;  // one connection between reads and writes
    std::string prefix_;
};

}  // namespace vitals
