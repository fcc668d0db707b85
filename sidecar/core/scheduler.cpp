#include "sidecar/core/scheduler.hpp"
#include "sidecar/core/roots.hpp"

#include <algorithm>

#include "sidecar/url.hpp"

namespace vitals {

namespace {

RunOutcome outcome_of(Status s, bool timed_out) {
    if (timed_out) return RunOutcome::timeout;
    switch (s) {
        case Status::ok:
            return RunOutcome::ok;
        case Status::warn:
            return RunOutcome::warn;
        default:
            return RunOutcome::fail;
    }
}

double seconds_rounded(std::chrono::nanoseconds d) {
    // Microsecond resolution keeps JSON readable.
    return static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(d).count()) /
           1e6;
}

}  // namespace

Millis overrun_grace(Millis timeout) {
    return std::clamp(timeout / 10, Millis(20), Millis(1000));
}

Scheduler::Scheduler(std::vector<ScheduledCheck> checks, const Clock& clock, Random& random,
                     Log& log, Publish publish)
    : clock_(clock),
      random_(random),
      log_(log),
      publish_(std::move(publish)),
      started_(clock.wall()) {
    const SteadyTime now = clock_.now();
    for (auto& c : checks) {
        CheckState state;
        state.name = std::move(c.name);
        state.kind = std::move(c.kind);
        state.policy = c.policy;
        state.observations = std::move(c.observations);
        Runtime rt;
        // Spread first runs over the jitter window so checks do not start in lockstep, but
        // over a second at most: an hourly check's first answer is not six minutes away.
        const auto spread = std::min(
            std::chrono::duration_cast<Millis>(state.policy.interval * state.policy.jitter),
            kMaxFirstSpread);
        rt.next_due = now + std::chrono::duration_cast<Millis>(spread * random_.uniform());
        states_.push_back(std::move(state));
        runtime_.push_back(rt);
    }
    dirty_ = true;
    publish_if_dirty();
}

Millis Scheduler::jittered_interval(const CheckPolicy& policy) {
    const double factor = 1.0 + policy.jitter * (2.0 * random_.uniform() - 1.0);
    return std::chrono::duration_cast<Millis>(std::chrono::duration<double, std::milli>(
        static_cast<double>(policy.interval.count()) * factor));
}

void Scheduler::tick() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        tick_locked();
    }
    publish_if_dirty();
}

void Scheduler::tick_locked() {
    const SteadyTime now = clock_.now();
    if (beat_) beat_(now);
    poked_ = false;
    bool changed = false;
    for (std::size_t i = 0; i < states_.size(); ++i) {
        CheckState& st = states_[i];
        Runtime& rt = runtime_[i];
        if (rt.running && !rt.timed_out && now >= rt.deadline) {
            rt.timed_out = true;
            CheckResult timeout =
                CheckResult::fail("timed out after " + format_duration(st.policy.timeout));
            record(i, std::move(timeout), to_seconds(st.policy.timeout), true);
            changed = true;
        }
        if (!rt.running && now >= rt.next_due && executor_ != nullptr) {
            rt.running = true;
            rt.timed_out = false;
            ++rt.run_id;
            rt.last_start = now;
            rt.deadline = now + st.policy.timeout + overrun_grace(st.policy.timeout);
            rt.next_due = std::max(now + jittered_interval(st.policy), rt.deadline);
            executor_->start(i, rt.run_id, st.policy.timeout);
        }
        const bool stale = st.last_run_steady && now - *st.last_run_steady > st.stale_after();
        if (stale != st.stale) {
            st.stale = stale;
            changed = true;
            log_.warn(stale ? "check_stale" : "check_fresh", {{"check", st.name}});
        }
    }
    if (changed) dirty_ = true;
}

