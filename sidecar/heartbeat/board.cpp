#include "sidecar/heartbeat/board.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "sidecar/clients/redis_client.hpp"
#include "sidecar/json.hpp"
#include "sidecar/text.hpp"

namespace vitals {

namespace {

std::string lower(std::string text) {
    for (char& c : text)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

// Keeps the newest `limit` of (run id, time) pairs, in one pass and one partial sort: what
// another replica (or anyone with access to Redis) wrote may hold any number of them.
std::map<std::string, std::int64_t> newest_runs(
    std::vector<std::pair<std::string, std::int64_t>> runs,
    std::size_t limit = kHeartbeatOpenRuns) {
    if (runs.size() > limit) {
        std::nth_element(runs.begin(), runs.begin() + static_cast<std::ptrdiff_t>(limit),
                         runs.end(),
                         [](const auto& a, const auto& b) { return a.second > b.second; });
        runs.resize(limit);
    }
    return {std::make_move_iterator(runs.begin()), std::make_move_iterator(runs.end())};
}

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

// Run ids of at most 64 bytes with an integer time, the newest kHeartbeatOpenRuns.
std::map<std::string, std::int64_t> runs_from_json(const nlohmann::json& j) {
    std::vector<std::pair<std::string, std::int64_t>> runs;
    if (!j.is_object()) return {};
    for (const auto& run : j.items())
        if (run.value().is_number_integer() && !run.key().empty() && run.key().size() <= 64)
            runs.emplace_back(run.key(), run.value().get<std::int64_t>());
    return newest_runs(std::move(runs));
}

std::string ago(std::int64_t ms) {
    return format_age(Millis(ms));
}

nlohmann::json to_json(const PingRecord& p) {
    nlohmann::json j = {{"at", p.at_ms}, {"kind", p.kind}};
    if (p.exit_status) j["exit_status"] = *p.exit_status;
    if (!p.run_id.empty()) j["rid"] = p.run_id;
    if (p.duration_seconds) j["duration_seconds"] = *p.duration_seconds;
    if (!p.first_line.empty()) j["line"] = p.first_line;
    return j;
}

// Tolerant: an entry without a time or kind is dropped.
std::vector<PingRecord> history_from_json(const nlohmann::json& list) {
    std::vector<PingRecord> out;
    if (!list.is_array()) return out;
    for (const auto& e : list) {
        if (!e.is_object()) continue;
        const auto at = e.find("at");
        const auto kind = e.find("kind");
        if (at == e.end() || !at->is_number() || kind == e.end() || !kind->is_string()) continue;
        PingRecord p;
        p.at_ms = static_cast<std::int64_t>(at->get<double>());
        p.kind = kind->get<std::string>();
        if (const auto x = e.find("exit_status"); x != e.end() && x->is_number_integer())
            p.exit_status = x->get<int>();
        if (const auto x = e.find("rid"); x != e.end() && x->is_string() && x->size() <= 64)
            p.run_id = x->get<std::string>();
        if (const auto x = e.find("duration_seconds"); x != e.end() && x->is_number())
            p.duration_seconds = x->get<double>();
        if (const auto x = e.find("line"); x != e.end() && x->is_string())
            p.first_line = clip_utf8(x->get_ref<const std::string&>(), kHeartbeatHistoryLine);
        out.push_back(std::move(p));
    }
    // The newest kHeartbeatHistory, so that no merge after this sees more.
    if (out.size() > kHeartbeatHistory) {
        std::partial_sort(
            out.begin(), out.begin() + kHeartbeatHistory, out.end(),
            [](const PingRecord& a, const PingRecord& b) { return a.at_ms > b.at_ms; });
        out.resize(kHeartbeatHistory);
    }
    return out;
}

nlohmann::json history_json(const std::vector<PingRecord>& history) {
    nlohmann::json list = nlohmann::json::array();
    for (const PingRecord& p : history)
        list.push_back(to_json(p));
    return list;
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

nlohmann::json to_json(const HeartbeatState& s) {
    nlohmann::json j = nlohmann::json::object();
    if (s.last_success_ms) j["last_success_ms"] = *s.last_success_ms;
    if (s.last_start_ms) j["last_start_ms"] = *s.last_start_ms;
    if (s.last_fail_ms) j["last_fail_ms"] = *s.last_fail_ms;
    if (!s.fail_message.empty()) j["fail_message"] = s.fail_message;
    if (s.last_duration_seconds) j["last_duration_seconds"] = *s.last_duration_seconds;
    if (s.last_body_ms) j["last_body_ms"] = *s.last_body_ms;
    if (!s.last_body.empty()) j["last_body"] = s.last_body;
    if (s.last_exit_status) j["last_exit_status"] = *s.last_exit_status;
    if (s.last_log_ms) j["last_log_ms"] = *s.last_log_ms;
    if (!s.runs.empty()) j["runs"] = s.runs;
    if (!s.ended.empty()) j["ended"] = s.ended;
    if (!s.history.empty()) j["history"] = history_json(s.history);
    return j;
}

// Tolerant: a field of the wrong type (null, text) is dropped, never thrown on.
HeartbeatState from_json(const nlohmann::json& j) {
    HeartbeatState s;
    const auto stamp = [&](const char* key) -> std::optional<std::int64_t> {
        const auto it = j.find(key);
        if (it == j.end() || !it->is_number_integer()) return std::nullopt;
        return it->get<std::int64_t>();
    };
    s.last_success_ms = stamp("last_success_ms");
    s.last_start_ms = stamp("last_start_ms");
    s.last_fail_ms = stamp("last_fail_ms");
    if (const auto it = j.find("fail_message"); it != j.end() && it->is_string())
        s.fail_message = it->get<std::string>();
    if (const auto it = j.find("last_duration_seconds"); it != j.end() && it->is_number())
        s.last_duration_seconds = it->get<double>();
    s.last_body_ms = stamp("last_body_ms");
    s.last_log_ms = stamp("last_log_ms");
    if (const auto it = j.find("last_body"); it != j.end() && it->is_string())
        s.last_body = it->get<std::string>();
    if (const auto exit = stamp("last_exit_status")) s.last_exit_status = static_cast<int>(*exit);
    if (const auto it = j.find("runs"); it != j.end()) s.runs = runs_from_json(*it);
    if (const auto it = j.find("ended"); it != j.end()) s.ended = runs_from_json(*it);
    if (const auto it = j.find("history"); it != j.end()) s.history = history_from_json(*it);
    return s;
}

std::string utc_time(std::int64_t ms) {
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &tm);
    return text;
}

// Keeps the later value of each event in the shared hash: replicas write in any order.
const char* const kMergeScript = R"(
local key = KEYS[1]
local function later(field, value)
  if value == '' then return false end
  local old = redis.call('HGET', key, field)
  return (not old) or tonumber(value) > tonumber(old)
end
if later('success', ARGV[1]) then redis.call('HSET', key, 'success', ARGV[1], 'duration', ARGV[2]) end
if later('start', ARGV[3]) then redis.call('HSET', key, 'start', ARGV[3]) end
if later('fail', ARGV[4]) then redis.call('HSET', key, 'fail', ARGV[4], 'message', ARGV[5]) end
if later('body_at', ARGV[6]) then redis.call('HSET', key, 'body_at', ARGV[6], 'body', ARGV[7], 'exit', ARGV[8]) end
if later('log', ARGV[9]) then redis.call('HSET', key, 'log', ARGV[9]) end
-- The ping history: every replica's entries, once each, newest first, the last ARGV[13].
if ARGV[10] ~= '' then
  local all, seen = {}, {}
  local function add(text)
    local ok, list = pcall(cjson.decode, text)
    if not ok or type(list) ~= 'table' then return end
    for _, e in ipairs(list) do
      if type(e) == 'table' and type(e['at']) == 'number' and type(e['kind']) == 'string' then
        local id = string.format('%.0f', e['at']) .. ' ' .. e['kind'] .. ' ' .. tostring(e['rid'] or '')
        if not seen[id] then seen[id] = true; table.insert(all, e) end
      end
    end
  end
  add(ARGV[10])
  local old = redis.call('HGET', key, 'history')
  if old then add(old) end
  table.sort(all, function(a, b) return a['at'] > b['at'] end)
  while #all > tonumber(ARGV[13]) do table.remove(all) end
  redis.call('HSET', key, 'history', cjson.encode(all))
end
-- Open and finished run ids: the later time of each, a run closed by a finish at or after
-- its start, the newest ARGV[14] of each kept.
if ARGV[11] ~= '' then
  local function decode(text)
    if not text or text == '' then return {} end
    local ok, map = pcall(cjson.decode, text)
    if ok and type(map) == 'table' then return map end
    return {}
  end
  local function merge(into, text)
    for id, at in pairs(decode(text)) do
      if type(id) == 'string' and type(at) == 'number' and
         (type(into[id]) ~= 'number' or at > into[id]) then into[id] = at end
    end
  end
  local function newest(map)
    local list = {}
    for id, at in pairs(map) do
      if type(at) == 'number' then table.insert(list, {id, at}) end
    end
    table.sort(list, function(a, b) return a[2] > b[2] end)
    local out = {}
    for i = 1, math.min(#list, tonumber(ARGV[14])) do out[list[i][1]] = list[i][2] end
    return out
  end
  local runs, ended = {}, {}
  merge(runs, redis.call('HGET', key, 'runs'))
  merge(runs, ARGV[11])
  merge(ended, redis.call('HGET', key, 'ended'))
  merge(ended, ARGV[12])
  for id, at in pairs(runs) do
    if type(ended[id]) == 'number' and ended[id] >= at then runs[id] = nil end
  end
  redis.call('HSET', key, 'runs', cjson.encode(newest(runs)), 'ended', cjson.encode(newest(ended)))
end
return 1
)";

std::string text_of(const std::optional<std::int64_t>& v) {
    return v ? std::to_string(*v) : "";
}

std::optional<std::int64_t> number_of(const std::string& text) {
    if (text.empty()) return std::nullopt;
    try {
        return std::stoll(text);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::optional<double> real_of(const std::string& text) {
    if (text.empty()) return std::nullopt;
    try {
        return std::stod(text);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::int64_t wall_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

HeartbeatState sanitized(HeartbeatState s, std::int64_t now_ms) {
    const auto believable = [&](std::optional<std::int64_t>& stamp) {
        if (stamp && (*stamp <= 0 || *stamp > now_ms + kHeartbeatClockSkew.count())) stamp.reset();
    };
    believable(s.last_success_ms);
    believable(s.last_start_ms);
    believable(s.last_fail_ms);
    if (s.last_duration_seconds &&
        !(std::isfinite(*s.last_duration_seconds) && *s.last_duration_seconds >= 0 &&
          *s.last_duration_seconds < 1e9))
        s.last_duration_seconds.reset();
    s.fail_message = clip_utf8(valid_utf8(s.fail_message), kHeartbeatMessageLimit);
    if (!s.last_fail_ms) s.fail_message.clear();
    believable(s.last_body_ms);
    believable(s.last_log_ms);
    for (auto* runs : {&s.runs, &s.ended}) {
        for (auto it = runs->begin(); it != runs->end();) {
            std::optional<std::int64_t> at = it->second;
            believable(at);
            const bool id_ok = !it->first.empty() && it->first.size() <= 64 &&
                               std::all_of(it->first.begin(), it->first.end(), [](char c) {
                                   return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
                               });
            it = at && id_ok ? std::next(it) : runs->erase(it);
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
        if (p.duration_seconds && !(std::isfinite(*p.duration_seconds) &&
                                    *p.duration_seconds >= 0 && *p.duration_seconds < 1e9))
            p.duration_seconds.reset();
        if (p.run_id.size() > 64) p.run_id.clear();
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
    const std::string valid = valid_utf8(body);
    if (valid.size() <= kHeartbeatBodyLimit) return valid;
    return clip_utf8(valid, kHeartbeatBodyLimit) + std::string(kTruncatedMarker);
}

std::int64_t HeartbeatRule::due_ms(std::int64_t since_ms) const {
    if (!cron) return since_ms + period.count() + grace.count();
    const auto next = next_run(*cron, zone, since_ms / 1000);
    if (!next) return std::numeric_limits<std::int64_t>::max() / 2;
    return *next * 1000 + grace.count();
}

void merge_heartbeat(HeartbeatState& into, const HeartbeatState& other) {
    if (other.last_success_ms &&
        (!into.last_success_ms || *other.last_success_ms > *into.last_success_ms)) {
        into.last_success_ms = other.last_success_ms;
        into.last_duration_seconds = other.last_duration_seconds;
    }
    if (other.last_start_ms && (!into.last_start_ms || *other.last_start_ms > *into.last_start_ms))
        into.last_start_ms = other.last_start_ms;
    if (other.last_fail_ms && (!into.last_fail_ms || *other.last_fail_ms > *into.last_fail_ms)) {
        into.last_fail_ms = other.last_fail_ms;
        into.fail_message = other.fail_message;
    }
    if (other.last_body_ms && (!into.last_body_ms || *other.last_body_ms > *into.last_body_ms)) {
        into.last_body_ms = other.last_body_ms;
        into.last_body = other.last_body;
        into.last_exit_status = other.last_exit_status;
    }
    if (other.last_log_ms && (!into.last_log_ms || *other.last_log_ms > *into.last_log_ms))
        into.last_log_ms = other.last_log_ms;
    merge_runs(into.runs, other.runs);
    merge_runs(into.ended, other.ended);
    close_finished(into);
    merge_history(into.history, other.history);
}

CheckResult judge_heartbeat(const HeartbeatState& s, const HeartbeatRule& rule, std::int64_t now_ms,
                            std::int64_t watching_since_ms) {
    CheckResult r;
    if (s.last_success_ms) {
        r.observe("last_success_timestamp_seconds", static_cast<double>(*s.last_success_ms) / 1000)
            .observe("since_success_seconds",
                     static_cast<double>(now_ms - *s.last_success_ms) / 1000);
    }
    if (s.last_duration_seconds) r.observe("last_duration_seconds", *s.last_duration_seconds);
    const std::int64_t due =
        rule.due_ms(s.last_success_ms ? *s.last_success_ms : watching_since_ms);
    const std::int64_t overdue = std::max<std::int64_t>(0, now_ms - due);
    r.observe("overdue_seconds", static_cast<double>(overdue) / 1000);
    if (due < std::numeric_limits<std::int64_t>::max() / 2)
        r.observe("due_timestamp_seconds", static_cast<double>(due) / 1000);
    if (rule.cron) r.details["schedule"] = rule.cron->text + " (" + rule.zone.name() + ")";
    // Runs in progress: those started with a run id, and one started without. Judged is the
    // oldest that began after the last success (a run a later success overtook is not).
    std::optional<std::int64_t> running_since;
    const auto consider = [&](std::int64_t started) {
        if (s.last_success_ms && started <= *s.last_success_ms) return;
        running_since = running_since ? std::min(*running_since, started) : started;
    };
    bool ridless_open = false;
    if (s.last_start_ms && (!s.last_success_ms || *s.last_start_ms > *s.last_success_ms)) {
        ridless_open = true;
        consider(*s.last_start_ms);
    }
    for (const auto& [id, started] : s.runs)
        consider(started);
    r.observe("runs_in_progress", static_cast<double>(s.runs.size() + (ridless_open ? 1 : 0)));
    if (s.last_body_ms) {
        // Trusted callers only (details): a job's output may say more than metrics should.
        r.details["last_output"] = s.last_body;
        r.details["last_output_at"] = utc_time(*s.last_body_ms);
        if (s.last_exit_status) r.details["last_exit_status"] = *s.last_exit_status;
    }
    if (s.last_log_ms) r.details["last_log_at"] = utc_time(*s.last_log_ms);
    if (!s.history.empty()) {
        nlohmann::json pings = nlohmann::json::array();
        for (const PingRecord& p : s.history) {
            nlohmann::json e = to_json(p);
            e["time"] = utc_time(p.at_ms);
            pings.push_back(std::move(e));
        }
        r.details["pings"] = std::move(pings);
    }
    // Run again the moment the verdict would change with no ping: at the due time, and when
    // a started run passes its expected duration. Overdue shows then, not an interval later.
    std::int64_t wake = std::numeric_limits<std::int64_t>::max();
    // Overdue from due + 1 ms on: at exactly the due time the verdict is still ok, and the
    // check must still ask to be woken.
    if (due + 1 > now_ms && due < std::numeric_limits<std::int64_t>::max() / 2) wake = due + 1;
    if (rule.expected_duration && running_since) {
        for (const std::int64_t late :
             {*running_since + rule.expected_duration->count() + 1,
              *running_since + rule.expected_duration->count() + rule.grace.count() + 1})
            if (late > now_ms) wake = std::min(wake, late);
    }
    if (wake != std::numeric_limits<std::int64_t>::max())
        r.run_again_by = std::chrono::system_clock::time_point(std::chrono::milliseconds(wake));

    const bool failed_last =
        s.last_fail_ms && (!s.last_success_ms || *s.last_fail_ms >= *s.last_success_ms);
    if (failed_last) {
        r.status = Status::fail;
        r.message = "the task reported a failure " + ago(now_ms - *s.last_fail_ms) + " ago" +
                    (s.fail_message.empty() ? "" : ": " + s.fail_message);
    } else if (overdue > 0) {
        r.status = Status::fail;
        r.message = s.last_success_ms
                        ? "last success " + ago(now_ms - *s.last_success_ms) + " ago, overdue by " +
                              ago(overdue)
                        : "no ping since vitals began watching " + ago(now_ms - watching_since_ms) +
                              " ago, overdue by " + ago(overdue);
    } else if (rule.expected_duration && running_since &&
               now_ms - *running_since > rule.expected_duration->count()) {
        const bool stuck =
            now_ms - *running_since > rule.expected_duration->count() + rule.grace.count();
        r.status = stuck && rule.overrun_fails ? Status::fail : Status::warn;
        r.message = "running for " + ago(now_ms - *running_since) + ", longer than the expected " +
                    format_duration(*rule.expected_duration) +
                    (stuck ? " and its grace " + format_duration(rule.grace) : "");
    } else {
        r.status = Status::ok;
        r.message = (s.last_success_ms ? "last success " + ago(now_ms - *s.last_success_ms) + " ago"
                                       : std::string("waiting for the first ping")) +
                    ", next due within " + ago(due - now_ms) + " (" + utc_time(due) + ")";
    }
    return r;
}

HeartbeatState shared_state_from_fields(std::map<std::string, std::string> fields) {
    HeartbeatState remote;
    remote.last_success_ms = number_of(fields["success"]);
    remote.last_start_ms = number_of(fields["start"]);
    remote.last_fail_ms = number_of(fields["fail"]);
    remote.fail_message = fields["message"];
    remote.last_duration_seconds = real_of(fields["duration"]);
    remote.last_body_ms = number_of(fields["body_at"]);
    remote.last_body = fields["body"];
    if (const auto exit = number_of(fields["exit"]))
        remote.last_exit_status = static_cast<int>(*exit);
    remote.last_log_ms = number_of(fields["log"]);
    remote.runs = runs_from_json(vitals::parse_json(fields["runs"]));
    remote.ended = runs_from_json(vitals::parse_json(fields["ended"]));
    if (!fields["history"].empty())
        remote.history = history_from_json(vitals::parse_json(fields["history"]));
    return remote;
}

HeartbeatBoard::~HeartbeatBoard() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (writer_.joinable()) writer_.join();
}

void HeartbeatBoard::open(const std::string& state_file) {
    std::lock_guard<std::mutex> lock(mutex_);
    file_ = state_file;
    start_writer_locked();
    std::ifstream in(file_);
    if (!in) return;  // first start
    std::stringstream text;
    text << in.rdbuf();
    const auto j = vitals::parse_json(text.str());
    if (!j.is_object()) {
        // Set aside, never a crash loop: the next write replaces the file, and the bad one is
        // kept for a person to look at.
        const std::string aside = file_ + ".bad";
        std::rename(file_.c_str(), aside.c_str());
        persist_error_ = "state file " + file_ + " was not valid JSON; set aside as " + aside +
                         ", starting empty";
        return;
    }
    const std::int64_t now = wall_now_ms();
    for (const auto& item : j.items()) {
        if (item.value().is_object())
            merge_heartbeat(states_[item.key()], sanitized(from_json(item.value()), now));
    }
}

void HeartbeatBoard::share(const Url& redis, const std::string& prefix) {
    std::lock_guard<std::mutex> lock(mutex_);
    redis_ = redis;
    prefix_ = prefix;
    start_writer_locked();
}

bool HeartbeatBoard::shared() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return redis_.has_value();
}

std::string HeartbeatBoard::refresh(const std::string& name, const Deadline& deadline) {
    std::optional<Url> redis;
    std::string key;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!redis_) return "";
        redis = redis_;
        key = prefix_ + name;
    }
    HeartbeatState remote;
    try {
        RedisClient client(*redis, deadline);
        const auto reply = client.command({"HGETALL", key}, "HGETALL");
        remote = shared_state_from_fields(RedisClient::pairs(*reply));
        // What another replica (or anyone with access to Redis) wrote is checked here.
        remote = sanitized(std::move(remote), wall_now_ms());
    } catch (const std::exception& e) {
        return std::string("shared state unreadable, judging by this replica's pings: ") + e.what();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    merge_heartbeat(states_[name], remote);
    return "";
}

void HeartbeatBoard::on_ping(std::function<void(const std::string&)> listener) {
    std::lock_guard<std::mutex> lock(mutex_);
    listener_ = std::move(listener);
    if (listener_) start_writer_locked();
}

bool HeartbeatBoard::flush(std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!writer_.joinable()) return true;
    const std::uint64_t target = pings_;
    return wake_.wait_for(lock, limit, [&] { return written_ >= target; });
}
void HeartbeatBoard::declare(const std::string& name, const std::string& token,
                             const std::string& uuid) {
    std::lock_guard<std::mutex> lock(mutex_);
    tokens_[name] = token;
    if (!uuid.empty()) uuids_[lower(uuid)] = name;
    states_.try_emplace(name);
}

std::optional<std::string> HeartbeatBoard::resolve(const std::string& name_or_uuid) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (tokens_.count(name_or_uuid) != 0) return name_or_uuid;
    const auto it = uuids_.find(lower(name_or_uuid));
    if (it != uuids_.end()) return it->second;
    return std::nullopt;
}

bool HeartbeatBoard::known(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return tokens_.count(name) != 0;
}

bool HeartbeatBoard::authorized(const std::string& name, const std::string& presented) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = tokens_.find(name);
    if (it == tokens_.end()) return false;
    const std::string& want = it->second;
    if (want.empty()) return true;
    // Constant time in the token's content: every byte is compared whatever differs first.
    unsigned char diff = want.size() == presented.size() ? 0 : 1;
    for (std::size_t i = 0; i < want.size(); ++i) {
        diff |= static_cast<unsigned char>(want[i] ^ (i < presented.size() ? presented[i] : 0));
    }
    return diff == 0;
}

bool HeartbeatBoard::record(const std::string& name, Ping ping, std::int64_t now_ms,
                            const std::string& message) {
    PingReport report;
    report.kind = ping;
    if (ping == Ping::fail) report.message = report.body = message;
    return record(name, report, now_ms);
}

bool HeartbeatBoard::record(const std::string& name, const PingReport& report,
                            std::int64_t now_ms) {
    const std::string body = report.body.empty() ? "" : clip_body(report.body);
    std::lock_guard<std::mutex> lock(mutex_);
    if (tokens_.count(name) == 0) return false;
    HeartbeatState& s = states_[name];
    if (!body.empty() || report.exit_status) {
        s.last_body_ms = now_ms;
        s.last_body = body;
        s.last_exit_status = report.exit_status;
    }
    std::optional<double> duration;  // of the run this ping finishes, when matched
    const char* kind = "success";
    switch (report.kind) {
        case Ping::success:
            if (!report.run_id.empty()) {
                // Its own start, however many runs overlap.
                if (const auto run = s.runs.find(report.run_id); run != s.runs.end())
                    duration = static_cast<double>(now_ms - run->second) / 1000;
                s.ended[report.run_id] = now_ms;
            } else if (s.last_start_ms &&
                       (!s.last_success_ms || *s.last_start_ms > *s.last_success_ms)) {
                duration = static_cast<double>(now_ms - *s.last_start_ms) / 1000;
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
                duration = static_cast<double>(now_ms - run->second) / 1000;
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
    ++pings_;
    unwritten_.insert(name);
    unheard_.insert(name);
    wake_.notify_all();
    return true;
}

HeartbeatState HeartbeatBoard::state(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = states_.find(name);
    return it == states_.end() ? HeartbeatState{} : it->second;
}

std::string HeartbeatBoard::persist_error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return persist_error_;
}

void HeartbeatBoard::start_writer_locked() {
    if (!writer_.joinable()) writer_ = std::thread([this] { writer_loop(); });
}

void HeartbeatBoard::writer_loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        wake_.wait(lock, [&] { return stopping_ || written_ != pings_; });
        if (written_ == pings_) return;  // stopping with nothing left to write
        const std::uint64_t target = pings_;
        // First the listener (a re-run of the check), so a slow Redis cannot delay it.
        std::set<std::string> heard;
        heard.swap(unheard_);
        if (listener_)
            for (const std::string& name : heard)
                listener_(name);
        const auto states = states_;
        std::set<std::string> names;
        names.swap(unwritten_);
        const bool to_file = !file_.empty();
        const bool to_redis = redis_.has_value();
        lock.unlock();
        std::string file_error, shared_error;
        try {
            file_error = to_file ? write_file(states) : "";
            shared_error = to_redis ? write_shared(states, names) : "";
        } catch (const std::exception& e) {
            // Never the end of the writer (or of vitals): reported, and given up on.
            file_error = std::string("heartbeat state not written: ") + e.what();
        }
        lock.lock();
        persist_error_ = file_error.empty() ? shared_error : file_error;
        if (shared_error.empty() || stopping_) {
            written_ = target;  // written, or given up on at shutdown
            wake_.notify_all();
        } else {
            unwritten_.insert(names.begin(), names.end());
            wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
        }
    }
}

std::string HeartbeatBoard::write_file(const std::map<std::string, HeartbeatState>& states) const {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [name, s] : states)
        j[name] = to_json(s);
    const std::string tmp = file_ + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        out.flush();
        if (!out) return "cannot write " + tmp;
    }
    if (std::rename(tmp.c_str(), file_.c_str()) != 0) return "cannot replace " + file_;
    return "";
}

