// Structured log: one JSON object per line on stdout, for `kubectl logs` and log shippers.
// Every field that could hold a URL must be redacted before it gets here.
#pragma once

#include <mutex>
#include <ostream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sidecar/clock.hpp"

namespace vitals {

class Log {
  public:
    Log(std::ostream& out, const Clock& clock) : out_(out), clock_(clock) {}
    void event(std::string_view level, std::string_view event,
               const nlohmann::json& fields = nlohmann::json::object());
    void info(std::string_view event, const nlohmann::json& fields = nlohmann::json::object()) {
        this->event("info", event, fields);
    }
    void warn(std::string_view event, const nlohmann::json& fields = nlohmann::json::object()) {
        this->event("warn", event, fields);
    }

  private:
    std::mutex mutex_;
    std::ostream& out_;
    const Clock& clock_;
};

// RFC 3339 UTC with milliseconds: 2026-11-25T02:15:56.123Z
std::string format_timestamp(WallTime t);

}  // namespace vitals
