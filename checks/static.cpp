// static: a static asset of the deploy is served with the right content type. After a
// deploy where collectstatic did not run, the app still answers 200 while CSS and JS 404.
#include "checks/builtin.hpp"
#include "checks/http_target.hpp"

namespace vitals::checks {

namespace {

// The content type an asset's extension calls for; empty when unknown.
std::string expected_type(const std::string& path) {
    const auto dot = path.rfind('.');
    const std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
    if (ext == "css") return "text/css";
    if (ext == "js" || ext == "mjs") return "javascript";  // application/ or text/
    if (ext == "png") return "image/png";
    if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
    if (ext == "svg") return "image/svg+xml";
    if (ext == "woff2") return "font/woff2";
    if (ext == "json") return "application/json";
    return "";
}

class StaticCheck final : public Check {
  public:
    StaticCheck(HttpTarget target, std::string content_type)
        : target_(std::move(target)), content_type_(std::move(content_type)) {}

    CheckResult run(const Deadline& deadline) override {
        const HttpReply reply = http_get(target_, deadline, 64 * 1024);
        if (!reply.ok) return CheckResult::fail("static asset not fetched: " + reply.error);
        const std::string path = target_.url.path.empty() ? "/" : target_.url.path;
        CheckResult result;
        result.observe("response_seconds", reply.total_seconds)
            .observe("status_code", reply.status);
        observe_timings(result, reply);
        const auto type_it = reply.headers.find("content-type");
        const std::string type = type_it == reply.headers.end() ? "" : type_it->second;
        Findings findings;
        if (reply.status == 404) {
            findings.add(Status::fail, path +
                                           " is missing (404): collectstatic probably did not run "
                                           "in this deploy, or STATIC_ROOT is not served");
        } else if (reply.status != 200) {
            findings.add(Status::fail,
                         path + " answered " + std::to_string(reply.status) + ", expected 200");
        } else if (!content_type_.empty() && type.find(content_type_) == std::string::npos) {
            findings.add(Status::fail, path + " is served as \"" + type + "\", expected " +
                                           content_type_ +
                                           " (a fallback page instead of the asset?)");
        } else {
            result.observe("body_bytes", static_cast<double>(reply.body.size()));
        }
        findings.conclude(
            result, path + " served as " + type + " in " + format_millis(reply.total_seconds));
        return result;
    }

  private:
    HttpTarget target_;
    std::string content_type_;
};

}  // namespace

// The static kind's settings, each declared once: the table lists these members and the
// factory reads its values through them.
struct StaticSettings {
    Setting url = Setting::of("url", SettingType::url,
                              "URL of a static asset: the app, a CDN or a bucket (https://)")
                      .defaults("http://127.0.0.1:8000/static/admin/css/base.css");
    Setting host = Setting::of("host", SettingType::string,
                               "Host header (one Django's ALLOWED_HOSTS accepts)");
    Setting content_type =
        Setting::of("content_type", SettingType::string,
                    "expected Content-Type (part of it); default from the extension");
    SettingsTable table() const { return http_target_settings().with({url, host, content_type}); }
};

CheckKind static_kind() {
    static const StaticSettings s;
    CheckKind kind;
    kind.name = "static";
    kind.summary = "a static asset is served with the right content type (collectstatic ran)";
    kind.default_groups = {};
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::gauge("response_seconds", U::seconds, "Time until the whole answer was read.")
            .headline(),
        O::gauge("status_code", U::none, "HTTP status code of the last answer."),
        O::gauge("body_bytes", U::bytes, "Size of the last answer's body, read up to the cap.")
            .headline(),
    };
    add_timing_observations(kind.observations);
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        HttpTarget target =
            http_target_settings().target(ctx.params, ctx.params.url(s.url), s.url.key,
                                          ctx.params.has(s.host) ? ctx.params.str(s.host) : "");
        const std::string type = ctx.params.has(s.content_type) ? ctx.params.str(s.content_type)
                                                                : expected_type(target.url.path);
        return std::make_unique<StaticCheck>(std::move(target), type);
    };
    kind.from_env = [](const Environment& env) -> std::optional<nlohmann::json> {
        const auto app = env.find("VITALS_APP_URL");
        if (app == env.end() || app->second.empty()) return std::nullopt;
        const auto parsed = parse_url(app->second);
        if (!parsed.url) return nlohmann::json{{"url", app->second}};  // let validation report it
        const auto path = env.find("VITALS_STATIC_PATH");
        nlohmann::json spec = {
            {"url", parsed.url->scheme + "://" + parsed.url->authority(80) +
                        (path != env.end() ? path->second : "/static/admin/css/base.css")}};
        if (const auto host = env.find("VITALS_APP_HOST"); host != env.end())
            spec["host"] = host->second;
        return spec;
    };
    return kind;
}

}  // namespace vitals::checks
