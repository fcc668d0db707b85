#include "sidecar/log.hpp"

#include <ctime>

namespace vitals {

std::string format_timestamp(WallTime t) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(ms % 1000));
    return buf;
}

void Log::event(std::string_view level, std::string_view event, const nlohmann::json& fields) {
    nlohmann::ordered_json line;
    line["ts"] = format_timestamp(clock_.wall());
    line["level"] = level;
    line["event"] = event;
    for (auto& item : fields.items())
        line[item.key()] = nlohmann::ordered_json(item.value());
    const std::string text =
        line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::lock_guard<std::mutex> lock(mutex_);
    out_ << text << std::flush;
}

}  // namespace vitals
