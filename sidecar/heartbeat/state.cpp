#include "sidecar/heartbeat/state.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "sidecar/text.hpp"

namespace vitals {

namespace {

// Keeps the newest kHeartbeatOpenRuns entries of a run-id map.
void bound_runs(std::map<std::string, std::int64_t>& runs) {
    if (runs.size() > kHeartbeatOpenRuns) runs = newest_runs({runs.begin(), runs.end()});
}

// The later time of each run id of `other` into `into`.
void merge_runs(std::map<std::string, std::int64_t>& into,
                const std::map<std::string, std::int64_t>& other) {
    for (const auto& [id, at] : other) {
        auto [it, added] = into.emplace(id, at);
        if (!added) it->second = std::max(it->second, at);
    }
}

// A run is open until a finish of its id at or after its start.
void close_finished(HeartbeatState& s) {
    for (auto it = s.runs.begin(); it != s.runs.end();) {
        const auto end = s.ended.find(it->first);
        it = end != s.ended.end() && end->second >= it->second ? s.runs.erase(it) : std::next(it);
    }
    bound_runs(s.runs);
    bound_runs(s.ended);
}

// Newest first, one entry per (time, kind, run id), at most kHeartbeatHistory.
void merge_history(std::vector<PingRecord>& into, const std::vector<PingRecord>& other) {
    for (const PingRecord& p : other) {
        const bool known = std::any_of(into.begin(), into.end(), [&](const PingRecord& q) {
            return q.at_ms == p.at_ms && q.kind == p.kind && q.run_id == p.run_id;
        });
        if (!known) into.push_back(p);
    }
    std::stable_sort(into.begin(), into.end(),
                     [](const PingRecord& a, const PingRecord& b) { return a.at_ms > b.at_ms; });
    if (into.size() > kHeartbeatHistory) into.resize(kHeartbeatHistory);
}

bool believable_duration(const std::optional<double>& d) {
    return !d || (std::isfinite(*d) && *d >= 0 && *d < 1e9);
}

bool run_id_ok(const std::string& id) {
    return !id.empty() && id.size() <= kHeartbeatRunIdLimit &&
           std::all_of(id.begin(), id.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
           });
}

template <typename T>
void take_later(std::optional<std::int64_t>& into_at, const std::optional<std::int64_t>& at,
                T&& also) {
    if (at && (!into_at || *at > *into_at)) {
        into_at = at;
        also();
    }
}

}  // namespace

std::map<std::string, std::int64_t> newest_runs(
    std::vector<std::pair<std::string, std::int64_t>> runs, std::size_t limit) {
    if (runs.size() > limit) {
        std::nth_element(runs.begin(), runs.begin() + static_cast<std::ptrdiff_t>(limit),
                         runs.end(),
                         [](const auto& a, const auto& b) { return a.second > b.second; });
        runs.resize(limit);
    }
    return {std::make_move_iterator(runs.begin()), std::make_move_iterator(runs.end())};
}

void keep_newest_pings(std::vector<PingRecord>& pings) {
    if (pings.size() <= kHeartbeatHistory) return;
    std::partial_sort(pings.begin(), pings.begin() + kHeartbeatHistory, pings.end(),
                      [](const PingRecord& a, const PingRecord& b) { return a.at_ms > b.at_ms; });
    pings.resize(kHeartbeatHistory);
}

void apply_ping(HeartbeatState& s, const PingReport& report, std::int64_t now_ms) {
    const std::string& body = report.body;
    if (!body.empty() || report.exit_status) {
        s.last_body_ms = now_ms;
        s.last_body = body;
        s.last_exit_status = report.exit_status;
    }
    std::optional<double> duration;  // of the run this ping finishes, when matched
    const auto since = [&](std::int64_t started) {
        return static_cast<double>(now_ms - started) / 1000;
    };
    const char* kind = "success";
    switch (report.kind) {
        case Ping::success:
            if (!report.run_id.empty()) {
                // Its own start, however many runs overlap.
                if (const auto run = s.runs.find(report.run_id); run != s.runs.end())
                    duration = since(run->second);
                s.ended[report.run_id] = now_ms;
            } else if (s.last_start_ms &&
                       (!s.last_success_ms || *s.last_start_ms > *s.last_success_ms)) {
                duration = since(*s.last_start_ms);
            }
            if (duration) s.last_duration_seconds = duration;
            s.last_success_ms = now_ms;
            break;
        case Ping::start:
            kind = "start";
            if (report.run_id.empty()) {
                s.last_start_ms = now_ms;
            } else {
                s.runs[report.run_id] = now_ms;
            }
            break;
        case Ping::fail:
            kind = "fail";
            if (const auto run = s.runs.find(report.run_id); run != s.runs.end())
                duration = since(run->second);
            if (!report.run_id.empty()) s.ended[report.run_id] = now_ms;  // it ended
            s.last_fail_ms = now_ms;
            s.fail_message = clip_utf8(valid_utf8(report.message), kHeartbeatMessageLimit);
            break;
        case Ping::log:
            kind = "log";
            s.last_log_ms = now_ms;
            break;
    }
    close_finished(s);
    PingRecord entry;
    entry.at_ms = now_ms;
    entry.kind = kind;
    entry.exit_status = report.exit_status;
    entry.run_id = report.run_id;
    entry.duration_seconds = duration;
    entry.first_line = clip_utf8(body.substr(0, body.find('\n')), kHeartbeatHistoryLine);
    merge_history(s.history, {entry});
}

