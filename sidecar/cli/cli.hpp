// The operator's commands, run from the same binary: `vitals status [CHECK] [URL]` prints a
// table of checks for a terminal (`kubectl exec`), failing first, or one check in full;
// `vitals wait --ready URL --timeout 120s` blocks a deploy pipeline until the pod is ready.
// Both only read vitals' own endpoints.
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>
#include <vector>

namespace vitals {

// Exit codes: 0 healthy (ok or warn) / ready in time, 1 not, 2 usage, 3 vitals unreachable.
inline constexpr int kCliNotHealthy = 1;
inline constexpr int kCliUsage = 2;
inline constexpr int kCliUnreachable = 3;

// What the commands take from where they run.
struct CliEnvironment {
    std::string default_url;  // where a local vitals listens (from VITALS_LISTEN)
    std::string token;        // VITALS_DETAIL_TOKEN: sent, so the CLI sees what the pod sees
    bool color = false;       // a terminal, and NO_COLOR not set
    std::size_t width = 0;    // the terminal's columns; 0: lines are not cut
};

int cli_status(const std::vector<std::string>& args, const CliEnvironment& env, std::ostream& out,
               std::ostream& err);
int cli_wait(const std::vector<std::string>& args, const CliEnvironment& env, std::ostream& out,
             std::ostream& err);

}  // namespace vitals
