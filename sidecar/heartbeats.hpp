// Heartbeats (dead man's switches) for periodic tasks: the task pings vitals at
// /heartbeat/<name> when it succeeds (/start when it begins, /fail when it fails), and the
// heartbeat check of that name fails when no success arrives within period + grace.
// The board holds what pings said; the only write path in vitals. With a state directory it
// survives restarts: a JSON file replaced atomically (temp file + rename) on every ping.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "sidecar/check.hpp"
#include "sidecar/duration.hpp"

namespace vitals {

struct HeartbeatState {
    std::optional<std::int64_t> last_success_ms;  // Unix milliseconds
    std::optional<std::int64_t> last_start_ms;
    std::optional<std::int64_t> last_fail_ms;
    std::string fail_message;
    std::optional<double> last_duration_seconds;  // start -> success
};

struct HeartbeatRule {
    Millis period{3'600'000};
    Millis grace{600'000};
    std::optional<Millis> expected_duration;
};

// The status of a heartbeat at `now_ms`; `watching_since_ms` is when vitals began to wait
// for it (a heartbeat that never pinged is overdue period + grace after that).
CheckResult judge_heartbeat(const HeartbeatState& state, const HeartbeatRule& rule,
                            std::int64_t now_ms, std::int64_t watching_since_ms);

enum class Ping { success, start, fail };

class HeartbeatBoard {
  public:
    HeartbeatBoard() = default;
    // From now on every ping is written to `state_file`; loads what it already holds, so a
    // restart loses nothing.
    void open(const std::string& state_file);

    // Heartbeat checks declare their names (and optional token) when they are made.
    void declare(const std::string& name, const std::string& token);
    bool known(const std::string& name) const;
    // Constant-time comparison against the name's token; true when it has none.
    bool authorized(const std::string& name, const std::string& presented) const;

    // Records a ping; returns false for an undeclared name. Persists when a file is set.
    bool record(const std::string& name, Ping ping, std::int64_t now_ms,
                const std::string& message = "");
    HeartbeatState state(const std::string& name) const;
    // Where persisting failed last, for the check's details; empty when fine.
    std::string persist_error() const;

  private:
    void persist_locked();

    std::string file_;
    mutable std::mutex mutex_;
    std::map<std::string, HeartbeatState> states_;
    std::map<std::string, std::string> tokens_;
    std::string persist_error_;
};

}  // namespace vitals
