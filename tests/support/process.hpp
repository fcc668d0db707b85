// Runs the real vitals binary as a child process, for what only a process can show:
// exit codes, signals, what is printed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vitals::testing {

struct Finished {
    int exit_code = -1;  // -1 if killed by a signal
    std::string out, err;
};

// Runs to completion (killed after `limit`).
Finished run_binary(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env = {},
                    std::chrono::seconds limit = std::chrono::seconds(10));

// A running vitals; stdout is collected line by line.
class ChildProcess {
  public:
    ChildProcess(const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& env);
    ~ChildProcess();
    // Reads stdout until a line containing `text` appears; returns that line.
    std::optional<std::string> wait_for_line(const std::string& text,
                                             std::chrono::milliseconds limit);
    void signal(int sig);
    // Waits for exit; nullopt if still running after `limit`.
    std::optional<int> wait_exit(std::chrono::milliseconds limit);
    const std::string& output() const { return out_; }
    pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = -1;
    int out_fd_ = -1;
    std::string out_;
    bool exited_ = false;
};

// A vitals process playing the pod `name` (its HOSTNAME) on a free loopback port, with
// `config` and `env` added to the test's environment; throws when it does not start.
struct VitalsPod {
    std::string name;
    std::unique_ptr<ChildProcess> process;
    std::uint16_t port = 0;
};
VitalsPod start_pod(const std::string& name, const std::string& config,
                    std::map<std::string, std::string> env = {});

// The port a started vitals listens on, read from its "start" log event; 0 when none came
// within `limit`.
std::uint16_t listening_port(ChildProcess& process,
                             std::chrono::milliseconds limit = std::chrono::seconds(10));

}  // namespace vitals::testing
