// An immutable picture of every check, published whole by the scheduler after each change;
// the HTTP layer renders its bodies from it once per publication.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sidecar/clock.hpp"
#include "sidecar/core/check.hpp"
#include "sidecar/core/policy.hpp"

namespace vitals {

// Outcomes counted by vitals_check_runs_total{result=...}.
enum class RunOutcome : std::uint8_t { ok, warn, fail, timeout };
inline constexpr std::size_t kRunOutcomes = 4;
std::string_view outcome_name(RunOutcome o);

struct HistoryEntry {
    Status status = Status::unknown;  // the run's own result, before thresholds
    float duration_seconds = 0;
    std::int64_t at_unix_ms = 0;
};

inline constexpr std::size_t kHistoryLength = 60;

// The charted observation over the last hour: at most one point per kTrendStep, so a check
// that runs every second keeps 120 points, not 3,600.
struct TrendPoint {
    std::int64_t at_unix_ms = 0;
    float value = 0;
};
inline constexpr std::chrono::seconds kTrendSpan{3600};
inline constexpr std::chrono::seconds kTrendStep{30};

struct CheckState {
    std::string name;
    std::string kind;
    CheckPolicy policy;
    std::shared_ptr<const ObservationTable> observations;  // its kind's declarations; may be null

    Status status = Status::unknown;  // after failure/success thresholds
    bool stale = false;               // last result older than the check can explain
    std::string blocked_by;           // failing because this failing check is (its root); roots.hpp
    std::shared_ptr<const CheckResult> last;  // the last run's own result; null before the first
    bool last_timed_out = false;
    double last_duration_seconds = 0;
    std::optional<WallTime> last_run;
    std::optional<SteadyTime> last_run_steady;
    std::optional<WallTime> last_success;
    std::optional<WallTime> since;  // when `status` last changed
    int consecutive_failures = 0;
    int consecutive_successes = 0;
    std::array<std::uint64_t, kRunOutcomes> runs{};
    std::vector<HistoryEntry> history;  // oldest first, at most kHistoryLength
    std::vector<TrendPoint> trend;      // oldest first, the last kTrendSpan

    bool has_run() const { return last != nullptr; }
    // What probes act on: stale counts as fail.
    Status effective() const { return stale ? Status::fail : status; }
    // How old a result may grow before it is stale: two full periods.
    std::chrono::steady_clock::duration stale_after() const;
};

// What every check showed when one changed state: the incident snapshot a person reads
// after the fact. Results are shared, immutable pointers, so keeping one costs little.
struct Incident {
    WallTime at{};
    std::string check;  // the one that changed
    Status from = Status::unknown, to = Status::unknown;
    struct Seen {
        std::string name;
        Status status = Status::unknown;  // effective, stale counted as fail
        std::shared_ptr<const CheckResult> last;
    };
    std::vector<Seen> checks;
};

inline constexpr std::size_t kIncidentsKept = 16;

struct Snapshot {
    std::vector<CheckState> checks;
    WallTime published{};
    WallTime started{};
    std::shared_ptr<const std::vector<Incident>> incidents;  // newest first; may be null
};

}  // namespace vitals
