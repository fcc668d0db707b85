// static: a static asset of the deploy is served with the right content type. After a
// deploy where collectstatic did not run, the app still answers 200 while CSS and JS 404.
// With Django's manifest (staticfiles.json of ManifestStaticFilesStorage) it also fetches a
// few of the hashed names it lists each run, in turn: files missing under the names the
// deploy's templates ask for show a half-uploaded or stale collectstatic.
#include <algorithm>
#include <fstream>
#include <optional>

#include "checks/builtin.hpp"
#include "checks/http_target.hpp"
#include "sidecar/json.hpp"
#include "sidecar/text.hpp"

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

// The manifest is read up to this size (a big project's lists a few thousand names).
constexpr std::size_t kManifestLimit = 8 << 20;

struct Manifest {
    std::string where;                  // its path or URL
    std::optional<HttpTarget> fetched;  // from a URL, else a file
    int sample = 0;                     // manifest_sample
};

class StaticCheck final : public Check {
  public:
    StaticCheck(HttpTarget target, std::string content_type, std::optional<Manifest> manifest)
        : target_(std::move(target)),
          content_type_(std::move(content_type)),
          manifest_(std::move(manifest)) {}

    // The asset's findings and the manifest's in one verdict: the asset's message unless the
    // manifest's is worse.
    CheckResult run(const Deadline& deadline) override {
        CheckResult result;
        Findings findings;
        const std::string ok_message = check_asset(deadline, result, findings);
        if (manifest_) check_manifest(result, findings, deadline);
        findings.conclude(result, ok_message);
        return result;
    }

  private:
    // Reads the manifest's names (unhashed -> hashed) into `paths`: why they could not be
    // read, or nullopt.
    std::optional<std::string> read_manifest(const Deadline& deadline,
                                             nlohmann::json& paths) const {
        std::string text;
        if (manifest_->fetched) {
            Expected<HttpReply> reply = http_get(*manifest_->fetched, deadline, kManifestLimit);
            if (!reply) return "not fetched: " + reply.error().message;
            if (reply->status != 200) return "answered " + std::to_string(reply->status);
            if (reply->body_truncated) return "is over 8 MiB";
            text = std::move(reply->body);
        } else {
            std::ifstream in(manifest_->where, std::ios::binary);
            if (!in) return "cannot be read";
            // Read up to the limit and one byte more, never the whole of a huge file.
            text.resize(kManifestLimit + 1);
            in.read(text.data(), static_cast<std::streamsize>(text.size()));
            text.resize(static_cast<std::size_t>(in.gcount()));
            if (text.size() > kManifestLimit) return "is over 8 MiB";
        }
        const auto j = vitals::parse_json(text);
        if (!j.is_object() || !j.contains("paths") || !j["paths"].is_object())
            return "is not Django's staticfiles.json (no \"paths\" object)";
        paths = j["paths"];
        return std::nullopt;
    }

    void check_manifest(CheckResult& result, Findings& findings, const Deadline& deadline) {
        nlohmann::json paths;
        const auto problem = read_manifest(deadline, paths);
        const std::string asset = target_.url.path;
        if (problem) {
            findings.add(Status::fail, "the manifest " + manifest_->where + " " + *problem);
            return;
        }
        result.observe("manifest_entries", static_cast<double>(paths.size()));
        // The static URL prefix: the asset's path less the manifest name it ends with.
        std::string key, prefix;
        for (const auto& item : paths.items()) {
            const std::string& name = item.key();
            if (asset.size() > name.size() &&
                asset.compare(asset.size() - name.size(), name.size(), name) == 0 &&
                asset[asset.size() - name.size() - 1] == '/') {
                key = name;
                prefix = asset.substr(0, asset.size() - name.size());
                break;
            }
        }
        if (key.empty()) {
            findings.add(Status::fail, asset + " is not in the manifest " + manifest_->where +
                                           " (a manifest from another deploy?)");
            return;
        }
        // The asset's own hashed name, then the next entries in turn, so every name is
        // fetched over enough runs.
        std::vector<std::string> names;
        names.push_back(key);
        std::vector<std::string> all;
        for (const auto& item : paths.items())
            all.push_back(item.key());
        for (int i = 0; i + 1 < manifest_->sample && !all.empty(); ++i)
            names.push_back(all[next_++ % all.size()]);
        int missing = 0, checked = 0;
        for (const std::string& name : names) {
            // A name from the manifest becomes part of a URL: only a relative path of
            // printable characters, no query, fragment or way up.
            if (!paths[name].is_string()) continue;
            const std::string& file = paths[name].get_ref<const std::string&>();
            if (file.empty() || file.size() > 1024 || file[0] == '/' ||
                file.find("..") != std::string::npos ||
                std::any_of(file.begin(), file.end(), [](char c) {
                    return static_cast<unsigned char>(c) <= ' ' || c == '?' || c == '#' ||
                           c == 0x7f;
                })) {
                findings.add(Status::warn, "the manifest lists \"" +
                                               clip_utf8(valid_utf8(name), 120) +
                                               "\" under a name that is not a plain path");
                continue;
            }
            HttpTarget hashed = target_;
            hashed.url.path = prefix + paths[name].get<std::string>();
            hashed.url.query.clear();
            const Expected<HttpReply> reply = http_get(hashed, deadline, 1);
            ++checked;
            const std::string expected = expected_type(hashed.url.path);
            if (!reply) {
                findings.add(Status::fail,
                             hashed.url.path + " not fetched: " + reply.error().message);
                ++missing;
                continue;
            }
            const auto type_it = reply->headers.find("content-type");
            const std::string type = type_it == reply->headers.end() ? "" : type_it->second;
            if (reply->status != 200) {
                findings.add(Status::fail,
                             hashed.url.path + " (in the manifest for " + name + ") answered " +
                                 std::to_string(reply->status) +
                                 ": the files and the manifest are from different deploys (a "
                                 "half-uploaded collectstatic?)");
                ++missing;
            } else if (!expected.empty() && type.find(expected) == std::string::npos) {
                std::string text = hashed.url.path;
                text += " is served as \"" + type + "\", expected ";
                text += expected;
                findings.add(Status::fail, std::move(text));
            }
        }
        result.observe("manifest_checked", checked).observe("manifest_missing", missing);
    }

