// What the Celery integration tests read off a result, and how they run a check.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>
#include "sidecar/clients/redis_client.hpp"
#include "support/fake_clock.hpp"
#include "support/make_check.hpp"
#include "support/servers.hpp"

namespace vitals::testing {

using namespace std::chrono_literals;
using nlohmann::json;

inline std::vector<std::string> answered(const CheckResult& r) {
    std::vector<std::string> names;
    if (!r.details.contains("workers")) return names;
    for (const auto& w : r.details["workers"])
        names.push_back(w["name"]);
    std::sort(names.begin(), names.end());
    return names;
}

inline CheckResult run(Check& check) {
    return check.run(Deadline::in(3s));
}

}  // namespace vitals::testing
