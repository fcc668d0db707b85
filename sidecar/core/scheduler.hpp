// Runs every check on its own schedule and turns results into published snapshots.
// Policy lives here, once: interval with jitter, per-run deadline, consecutive failure and
// success thresholds, staleness, and never two runs of one check at once. A run stuck past
// its deadline is recorded as a timeout at the deadline; its thread is left to finish and
// the check does not start again until it has, so threads never pile up.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sidecar/clock.hpp"
#include "sidecar/core/check.hpp"
#include "sidecar/core/snapshot.hpp"
#include "sidecar/log.hpp"

namespace vitals {

// Starts runs on behalf of the scheduler and reports back through Scheduler::complete.
class Executor {
  public:
    virtual ~Executor() = default;
    virtual void start(std::size_t index, std::uint64_t run_id, Millis timeout) = 0;
};

struct ScheduledCheck {
    std::string name;
    std::string kind;
    CheckPolicy policy;
    std::shared_ptr<const ObservationTable> observations;  // its kind's; may be null
};

// How long a run may overstay its timeout before the scheduler records it as timed out:
// checks push the deadline into their I/O and need a moment after it to return their own,
// more telling, failure. 10% of the timeout, at least 20 ms, at most 1 s.
Millis overrun_grace(Millis timeout);

// A check that asks to run again by a time (CheckResult::run_again_by) runs no sooner than
// this after its last run ends.
inline constexpr Millis kSoonestRerun{200};
// First runs are spread over interval × jitter, and never over more than this.
inline constexpr Millis kMaxFirstSpread{1000};

class Scheduler {
  public:
    using Publish = std::function<void(Snapshot)>;

    Scheduler(std::vector<ScheduledCheck> checks, const Clock& clock, Random& random, Log& log,
              Publish publish);
    void set_executor(Executor* executor) { executor_ = executor; }
    // Called on every tick with the time, so a stalled scheduler can be noticed.
    void set_beat(std::function<void(SteadyTime)> beat) { beat_ = std::move(beat); }

    // One pass: time out overdue runs, start due ones, refresh staleness; then publishes once
    // if anything changed since the last publication (here or through complete()), outside
    // the state mutex, so rendering never holds up a finishing check.
    void tick();
    // A run finished (from the executor's thread): recorded and marked for publication by the
    // next tick, which this wakes. Late results of timed-out runs are dropped.
    void complete(std::size_t index, std::uint64_t run_id, CheckResult result,
                  std::chrono::nanoseconds duration);
    // When tick() next has something to do.
    SteadyTime next_wakeup() const;
    // Something the check `name` judges changed (a heartbeat's ping): it runs now, or as soon
    // as its current run ends, but never sooner than kSoonestRerun after its last start, so a
    // flood of pings cannot spin it. Unknown names are ignored. Takes the state mutex briefly.
    void run_soon(const std::string& name);

    // The production loop: tick, sleep until the next wake-up (at most 1 s), until stop().
    void run();
    void stop();

    // Copy of the current states (tests and the first publication).
    std::vector<CheckState> states() const;

  private:
    struct Runtime {
        SteadyTime next_due{};
        SteadyTime deadline{};
        bool running = false;
        bool timed_out = false;
        bool again = false;  // run_soon() while running: once more when this run ends
        SteadyTime last_start{};
        std::uint64_t run_id = 0;
    };

    Millis jittered_interval(const CheckPolicy& policy);
    void record(std::size_t index, CheckResult result, double duration_seconds, bool timed_out);
    // Takes out what the check's kind did not declare, into details, and logs it once.
    void drop_undeclared(const CheckState& st, CheckResult& result);
    void remember_incident(const CheckState& changed, Status from, WallTime at);
    // Adds the charted observation of the check's last result to its trend.
    static void record_trend(CheckState& st, std::int64_t now_ms);
    void tick_locked();
    void publish_if_dirty();

    const Clock& clock_;
    Random& random_;
    Log& log_;
    Publish publish_;
    Executor* executor_ = nullptr;
    std::function<void(SteadyTime)> beat_;
    WallTime started_;

    std::mutex publish_mutex_;  // taken before mutex_, never after
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    bool dirty_ = false;  // states changed since the last publication
    bool poked_ = false;  // run_soon() moved a due time: the loop must look again
    std::vector<CheckState> states_;
    std::set<std::string> warned_undeclared_;                 // checks already logged for it
    std::shared_ptr<const std::vector<Incident>> incidents_;  // replaced whole, newest first
    std::vector<Runtime> runtime_;
};

}  // namespace vitals
