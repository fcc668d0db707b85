#include "sidecar/core/executor.hpp"

#include <pthread.h>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace vitals {

// Everything a worker thread touches, owned jointly by the executor and every worker.
struct ThreadExecutor::Shared {
    struct Worker {
        std::unique_ptr<Check> check;
        std::thread thread;
        bool pending = false;
        std::uint64_t run_id = 0;
        Millis timeout{0};
    };

    explicit Shared(Scheduler& s) : scheduler(&s) {}
    void work(std::size_t index);

    std::mutex mutex;  // guards the fields below except `scheduler`
    std::condition_variable wake;
    std::condition_variable exited;
    bool stopping = false;
    std::size_t running_threads = 0;
    std::vector<Worker> workers;

    // Held while a result is handed over; nulled by stop(), so no result reaches a
    // scheduler that is gone. Never taken together with `mutex`.
    std::mutex handover;
    Scheduler* scheduler;
};

void ThreadExecutor::Shared::work(std::size_t index) {
    while (true) {
        std::uint64_t run_id = 0;
        Millis timeout{0};
        Check* check = nullptr;
        {
            std::unique_lock<std::mutex> lock(mutex);
            wake.wait(lock, [&] { return stopping || workers[index].pending; });
            if (stopping) break;
            Worker& w = workers[index];
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
        const auto took = std::chrono::steady_clock::now() - started;
        std::lock_guard<std::mutex> lock(handover);
        if (scheduler != nullptr) scheduler->complete(index, run_id, std::move(result), took);
    }
    std::lock_guard<std::mutex> lock(mutex);
    --running_threads;
    exited.notify_all();
}

void name_this_thread(const std::string& name) {
    if (!name.empty()) pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

ThreadExecutor::ThreadExecutor(std::vector<std::unique_ptr<Check>> checks, Scheduler& scheduler,
                               std::vector<std::string> names)
    : shared_(std::make_shared<Shared>(scheduler)) {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->workers.resize(checks.size());
    names.resize(checks.size());
    for (std::size_t i = 0; i < checks.size(); ++i) {
        shared_->workers[i].check = std::move(checks[i]);
        shared_->workers[i].thread = std::thread([shared = shared_, i, name = std::move(names[i])] {
            name_this_thread(name);
            shared->work(i);
        });
        ++shared_->running_threads;
    }
}

ThreadExecutor::~ThreadExecutor() {
    stop(std::chrono::milliseconds(300));
}

void ThreadExecutor::start(std::size_t index, std::uint64_t run_id, Millis timeout) {
    {
        std::lock_guard<std::mutex> lock(shared_->mutex);
        Shared::Worker& w = shared_->workers.at(index);
        w.pending = true;
        w.run_id = run_id;
        w.timeout = timeout;
    }
    shared_->wake.notify_all();
}

bool ThreadExecutor::stop(std::chrono::milliseconds grace) {
    {
        std::lock_guard<std::mutex> lock(shared_->handover);
        shared_->scheduler = nullptr;
    }
    std::unique_lock<std::mutex> lock(shared_->mutex);
    shared_->stopping = true;
    shared_->wake.notify_all();
    const bool all_exited =
        shared_->exited.wait_for(lock, grace, [&] { return shared_->running_threads == 0; });
    std::vector<std::thread> threads;
    for (auto& w : shared_->workers) {
        if (w.thread.joinable()) threads.push_back(std::move(w.thread));
    }
    lock.unlock();
    for (std::thread& t : threads) {
        if (all_exited) {
            t.join();
        } else {
            t.detach();
        }
    }
    return all_exited;
}

}  // namespace vitals