HeartbeatState sanitized(HeartbeatState s, std::int64_t now_ms) {
    const auto believable = [&](std::optional<std::int64_t>& stamp) {
        if (stamp && (*stamp <= 0 || *stamp > now_ms + kHeartbeatClockSkew.count())) stamp.reset();
    };
    believable(s.last_success_ms);
    believable(s.last_start_ms);
    believable(s.last_fail_ms);
    if (!believable_duration(s.last_duration_seconds)) s.last_duration_seconds.reset();
    s.fail_message = clip_utf8(valid_utf8(s.fail_message), kHeartbeatMessageLimit);
    if (!s.last_fail_ms) s.fail_message.clear();
    believable(s.last_body_ms);
    believable(s.last_log_ms);
    for (auto* runs : {&s.runs, &s.ended}) {
        for (auto it = runs->begin(); it != runs->end();) {
            std::optional<std::int64_t> at = it->second;
            believable(at);
            it = at && run_id_ok(it->first) ? std::next(it) : runs->erase(it);
        }
    }
    close_finished(s);
    std::vector<PingRecord> history;
    for (PingRecord& p : s.history) {
        std::optional<std::int64_t> at = p.at_ms;
        believable(at);
        const bool kind_ok =
            p.kind == "success" || p.kind == "start" || p.kind == "fail" || p.kind == "log";
        if (!at || !kind_ok) continue;
        if (p.exit_status && (*p.exit_status < 0 || *p.exit_status > 255)) p.exit_status.reset();
        if (!believable_duration(p.duration_seconds)) p.duration_seconds.reset();
        if (p.run_id.size() > kHeartbeatRunIdLimit) p.run_id.clear();
        p.run_id = valid_utf8(p.run_id);
        p.first_line = clip_utf8(valid_utf8(p.first_line), kHeartbeatHistoryLine);
        history.push_back(std::move(p));
    }
    s.history.clear();
    merge_history(s.history, history);
    if (s.last_exit_status && (*s.last_exit_status < 0 || *s.last_exit_status > 255))
        s.last_exit_status.reset();
    // A stored body is at most the limit plus the marker: anything longer was not ours.
    if (s.last_body.size() > kHeartbeatBodyLimit + kTruncatedMarker.size())
        s.last_body = clip_body(s.last_body);
    s.last_body = valid_utf8(s.last_body);
    if (!s.last_body_ms) {
        s.last_body.clear();
        s.last_exit_status.reset();
    }
    return s;
}

std::string clip_body(const std::string& body) {
    std::string valid = valid_utf8(body);
    if (valid.size() <= kHeartbeatBodyLimit) return valid;
    return clip_utf8(valid, kHeartbeatBodyLimit) + std::string(kTruncatedMarker);
}

void merge_heartbeat(HeartbeatState& into, const HeartbeatState& other) {
    take_later(into.last_success_ms, other.last_success_ms,
               [&] { into.last_duration_seconds = other.last_duration_seconds; });
    take_later(into.last_start_ms, other.last_start_ms, [] {});
    take_later(into.last_fail_ms, other.last_fail_ms,
               [&] { into.fail_message = other.fail_message; });
    take_later(into.last_body_ms, other.last_body_ms, [&] {
        into.last_body = other.last_body;
        into.last_exit_status = other.last_exit_status;
    });
    take_later(into.last_log_ms, other.last_log_ms, [] {});
    merge_runs(into.runs, other.runs);
    merge_runs(into.ended, other.ended);
    close_finished(into);
    merge_history(into.history, other.history);
}

}  // namespace vitals
