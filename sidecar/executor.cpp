#include "sidecar/executor.hpp"

namespace vitals {

ThreadExecutor::ThreadExecutor(std::vector<std::unique_ptr<Check>> checks, Scheduler& scheduler)
    : scheduler_(scheduler), workers_(checks.size()) {
    for (std::size_t i = 0; i < checks.size(); ++i) workers_[i].check = std::move(checks[i]);
    std::lock_guard<std::mutex> lock(mutex_);
    for (std::size_t i = 0; i < workers_.size(); ++i) {
        workers_[i].thread = std::thread([this, i] { work(i); });
        ++running_threads_;
    }
}

ThreadExecutor::~ThreadExecutor() { stop(std::chrono::milliseconds(500)); }

void ThreadExecutor::start(std::size_t index, std::uint64_t run_id, Millis timeout) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        Worker& w = workers_.at(index);
        w.pending = true;
        w.run_id = run_id;
        w.timeout = timeout;
    }
    wake_.notify_all();
}

void ThreadExecutor::work(std::size_t index) {
    while (true) {
        std::uint64_t run_id = 0;
        Millis timeout{0};
        Check* check = nullptr;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || workers_[index].pending; });
            if (stopping_) break;
            Worker& w = workers_[index];
            w.pending = false;
            run_id = w.run_id;
            timeout = w.timeout;
            check = w.check.get();
        }
        const auto started = std::chrono::steady_clock::now();
        CheckResult result;
        try {
            result = check->run(Deadline(started + timeout));
        } catch (const std::exception& e) {
            result = CheckResult::fail(std::string("check raised: ") + e.what());
        } catch (...) {
            result = CheckResult::fail("check raised an unknown exception");
        }
        scheduler_.complete(index, run_id, std::move(result), std::chrono::steady_clock::now() - started);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    --running_threads_;
    exited_.notify_all();
}

bool ThreadExecutor::stop(std::chrono::milliseconds grace) {
    std::unique_lock<std::mutex> lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
    const bool all_exited = exited_.wait_for(lock, grace, [&] { return running_threads_ == 0; });
    lock.unlock();
    for (Worker& w : workers_) {
        if (!w.thread.joinable()) continue;
        if (all_exited) {
            w.thread.join();
        } else {
            w.thread.detach();
        }
    }
    return all_exited;
}

}  // namespace vitals
