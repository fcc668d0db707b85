#include "checks/celery/events.hpp"

#include <algorithm>
#include <cmath>

#include "sidecar/json.hpp"
#include "sidecar/text.hpp"

namespace vitals {

namespace {

using nlohmann::json;

// Upper bounds of the runtime and wait histograms, seconds; the last bucket is open.
constexpr double kBounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,  1,    2.5, 5,
                              10,    30,   60,    120,  300, 600,  1800, 3600, 7200};
static_assert(sizeof(kBounds) / sizeof(kBounds[0]) == 19, "one bound per closed bucket");

int histogram_bucket(double seconds) {
    int i = 0;
    while (i < 19 && seconds > kBounds[i])
        ++i;
    return i;
}

// The 95th percentile of a histogram, interpolated within its bucket (as Prometheus'
// histogram_quantile does); none when it is empty.
std::optional<double> p95(const double (&counts)[20]) {
    double total = 0;
    for (const double c : counts)
        total += c;
    if (total <= 0) return std::nullopt;
    const double rank = 0.95 * total;
    double below = 0;
    for (int i = 0; i < 20; ++i) {
        if (below + counts[i] >= rank && counts[i] > 0) {
            if (i == 19) return kBounds[18];  // past the last bound: the bound is all we know
            const double lower = i == 0 ? 0 : kBounds[i - 1];
            return lower + (kBounds[i] - lower) * (rank - below) / counts[i];
        }
        below += counts[i];
    }
    return kBounds[18];
}

std::string text_field(const json& event, const char* key) {
    const auto it = event.find(key);
    return it != event.end() && it->is_string() ? it->get<std::string>() : "";
}

std::optional<double> number_field(const json& event, const char* key) {
    const auto it = event.find(key);
    if (it == event.end() || !it->is_number()) return std::nullopt;
    const double value = it->get<double>();
    return std::isfinite(value) ? std::optional<double>(value) : std::nullopt;
}

std::string clean_name(const std::string& name) {
    return clip_utf8(printable(name), 200);
}

}  // namespace

void EventTally::add_into(Bucket& into, const Bucket& from) {
    TaskFigures& c = into.counts;
    c.received += from.counts.received;
    c.started += from.counts.started;
    c.succeeded += from.counts.succeeded;
    c.failed += from.counts.failed;
    c.retried += from.counts.retried;
    c.rejected += from.counts.rejected;
    c.revoked += from.counts.revoked;
    for (int i = 0; i < kHistogram; ++i) {
        into.runtimes[i] += from.runtimes[i];
        into.waits[i] += from.waits[i];
    }
}

EventTally::EventTally(TaskTallyOptions options) : options_(std::move(options)) {
    if (options_.window <= 0) options_.window = 600;
}

void EventTally::add_body(std::string_view body, double now) {
    const json parsed = vitals::parse_json(body);
    if (parsed.is_array()) {
        for (const json& event : parsed)
            add(event, now);
    } else {
        add(parsed, now);
    }
}

EventTally::Series& EventTally::series_for(const std::string& name, double now) {
    std::string key = name;
    if (!options_.tasks.empty() &&
        std::find(options_.tasks.begin(), options_.tasks.end(), name) == options_.tasks.end())
        key = "other";
    auto it = series_.find(key);
    if (it == series_.end()) {
        if (key != "other" && series_.size() - series_.count("other") >= kMaxNames)
            evict_quietest();
        it = series_.emplace(key, Series{}).first;
    }
    ++it->second.total;
    it->second.touched = now;
    return it->second;
}

void EventTally::evict_quietest() {
    auto quietest = series_.end();
    for (auto it = series_.begin(); it != series_.end(); ++it) {
        if (it->first == "other") continue;
        if (quietest == series_.end() || it->second.total < quietest->second.total ||
            (it->second.total == quietest->second.total &&
             it->second.touched < quietest->second.touched))
            quietest = it;
    }
    if (quietest == series_.end()) return;
    Series& other = series_["other"];
    for (int i = 0; i < kBuckets; ++i) {
        const Bucket& from = quietest->second.buckets[i];
        Bucket& into = other.buckets[i];
        if (from.slot < 0 || from.slot < into.slot) continue;  // older: out of the window
        if (from.slot > into.slot) {
            into = from;
            continue;
        }
        add_into(into, from);
    }
    other.total += quietest->second.total;
    series_.erase(quietest);
}

EventTally::Bucket& EventTally::bucket(Series& series, double now) {
    const double width = options_.window / kBuckets;
    const auto slot = static_cast<long long>(std::floor(now / width));
    Bucket& b = series.buckets[static_cast<std::size_t>(((slot % kBuckets) + kBuckets) % kBuckets)];
    if (b.slot != slot) b = Bucket{slot, {}, {}, {}};
    return b;
}

void EventTally::forget_pending(const std::string& uuid) {
    const auto it = pending_.find(uuid);
    if (it == pending_.end()) return;
    pending_order_.erase(it->second.order);
    pending_.erase(it);
}

