// gunicorn: the app answers (status, keyword, latency as a rolling p95 over recent runs),
// its listen socket's accept queue stays empty (every worker busy shows there first), and —
// with Gunicorn's --statsd-host pointed at vitals — request rate, 5xx ratio, latency
// percentiles, worker count and worker timeouts over the last minute.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>

#include "checks/builtin.hpp"
#include "checks/gunicorn/accept_backlog.hpp"
#include "checks/gunicorn/processes.hpp"
#include "checks/gunicorn/statsd.hpp"
#include "checks/http_target.hpp"
#include "sidecar/config/config.hpp"

namespace vitals::checks {

namespace {

// A histogram bound as Prometheus writes it in `le`: "0.005", "10", "+Inf".
std::string prometheus_bound(double bound) {
    if (std::isinf(bound)) return "+Inf";
    char text[32];
    std::snprintf(text, sizeof(text), "%g", bound);
    return text;
}

struct GunicornPolicy {
    HttpExpectation answer;
    Millis p95_warn{2000};
    std::optional<Millis> p95_fail;
    std::size_t latency_runs = 20;
    int backlog_warn_runs = 0;  // read from the settings
    std::uint32_t backlog_fail = 32;
    double error_5xx_warn = 0.05;
    double error_5xx_fail = 0.25;
    std::optional<ListenAddress> statsd;
};

// Enough requests in the window before a 5xx ratio means anything.
constexpr double kMinRequestsForRatio = 20;

class GunicornCheck final : public Check {
  public:
    GunicornCheck(HttpTarget target, GunicornPolicy policy, const Clock& clock)
        : target_(std::move(target)), policy_(std::move(policy)), clock_(clock) {
        if (policy_.statsd)
            sink_ =
                std::make_unique<StatsdSink>(policy_.statsd->host, policy_.statsd->port, clock_);
    }

    // The statsd listener binds and starts its thread here, once, when the App starts (not
    // for --check-config, and never from a run).
    void start() override {
        if (!sink_) return;
        statsd_error_ = sink_->start();
        if (statsd_error_) sink_.reset();
    }

    CheckResult run(const Deadline& deadline) override {
        // The backlog first: it is what the probe request is about to queue behind.
        Findings findings;
        CheckResult result;
        judge_backlog(result, findings);
        judge_processes(result, findings);
        const HttpExchange exchange = http_exchange(target_, deadline);
        const double seconds = exchange.timings.total_seconds;
        result.observe("response_seconds", seconds);
        observe_timings(result, exchange);
        const Expected<HttpReply>& reply = exchange.reply;
        if (!reply) {
            // Every worker busy (connections queued behind them) is load or a slow
            // dependency: Gunicorn's own --timeout replaces a stuck worker, and restarting
            // the pod would only drop the queue and the requests in it. An app that refuses
            // the connection, has no workers, or queues nothing and still does not answer,
            // is what a restart may fix.
            const bool busy = reply.error().timed_out && queued_ > 0 && workers_ != 0;
            findings.add(Status::fail,
                         "the app does not answer: " + reply.error().message +
                             (busy ? " (every worker is busy: " + std::to_string(queued_) +
                                         " connections queued)"
                                   : ""),
                         busy ? Cause::elsewhere : Cause::here);
        } else {
            result.observe("status_code", reply->status);
            // It answers: a wrong status (Django answers 500 while its database is down) or
            // a missing keyword is not what a restart fixes.
            if (const auto why = policy_.answer.unmet(*reply))
                findings.add(Status::fail, *why, Cause::elsewhere);
            judge_latency(seconds, result, findings);
        }
        judge_statsd(result, findings);

        findings.conclude(result, reply ? "status " + std::to_string(reply->status) + " in " +
                                              format_millis(seconds)
                                        : "");
        if (statsd_error_) result.details["statsd"] = *statsd_error_;
        return result;
    }

