// Helpers the server fixtures (tests/support/*_server*.cpp) share; not for tests themselves.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace vitals::testing {

// A fresh directory /tmp/vitals-<name>-XXXXXX.
std::string temp_dir(const char* name);
// Polls `ready` every 50 ms until it says yes (true) or `limit` passes (false).
bool wait_until(const std::function<bool()>& ready, std::chrono::seconds limit);
// fork + exec in its own process group, environment added to ours, output to `log`.
pid_t spawn_group(const std::vector<std::string>& args, const std::vector<std::string>& env,
                  const std::string& log, const std::string& cwd = "");
// Signals the whole group and reaps its leader; pid becomes -1.
void kill_group(pid_t& pid, int sig);

}  // namespace vitals::testing
