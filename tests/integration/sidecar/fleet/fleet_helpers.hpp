// What the fleet tests ask of the vitals processes that play pods: one check's /health
// answer, and a condition waited for.
#pragma once

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "support/net_fixtures.hpp"
#include "support/process.hpp"

namespace vitals::testing {

// GET /health/<check> of `pod`, parsed; null when it did not answer with a JSON object.
inline nlohmann::json check_of(const VitalsPod& pod, const std::string& check) {
    const RawReply r = get(pod.port, "/health/" + check);
    const nlohmann::json body =
        r.ok ? nlohmann::json::parse(r.body, nullptr, false) : nlohmann::json();
    return body.is_object() ? body : nlohmann::json();
}

inline bool wait_for(const std::function<bool()>& ready, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (ready()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return ready();
}

}  // namespace vitals::testing
