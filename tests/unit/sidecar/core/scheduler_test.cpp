// The scheduler under a fake clock: no test here sleeps.
#include <catch2/catch.hpp>

#include <sstream>

#include "sidecar/core/scheduler.hpp"
#include "support/fake_clock.hpp"

using namespace vitals;
using namespace std::chrono_literals;
using vitals::testing::FakeClock;
using vitals::testing::FixedRandom;

namespace {

// Records starts; the test decides when and how each run completes.
class ManualExecutor final : public Executor {
  public:
    struct Start {
        std::size_t index;
        std::uint64_t run_id;
        Millis timeout;
    };
    void start(std::size_t index, std::uint64_t run_id, Millis timeout) override {
        starts.push_back({index, run_id, timeout});
    }
    std::vector<Start> starts;
};

struct Harness {
    FakeClock clock;
    FixedRandom random{0.5};
    std::ostringstream log_text;
    Log log{log_text, clock};
    ManualExecutor executor;
    std::vector<Snapshot> published;
    std::unique_ptr<Scheduler> scheduler;

    explicit Harness(std::vector<CheckPolicy> policies, double random_value = 0.5,
                     std::shared_ptr<const ObservationTable> observations = nullptr) {
        random.set(random_value);
        std::vector<ScheduledCheck> checks;
        for (std::size_t i = 0; i < policies.size(); ++i) {
            checks.push_back({"check" + std::to_string(i), "test", policies[i], observations});
        }
        scheduler =
            std::make_unique<Scheduler>(std::move(checks), clock, random, log,
                                        [this](Snapshot s) { published.push_back(std::move(s)); });
        scheduler->set_executor(&executor);
    }
    // Advances time and ticks.
    template <typename D>
    void at(D d) {
        clock.advance(d);
        scheduler->tick();
    }
    void finish(std::size_t n, CheckResult r, std::chrono::milliseconds took = 5ms) {
        const auto& s = executor.starts.at(n);
        scheduler->complete(s.index, s.run_id, std::move(r), took);
    }
    CheckState state(std::size_t i = 0) const { return scheduler->states().at(i); }
};

CheckPolicy policy(Millis interval = 10s, Millis timeout = 2s, int failures = 1,
                   int successes = 1) {
    CheckPolicy p;
    p.interval = interval;
    p.timeout = timeout;
    p.failure_threshold = failures;
    p.success_threshold = successes;
    p.jitter = 0.1;
    p.groups = kGroupReady;
    return p;
}

}  // namespace

TEST_CASE("a check starts within its first jitter window, then every interval", "[scheduler]") {
    Harness h({policy()}, 0.5);
    CHECK(h.published.size() == 1);  // the initial all-unknown snapshot
    CHECK(h.state().status == Status::unknown);
    h.at(0ms);
    CHECK(h.executor.starts.empty());  // first run is spread: 0.5 * (10s * 0.1) = 500ms
    h.at(499ms);
    CHECK(h.executor.starts.empty());
    h.at(1ms);
    REQUIRE(h.executor.starts.size() == 1);
    CHECK(h.executor.starts[0].timeout == 2s);
    h.finish(0, CheckResult::ok("fine"));
    CHECK(h.state().status == Status::ok);
    h.at(9999ms);  // random 0.5 -> no jitter: next start exactly 10s after the first
    CHECK(h.executor.starts.size() == 1);
    h.at(1ms);
    CHECK(h.executor.starts.size() == 2);
}

TEST_CASE("an hourly check's first run is spread over a second, not over six minutes",
          "[scheduler]") {
    Harness h({policy(1h)}, 0.999);
    h.at(998ms);
    CHECK(h.executor.starts.empty());
    h.at(1ms);
    CHECK(h.executor.starts.size() == 1);
}

