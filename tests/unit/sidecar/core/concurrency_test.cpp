// The threads of a running vitals, for real: the scheduler's loop, one executor thread per
// check, and HTTP-like readers of the store, all at once. These tests assert what the
// threads must agree on; scripts/test also runs them under ThreadSanitizer, which reports
// any data race among them.
#include <catch2/catch.hpp>

#include <pthread.h>

#include <atomic>
#include <mutex>
#include <sstream>
#include <thread>

#include "sidecar/core/executor.hpp"
#include "sidecar/core/scheduler.hpp"
#include "sidecar/core/store.hpp"
#include "sidecar/http/render.hpp"

using namespace vitals;
using namespace std::chrono_literals;

namespace {

// Alternates ok and fail, so states change and incidents are recorded on every other run.
class FlappingCheck final : public Check {
  public:
    CheckResult run(const Deadline&) override {
        const auto n = runs_.fetch_add(1) + 1;
        CheckResult r = n % 2 ? CheckResult::ok("fine") : CheckResult::fail("broken");
        r.observe("runs", static_cast<double>(n));
        return r;
    }
    std::atomic<int> runs_{0};
};

// Never returns before it is released: the scheduler must time it out and move on.
class StuckCheck final : public Check {
  public:
    explicit StuckCheck(std::atomic<bool>& release) : release_(release) {}
    CheckResult run(const Deadline&) override {
        while (!release_.load())
            std::this_thread::sleep_for(1ms);
        return CheckResult::ok("released");
    }

  private:
    std::atomic<bool>& release_;
};

CheckPolicy fast_policy() {
    CheckPolicy p;
    p.interval = Millis(5);
    p.timeout = Millis(20);
    p.jitter = 0;
    p.groups = 0xff;
    return p;
}

}  // namespace

TEST_CASE("concurrency: readers see whole snapshots while checks run and publish on their threads",
          "[concurrency][scheduler][store]") {
    SystemClock clock;
    SystemRandom random;
    std::ostringstream log_text;
    Log log{log_text, clock};
    Store store;
    Latest<Rendered> pages(std::make_shared<const Rendered>());
    std::atomic<bool> release{false};

    std::vector<ScheduledCheck> schedule;
    std::vector<std::unique_ptr<Check>> checks;
    std::vector<FlappingCheck*> flapping;
    for (int i = 0; i < 3; ++i) {
        schedule.push_back({"flap" + std::to_string(i), "test", fast_policy(), nullptr});
        auto check = std::make_unique<FlappingCheck>();
        flapping.push_back(check.get());
        checks.push_back(std::move(check));
    }
    schedule.push_back({"stuck", "test", fast_policy(), nullptr});
    checks.push_back(std::make_unique<StuckCheck>(release));

    // As App wires it: render on the scheduler's thread, then hand both over.
    Scheduler scheduler(std::move(schedule), clock, random, log, [&](Snapshot snapshot) {
        pages.publish(std::make_shared<const Rendered>(render(snapshot, pages.load().get())));
        store.publish(std::make_shared<const Snapshot>(std::move(snapshot)));
    });
    scheduler.set_beat([&store](SteadyTime now) { store.beat(now); });
    ThreadExecutor executor(std::move(checks), scheduler);
    scheduler.set_executor(&executor);
    std::thread loop([&] { scheduler.run(); });

    // Readers do what the HTTP handlers do: read the rendered bodies through a per-thread
    // reader, and the states.
    std::atomic<bool> reading{true};
    std::atomic<long> reads{0}, torn{0};
    std::vector<std::thread> readers;
    readers.reserve(3);
    for (int r = 0; r < 3; ++r) {
        readers.emplace_back([&] {
            Latest<Rendered>::Reader reader(pages);
            while (reading.load()) {
                const auto snapshot = store.load();
                const Rendered& page = reader.get();
                // Bodies are published whole: once they name checks, every body is there.
                if (!page.check_detail.empty() &&
                    (page.health_trusted.body.empty() || page.metrics.body.empty() ||
                     page.check_detail.size() != 4))
                    ++torn;
                for (const CheckState& c : snapshot->checks)
                    if (c.history.size() > kHistoryLength) ++torn;
                (void)store.last_beat();
                ++reads;
            }
        });
    }

    // Bounded by work done, not by time: ThreadSanitizer slows every run tenfold.
    constexpr int kRuns = 20;
    const auto until = std::chrono::steady_clock::now() + 30s;
    const auto done = [&] {
        for (FlappingCheck* c : flapping)
            if (c->runs_.load() < kRuns) return false;
        return reads.load() >= 1000;
    };
    while (std::chrono::steady_clock::now() < until && !done())
        std::this_thread::sleep_for(5ms);
    reading = false;
    for (auto& t : readers)
        t.join();
    scheduler.stop();
    loop.join();
    release = true;
    CHECK(executor.stop(1s));

    CHECK(torn.load() == 0);
    CHECK(reads.load() >= 1000);
    for (FlappingCheck* c : flapping)
        CHECK(c->runs_.load() >= kRuns);
    const auto last = store.load();
    REQUIRE(last->checks.size() == 4);
    const CheckState& stuck = last->checks[3];
    CHECK(stuck.status == Status::fail);
    CHECK(stuck.last_timed_out);
    // The stuck check held one thread: it never started a second run while the first hung.
    CHECK(stuck.runs[static_cast<std::size_t>(RunOutcome::timeout)] == 1);
    REQUIRE(last->incidents != nullptr);
    CHECK(last->incidents->size() == kIncidentsKept);
}