void EventTally::add(const json& event, double now) {
    if (!event.is_object()) return;
    const std::string type = text_field(event, "type");
    if (type.empty()) return;
    const bool task_event = type.rfind("task-", 0) == 0;
    {
        const auto slot = static_cast<long long>(std::floor(now / (options_.window / kBuckets)));
        Tally& t = recent_[((slot % kBuckets) + kBuckets) % kBuckets];
        if (t.slot != slot) t = Tally{slot, 0, 0};
        ++t.events;
        if (task_event) ++t.task_events;
    }
    if (type.rfind("worker-", 0) == 0) {
        const std::string host = clean_name(text_field(event, "hostname"));
        if (host.empty()) return;
        if (type == "worker-offline") {
            // Forgotten whole: a worker that comes back under the name counts from zero.
            workers_.erase(host);
            processed_first_.erase(host);
            return;
        }
        if (workers_.count(host) == 0 && workers_.size() >= kMaxWorkers) return;
        WorkerSeen& w = workers_[host];
        w.name = host;
        w.last = now;
        w.freq = number_field(event, "freq").value_or(2);
        if (w.freq <= 0) w.freq = 2;
        w.active = number_field(event, "active").value_or(0);
        w.processed = number_field(event, "processed").value_or(0);
        processed_first_.emplace(host, w.processed);
        return;
    }
    if (!task_event) return;
    ++task_events_ever_;
    // Celery's task ids are UUIDs (36 bytes); anything longer is not one, and is not kept.
    std::string uuid = text_field(event, "uuid");
    if (uuid.size() > kMaxTaskIdBytes) uuid.clear();
    const double timestamp = number_field(event, "timestamp").value_or(now);
    std::string name = clean_name(text_field(event, "name"));
    const auto known = pending_.find(uuid);
    if (name.empty() && known != pending_.end()) name = known->second.name;
    if (name.empty()) name = "other";  // a task received before vitals listened
    Bucket& b = bucket(series_for(name, now), now);
    if (type == "task-received" || type == "task-sent") {
        if (type == "task-received") ++b.counts.received;
        if (uuid.empty()) return;
        if (known != pending_.end()) {
            if (type == "task-received") known->second.received = timestamp;
            return;
        }
        if (pending_.size() >= kMaxPending) forget_pending(pending_order_.front());
        pending_order_.push_back(uuid);
        pending_[uuid] =
            Pending{name, type == "task-received" ? timestamp : 0, std::prev(pending_order_.end())};
    } else if (type == "task-started") {
        ++b.counts.started;
        if (known != pending_.end() && known->second.received > 0) {
            const double wait = std::max(0.0, timestamp - known->second.received);
            ++b.waits[histogram_bucket(wait)];
        }
    } else if (type == "task-succeeded") {
        ++b.counts.succeeded;
        if (const auto runtime = number_field(event, "runtime"))
            ++b.runtimes[histogram_bucket(std::max(0.0, *runtime))];
        forget_pending(uuid);
    } else if (type == "task-failed") {
        ++b.counts.failed;
        forget_pending(uuid);
    } else if (type == "task-retried") {
        ++b.counts.retried;
    } else if (type == "task-rejected") {
        ++b.counts.rejected;
        forget_pending(uuid);
    } else if (type == "task-revoked") {
        ++b.counts.revoked;
        forget_pending(uuid);
    }
}

EventsView EventTally::view(double now) {
    EventsView out;
    const double width = options_.window / kBuckets;
    const auto current = static_cast<long long>(std::floor(now / width));
    for (const Tally& t : recent_) {
        if (t.slot < 0 || t.slot <= current - kBuckets || t.slot > current) continue;
        out.events += t.events;
        out.task_events += t.task_events;
    }
    // Each name's window, summed; names with nothing in it are dropped.
    std::map<std::string, Bucket> summed;
    std::vector<std::pair<double, std::string>> by_volume;  // -volume: the busiest first
    for (auto it = series_.begin(); it != series_.end();) {
        Bucket sum;
        for (const Bucket& b : it->second.buckets)
            if (b.slot >= 0 && b.slot > current - kBuckets && b.slot <= current) add_into(sum, b);
        const TaskFigures& f = sum.counts;
        const double volume =
            f.received + f.started + f.finished() + f.retried + f.rejected + f.revoked;
        if (volume == 0) {
            it = series_.erase(it);
            continue;
        }
        if (it->first != "other") by_volume.emplace_back(-volume, it->first);
        summed[it->first] = sum;
        ++it;
    }
    // The labels: the configured names, else the busiest `top`; the rest as "other".
    std::vector<std::string> labelled = options_.tasks;
    if (labelled.empty()) {
        std::sort(by_volume.begin(), by_volume.end());
        for (std::size_t i = 0; i < by_volume.size() && i < options_.top; ++i)
            labelled.push_back(by_volume[i].second);
    }
    std::map<std::string, Bucket> merged;
    for (const auto& [name, sum] : summed) {
        const bool own = std::find(labelled.begin(), labelled.end(), name) != labelled.end();
        add_into(merged[own ? name : "other"], sum);
    }
    for (auto& [label, sum] : merged) {
        sum.counts.runtime_p95 = p95(sum.runtimes);
        sum.counts.wait_p95 = p95(sum.waits);
        out.tasks[label] = sum.counts;
    }
    // Workers: lost after two missed heartbeats, forgotten `forget_lost` later.
    for (auto it = workers_.begin(); it != workers_.end();) {
        WorkerSeen& w = it->second;
        const double silent = now - w.last;
        w.lost = silent > 2 * w.freq;
        if (w.lost && silent > 2 * w.freq + options_.forget_lost) {
            processed_first_.erase(it->first);
            it = workers_.erase(it);
            continue;
        }
        if (w.processed > processed_first_[it->first]) out.processed_unseen = true;
        out.workers.push_back(w);
        ++it;
    }
    out.task_events_ever = task_events_ever_;
    if (task_events_ever_ > 0) out.processed_unseen = false;
    return out;
}

