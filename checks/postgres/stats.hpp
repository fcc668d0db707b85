// What the postgres kind reads over its statistics connection, section by section: each
// puts its numbers into the result (observations, details) and what the judge needs into a
// PostgresReading. SQL only; no verdicts here (judge.hpp).
#pragma once

#include <pqxx/pqxx>

#include "checks/postgres/judge.hpp"
#include "sidecar/clients/postgres.hpp"
#include "sidecar/url.hpp"

namespace vitals {

// Connections in use against what ordinary roles may open, and by application. Returns the
// server's version (server_version_num).
int read_saturation(pqxx::transaction_base& tx, CheckResult& result, PostgresReading& reading);

// Long-running queries, sessions idle in a transaction, lock waits: the worst `top` of each.
void read_sessions(pqxx::transaction_base& tx, const PostgresLimits& limits, CheckResult& result,
                   PostgresReading& reading);

// The database: throughput, cache hit ratio, deadlocks, size.
void read_database(pqxx::transaction_base& tx, CheckResult& result);

// On a standby: how far behind the primary it serves, and whether it still streams.
StandbyReading read_standby(pqxx::transaction_base& tx, CheckResult& result);

// On a primary: each standby's lag, and slots that keep WAL nobody comes to fetch.
std::vector<SlotReading> read_primary(pqxx::transaction_base& tx, CheckResult& result);

// Transaction-ID age of every database and of the oldest snapshot.
void read_wraparound(pqxx::transaction_base& tx, CheckResult& result, PostgresReading& reading);

// Top statements from pg_stat_statements; returns the slowest mean in seconds (0 if none).
double read_statements(pqxx::transaction_base& tx, int version, int top, CheckResult& result);

// Runs a section some servers refuse (Aurora has no pg_current_wal_lsn(), a managed service
// may hide a view): its error is noted in details as <name>_error and the other statistics
// stand. In a transaction it runs under a savepoint, so its error does not abort the rest.
template <typename Section>
void optional_section(pqxx::transaction_base& tx, const std::string& name, CheckResult& result,
                      Section&& section) {
    try {
        if (auto* db = dynamic_cast<pqxx::dbtransaction*>(&tx)) {
            pqxx::subtransaction savepoint(*db, name);
            section(savepoint);
            savepoint.commit();
        } else {
            section(tx);
        }
    } catch (const pqxx::sql_error& e) {
        if (e.sqlstate() == "57014") throw;  // the deadline: nothing after it can run
        result.details[name + "_error"] = redact_secrets(first_line(e.what()));
    }
}

}  // namespace vitals
