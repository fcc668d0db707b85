// Runs checks for the scheduler: one thread per check, started once and reused, so a check
// never runs twice at once and a stuck check holds exactly one thread.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "sidecar/check.hpp"
#include "sidecar/scheduler.hpp"

namespace vitals {

class ThreadExecutor final : public Executor {
public:
    ThreadExecutor(std::vector<std::unique_ptr<Check>> checks, Scheduler& scheduler);
    ~ThreadExecutor() override;

    void start(std::size_t index, std::uint64_t run_id, Millis timeout) override;

    // Asks every worker to finish and waits up to `grace` for them. Returns false when some
    // run is still stuck in I/O; those threads are detached and die with the process.
    bool stop(std::chrono::milliseconds grace);

private:
    struct Worker {
        std::unique_ptr<Check> check;
        std::thread thread;
        bool pending = false;
        std::uint64_t run_id = 0;
        Millis timeout{0};
    };
    void work(std::size_t index);

    Scheduler& scheduler_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable exited_;
    bool stopping_ = false;
    std::size_t running_threads_ = 0;
    std::vector<Worker> workers_;
};

}  // namespace vitals