std::string HeartbeatBoard::write_shared(const std::map<std::string, HeartbeatState>& states,
                                         const std::set<std::string>& names) const {
    try {
        RedisClient client(*redis_, Deadline::in(std::chrono::seconds(2)));
        for (const std::string& name : names) {
            const auto it = states.find(name);
            if (it == states.end()) continue;
            const HeartbeatState& s = it->second;
            client.command(
                {"EVAL", kMergeScript, "1", prefix_ + name, text_of(s.last_success_ms),
                 s.last_duration_seconds ? std::to_string(*s.last_duration_seconds) : "",
                 text_of(s.last_start_ms), text_of(s.last_fail_ms), s.fail_message,
                 text_of(s.last_body_ms), s.last_body,
                 s.last_exit_status ? std::to_string(*s.last_exit_status) : "",
                 text_of(s.last_log_ms), s.history.empty() ? "" : history_json(s.history).dump(),
                 s.runs.empty() && s.ended.empty() ? "" : nlohmann::json(s.runs).dump(),
                 s.runs.empty() && s.ended.empty() ? "" : nlohmann::json(s.ended).dump(),
                 std::to_string(kHeartbeatHistory), std::to_string(kHeartbeatOpenRuns)},
                "EVAL");
        }
    } catch (const std::exception& e) {
        return std::string("shared state not written (retrying): ") + e.what();
    }
    return "";
}

}  // namespace vitals
