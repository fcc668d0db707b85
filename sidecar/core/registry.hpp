// Check kinds by name. A kind is its settings table, its default probe groups, a factory and,
// optionally, the environment variable that enables it with no configuration at all.
// Adding a kind: one folder in checks/ and one line in checks/builtin.hpp.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sidecar/clock.hpp"
#include "sidecar/core/check.hpp"
#include "sidecar/core/observation.hpp"
#include "sidecar/core/policy.hpp"
#include "sidecar/core/settings.hpp"
#include "sidecar/core/store.hpp"

namespace vitals {

using Environment = std::map<std::string, std::string>;

// One line about how a kind read the environment; `warning` when coverage the user may
// believe they have is missing (a worker pod whose broker was not found).
struct EnvNote {
    std::string text;
    bool warning = false;
};

class HeartbeatBoard;
class Check;
struct CheckPolicy;

// How a kind runs the part of its run that reads a shared dependency's state (the postgres
// kind's statistics) once per fleet, while the part about this pod's own reach stays its own:
// `part` runs in the pod holding the part's run token under `key` and its result is read by
// the others (sidecar/fleet/runs.hpp). Until vitals coordinates a fleet, `part` runs here.
class FleetParts {
  public:
    virtual ~FleetParts() = default;
    virtual std::unique_ptr<Check> share(const std::string& key, std::unique_ptr<Check> part,
                                         const CheckPolicy& policy) const = 0;
};

// Shared parts of vitals a check kind may need, made once in main. Filled by name
// (services.clock = &clock), never by position: a new member touches only who sets it.
struct Services {
    HeartbeatBoard* heartbeats = nullptr;  // where /heartbeat/<name> pings land
    const Clock* clock = nullptr;          // the process's clock; none: the system's
    std::string state_dir;  // where a check keeps what survives a restart; empty: memory only
    const SnapshotView* snapshots = nullptr;  // this process's own state, once it runs
    const FleetParts* fleet = nullptr;        // shares a kind's parts; none: all run here
    // The clock a check reads time from: the injected one, else the system's.
    const Clock& clock_or_system() const;
};

// The settings a factory refused, collected so that every problem of a check is reported at
// once rather than the first alone.
class SettingProblems {
  public:
    void add(std::string key, std::string message) {
        items_.emplace_back(std::move(key), std::move(message));
    }
    const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

  private:
    std::vector<std::pair<std::string, std::string>> items_;  // key, message
};

struct CheckContext {
    const std::string& name;  // the check's name, e.g. "postgres" or "orders_db"
    const Params& params;     // validated against the kind's settings table
    const Environment& env;
    const Services& services;
    SettingProblems* problems = nullptr;  // where refuse() collects; none: it throws
    // Its schedule and whether its fleet may share its parts (share_parts), for the factory
    // to read while it makes the check (not to keep); none in a test that makes one alone.
    const CheckPolicy* policy = nullptr;
    // Refuses a setting whose value is well-typed but unusable, and lets the factory go on to
    // the next (the check it returns is then discarded): a factory refuses what it can with
    // this, and throws SettingError only where nothing after it can be read.
    void refuse(const std::string& key, const std::string& message) const;
    // The pod's name (HOSTNAME), or "vitals": what probe keys and files are named after, so
    // replicas sharing a cache or a volume never step on each other's.
    std::string pod_name() const;
};

// Thrown by a factory for a value that is well-typed but unusable ("https is not supported").
class SettingError : public std::runtime_error {
  public:
    SettingError(std::string key, const std::string& message)
        : std::runtime_error(message), key_(std::move(key)) {}
    const std::string& key() const { return key_; }

  private:
    std::string key_;
};

// The probe-groups rule, for a kind's default groups: `live` only for what a restart fixes
// (About::app), `ready` never for a shared dependency's state (one fact would take every pod
// out of the Service at once). Why the defaults break it; nullopt when they keep it.
std::optional<std::string> probe_group_problem(About about,
                                               const std::vector<std::string>& default_groups);

struct CheckKind {
    std::string name;
    std::string summary;
    // Declared by every kind; the default is the safest (joins no probe by default).
    About about = About::shared;
    SettingsTable settings;
    // What its checks observe: the only names /metrics exports for it.
    ObservationTable observations;
    std::vector<std::string> default_groups;  // of "live", "ready"
    // Its checks' interval when they set none ("1m"); empty: every check's default (10s).
    std::string default_interval;
    std::function<std::unique_ptr<Check>(const CheckContext&)> make;
    // A check this kind adds when the environment has what it needs (DATABASE_URL, ...):
    // the check's JSON settings, named after the kind. Empty function or nullopt: none.
    std::function<std::optional<nlohmann::json>(const Environment&)> from_env;
    // Further checks of this kind the environment asks for, by check name (one per
    // REPLICA_DATABASE_URL, say). Named after the kind's from_env check: one name, one check.
    std::function<std::map<std::string, nlohmann::json>(const Environment&)> more_from_env;
    // What a person should know about how this kind read the environment: a variable read
    // in place of another ("no DATABASE_URL; read POSTGRES_HOST, ..."), one found and not
    // read ("found CLOUDAMQP_URL; set CELERY_BROKER_URL"). Shown by --check-config and
    // logged at start; never a password.
    std::function<std::vector<EnvNote>(const Environment&)> env_notes;
    // Whether a check of a kind About::shared runs once per fleet by default (its `shared`
    // setting decides per check). False where a run reads only this process's memory.
    bool fleet_shares_runs = true;
    // Kinds (of the same folder) whose failing check on the same endpoint explains a failure
    // of this kind's: its root (roots.hpp), though both are about a shared dependency.
    std::vector<std::string> explained_by;
};

// What a kind's checks are and take, for its reference page (/kinds/<kind>): from the
// kind's declarations, so the page and docs/checks/<kind>.md's tables say the same.
struct KindReference {
    std::string summary;
    SettingsTable settings;
    std::shared_ptr<const ObservationTable> observations;
};

class Registry {
  public:
    // Throws std::logic_error for a kind registered twice, whose observations break the
    // naming rules (see naming_problems) or whose default groups break the probe-groups rule
    // (see probe_group_problem): a programming error, caught by every test.
    void add(CheckKind kind);
    const CheckKind* find(const std::string& name) const;
    const std::map<std::string, CheckKind>& kinds() const { return kinds_; }
    std::string names() const;  // "http, tcp" for error messages

  private:
    std::map<std::string, CheckKind> kinds_;
};

}  // namespace vitals
