// http: GET a URL (http:// or https://, through libcurl); the status must be one of the
// expected, the body may have to contain a keyword, and the latency may warn or fail past its
// thresholds.
#include "checks/builtin.hpp"
#include "checks/http_target.hpp"

namespace vitals::checks {

namespace {

struct HttpExpectations {
    HttpExpectation answer;
    std::optional<Millis> warn_latency;
    std::optional<Millis> fail_latency;
};

class HttpCheck final : public Check {
  public:
    HttpCheck(HttpTarget target, HttpExpectations expect)
        : target_(std::move(target)), expect_(std::move(expect)) {}

    CheckResult run(const Deadline& deadline) override {
        const HttpExchange exchange = http_exchange(target_, deadline);
        CheckResult result = judge(exchange);
        result.observe("response_seconds", exchange.timings.total_seconds);
        observe_timings(result, exchange);
        if (const auto& reply = exchange.reply) {
            result.observe("status_code", reply->status);
            result.observe("body_bytes", static_cast<double>(reply->body.size()));
        }
        return result;
    }

  private:
    CheckResult judge(const HttpExchange& exchange) const {
        if (!exchange.reply) return verdict(Status::fail, exchange.reply.error().message);
        const HttpReply& reply = *exchange.reply;
        if (const auto why = expect_.answer.unmet(reply)) return verdict(Status::fail, *why);
        const double seconds = exchange.timings.total_seconds;
        const auto took = std::chrono::duration<double>(seconds);
        const auto over = [&](Millis limit) { return took > limit; };
        const std::string took_text = format_millis(seconds);
        if (expect_.fail_latency && over(*expect_.fail_latency)) {
            return verdict(Status::fail, "answered in " + took_text + ", over fail_latency " +
                                             format_duration(*expect_.fail_latency));
        }
        if (expect_.warn_latency && over(*expect_.warn_latency)) {
            return verdict(Status::warn, "answered in " + took_text + ", over warn_latency " +
                                             format_duration(*expect_.warn_latency));
        }
        return verdict(Status::ok, "status " + std::to_string(reply.status) + " in " + took_text);
    }

    HttpTarget target_;
    HttpExpectations expect_;
};

}  // namespace

// The http kind's settings, each declared once: the table lists these members and the
// factory reads its values through them.
struct HttpSettings {
    Setting url = Setting::of("url", SettingType::url, "http:// or https:// URL to GET").required();
    Setting host = Setting::of("host", SettingType::string,
                               "Host header to send (one Django's ALLOWED_HOSTS accepts)");
    Setting expect_status =
        Setting::of("expect_status", SettingType::status_codes,
                    "status codes that count as healthy: 200, [200, 204] or \"200-399\"")
            .defaults(200);
    Setting body_contains =
        Setting::of("body_contains", SettingType::string, "text the body must contain");
    Setting warn_latency =
        Setting::of("warn_latency", SettingType::duration, "slower than this: warn")
            .range(1, 600'000);
    Setting fail_latency =
        Setting::of("fail_latency", SettingType::duration, "slower than this: fail")
            .range(1, 600'000);
    SettingsTable table() const {
        return http_target_settings().with(
            {url, host, expect_status, body_contains, warn_latency, fail_latency});
    }
};

CheckKind http_kind() {
    static const HttpSettings s;
    CheckKind kind;
    kind.name = "http";
    kind.summary = "GET a URL: expected status, optional body keyword, latency thresholds";
    kind.about = About::reach;  // what this pod reaches
    kind.default_groups = {"ready"};
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::gauge("response_seconds", U::seconds, "Time until the whole answer was read.")
            .headline(),
        O::gauge("status_code", U::none, "HTTP status code of the last answer.").headline(),
        O::gauge("body_bytes", U::bytes, "Size of the last answer's body, read up to the cap."),
    };
    add_timing_observations(kind.observations);
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        const std::string host = ctx.params.has(s.host) ? ctx.params.str(s.host) : "";
        HttpTarget target =
            http_target_settings().target(ctx.params, ctx.params.url(s.url), s.url.key, host);
        HttpExpectations expect;
        expect.answer.status = ctx.params.status_codes(s.expect_status);
        if (ctx.params.has(s.body_contains))
            expect.answer.body_contains = ctx.params.str(s.body_contains);
        if (ctx.params.has(s.warn_latency))
            expect.warn_latency = ctx.params.duration(s.warn_latency);
        if (ctx.params.has(s.fail_latency))
            expect.fail_latency = ctx.params.duration(s.fail_latency);
        if (expect.warn_latency && expect.fail_latency &&
            *expect.warn_latency > *expect.fail_latency) {
            ctx.refuse(s.warn_latency.key, "must not be longer than fail_latency");
        }
        return std::make_unique<HttpCheck>(std::move(target), std::move(expect));
    };
    return kind;
}

}  // namespace vitals::checks