    // The asset fetched and judged; returns the message for when all is well.
    std::string check_asset(const Deadline& deadline, CheckResult& result, Findings& findings) {
        const HttpExchange exchange = http_exchange(target_, deadline, std::size_t{64} * 1024);
        if (!exchange.reply) {
            findings.add(Status::fail,
                         "static asset not fetched: " + exchange.reply.error().message);
            return "";
        }
        const HttpReply& reply = *exchange.reply;
        const double seconds = exchange.timings.total_seconds;
        const std::string path = target_.url.path.empty() ? "/" : target_.url.path;
        result.observe("response_seconds", seconds).observe("status_code", reply.status);
        observe_timings(result, exchange);
        const auto type_it = reply.headers.find("content-type");
        const std::string type = type_it == reply.headers.end() ? "" : type_it->second;
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
        return path + " served as " + type + " in " + format_millis(seconds);
    }

    HttpTarget target_;
    std::string content_type_;
    std::optional<Manifest> manifest_;
    std::size_t next_ = 0;  // where the next run's sample starts
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
    Setting manifest = Setting::of("manifest", SettingType::string,
                                   "Django's staticfiles.json (ManifestStaticFilesStorage): an "
                                   "absolute path or an http(s) URL");
    Setting manifest_sample =
        Setting::of("manifest_sample", SettingType::integer,
                    "hashed names from the manifest fetched each run (the asset's first)")
            .defaults(3)
            .range(1, 50);
    SettingsTable table() const {
        return http_target_settings().with({url, host, content_type, manifest, manifest_sample});
    }
};

CheckKind static_kind() {
    static const StaticSettings s;
    CheckKind kind;
    kind.name = "static";
    kind.summary = "a static asset is served with the right content type (collectstatic ran)";
    kind.about = About::reach;  // what this pod reaches
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
        O::gauge("manifest_entries", U::none, "Names the manifest (staticfiles.json) lists."),
        O::gauge("manifest_checked", U::none, "Hashed names from the manifest fetched this run."),
        O::gauge("manifest_missing", U::none,
                 "Hashed names from the manifest that did not answer 200 this run."),
    };
    add_timing_observations(kind.observations);
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        HttpTarget target =
            http_target_settings().target(ctx.params, ctx.params.url(s.url), s.url.key,
                                          ctx.params.has(s.host) ? ctx.params.str(s.host) : "");
        const std::string type = ctx.params.has(s.content_type) ? ctx.params.str(s.content_type)
                                                                : expected_type(target.url.path);
        std::optional<Manifest> manifest;
        if (ctx.params.has(s.manifest)) {
            manifest = Manifest{ctx.params.str(s.manifest), std::nullopt,
                                static_cast<int>(ctx.params.integer(s.manifest_sample))};
            const std::string& where = manifest->where;
            if (where.rfind("http://", 0) == 0 || where.rfind("https://", 0) == 0) {
                const Expected<Url> parsed = parse_url(where);
                if (!parsed) throw SettingError(s.manifest.key, parsed.error().message);
                // Where the app's asset is, so its settings; the Host only on the same host.
                manifest->fetched = target;
                manifest->fetched->url = *parsed;
                if (parsed->host != target.url.host) manifest->fetched->host_header.clear();
                manifest->where = parsed->redacted();
            } else if (where.empty() || where[0] != '/') {
                throw SettingError(s.manifest.key, "must be an absolute path or an http(s) URL");
            }
        }
        return std::make_unique<StaticCheck>(std::move(target), type, std::move(manifest));
    };
    kind.from_env = [](const Environment& env) -> std::optional<nlohmann::json> {
        const auto app = env.find("VITALS_APP_URL");
        if (app == env.end() || app->second.empty()) return std::nullopt;
        const auto parsed = parse_url(app->second);
        if (!parsed) return nlohmann::json{{"url", app->second}};  // let validation report it
        const auto path = env.find("VITALS_STATIC_PATH");
        nlohmann::json spec = {
            {"url", parsed->scheme + "://" + parsed->authority(80) +
                        (path != env.end() ? path->second : "/static/admin/css/base.css")}};
        if (const auto host = env.find("VITALS_APP_HOST"); host != env.end())
            spec["host"] = host->second;
        return spec;
    };
    return kind;
}

}  // namespace vitals::checks
