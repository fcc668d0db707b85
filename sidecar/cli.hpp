// The operator's commands, run from the same binary: `vitals status [URL]` prints a table of
// checks for a terminal (`kubectl exec`), `vitals wait --ready URL --timeout 120s` blocks a
// deploy pipeline until the pod is ready. Both only read vitals' own endpoints.
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

// `default_url` is where a local vitals listens (from VITALS_LISTEN).
int cli_status(const std::vector<std::string>& args, const std::string& default_url,
               std::ostream& out, std::ostream& err);
int cli_wait(const std::vector<std::string>& args, const std::string& default_url,
             std::ostream& out, std::ostream& err);

}  // namespace vitals