TEST_CASE("concurrency: a publisher and many readers of the store", "[concurrency][store]") {
    Store store;
    Latest<Rendered> pages(std::make_shared<const Rendered>());
    constexpr int kPublications = 20000;
    std::atomic<bool> done{false};
    std::atomic<long> backwards{0};
    std::vector<std::thread> readers;
    readers.reserve(4);
    for (int r = 0; r < 4; ++r) {
        readers.emplace_back([&] {
            WallTime seen{};
            long seen_body = 0;
            Latest<Rendered>::Reader reader(pages);
            while (!done.load()) {
                const auto snapshot = store.load();
                if (snapshot->published < seen) ++backwards;
                seen = snapshot->published;
                const std::string& body = reader.get().livez.body;
                const long n = body.empty() ? 0 : std::stol(body);
                if (n < seen_body) ++backwards;
                seen_body = n;
            }
            // Once the publisher is done, the reader's next look sees the last value.
            if (reader.get().livez.body != std::to_string(kPublications)) ++backwards;
        });
    }
    for (int i = 1; i <= kPublications; ++i) {
        Snapshot s;
        s.published = WallTime(std::chrono::milliseconds(i));
        Rendered r;
        r.livez.body = std::to_string(i);
        pages.publish(std::make_shared<const Rendered>(std::move(r)));
        store.publish(std::make_shared<const Snapshot>(std::move(s)));
    }
    done = true;
    for (auto& t : readers)
        t.join();
    CHECK(backwards.load() == 0);  // a reader never sees an older snapshot after a newer one
    CHECK(pages.load()->livez.body == std::to_string(kPublications));
}

TEST_CASE("concurrency: each check runs on a thread named after it", "[concurrency]") {
    // What `top -H` and /proc/<pid>/task/*/comm show when one check is stuck.
    class NamingCheck final : public Check {
      public:
        CheckResult run(const Deadline&) override {
            char name[16] = {};
            pthread_getname_np(pthread_self(), name, sizeof name);
            std::lock_guard<std::mutex> lock(mutex);
            seen = name;
            return CheckResult::ok("named");
        }
        std::mutex mutex;
        std::string seen;
    };
    SystemClock clock;
    SystemRandom random;
    std::ostringstream log_text;
    Log log{log_text, clock};
    Scheduler scheduler({{"database_certificate", "test", fast_policy(), nullptr}}, clock, random,
                        log, [](Snapshot) {});
    auto owned = std::make_unique<NamingCheck>();
    NamingCheck* check = owned.get();
    std::vector<std::unique_ptr<Check>> checks;
    checks.push_back(std::move(owned));
    ThreadExecutor executor(std::move(checks), scheduler, {"database_certificate"});
    executor.start(0, 1, Millis(1000));
    std::string seen;
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (seen.empty() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(1ms);
        std::lock_guard<std::mutex> lock(check->mutex);
        seen = check->seen;
    }
    CHECK(seen == "database_certif");  // the first 15 bytes: the kernel's limit
    CHECK(executor.stop(std::chrono::milliseconds(1000)));
}
