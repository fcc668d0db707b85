// The postgres kind's verdict, a pure function of what a run read (plain data), the limits
// and nothing else: no connection, no clock. The run (postgres.cpp, stats.cpp) reads, this
// decides. Unit-tested with a table of cases in tests/unit/checks/postgres/judge_test.cpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sidecar/core/check.hpp"
#include "sidecar/duration.hpp"

namespace vitals {

enum class PostgresRole { primary, replica, any };

// The limits a check judges by, read from its settings (whose declarations hold the
// defaults: nothing here repeats them).
struct PostgresLimits {
    PostgresRole role = PostgresRole::primary;
    Millis replay_lag_warn{};
    Millis replay_lag_fail{};  // 0: a lagging replica never fails (stale beats unavailable)
    double slot_retained_warn = 0;
    double xid_age_warn = 0;
    double xid_age_fail = 0;
    double connections_warn = 0;
    double connections_fail = 0;
    Millis long_query{};
    Millis idle_in_transaction{};
    Millis statement_mean_warn{};
    int top = 0;
};

// What the new connection found the server to be.
struct ServerRole {
    bool in_recovery = false;  // a standby, replaying WAL
    bool read_only = false;    // transaction_read_only: writes are refused
};

// On a standby: whether it streams, and how far behind it serves.
struct StandbyReading {
    bool paused = false;          // pg_is_wal_replay_paused()
    bool receiving = false;       // a WAL receiver runs
    bool never_streamed = false;  // nothing ever received by streaming (an archive replica)
    std::optional<double> lag_seconds;
};

struct SlotReading {
    std::string name;
    bool active = false;
    double retained_bytes = 0;
};

// What the statistics connection read in one run.
struct PostgresReading {
    int connections_used = 0;
    int connections_usable = 0;
    double long_running = 0;  // sessions over long_query
    double idle_in_transaction = 0;
    double lock_waits = 0;
    double slowest_statement_mean_seconds = 0;  // 0: none, or pg_stat_statements unreadable
    std::optional<StandbyReading> standby;      // read on a standby
    std::vector<SlotReading> slots;             // read on a primary
    std::string oldest_database;                // empty: the wraparound section was not read
    double oldest_xid_age = 0;
    double freeze_max_age = 0;  // autovacuum_freeze_max_age
};

// A primary that refuses writes fails: every write the app makes fails with it. Restarting
// pods fixes nothing, and neither does taking them out of the Service (Cause::shared).
void judge_role(const ServerRole& server, const PostgresLimits& limits, Findings& findings);

// Saturation, problem sessions, slow statements, replication and wraparound: the server's
// state, the same from every pod (Cause::shared).
void judge_reading(const PostgresReading& reading, const PostgresLimits& limits,
                   Findings& findings);

// Why a new connection was refused, as a person reads it: the connection limit named.
std::string refused_connection_message(const std::string& why);

}  // namespace vitals
