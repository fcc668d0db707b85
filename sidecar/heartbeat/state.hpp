// What vitals knows of one heartbeat (a periodic task's pings), as plain data: the pings'
// record, the limits on everything in it, how a ping changes it, how two replicas' views
// merge, and what of an outside copy (the state file, the shared hash) can be believed.
// No I/O and no clock here: the board and the judge pass the time in.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vitals {

// The last pings of a heartbeat kept, newest first, and how much of each body's first line.
inline constexpr std::size_t kHeartbeatHistory = 10;
inline constexpr std::size_t kHeartbeatHistoryLine = 120;
// Open and finished run ids kept (the newest), and a run id's length.
inline constexpr std::size_t kHeartbeatOpenRuns = 20;
inline constexpr std::size_t kHeartbeatRunIdLimit = 64;
// A ping's failure message is kept up to this many bytes.
inline constexpr std::size_t kHeartbeatMessageLimit = 1024;
// A ping's body (the tail of a job's output) is kept up to this many bytes, as runitor and
// healthchecks.io's clients send it; longer ones are cut and marked.
inline constexpr std::size_t kHeartbeatBodyLimit = 10'000;
inline constexpr std::string_view kTruncatedMarker = "\n[truncated by vitals]";
// A timestamp further in the future than this is not believed (a clock skew between replicas
// is; a success stamped years ahead would keep a dead task fresh forever).
inline constexpr std::chrono::minutes kHeartbeatClockSkew{5};

// One ping as the history shows it.
struct PingRecord {
    std::int64_t at_ms = 0;
    std::string kind;                        // success, start, fail, log
    std::optional<int> exit_status;          // /<0-255>
    std::string run_id;                      // ?rid=
    std::optional<double> duration_seconds;  // a finish matched with its start
    std::string first_line;                  // of its body, cut to kHeartbeatHistoryLine
};

struct HeartbeatState {
    std::optional<std::int64_t> last_success_ms;  // Unix milliseconds
    std::optional<std::int64_t> last_start_ms;
    std::optional<std::int64_t> last_fail_ms;
    std::string fail_message;
    std::optional<double> last_duration_seconds;  // start -> success
    // The last ping that carried a body (a job's output, healthchecks.io style): when, the
    // body (cut to kHeartbeatBodyLimit), and the exit status it reported, if any.
    std::optional<std::int64_t> last_body_ms;
    std::string last_body;
    std::optional<int> last_exit_status;
    std::optional<std::int64_t> last_log_ms;  // the last /log ping: a message, no state change
    // Runs started with a run id (?rid=) and not yet finished: run id -> when it started.
    // At most kHeartbeatOpenRuns; the oldest goes first.
    std::map<std::string, std::int64_t> runs;
    // Run ids finished (run id -> when), the last kHeartbeatOpenRuns: a merge with another
    // replica's view must not reopen a run that finished here, nor keep one open that
    // finished there.
    std::map<std::string, std::int64_t> ended;
    std::vector<PingRecord> history;  // newest first, at most kHeartbeatHistory
};

enum class Ping { success, start, fail, log };

// A ping as it arrived: what it says, and what it carried.
struct PingReport {
    Ping kind = Ping::success;
    std::string body;                // the request's body (a job's output)
    std::string message;             // for a failure: what the check's message says
    std::optional<int> exit_status;  // /<name>/<0-255>
    std::string run_id;              // ?rid=: matches a start with its finish
};

// `report` applied to `s` at `now_ms`: the event's time, a finished run matched with its
// start (its duration), the body and exit status, one more history entry. The body must
// already be clip_body()'s (the board clips it before it takes its lock).
void apply_ping(HeartbeatState& s, const PingReport& report, std::int64_t now_ms);

// `s` with what cannot be believed dropped: timestamps not positive or ahead of `now_ms` by
// more than the skew, durations not finite or negative, exit statuses outside 0-255; the
// message and body made valid UTF-8 and cut to their limits. Applied wherever state enters:
// pings, the state file, the shared hash.
HeartbeatState sanitized(HeartbeatState s, std::int64_t now_ms);

// Keeps the later of each event (success, start, fail) of two views of one heartbeat.
void merge_heartbeat(HeartbeatState& into, const HeartbeatState& other);

// `body` cut to kHeartbeatBodyLimit with the marker when it was longer, as valid UTF-8.
std::string clip_body(const std::string& body);

// The newest `limit` of (run id, time) pairs, in one pass and one partial sort: what another
// replica (or anyone with access to Redis) wrote may hold any number of them.
std::map<std::string, std::int64_t> newest_runs(
    std::vector<std::pair<std::string, std::int64_t>> runs, std::size_t limit = kHeartbeatOpenRuns);

// The newest kHeartbeatHistory of `pings`, in one partial sort.
void keep_newest_pings(std::vector<PingRecord>& pings);

}  // namespace vitals
