// Runs checks for the scheduler: one thread per check, started once and reused, so a check
// never runs twice at once and a stuck check holds exactly one thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sidecar/core/check.hpp"
#include "sidecar/core/scheduler.hpp"

namespace vitals {

// Names the calling thread (the first 15 bytes of `name`; nothing when it is empty).
void name_this_thread(const std::string& name);

class ThreadExecutor final : public Executor {
  public:
    // `names`, when given, names each check's thread after it (the first 15 bytes, as
    // `top -H` and /proc/<pid>/task/*/comm show it), so a stuck check is found by name.
    ThreadExecutor(std::vector<std::unique_ptr<Check>> checks, Scheduler& scheduler,
                   std::vector<std::string> names = {});
    ~ThreadExecutor() override;
    ThreadExecutor(const ThreadExecutor&) = delete;
    ThreadExecutor& operator=(const ThreadExecutor&) = delete;

    void start(std::size_t index, std::uint64_t run_id, Millis timeout) override;

    // Stops handing results to the scheduler, asks every worker to finish and waits up to
    // `grace` for them. Returns false when some run is still stuck in I/O: its thread is
    // left to finish on its own; it shares ownership of what it touches, so that is safe.
    bool stop(std::chrono::milliseconds grace);

  private:
    struct Shared;
    std::shared_ptr<Shared> shared_;
};

}  // namespace vitals
