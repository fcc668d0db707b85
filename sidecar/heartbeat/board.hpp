// Heartbeats (dead man's switches) for periodic tasks: the task pings vitals at
// /heartbeat/<name> when it succeeds (/start when it begins, /fail when it fails), and the
// heartbeat check of that name fails when no success arrives within period + grace.
// The board holds what pings said; the only write path in vitals. A ping only updates memory
// and wakes the board's writer thread, which persists off the HTTP threads: to a JSON file
// replaced atomically (temp file + rename), so a restart loses nothing, and, when shared, to
// Redis, where every replica of the pod merges what the others saw.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sidecar/core/check.hpp"
#include "sidecar/cron.hpp"
#include "sidecar/duration.hpp"
#include "sidecar/url.hpp"

namespace vitals {

// One ping as the history shows it.
struct PingRecord {
    std::int64_t at_ms = 0;
    std::string kind;                        // success, start, fail, log
    std::optional<int> exit_status;          // /<0-255>
    std::string run_id;                      // ?rid=
    std::optional<double> duration_seconds;  // a finish matched with its start
    std::string first_line;                  // of its body, cut to kHeartbeatHistoryLine
};

// The last pings of a heartbeat kept, newest first, and how much of each body's first line.
inline constexpr std::size_t kHeartbeatHistory = 10;
inline constexpr std::size_t kHeartbeatHistoryLine = 120;

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

inline constexpr std::size_t kHeartbeatOpenRuns = 20;

// When a success is due: every `period`, or at each run of `cron` in `zone`; then `grace`.
struct HeartbeatRule {
    Millis period{3'600'000};
    std::optional<CronSchedule> cron;
    TimeZone zone = TimeZone::utc();
    Millis grace{600'000};
    std::optional<Millis> expected_duration;
    // A started run not finished by expected_duration + grace fails (else only warns), as
    // healthchecks.io turns a check down once a started run passes its grace.
    bool overrun_fails = true;

    // The Unix milliseconds by which a success must follow one at `since_ms`, grace included.
    std::int64_t due_ms(std::int64_t since_ms) const;
};

// A ping's failure message is kept up to this many bytes.
inline constexpr std::size_t kHeartbeatMessageLimit = 1024;
// A ping's body (the tail of a job's output) is kept up to this many bytes, as runitor and
// healthchecks.io's clients send it; longer ones are cut and marked.
inline constexpr std::size_t kHeartbeatBodyLimit = 10'000;
inline constexpr std::string_view kTruncatedMarker = "\n[truncated by vitals]";
// A timestamp further in the future than this is not believed (a clock skew between replicas
// is; a success stamped years ahead would keep a dead task fresh forever).
inline constexpr std::chrono::minutes kHeartbeatClockSkew{5};

// `s` with what cannot be believed dropped: timestamps not positive or ahead of `now_ms` by
// more than the skew, durations not finite or negative, exit statuses outside 0-255; the
// message and body made valid UTF-8 and cut to their limits. Applied wherever state enters: pings,
// the state file, the shared hash.
HeartbeatState sanitized(HeartbeatState s, std::int64_t now_ms);

// A heartbeat's shared hash (HGETALL's field -> value) read back, run ids and pings cut to
// their limits in one pass; still to be sanitized. Whatever the hash holds, nothing throws.
HeartbeatState shared_state_from_fields(std::map<std::string, std::string> fields);

// Keeps the later of each event (success, start, fail) of two views of one heartbeat.
void merge_heartbeat(HeartbeatState& into, const HeartbeatState& other);

// The status of a heartbeat at `now_ms`; `watching_since_ms` is when vitals began to wait
// for it (a heartbeat that never pinged is judged as if it had succeeded then).
CheckResult judge_heartbeat(const HeartbeatState& state, const HeartbeatRule& rule,
                            std::int64_t now_ms, std::int64_t watching_since_ms);

enum class Ping { success, start, fail, log };

// A ping as it arrived: what it says, and what it carried.
struct PingReport {
    Ping kind = Ping::success;
    std::string body;                // the request's body (a job's output)
    std::string message;             // for a failure: what the check's message says
    std::optional<int> exit_status;  // /<name>/<0-255>
    std::string run_id;              // ?rid=: matches a start with its finish
};

// `body` cut to kHeartbeatBodyLimit with the marker when it was longer, as valid UTF-8.
std::string clip_body(const std::string& body);

class HeartbeatBoard {
  public:
    HeartbeatBoard() = default;
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
    // what went wrong, or "" (also when nothing is shared).
    std::string refresh(const std::string& name, const Deadline& deadline);
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
    // Where persisting failed last, for the check's details; empty when fine.
    std::string persist_error() const;

  private:
    void start_writer_locked();
    void writer_loop();
    // The writer's jobs, outside the lock: the whole board to the file, some names to Redis.
    std::string write_file(const std::map<std::string, HeartbeatState>& states) const;
    std::string write_shared(const std::map<std::string, HeartbeatState>& states,
                             const std::set<std::string>& names) const;

    std::string file_;
    std::optional<Url> redis_;
    std::string prefix_;
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
    std::string persist_error_;
    std::thread writer_;
};

}  // namespace vitals
