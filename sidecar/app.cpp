#include "sidecar/app.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <mutex>

#include "sidecar/heartbeat/board.hpp"

namespace vitals {

namespace {

// How often freed memory is handed back to the system. Checks run on threads of their own,
// each with its malloc arena, and the bodies rendered for every result are large and short-
// lived: glibc keeps what they freed, and a pod's resident memory crept up by 3 MiB in
// minutes with 2.6 MiB of live heap (heaptrack). malloc_trim gives it back: about 2.5 ms of
// CPU for 3 MiB, every 30 s, on the scheduler's thread, never on a probe's.
constexpr auto kTrimEvery = std::chrono::seconds(30);

void release_free_memory() {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

// glibc raises its mmap threshold to the size of any large block freed (up to 32 MiB) and its
// trim threshold to twice that, and hands back the top of a thread's arena only past the
// latter; malloc_trim never reaches it. One large body freed, and the checks' arena held its
// top: 11 MiB for 1.7 MB in use after 40 minutes of the demo, 8.5 MB of it the free top
// chunk. Fixed thresholds: blocks of 128 KiB or more are mapped and unmapped on their own,
// and a free top past 128 KiB goes back at once.
void fix_malloc_thresholds() {
#if defined(__GLIBC__)
    static std::once_flag once;
    std::call_once(once, [] {
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        mallopt(M_TRIM_THRESHOLD, 128 * 1024);
    });
#endif
}

std::vector<ScheduledCheck> schedule_of(const Config& config) {
    std::vector<ScheduledCheck> out;
    for (const CheckConfig& c : config.checks)
        out.push_back({c.name, c.kind, c.policy, c.observations});
    return out;
}

std::vector<std::string> names_of(const Config& config) {
    std::vector<std::string> out;
    for (const CheckConfig& c : config.checks)
        out.push_back(c.name);
    return out;
}

std::vector<std::unique_ptr<Check>> take_checks(Config& config) {
    std::vector<std::unique_ptr<Check>> out;
    for (CheckConfig& c : config.checks)
        out.push_back(std::move(c.check));
    return out;
}

HttpOptions http_options(const Config& config, HeartbeatBoard* heartbeats) {
    HttpOptions o;
    o.heartbeats = heartbeats;
    o.listen = config.listen;
    o.threads = config.http_threads;
    o.trusted = config.trusted;
    o.detail_token = config.detail_token;
    o.page.identity = config.identity;
    o.page.kinds = config.kinds;
    o.keepalive_timeout = config.keepalive_timeout;
    o.max_connections = config.max_connections;
    o.header_timeout = config.header_timeout;
    o.stall_after = config.stall_after;
    return o;
}

}  // namespace

App::App(Config& config, const Clock& clock, Random& random, Log& log, HeartbeatBoard* heartbeats)
    : clock_(clock),
      heartbeats_(heartbeats),
      server_(store_, clock, http_options(config, heartbeats)),
      scheduler_(schedule_of(config), clock, random, log, [this](Snapshot snapshot) {
          // On the scheduler's thread, outside its state mutex.
          server_.publish(snapshot);
          store_.publish(std::make_shared<const Snapshot>(std::move(snapshot)));
      }) {
    fix_malloc_thresholds();  // before the check threads start
    scheduler_.set_beat([this](SteadyTime now) {
        store_.beat(now);
        if (now - last_trim_ >= kTrimEvery) {
            last_trim_ = now;
            release_free_memory();
        }
    });
    for (const CheckConfig& c : config.checks)
        checks_.push_back(c.check.get());
    std::vector<std::string> names = names_of(config);
    executor_ = std::make_unique<ThreadExecutor>(take_checks(config), scheduler_, std::move(names));
    scheduler_.set_executor(executor_.get());
    // A ping is judged at once, not at the heartbeat check's next interval.
    if (heartbeats_ != nullptr)
        heartbeats_->on_ping([this](const std::string& name) { scheduler_.run_soon(name); });
}

App::~App() {
    stop();
}

void App::start() {
    // The first pulse before the first request: the scheduler's thread may not have run yet
    // when a probe arrives, and no pulse at all reads as a stall.
    store_.beat(clock_.now());
    // Each check's background work, before any of its runs: the scheduler's thread, which
    // hands every run over, starts after this, so what start() sets up is seen by every run.
    for (Check* check : checks_)
        check->start();
    scheduler_thread_ = std::thread([this] {
        name_this_thread("scheduler");
        scheduler_.run();
    });
    server_.start();
}

bool App::stop() {
    if (stopped_) return true;
    stopped_ = true;
    server_.stop();
    if (heartbeats_ != nullptr) heartbeats_->on_ping(nullptr);
    scheduler_.stop();
    if (scheduler_thread_.joinable()) scheduler_thread_.join();
    return executor_->stop(std::chrono::milliseconds(300));
}

}  // namespace vitals
