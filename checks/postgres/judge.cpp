#include "checks/postgres/judge.hpp"

#include <cmath>

namespace vitals {

namespace {

std::string count(double n) {
    return std::to_string(std::llround(n));
}

std::string percent(double ratio) {
    return count(ratio * 100) + "%";
}

void judge_standby(const StandbyReading& standby, const PostgresLimits& limits,
                   Findings& findings) {
    if (standby.paused)
        findings.add(Status::warn, "WAL replay is paused (pg_wal_replay_resume())", Cause::shared);
    if (!standby.receiving && !standby.never_streamed)
        findings.add(Status::warn,
                     "no WAL receiver: the replica is not streaming from a "
                     "primary and falls behind",
                     Cause::shared);
    if (!standby.lag_seconds) return;
    const double lag = *standby.lag_seconds;
    const std::string behind = "the replica is " +
                               format_duration(Millis(std::llround(lag * 1000))) +
                               " behind the primary";
    const auto over = [&](Millis limit) {
        return limit.count() > 0 && lag * 1000 >= static_cast<double>(limit.count());
    };
    if (over(limits.replay_lag_fail)) {
        findings.add(Status::fail, behind, Cause::shared);
    } else if (over(limits.replay_lag_warn)) {
        findings.add(Status::warn, behind + ": its pages are stale", Cause::shared);
    }
}

void judge_slots(const std::vector<SlotReading>& slots, const PostgresLimits& limits,
                 Findings& findings) {
    for (const SlotReading& slot : slots) {
        if (slot.active || slot.retained_bytes < limits.slot_retained_warn) continue;
        findings.add(Status::warn,
                     "replication slot " + slot.name + " is inactive and retains " +
                         count(slot.retained_bytes / (1024 * 1024)) +
                         " MiB of WAL: the disk fills until its consumer returns or the "
                         "slot is dropped",
                     Cause::shared);
    }
}

// Transaction-ID age: at 2^31 the server stops taking writes. Autovacuum freezes a database
// once its age passes autovacuum_freeze_max_age; an age far beyond says it cannot.
void judge_wraparound(const PostgresReading& r, const PostgresLimits& limits, Findings& findings) {
    if (r.oldest_database.empty()) return;
    const std::string said = "database " + r.oldest_database + " is " +
                             count(r.oldest_xid_age / 1e6) +
                             " million transactions from its last freeze (writes stop at "
                             "2147 million; autovacuum_freeze_max_age is " +
                             count(r.freeze_max_age / 1e6) + " million)";
    if (r.oldest_xid_age >= limits.xid_age_fail) {
        findings.add(Status::fail, said, Cause::shared);
    } else if (r.oldest_xid_age >= limits.xid_age_warn) {
        findings.add(Status::warn, said + ": is autovacuum blocked?", Cause::shared);
    }
}

}  // namespace

void judge_role(const ServerRole& server, const PostgresLimits& limits, Findings& findings) {
    if (limits.role == PostgresRole::primary && server.in_recovery) {
        findings.add(Status::fail,
                     "the server is a standby in recovery, so every write will fail (does the "
                     "URL still point at the old primary after a failover?)",
                     Cause::shared);
    } else if (limits.role == PostgresRole::primary && server.read_only) {
        findings.add(Status::fail,
                     "transactions are read-only (default_transaction_read_only), so every "
                     "write will fail",
                     Cause::shared);
    } else if (limits.role == PostgresRole::replica && !server.in_recovery) {
        findings.add(Status::warn,
                     "expected a replica, but the server is not in recovery: it is a primary "
                     "(promoted in a failover?) and takes the reads meant for a replica",
                     Cause::shared);
    }
}

void judge_reading(const PostgresReading& r, const PostgresLimits& limits, Findings& findings) {
    // Replication and wraparound first: among findings as bad, the first is the message.
    if (r.standby) judge_standby(*r.standby, limits, findings);
    judge_slots(r.slots, limits, findings);
    judge_wraparound(r, limits, findings);
    const double ratio = r.connections_usable > 0
                             ? static_cast<double>(r.connections_used) / r.connections_usable
                             : 1.0;
    const std::string in_use = std::to_string(r.connections_used) + " of " +
                               std::to_string(r.connections_usable) +
                               " usable connections in use (" + percent(ratio) + ")";
    if (ratio >= limits.connections_fail) {
        findings.add(Status::fail, in_use, Cause::shared);
    } else if (ratio >= limits.connections_warn) {
        findings.add(Status::warn, in_use, Cause::shared);
    }
    if (r.idle_in_transaction > 0 || r.long_running > 0 || r.lock_waits > 0) {
        findings.add(Status::warn,
                     count(r.long_running) + " long-running queries, " +
                         count(r.idle_in_transaction) + " idle-in-transaction sessions, " +
                         count(r.lock_waits) + " waiting on locks",
                     Cause::shared);
    }
    if (r.slowest_statement_mean_seconds >
        std::chrono::duration<double>(limits.statement_mean_warn).count()) {
        findings.add(Status::warn,
                     "a statement averages " + count(r.slowest_statement_mean_seconds * 1000) +
                         "ms (over " + std::to_string(limits.statement_mean_warn.count()) +
                         "ms); see details",
                     Cause::shared);
    }
}

std::string refused_connection_message(const std::string& why) {
    if (why.find("too many clients") != std::string::npos ||
        why.find("remaining connection slots are reserved") != std::string::npos)
        return "connection limit reached, new connections are refused: " + why;
    return "new connection refused: " + why;
}

}  // namespace vitals