  private:
    void judge_latency(double seconds, CheckResult& result, Findings& findings) {
        recent_.push_back(seconds);
        if (recent_.size() > policy_.latency_runs) recent_.pop_front();
        std::vector<double> sorted(recent_.begin(), recent_.end());
        std::sort(sorted.begin(), sorted.end());
        const double p95 = sorted[static_cast<std::size_t>(
            std::lround(0.95 * static_cast<double>(sorted.size() - 1)))];
        result.observe("probe_p95_seconds", p95);
        const std::string text =
            "p95 of the last " + std::to_string(sorted.size()) + " probes is " + format_millis(p95);
        if (policy_.p95_fail && p95 > std::chrono::duration<double>(*policy_.p95_fail).count()) {
            findings.add(Status::fail, text + ", over " + format_duration(*policy_.p95_fail),
                         Cause::elsewhere);
        } else if (p95 > std::chrono::duration<double>(policy_.p95_warn).count()) {
            findings.add(Status::warn, text + ", over " + format_duration(policy_.p95_warn));
        }
    }

    std::uint16_t port() const {
        return target_.url.port.value_or(target_.url.scheme == "https" ? 443 : 80);
    }

    void judge_backlog(CheckResult& result, Findings& findings) {
        queued_ = 0;
        if (!target_.unix_socket.empty()) {
            result.details["accept_backlog"] =
                "not read: the app is reached over a Unix socket, and /proc/net/tcp* lists TCP "
                "ports only";
            return;
        }
        const AcceptBacklog backlog = read_accept_backlog(port());
        if (backlog.listeners == 0) {
            result.details["accept_backlog"] = "no listening socket on port " +
                                               std::to_string(port()) +
                                               " in /proc/net/tcp* (another network namespace?)";
            return;
        }
        queued_ = backlog.queued;
        result.observe("accept_backlog", backlog.queued)
            .observe("listen_sockets", backlog.listeners);
        backlog_runs_ = backlog.queued > 0 ? backlog_runs_ + 1 : 0;
        const std::string text =
            std::to_string(backlog.queued) +
            " connections wait in the accept queue: every Gunicorn worker is busy";
        // Busy workers are load or a slow dependency; wedged ones also stop answering the
        // probe, and that finding is the one that counts for liveness.
        if (backlog.queued >= policy_.backlog_fail) {
            findings.add(Status::fail, text, Cause::elsewhere);
        } else if (backlog_runs_ >= policy_.backlog_warn_runs) {
            findings.add(Status::warn,
                         text + " (" + std::to_string(backlog_runs_) + " runs in a row)");
        }
    }

    void judge_processes(CheckResult& result, Findings& findings) {
        const GunicornProcesses procs = find_gunicorn(port());
        workers_ = procs.masters == 0 ? -1 : procs.workers;  // -1: not visible from here
        if (procs.masters == 0) {
            result.details["processes"] =
                "no gunicorn process visible (shareProcessNamespace: true shows them)";
            return;
        }
        result.observe("master_alive", procs.master_pid != 0 ? 1 : 0)
            .observe("worker_processes", procs.workers);
        if (procs.master_pid != 0 && procs.workers == 0) {
            findings.add(Status::warn, "the Gunicorn master has no worker processes");
        }
    }

    void judge_statsd(CheckResult& result, Findings& findings) {
        if (!sink_) return;
        const GunicornSummary s = sink_->stats().summary(clock_.now());
        result.observe("requests_total", s.requests_total)
            .observe("responses_5xx_total", s.status_5xx_total)
            .observe("responses_4xx_total", s.status_4xx_total)
            .observe("error_5xx_ratio", s.error_5xx_ratio)
            .observe("worker_timeouts_total", s.worker_timeouts_total)
            .observe("log_errors_total", s.log_errors_total)
            .observe("statsd_datagrams_total", s.datagrams_total)
            .observe("statsd_malformed_total", s.malformed_total);
        if (s.workers) result.observe("workers", *s.workers);
        for (const auto& [bound, count] : s.duration_buckets) {
            result.observe("request_duration_seconds_bucket", "le", prometheus_bound(bound), count);
        }
        result.observe("request_duration_seconds_sum", s.duration_sum_seconds)
            .observe("request_duration_seconds_count", s.duration_count);
        // The last minute, as the verdicts below judge it; quantiles for Prometheus come from
        // the histogram (histogram_quantile), which adds up across pods.
        nlohmann::json& window = result.details["statsd_last_minute"];
        window = {{"requests", s.requests},
                  {"requests_per_second", s.requests_per_second},
                  {"worker_timeouts", s.worker_timeouts},
                  {"log_errors", s.log_errors}};
        if (s.p50_seconds) window["request_p50_seconds"] = *s.p50_seconds;
        if (s.p95_seconds) window["request_p95_seconds"] = *s.p95_seconds;
        if (s.p99_seconds) window["request_p99_seconds"] = *s.p99_seconds;
        char text[160];
        if (s.requests >= kMinRequestsForRatio && s.error_5xx_ratio >= policy_.error_5xx_warn) {
            std::snprintf(text, sizeof(text),
                          "%.0f%% of %.0f requests in the last minute answered 5xx",
                          s.error_5xx_ratio * 100, s.requests);
            findings.add(s.error_5xx_ratio >= policy_.error_5xx_fail ? Status::fail : Status::warn,
                         text, Cause::elsewhere);
        }
        if (s.worker_timeouts > 0) {
            std::snprintf(text, sizeof(text),
                          "%.0f worker timeouts (critical log lines) in the last minute",
                          s.worker_timeouts);
            findings.add(Status::warn, text);
        }
        if (s.p95_seconds &&
            *s.p95_seconds > std::chrono::duration<double>(policy_.p95_warn).count()) {
            findings.add(Status::warn, "request p95 over the last minute is " +
                                           format_millis(*s.p95_seconds) + ", over " +
                                           format_duration(policy_.p95_warn));
        }
    }