void Scheduler::complete(std::size_t index, std::uint64_t run_id, CheckResult result,
                         std::chrono::nanoseconds duration) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        Runtime& rt = runtime_.at(index);
        if (!rt.running || rt.run_id != run_id) return;
        rt.running = false;
        if (rt.again) {
            rt.again = false;
            rt.next_due = std::min(rt.next_due, rt.last_start + kSoonestRerun);
        }
        if (rt.timed_out) {
            log_.warn("late_result_dropped", {{"check", states_[index].name},
                                              {"duration_seconds", seconds_rounded(duration)}});
        } else {
            if (result.run_again_by) {
                // On the steady clock, never sooner than kSoonestRerun from now (a due time
                // in the past must not spin the check), never later than the interval;
                // rounded up, so the run never lands a fraction of a millisecond early.
                const SteadyTime now = clock_.now();
                const auto in = std::chrono::ceil<Millis>(*result.run_again_by - clock_.wall());
                rt.next_due = std::min(rt.next_due, now + std::max(in, kSoonestRerun));
            }
            record(index, std::move(result), seconds_rounded(duration), false);
            dirty_ = true;
        }
    }
    wake_.notify_all();
}

void Scheduler::drop_undeclared(const CheckState& st, CheckResult& result) {
    // A kind observing a name it did not declare is a programming error the tests refuse
    // (make_check); here it is never exported, and said once in the log and always in details,
    // rather than dropped in silence.
    std::vector<std::string> undeclared;
    const auto kept = std::remove_if(
        result.observations.begin(), result.observations.end(), [&](const Observation& o) {
            if (find_spec(*st.observations, o) != nullptr) return false;
            if (std::find(undeclared.begin(), undeclared.end(), o.name) == undeclared.end())
                undeclared.push_back(o.name);
            return true;
        });
    if (undeclared.empty()) return;
    result.observations.erase(kept, result.observations.end());
    result.details["undeclared_observations"] = undeclared;
    if (!warned_undeclared_.insert(st.name).second) return;
    log_.event("error", "undeclared_observation",
               {{"check", st.name}, {"kind", st.kind}, {"names", undeclared}});
}

void Scheduler::record(std::size_t index, CheckResult result, double duration_seconds,
                       bool timed_out) {
    CheckState& st = states_[index];
    const WallTime wall = clock_.wall();
    const Status status = result.status;
    result.message = redact_secrets(result.message);
    if (st.observations) drop_undeclared(st, result);
    st.last = std::make_shared<const CheckResult>(std::move(result));
    st.last_timed_out = timed_out;
    st.last_duration_seconds = duration_seconds;
    st.last_run = wall;
    st.last_run_steady = clock_.now();
    st.stale = false;
    ++st.runs[static_cast<std::size_t>(outcome_of(status, timed_out))];

    const Status before = st.status;
    if (status == Status::fail || status == Status::unknown) {
        ++st.consecutive_failures;
        st.consecutive_successes = 0;
        if (st.consecutive_failures >= st.policy.failure_threshold) st.status = Status::fail;
    } else {
        st.last_success = wall;
        ++st.consecutive_successes;
        st.consecutive_failures = 0;
        // A check that has not failed takes each result as it comes; a failed one must
        // prove itself `success_threshold` times.
        if (st.status != Status::fail || st.consecutive_successes >= st.policy.success_threshold) {
            st.status = status;
        }
    }
    if (st.status != before) {
        st.since = wall;
        log_.event(st.status == Status::fail ? "warn" : "info", "check_status",
                   {{"check", st.name},
                    {"kind", st.kind},
                    {"from", status_name(before)},
                    {"to", status_name(st.status)},
                    {"message", st.last->message},
                    {"duration_seconds", duration_seconds}});
        if (before != Status::unknown) remember_incident(st, before, wall);  // not first results
    }
    HistoryEntry entry;
    entry.status = status;
    entry.duration_seconds = static_cast<float>(duration_seconds);
    entry.at_unix_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
    if (st.history.size() == kHistoryLength) st.history.erase(st.history.begin());
    st.history.push_back(entry);
    record_trend(st, entry.at_unix_ms);
}