TEST_CASE("jitter keeps every interval within its bounds", "[scheduler]") {
    for (const double r : {0.0, 0.25, 0.999}) {
        Harness h({policy(10s)}, r);
        h.at(1s);  // past any first-run spread
        REQUIRE(h.executor.starts.size() == 1);
        h.finish(0, CheckResult::ok());
        // factor = 1 + 0.1 * (2r - 1): from 0.9 to just under 1.1
        const auto expected = std::chrono::duration_cast<Millis>(
            std::chrono::duration<double, std::milli>(10'000 * (1 + 0.1 * (2 * r - 1))));
        INFO("random " << r << " expected " << expected.count());
        CHECK(expected >= 9s);
        CHECK(expected < 11s);
        h.at(expected - 1ms);
        CHECK(h.executor.starts.size() == 1);
        h.at(1ms);
        CHECK(h.executor.starts.size() == 2);
    }
}

TEST_CASE("overrun grace is 10% of the timeout, within 20 ms and 1 s", "[scheduler]") {
    CHECK(overrun_grace(1s) == 100ms);
    CHECK(overrun_grace(50ms) == 20ms);
    CHECK(overrun_grace(60s) == 1s);
}

TEST_CASE("a stuck run is a timeout once its deadline and grace pass, and blocks no one",
          "[scheduler]") {
    Harness h({policy(5s, 1s), policy(5s, 1s)}, 0.0);
    h.at(0ms);
    REQUIRE(h.executor.starts.size() == 2);
    h.finish(1, CheckResult::ok());  // the second check is healthy; the first hangs
    h.at(
        1099ms);  // past the 1 s timeout, within its 100 ms grace: a well-behaved check returns now
    CHECK(h.state(0).status == Status::unknown);
    h.at(1ms);
    CheckState stuck = h.state(0);
    CHECK(stuck.status == Status::fail);
    CHECK(stuck.last_timed_out);
    CHECK(stuck.last->message == "timed out after 1s");
    CHECK(stuck.runs[static_cast<std::size_t>(RunOutcome::timeout)] == 1);

    // While the first run is still stuck, no second run of it starts; the other check goes on.
    for (int i = 0; i < 6; ++i) {
        h.at(5s);
        const auto& last = h.executor.starts.back();
        if (last.index == 1) h.scheduler->complete(1, last.run_id, CheckResult::ok(), 1ms);
    }
    std::size_t first_starts = 0;
    for (const auto& s : h.executor.starts)
        first_starts += s.index == 0 ? 1 : 0;
    CHECK(first_starts == 1);
    CHECK(h.executor.starts.size() > 3);

    // When the stuck run finally returns, its late result is dropped and the check resumes.
    h.finish(0, CheckResult::ok("late"), 31s);
    CHECK(h.state(0).last->message == "timed out after 1s");
    CHECK(h.log_text.str().find("late_result_dropped") != std::string::npos);
    h.at(1ms);
    first_starts = 0;
    for (const auto& s : h.executor.starts)
        first_starts += s.index == 0 ? 1 : 0;
    CHECK(first_starts == 2);
}

TEST_CASE("failure and success thresholds need consecutive runs", "[scheduler]") {
    Harness h({policy(1s, 500ms, 3, 2)}, 0.5);
    auto run = [&](CheckResult r) {
        h.at(1s);
        h.finish(h.executor.starts.size() - 1, std::move(r));
        return h.state().status;
    };
    CHECK(run(CheckResult::ok()) == Status::ok);
    CHECK(run(CheckResult::fail("a")) == Status::ok);
    CHECK(run(CheckResult::fail("b")) == Status::ok);
    CHECK(run(CheckResult::ok()) == Status::ok);  // the streak is broken
    CHECK(run(CheckResult::fail("c")) == Status::ok);
    CHECK(run(CheckResult::fail("d")) == Status::ok);
    CHECK(run(CheckResult::fail("e")) == Status::fail);
    CHECK(h.state().consecutive_failures == 3);
    CHECK(run(CheckResult::ok()) == Status::fail);  // one good run is not enough to recover
    CHECK(run(CheckResult::fail("f")) == Status::fail);
    CHECK(run(CheckResult::ok()) == Status::fail);
    CHECK(run(CheckResult::warn("slow")) == Status::warn);  // two in a row: recovered, as warn
    CHECK(run(CheckResult::ok()) == Status::ok);
}

TEST_CASE("an unknown check turns ok on its first good run", "[scheduler]") {
    Harness h({policy(1s, 500ms, 1, 3)}, 0.0);
    h.at(0ms);
    h.finish(0, CheckResult::ok());
    CHECK(h.state().status == Status::ok);
}

TEST_CASE("status transitions are logged once each, as JSON lines", "[scheduler]") {
    Harness h({policy(1s, 500ms)}, 0.0);
    h.at(0ms);
    h.finish(0, CheckResult::fail("refused by postgres://u:hunter2@db:5432/x"));
    h.at(1s);
    h.finish(1, CheckResult::fail("still refused"));
    h.at(1s);
    h.finish(2, CheckResult::ok());
    const std::string log = h.log_text.str();
    std::size_t transitions = 0;
    for (auto pos = log.find("\"event\":\"check_status\""); pos != std::string::npos;
         pos = log.find("\"event\":\"check_status\"", pos + 1)) {
        ++transitions;
    }
    CHECK(transitions == 2);  // unknown->fail, fail->ok
    CHECK(log.find("\"from\":\"unknown\"") != std::string::npos);
    CHECK(log.find("\"to\":\"ok\"") != std::string::npos);
    CHECK(log.find("hunter2") == std::string::npos);
    CHECK(h.state().last_success.has_value());
}

TEST_CASE("results older than two periods turn stale, and fresh again on the next run",
          "[scheduler]") {
    Harness h({policy(10s, 2s)}, 0.0);
    h.at(0ms);
    h.finish(0, CheckResult::ok());
    const auto stale_after = h.state().stale_after();
    CHECK(stale_after == 2 * (10s + 1s + 2s));  // interval + jitter share + timeout, twice
    h.executor.starts.clear();
    h.scheduler->set_executor(nullptr);  // nothing runs: as if the check thread were gone
    h.at(stale_after - 1ms);
    CHECK_FALSE(h.state().stale);
    const std::size_t before = h.published.size();
    h.at(2ms);
    CHECK(h.state().stale);
    CHECK(h.state().effective() == Status::fail);
    CHECK(h.published.size() == before + 1);  // staleness is published, not just noted
    CHECK(h.published.back().checks[0].stale);
}

TEST_CASE(
    "every completed run is published by the next tick with counts, duration and bounded "
    "history",
    "[scheduler]") {
    Harness h({policy(1s, 500ms)}, 0.0);
    for (std::size_t i = 0; i < kHistoryLength + 10; ++i) {
        h.at(1s);
        h.finish(i, i % 3 == 0 ? CheckResult::fail("x") : CheckResult::ok(), 7ms);
    }
    // A finished run is recorded at once but published by the scheduler's thread, which the
    // completion wakes: never by the check's own thread, never under the state mutex.
    CHECK(h.state().runs[static_cast<std::size_t>(RunOutcome::fail)] == 24);
    const std::size_t before = h.published.size();
    h.at(0ms);
    CHECK(h.published.size() == before + 1);
    h.at(0ms);
    CHECK(h.published.size() == before + 1);  // nothing changed: nothing published
    const CheckState s = h.published.back().checks[0];
    CHECK(s.history.size() == kHistoryLength);
    CHECK(s.runs[static_cast<std::size_t>(RunOutcome::fail)] == 24);
    CHECK(s.runs[static_cast<std::size_t>(RunOutcome::ok)] == 46);
    CHECK(s.last_duration_seconds == Approx(0.007));
    CHECK(s.history.back().duration_seconds == Approx(0.007f));
}

TEST_CASE("next_wakeup points at the earliest due run, deadline or staleness", "[scheduler]") {
    Harness h({policy(10s, 2s)}, 0.0);
    const SteadyTime t0 = h.clock.now();
    CHECK(h.scheduler->next_wakeup() == t0);
    h.at(0ms);
    CHECK(h.scheduler->next_wakeup() == t0 + 2s + 200ms);  // the running check's deadline + grace
    h.finish(0, CheckResult::ok());
    CHECK(h.scheduler->next_wakeup() == t0 + 9s);  // random 0 -> 0.9 x interval
}

TEST_CASE("the charted observation is kept for an hour, a point per 30 s", "[scheduler]") {
    auto table = std::make_shared<const ObservationTable>(ObservationTable{
        ObservationSpec::gauge("queue_messages", Unit::none, "Waiting.").by("queue").headline()});
    Harness h({policy(5s, 1s)}, 0.5, table);
    // Two hours of runs every 5 s, the queue growing by one each time.
    for (int i = 0; i < 1440; ++i) {
        h.at(5s);
        REQUIRE(h.executor.starts.size() == static_cast<std::size_t>(i + 1));
        h.finish(static_cast<std::size_t>(i),
                 CheckResult::ok().observe("queue_messages", "queue", "celery", i));
    }
    const CheckState s = h.state();
    REQUIRE(s.trend.size() >= 119);
    CHECK(s.trend.size() <= 122);
    CHECK(s.trend.back().value == 1439);  // the newest run, always
    const std::int64_t newest = s.trend.back().at_unix_ms;
    CHECK(newest - s.trend.front().at_unix_ms <= 3'600'000);
    for (std::size_t i = 1; i + 1 < s.trend.size(); ++i)
        CHECK(s.trend[i].at_unix_ms - s.trend[i - 1].at_unix_ms >= 30'000);
}

TEST_CASE("a result asking to run again by a time is run then, not an interval later",
          "[scheduler]") {
    Harness h({policy(60s)}, 0.5);
    h.at(3s);  // past the first-run spread
    REQUIRE(h.executor.starts.size() == 1);
    CheckResult due = CheckResult::ok("next ping due in 2 s");
    due.run_again_by = h.clock.wall() + 2s;
    h.finish(0, due);
    h.at(1999ms);
    CHECK(h.executor.starts.size() == 1);
    h.at(1ms);
    REQUIRE(h.executor.starts.size() == 2);  // at the due time, not 60 s on
    // A time already past never spins the check: it waits kSoonestRerun.
    CheckResult past = CheckResult::ok("overdue");
    past.run_again_by = h.clock.wall() - 1h;
    h.finish(1, past);
    h.at(kSoonestRerun - 1ms);
    CHECK(h.executor.starts.size() == 2);
    h.at(1ms);
    REQUIRE(h.executor.starts.size() == 3);
    // A time beyond the interval changes nothing: the interval still holds.
    CheckResult later = CheckResult::ok("due tomorrow");
    later.run_again_by = h.clock.wall() + 24h;
    h.finish(2, later);
    h.at(59s);
    CHECK(h.executor.starts.size() == 3);
    h.at(1s);
    CHECK(h.executor.starts.size() == 4);
}

TEST_CASE("run_soon starts a check at once, after a running one ends, and never spins it",
          "[scheduler]") {
    Harness h({policy(60s), policy(60s)}, 0.5);
    h.at(3s);  // past the first-run spread
    REQUIRE(h.executor.starts.size() == 2);
    h.finish(0, CheckResult::ok("fine"));
    h.finish(1, CheckResult::ok("fine"));
    h.at(1s);
    // Idle, and its last start long enough ago: the very next tick starts it.
    h.scheduler->run_soon("check0");
    h.at(0ms);
    REQUIRE(h.executor.starts.size() == 3);
    CHECK(h.executor.starts.back().index == 0);
    // While it runs, a request is remembered: once more when it ends, kSoonestRerun after it
    // started, not 60 s on.
    h.scheduler->run_soon("check0");
    h.at(50ms);
    CHECK(h.executor.starts.size() == 3);
    h.finish(2, CheckResult::ok("fine"));
    h.at(kSoonestRerun - 50ms - 1ms);
    CHECK(h.executor.starts.size() == 3);
    h.at(1ms);
    REQUIRE(h.executor.starts.size() == 4);
    h.finish(3, CheckResult::ok("fine"));
    // A flood of requests right after a start runs it once per kSoonestRerun at most.
    for (int i = 0; i < 100; ++i)
        h.scheduler->run_soon("check0");
    h.at(kSoonestRerun - 1ms);
    CHECK(h.executor.starts.size() == 4);
    h.at(1ms);
    CHECK(h.executor.starts.size() == 5);
    // The other check and unknown names are untouched.
    h.scheduler->run_soon("no such check");
    h.at(1s);
    CHECK(h.executor.starts.size() == 5);
    CHECK(h.executor.starts.back().index == 0);
}

TEST_CASE("an observation its kind did not declare is taken out, named in details, logged once",
          "[scheduler]") {
    auto table = std::make_shared<const ObservationTable>(ObservationTable{
        ObservationSpec::gauge("queue_messages", Unit::none, "Messages waiting.").by("queue")});
    Harness h({policy(1s, 500ms, 1, 1)}, 0.5, table);
    const auto result = [] {
        CheckResult r = CheckResult::ok("fine");
        r.observe("queue_messages", "queue", "celery", 3).observe("queue_mesages", 4);
        return r;
    };
    h.at(1s);
    h.finish(h.executor.starts.size() - 1, result());
    const CheckState& first = h.state();
    REQUIRE(first.last);
    REQUIRE(first.last->observations.size() == 1);
    CHECK(first.last->observations[0].name == "queue_messages");
    CHECK(first.last->details["undeclared_observations"] == nlohmann::json{"queue_mesages"});
    CHECK(first.status == Status::ok);  // a programming error never fails the check
    h.at(1s);
    h.finish(h.executor.starts.size() - 1, result());
    const std::string log = h.log_text.str();
    const auto once = log.find("undeclared_observation");
    REQUIRE(once != std::string::npos);
    CHECK(log.find("undeclared_observation", once + 1) == std::string::npos);
}
