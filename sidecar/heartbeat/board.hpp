// Heartbeats (dead man's switches) for periodic tasks: the task pings vitals at
// /heartbeat/<name> when it succeeds (/start when it begins, /fail when it fails), and the
// heartbeat check of that name judges what the board holds (checks/heartbeat/judge.hpp).
// The board holds what pings said; the only write path in vitals. A ping only updates memory
// and wakes the board's writer thread (started by the first ping), which persists off the
// HTTP threads: to a JSON file replaced atomically (temp file + rename), so a restart loses
// nothing, and, when shared, to Redis (shared.hpp), where every replica merges what the
// others saw. The state itself, and how pings change and merge it: state.hpp.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sidecar/clock.hpp"
#include "sidecar/deadline.hpp"
#include "sidecar/heartbeat/shared.hpp"
#include "sidecar/heartbeat/state.hpp"
#include "sidecar/url.hpp"

namespace vitals {

class HeartbeatBoard {
  public:
    HeartbeatBoard();  // on the system's clock
    // `clock` (its wall time) stamps what is read back from the file and Redis; it must
    // outlive the board.
    explicit HeartbeatBoard(const Clock& clock) : clock_(clock) {}
    ~HeartbeatBoard();  // writes what is pending, then stops the writer
    HeartbeatBoard(const HeartbeatBoard&) = delete;
    HeartbeatBoard& operator=(const HeartbeatBoard&) = delete;

    // From now on every ping is written to `state_file`; loads what it already holds, so a
    // restart loses nothing.
    void open(const std::string& state_file);
    // From now on every ping is also written to Redis, hash `<prefix><name>`, and refresh()
    // merges in what other replicas wrote there.
    void share(const Url& redis, const std::string& prefix);
    bool shared() const;
    // Merges the shared state of `name` into this board (a check's thread calls it). Returns
    // why it could not be read; nullopt when read, or when nothing is shared.
    std::optional<std::string> refresh(const std::string& name, const Deadline& deadline);
    // Called with a heartbeat's name after each of its pings, on the writer's thread (never
    // the pinging request's) and under the board's lock, so it must be quick and must not
    // call back into the board; an empty function stops the calls. vitals passes
    // Scheduler::run_soon, so a ping is judged at once, not at the check's next interval.
    void on_ping(std::function<void(const std::string&)> listener);
    // Blocks until every ping so far is written, or `limit` passes; true when written.
    bool flush(std::chrono::milliseconds limit);

    // Heartbeat checks declare their names (and optional token, and optional uuid, the
    // name healthchecks.io's clients ping it by) when they are made.
    void declare(const std::string& name, const std::string& token, const std::string& uuid = "");
    bool known(const std::string& name) const;
    // The heartbeat a ping names: by its name, or by its uuid (any case); nullopt if none.
    std::optional<std::string> resolve(const std::string& name_or_uuid) const;
    // Constant-time comparison against the name's token; true when it has none.
    bool authorized(const std::string& name, const std::string& presented) const;

    // Records a ping in memory and wakes the writer; false for an undeclared name.
    bool record(const std::string& name, Ping ping, std::int64_t now_ms,
                const std::string& message = "");
    bool record(const std::string& name, const PingReport& report, std::int64_t now_ms);
    HeartbeatState state(const std::string& name) const;
    // Where persisting failed last, for the check's details; nullopt when fine.
    std::optional<std::string> persist_error() const;

  private:
    void start_writer_locked();
    void writer_loop();
    // The writer's job, outside the lock: the whole board to the file (throws when it cannot).
    void write_file(const std::map<std::string, HeartbeatState>& states) const;
    std::int64_t now_ms() const;

    const Clock& clock_;
    std::string file_;
    std::shared_ptr<const SharedHeartbeats> shared_;  // its connection outlives a swap
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::map<std::string, HeartbeatState> states_;
    std::map<std::string, std::string> tokens_;
    std::map<std::string, std::string> uuids_;  // lower-case uuid -> name
    std::set<std::string> unwritten_;           // names pinged since the writer last wrote them
    std::set<std::string> unheard_;             // names pinged since the listener last heard
    std::function<void(const std::string&)> listener_;
    std::uint64_t pings_ = 0, written_ = 0;
    bool stopping_ = false;
    std::optional<std::string> persist_error_;
    std::thread writer_;
};

}  // namespace vitals