    HttpTarget target_;
    GunicornPolicy policy_;
    const Clock& clock_;
    std::deque<double> recent_;
    int backlog_runs_ = 0;
    std::uint32_t queued_ = 0;  // this run's accept backlog
    int workers_ = -1;          // this run's worker processes; -1: not visible
    std::optional<std::string> statsd_error_;
    std::unique_ptr<StatsdSink> sink_;
};

Millis route_p95(const std::string& route) {
    if (route == "api") return Millis(500);
    if (route == "health") return Millis(1000);
    return Millis(2000);
}

}  // namespace

// The gunicorn kind's settings, each declared once: the table lists these members and the
// factory reads its values through them.
struct GunicornSettings {
    Setting url = Setting::of("url", SettingType::url, "the app inside the pod")
                      .defaults("http://127.0.0.1:8000/");
    Setting host = Setting::of("host", SettingType::string,
                               "Host header (one Django's ALLOWED_HOSTS accepts)");
    Setting expect_status =
        Setting::of("expect_status", SettingType::status_codes,
                    "status codes that count as healthy: 200, [200, 204] or \"200-399\"")
            .defaults(200);
    Setting body_contains =
        Setting::of("body_contains", SettingType::string, "text the body must contain");
    Setting route =
        Setting::of("route", SettingType::string,
                    "route class for the default p95 threshold: page 2s, api 500ms, health 1s")
            .defaults("page")
            .choices({"page", "api", "health"});
    Setting p95_warn =
        Setting::of("p95_warn", SettingType::duration,
                    "p95 latency (probes and statsd) above this warns; default by route")
            .range(1, 600'000);
    Setting p95_fail =
        Setting::of("p95_fail", SettingType::duration, "p95 latency of the probes above this fails")
            .range(1, 600'000);
    Setting latency_runs =
        Setting::of("latency_runs", SettingType::integer, "how many recent probes the p95 covers")
            .defaults(20)
            .range(1, 1000);
    Setting backlog_warn_runs =
        Setting::of("backlog_warn_runs", SettingType::integer,
                    "runs in a row with a non-empty accept queue before warning")
            .defaults(3)
            .range(1, 100);
    Setting backlog_fail =
        Setting::of("backlog_fail", SettingType::integer,
                    "connections waiting in the accept queue that fail the check")
            .defaults(32)
            .range(1, 65535);
    Setting error_5xx_warn = Setting::of("error_5xx_warn", SettingType::number,
                                         "5xx share of requests in the last minute: warn at")
                                 .defaults(0.05)
                                 .range(0, 1);
    Setting error_5xx_fail = Setting::of("error_5xx_fail", SettingType::number,
                                         "5xx share of requests in the last minute: fail at")
                                 .defaults(0.25)
                                 .range(0, 1);
    Setting statsd_listen = Setting::of("statsd_listen", SettingType::string,
                                        "UDP host:port for Gunicorn's --statsd-host; empty: off")
                                .defaults("127.0.0.1:8125");
    SettingsTable table() const {
        return http_target_settings().with(
            {url, host, expect_status, body_contains, route, p95_warn, p95_fail, latency_runs,
             backlog_warn_runs, backlog_fail, error_5xx_warn, error_5xx_fail, statsd_listen});
    }
};

CheckKind gunicorn_kind() {
    static const GunicornSettings s;
    CheckKind kind;
    kind.name = "gunicorn";
    kind.summary = "Gunicorn: the app answers, accept backlog, statsd request metrics";
    kind.about = About::app;  // this pod's app: a restart may fix it
    kind.default_groups = {"live", "ready"};
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::gauge("response_seconds", U::seconds, "Time of the check's own request to the app.")
            .headline(),
        O::gauge("status_code", U::none, "HTTP status code of the check's own request."),
        O::gauge("probe_p95_seconds", U::seconds,
                 "p95 of the check's own last requests (latency_runs of them)."),
        O::gauge("accept_backlog", U::none,
                 "Connections waiting in the listen queue for a free worker (/proc/net/tcp).")
            .headline(),
        O::gauge("listen_sockets", U::none, "Listening sockets found on the app's port."),
        O::gauge("master_alive", U::boolean, "1 when the Gunicorn master process is seen."),
        O::gauge("worker_processes", U::none, "Gunicorn worker processes seen in /proc."),
        O::counter("requests_total", U::none, "Requests Gunicorn reported over statsd."),
        O::counter("responses_5xx_total", U::none, "Answers with a 5xx status (statsd)."),
        O::counter("responses_4xx_total", U::none, "Answers with a 4xx status (statsd)."),
        O::gauge("error_5xx_ratio", U::ratio, "Share of requests answered 5xx in the last minute."),
        O::counter("worker_timeouts_total", U::none,
                   "Critical log lines (WORKER TIMEOUT) Gunicorn reported over statsd."),
        O::counter("log_errors_total", U::none, "Error and exception log lines (statsd)."),
        O::counter("statsd_datagrams_total", U::none, "Statsd datagrams received."),
        O::counter("statsd_malformed_total", U::none, "Statsd lines dropped as malformed."),
        O::gauge("workers", U::none, "Workers Gunicorn reported over statsd."),
        O::histogram("request_duration_seconds", U::seconds,
                     "Request times Gunicorn reported over statsd."),
    };
    add_timing_observations(kind.observations);
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        HttpTarget target =
            http_target_settings().target(ctx.params, ctx.params.url(s.url), s.url.key,
                                          ctx.params.has(s.host) ? ctx.params.str(s.host) : "");
        GunicornPolicy p;
        p.answer.status = ctx.params.status_codes(s.expect_status);
        if (ctx.params.has(s.body_contains))
            p.answer.body_contains = ctx.params.str(s.body_contains);
        p.p95_warn = ctx.params.has(s.p95_warn) ? ctx.params.duration(s.p95_warn)
                                                : route_p95(ctx.params.str(s.route));
        if (ctx.params.has(s.p95_fail)) p.p95_fail = ctx.params.duration(s.p95_fail);
        p.latency_runs = static_cast<std::size_t>(ctx.params.integer(s.latency_runs));
        p.backlog_warn_runs = static_cast<int>(ctx.params.integer(s.backlog_warn_runs));
        p.backlog_fail = static_cast<std::uint32_t>(ctx.params.integer(s.backlog_fail));
        p.error_5xx_warn = ctx.params.number(s.error_5xx_warn);
        p.error_5xx_fail = ctx.params.number(s.error_5xx_fail);
        const std::string statsd = ctx.params.str(s.statsd_listen);
        if (!statsd.empty()) {
            p.statsd = ListenAddress::parse(statsd);
            if (!p.statsd)
                throw SettingError(s.statsd_listen.key, "must be host:port, e.g. 127.0.0.1:8125");
        }
        return std::make_unique<GunicornCheck>(std::move(target), std::move(p),
                                               ctx.services.clock_or_system());
    };
    kind.from_env = [](const Environment& env) -> std::optional<nlohmann::json> {
        const auto app = env.find("VITALS_APP_URL");
        if (app == env.end() || app->second.empty()) return std::nullopt;
        nlohmann::json spec = {{"url", app->second}};
        if (const auto host = env.find("VITALS_APP_HOST"); host != env.end())
            spec["host"] = host->second;
        if (const auto statsd = env.find("VITALS_STATSD_LISTEN"); statsd != env.end())
            spec["statsd_listen"] = statsd->second;
        return spec;
    };
    return kind;
}

}  // namespace vitals::checks
