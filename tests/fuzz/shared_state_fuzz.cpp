// libFuzzer target: any bytes in a heartbeat's shared Redis hash (anyone with write access
// to that Redis can put them there): read back and sanitized within the limits, in bounded time.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

#include "sidecar/heartbeat/shared.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    // The input split on NUL into the fields the hash holds, in order.
    static const char* const fields[] = {"runs",     "ended", "history", "message", "success",
                                         "duration", "body",  "exit",    "start",   "fail"};
    std::map<std::string, std::string> hash;
    std::size_t at = 0;
    for (const char* field : fields) {
        const auto end = text.find('\0', at);
        hash[field] = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
        if (end == std::string::npos) break;
        at = end + 1;
    }
    const vitals::HeartbeatState s =
        vitals::sanitized(vitals::shared_state_from_fields(hash), 1'800'000'000'000);
    if (s.runs.size() > vitals::kHeartbeatOpenRuns || s.ended.size() > vitals::kHeartbeatOpenRuns ||
        s.history.size() > vitals::kHeartbeatHistory ||
        s.fail_message.size() > vitals::kHeartbeatMessageLimit)
        std::abort();
    return 0;
}