CheckResult judge_tasks(const EventsView& view, const TaskLimits& limits) {
    CheckResult result;
    Findings findings;
    result.observe("listening", view.not_listening ? 0 : 1);
    if (view.not_listening)
        findings.add(Status::fail, "cannot listen to Celery's events: " + *view.not_listening,
                     Cause::elsewhere);
    json tasks = json::object();
    double finished = 0;
    for (const auto& [label, f] : view.tasks) {
        const double done = f.finished();
        finished += done;
        const double ratio = done > 0 ? f.failed / done : 0;
        result.observe("succeeded", "task", label, f.succeeded)
            .observe("failed", "task", label, f.failed)
            .observe("retried", "task", label, f.retried)
            .observe("failure_ratio", "task", label, ratio);
        if (f.runtime_p95) result.observe("runtime_p95_seconds", "task", label, *f.runtime_p95);
        if (f.wait_p95) result.observe("wait_p95_seconds", "task", label, *f.wait_p95);
        json one = {{"received", f.received}, {"succeeded", f.succeeded}, {"failed", f.failed},
                    {"retried", f.retried},   {"rejected", f.rejected},   {"revoked", f.revoked}};
        if (f.runtime_p95) one["runtime_p95_seconds"] = *f.runtime_p95;
        if (f.wait_p95) one["wait_p95_seconds"] = *f.wait_p95;
        tasks[label] = one;

        const auto percent = [](double r) {
            return std::to_string(static_cast<int>(std::lround(r * 100)));
        };
        const std::string failing = label + ": " + std::to_string(static_cast<int>(f.failed)) +
                                    " of " + std::to_string(static_cast<int>(done)) + " failed (" +
                                    percent(ratio) + " %)";
        if (done >= limits.min_count && ratio >= limits.failure_fail)
            findings.add(Status::fail, failing, Cause::elsewhere);
        else if (done >= limits.min_count && ratio >= limits.failure_warn)
            findings.add(Status::warn, failing, Cause::elsewhere);
        const auto limit = limits.runtime_p95.count(label) ? limits.runtime_p95.find(label)
                                                           : limits.runtime_p95.find("*");
        if (f.runtime_p95 && limit != limits.runtime_p95.end() && *f.runtime_p95 > limit->second) {
            char text[96];
            std::snprintf(text, sizeof(text), "runtime p95 %.1f s, over its %.1f s limit",
                          *f.runtime_p95, limit->second);
            findings.add(Status::warn, label + ": " + text, Cause::elsewhere);
        }
    }
    double heartbeating = 0, lost = 0;
    json workers = json::array();
    for (const WorkerSeen& w : view.workers) {
        (w.lost ? lost : heartbeating) += 1;
        workers.push_back(
            {{"name", w.name}, {"active", w.active}, {"processed", w.processed}, {"lost", w.lost}});
        if (w.lost)
            findings.add(Status::warn,
                         w.name +
                             " stopped sending heartbeats without saying offline "
                             "(crashed, killed or frozen?)",
                         Cause::elsewhere);
    }
    result.observe("workers_heartbeating", heartbeating)
        .observe("workers_lost", lost)
        .observe("events", view.events);
    result.details["tasks"] = tasks;
    result.details["workers"] = workers;
    std::string ok = std::to_string(static_cast<int>(finished)) + " tasks finished in the window";
    if (view.processed_unseen) {
        result.details["events"] =
            "off: workers processed tasks and sent no task event (start them with -E, or set "
            "worker_send_task_events; enable_events: true turns them on at run time)";
        ok = "no task events: the workers run without -E (task events off)";
    } else if (view.task_events_ever == 0) {
        result.details["events"] = "no task event yet";
    }
    findings.conclude(result, ok);
    return result;
}

}  // namespace vitals
