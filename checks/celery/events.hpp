// Celery's own events (the `celeryev` exchange), tallied as celery-exporter and Flower do:
// per task name, outcomes, runtime and queue wait over a sliding window; workers by their
// heartbeats. Pure bookkeeping and judgement here, fed by the listener in tasks.cpp; memory
// and output are bounded whatever the task names (a name per user, say).
#pragma once

#include <cstddef>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "sidecar/core/check.hpp"

namespace vitals {

struct TaskTallyOptions {
    std::vector<std::string> tasks;  // the task names labelled; empty: the busiest `top`
    std::size_t top = 10;
    double window = 600;       // seconds
    double forget_lost = 300;  // a worker silent this long past its heartbeats is dropped
};

// One label's figures over the window.
struct TaskFigures {
    double received = 0, started = 0, succeeded = 0, failed = 0, retried = 0, rejected = 0,
           revoked = 0;
    std::optional<double> runtime_p95;  // seconds, from task-succeeded's runtime
    std::optional<double> wait_p95;     // seconds from task-received to task-started
    double finished() const { return succeeded + failed; }
};

struct WorkerSeen {
    std::string name;
    double last = 0;       // when its last heartbeat arrived (receipt time)
    double freq = 2;       // its heartbeat interval, seconds
    double active = 0;     // tasks it runs now
    double processed = 0;  // tasks it finished since it started
    bool lost = false;     // set by view(): no heartbeat for two intervals
};

struct EventsView {
    std::map<std::string, TaskFigures> tasks;  // by label, "other" among them
    std::vector<WorkerSeen> workers;           // heartbeating or lost, by name
    double events = 0;                         // messages' events in the window, any type
    double task_events = 0;                    // task-* events in the window
    // Task events since the tally began, and whether the workers' heartbeats say they
    // processed tasks meanwhile: tasks ran, and no task event came (workers without -E).
    double task_events_ever = 0;
    bool processed_unseen = false;
    // Why vitals does not hear the events now (the broker gone); nullopt while it listens.
    std::optional<std::string> not_listening;
};

class EventTally {
  public:
    explicit EventTally(TaskTallyOptions options);
    // One message body (an event, or a list of them as task.multi carries), received at
    // `now` (Unix seconds). Anything that is not an event is ignored.
    void add_body(std::string_view body, double now);
    void add(const nlohmann::json& event, double now);
    // The figures at `now`; drops what left the window, and workers lost long enough.
    EventsView view(double now);

    // Names tracked one by one; past them a new name takes the quietest one's place, and
    // that one's counts go to "other".
    static constexpr std::size_t kMaxNames = 500;
    static constexpr std::size_t kMaxPending = 50'000;  // tasks received and not finished
    static constexpr std::size_t kMaxTaskIdBytes = 64;  // a longer task id is not kept
    static constexpr std::size_t kMaxWorkers = 1'000;

  private:
    static constexpr int kBuckets = 10;  // the window in tenths
    static constexpr int kHistogram = 20;
    struct Bucket {
        long long slot = -1;  // floor(time / (window / kBuckets)); -1: empty
        TaskFigures counts;   // p95s unused here
        double runtimes[kHistogram] = {};
        double waits[kHistogram] = {};
    };
    struct Series {
        Bucket buckets[kBuckets];
        double total = 0;    // events since it was tracked: which name is quietest
        double touched = 0;  // when its last event came
    };
    struct Pending {
        std::string name;
        double received = 0;  // the worker's timestamp
        std::list<std::string>::iterator order;
    };
    Series& series_for(const std::string& name, double now);
    // Folds the quietest tracked name into "other", making room for a new one.
    void evict_quietest();
    Bucket& bucket(Series& series, double now);
    void forget_pending(const std::string& uuid);
    // Adds `from`'s counts and histograms to `into`'s (its slot unchanged).
    static void add_into(Bucket& into, const Bucket& from);

    TaskTallyOptions options_;
    std::map<std::string, Series> series_;              // by task name (or "other")
    std::unordered_map<std::string, Pending> pending_;  // by task id
    std::list<std::string> pending_order_;              // oldest first
    std::map<std::string, WorkerSeen> workers_;
    std::map<std::string, double> processed_first_;  // each worker's count when first heard
    // Events counted per tenth of the window (by slot, as the series' buckets): a count
    // whatever the rate.
    struct Tally {
        long long slot = -1;
        double events = 0, task_events = 0;
    };
    Tally recent_[kBuckets];
    double task_events_ever_ = 0;
};

struct TaskLimits {
    double failure_warn = 0.10;
    double failure_fail = 0.50;
    double min_count = 10;  // finished tasks in the window before a ratio is judged
    // p95 runtime limits by task name; "*" for every task without its own.
    std::map<std::string, double> runtime_p95;
};

// The verdict: not listening (the tally so far stays in details), a failure ratio over a
// limit (per label, with enough tasks), a p95 runtime over its limit, a worker whose
// heartbeats stopped without saying offline. Observations per
// label ("task") and for the workers.
CheckResult judge_tasks(const EventsView& view, const TaskLimits& limits);

}  // namespace vitals