void Scheduler::record_trend(CheckState& st, std::int64_t now_ms) {
    const ObservationSpec* spec = st.observations ? charted(*st.observations) : nullptr;
    if (spec == nullptr) return;
    for (const Observation& o : st.last->observations) {
        if (o.name != spec->name) continue;
        const std::int64_t step_ms = std::chrono::milliseconds(kTrendStep).count();
        // The newest point is the latest value until it lies a step after the point before
        // it; then it stays and the next value starts a new one. Points lie a step apart.
        const std::size_t n = st.trend.size();
        if (n > 1 && st.trend[n - 1].at_unix_ms - st.trend[n - 2].at_unix_ms < step_ms) {
            st.trend.back() = {now_ms, static_cast<float>(o.value)};
        } else {
            st.trend.push_back({now_ms, static_cast<float>(o.value)});
        }
        const std::int64_t oldest = now_ms - std::chrono::milliseconds(kTrendSpan).count();
        std::size_t expired = 0;
        while (expired < st.trend.size() && st.trend[expired].at_unix_ms < oldest)
            ++expired;
        st.trend.erase(st.trend.begin(), st.trend.begin() + static_cast<std::ptrdiff_t>(expired));
        return;  // the first value of a labelled observation stands for it
    }
}

void Scheduler::remember_incident(const CheckState& changed, Status from, WallTime at) {
    Incident incident;
    incident.at = at;
    incident.check = changed.name;
    incident.from = from;
    incident.to = changed.status;
    for (const CheckState& c : states_)
        incident.checks.push_back({c.name, c.effective(), c.last});
    auto list = std::make_shared<std::vector<Incident>>();
    list->reserve(kIncidentsKept);
    list->push_back(std::move(incident));
    if (incidents_) {
        for (const Incident& older : *incidents_) {
            if (list->size() == kIncidentsKept) break;
            list->push_back(older);
        }
    }
    incidents_ = std::move(list);
}

void Scheduler::publish_if_dirty() {
    // One publisher at a time, so snapshots are handed over in the order they were taken;
    // the state mutex is held only for the copy, never while the publisher renders.
    std::lock_guard<std::mutex> publishing(publish_mutex_);
    Snapshot snapshot;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!dirty_) return;
        dirty_ = false;
        snapshot.checks = states_;
        snapshot.incidents = incidents_;
        snapshot.published = clock_.wall();
        snapshot.started = started_;
    }
    // Outside the lock: which failing check explains which (roots.hpp).
    const std::map<std::string, std::string> roots = blocked_by(snapshot.checks);
    for (CheckState& c : snapshot.checks) {
        const auto root = roots.find(c.name);
        c.blocked_by = root == roots.end() ? "" : root->second;
    }
    publish_(std::move(snapshot));
}

SteadyTime Scheduler::next_wakeup() const {
    std::lock_guard<std::mutex> lock(mutex_);
    SteadyTime next = SteadyTime::max();
    for (std::size_t i = 0; i < states_.size(); ++i) {
        const Runtime& rt = runtime_[i];
        if (rt.running) {
            if (!rt.timed_out) next = std::min(next, rt.deadline);
        } else {
            next = std::min(next, rt.next_due);
        }
        const CheckState& st = states_[i];
        if (st.last_run_steady && !st.stale)
            next = std::min(next, *st.last_run_steady + st.stale_after());
    }
    return next;
}

void Scheduler::run_soon(const std::string& name) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        const auto it = std::find_if(states_.begin(), states_.end(),
                                     [&](const CheckState& st) { return st.name == name; });
        if (it == states_.end()) return;
        Runtime& rt = runtime_[static_cast<std::size_t>(it - states_.begin())];
        if (rt.running) {
            rt.again = true;
            return;  // complete() wakes the loop
        }
        rt.next_due = std::min(rt.next_due, std::max(clock_.now(), rt.last_start + kSoonestRerun));
        poked_ = true;
    }
    wake_.notify_all();
}

void Scheduler::run() {
    while (true) {
        tick();
        const SteadyTime cap = clock_.now() + std::chrono::seconds(1);
        const SteadyTime until = std::min(next_wakeup(), cap);
        std::unique_lock<std::mutex> lock(mutex_);
        if (stopping_) return;
        // A finished run wakes the loop so its result is published at once; run_soon() so
        // the check starts at once.
        wake_.wait_until(lock, until, [&] { return stopping_ || dirty_ || poked_; });
        if (stopping_) return;
    }
}

void Scheduler::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
}

std::vector<CheckState> Scheduler::states() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return states_;
}

}  // namespace vitals
