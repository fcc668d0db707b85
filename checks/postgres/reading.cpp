#include "checks/postgres/reading.hpp"

#include <cmath>
#include <limits>

namespace vitals {

namespace {

using nlohmann::json;

// The members are counts, ratios, ages and sizes: finite, not negative.
double number(const json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number()) return 0;
    const double v = it->get<double>();
    return std::isfinite(v) && v >= 0 ? v : 0;
}

int count(const json& j, const char* key) {
    return static_cast<int>(std::min(number(j, key), double{std::numeric_limits<int>::max()}));
}

bool flag(const json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::string text(const json& j, const char* key) {
    constexpr std::size_t kMaxName = 256;  // a database or slot name is at most 63 bytes
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return "";
    std::string s = it->get<std::string>();
    if (s.size() > kMaxName) s.resize(kMaxName);
    return s;
}

}  // namespace

json reading_to_json(const PostgresReading& r) {
    json out = {{"connections_used", r.connections_used},
                {"connections_usable", r.connections_usable},
                {"long_running", r.long_running},
                {"idle_in_transaction", r.idle_in_transaction},
                {"lock_waits", r.lock_waits},
                {"slowest_statement_mean_seconds", r.slowest_statement_mean_seconds},
                {"oldest_database", r.oldest_database},
                {"oldest_xid_age", r.oldest_xid_age},
                {"freeze_max_age", r.freeze_max_age}};
    if (r.standby) {
        json standby = {{"paused", r.standby->paused},
                        {"receiving", r.standby->receiving},
                        {"never_streamed", r.standby->never_streamed}};
        if (r.standby->lag_seconds) standby["lag_seconds"] = *r.standby->lag_seconds;
        out["standby"] = std::move(standby);
    }
    json slots = json::array();
    for (const SlotReading& s : r.slots)
        slots.push_back(
            {{"name", s.name}, {"active", s.active}, {"retained_bytes", s.retained_bytes}});
    out["slots"] = std::move(slots);
    return out;
}

PostgresReading reading_from_json(const json& j) {
    PostgresReading r;
    if (!j.is_object()) return r;
    r.connections_used = count(j, "connections_used");
    r.connections_usable = count(j, "connections_usable");
    r.long_running = number(j, "long_running");
    r.idle_in_transaction = number(j, "idle_in_transaction");
    r.lock_waits = number(j, "lock_waits");
    r.slowest_statement_mean_seconds = number(j, "slowest_statement_mean_seconds");
    r.oldest_database = text(j, "oldest_database");
    r.oldest_xid_age = number(j, "oldest_xid_age");
    r.freeze_max_age = number(j, "freeze_max_age");
    if (const auto s = j.find("standby"); s != j.end() && s->is_object()) {
        StandbyReading standby;
        standby.paused = flag(*s, "paused");
        standby.receiving = flag(*s, "receiving");
        standby.never_streamed = flag(*s, "never_streamed");
        if (const auto lag = s->find("lag_seconds"); lag != s->end() && lag->is_number())
            standby.lag_seconds = number(*s, "lag_seconds");
        r.standby = standby;
    }
    if (const auto slots = j.find("slots"); slots != j.end() && slots->is_array()) {
        constexpr std::size_t kMaxSlots = 1000;
        for (const json& s : *slots) {
            if (r.slots.size() >= kMaxSlots) break;
            if (!s.is_object()) continue;
            r.slots.push_back({text(s, "name"), flag(s, "active"), number(s, "retained_bytes")});
        }
    }
    return r;
}

}  // namespace vitals
