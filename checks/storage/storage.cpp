// storage: Django's media storage works (the article's health_check.storage). The
// filesystem backend writes a probe file under the path (the MEDIA_ROOT volume), reads it
// back and deletes it, and judges the free space and inodes statvfs reports; a path that is
// on the container's own root filesystem (the volume is not mounted) warns, because what is
// written there is lost with the pod. The s3 backend puts, gets and deletes a small probe
// object in the bucket (django-storages' S3 storage), signed with AWS Signature V4.
#include <unistd.h>

#include "checks/builtin.hpp"
#include "checks/http_target.hpp"
#include "checks/storage/backends.hpp"

namespace vitals::checks {

// The storage kind's settings, each declared once: the table lists these members and the
// factory reads its values through them.
struct StorageSettings {
    Setting path = Setting::of("path", SettingType::string,
                               "filesystem: the directory media files go to (MEDIA_ROOT)");
    Setting bucket =
        Setting::of("bucket", SettingType::string, "s3: the bucket (AWS_STORAGE_BUCKET_NAME)");
    Setting endpoint = Setting::of("endpoint", SettingType::url,
                                   "s3: an S3-compatible server (AWS_S3_ENDPOINT_URL); default "
                                   "AWS's regional endpoint");
    Setting region = Setting::of("region", SettingType::string,
                                 "s3: the bucket's region; default AWS_S3_REGION_NAME, "
                                 "AWS_REGION, AWS_DEFAULT_REGION, else us-east-1");
    Setting prefix =
        Setting::of("prefix", SettingType::string, "s3: where the probe object goes in the bucket")
            .defaults("vitals-probe/");
    Setting probe = Setting::of("probe", SettingType::boolean,
                                "write, read back and delete a small file every run")
                        .defaults(true);
    Setting free_warn =
        Setting::of("free_warn", SettingType::number, "free space share: warn under")
            .defaults(0.10)
            .range(0, 1);
    Setting free_fail =
        Setting::of("free_fail", SettingType::number, "free space share: fail under")
            .defaults(0.05)
            .range(0, 1);
    Setting inodes_warn =
        Setting::of("inodes_warn", SettingType::number, "free inode share: warn under")
            .defaults(0.10)
            .range(0, 1);
    Setting inodes_fail =
        Setting::of("inodes_fail", SettingType::number, "free inode share: fail under")
            .defaults(0.05)
            .range(0, 1);
    Setting expect_mount = Setting::of("expect_mount", SettingType::boolean,
                                       "warn when the path is on the container's root filesystem")
                               .defaults(true);
    SettingsTable table() const {
        return {path,        probe,       free_warn,    free_fail,
                inodes_warn, inodes_fail, expect_mount, bucket,
                endpoint,    region,      prefix,       http_target_settings().ca_file};
    }
};

CheckKind storage_kind() {
    static const StorageSettings s;
    CheckKind kind;
    kind.name = "storage";
    kind.summary = "media storage: a file is written, read back and deleted; free space and inodes";
    kind.about = About::reach;  // what this pod reaches
    kind.default_groups = {};
    // A write, a read and a delete each run (three billed requests on S3): once a minute
    // catches a full or lost volume soon enough.
    kind.default_interval = "1m";
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::gauge("free_ratio", U::ratio, "Share of the filesystem's space free for vitals' user.")
            .headline(),
        O::gauge("free_bytes", U::bytes, "Space free for vitals' user."),
        O::gauge("size_bytes", U::bytes, "Size of the filesystem."),
        O::gauge("inodes_free_ratio", U::ratio, "Share of the filesystem's inodes free."),
        O::gauge("probe_seconds", U::seconds, "Time to write, read back and delete the probe file.")
            .headline(),
    };
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        const auto env = [&](const char* name) {
            const auto it = ctx.env.find(name);
            return it == ctx.env.end() ? std::string() : it->second;
        };
        const std::string pod = ctx.pod_name();
        const std::string object = pod + "-" + std::to_string(::getpid());
        if (ctx.params.has(s.path) == ctx.params.has(s.bucket))
            throw SettingError(s.path.key, "give exactly one of path (filesystem) and bucket (s3)");
        if (ctx.params.has(s.bucket)) {
            S3Target s3;
            s3.bucket = ctx.params.str(s.bucket);
            if (s3.bucket.empty() || s3.bucket.find('/') != std::string::npos)
                ctx.refuse(s.bucket.key, "must be a bucket name");
            for (const std::string& r : {ctx.params.has(s.region) ? ctx.params.str(s.region) : "",
                                         env("AWS_S3_REGION_NAME"), env("AWS_REGION"),
                                         env("AWS_DEFAULT_REGION"), std::string("us-east-1")})
                if (s3.region.empty()) s3.region = r;
            s3.endpoint = ctx.params.has(s.endpoint)
                              ? ctx.params.url(s.endpoint)
                              : *parse_url("https://s3." + s3.region + ".amazonaws.com/");
            if (s3.endpoint.scheme != "http" && s3.endpoint.scheme != "https")
                ctx.refuse(s.endpoint.key, "must be an http:// or https:// URL");
            s3.prefix = ctx.params.str(s.prefix);
            s3.key_id = env("AWS_ACCESS_KEY_ID");
            s3.secret = env("AWS_SECRET_ACCESS_KEY");
            s3.session_token = env("AWS_SESSION_TOKEN");
            if (s3.key_id.empty() || s3.secret.empty())
                ctx.refuse(s.bucket.key,
                           "needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the "
                           "environment");
            const Setting& ca = http_target_settings().ca_file;
            if (ctx.params.has(ca)) {
                s3.ca_file = ctx.params.str(ca);
                if (::access(s3.ca_file.c_str(), R_OK) != 0)
                    ctx.refuse(ca.key, "cannot read " + s3.ca_file);
            }
            return s3_check(std::move(s3), object);
        }
        StorageLimits limits;
        limits.probe = ctx.params.boolean(s.probe);
        limits.free_warn = ctx.params.number(s.free_warn);
        limits.free_fail = ctx.params.number(s.free_fail);
        limits.inodes_warn = ctx.params.number(s.inodes_warn);
        limits.inodes_fail = ctx.params.number(s.inodes_fail);
        limits.expect_mount = ctx.params.boolean(s.expect_mount);
        if (limits.free_fail > limits.free_warn)
            ctx.refuse(s.free_fail.key, "must not be above free_warn");
        if (limits.inodes_fail > limits.inodes_warn)
            ctx.refuse(s.inodes_fail.key, "must not be above inodes_warn");
        std::string path = ctx.params.str(s.path);
        if (path.empty() || path[0] != '/')
            throw SettingError(s.path.key, "must be an absolute path");
        while (path.size() > 1 && path.back() == '/')
            path.pop_back();
        return filesystem_check(path, ".vitals-probe-" + object, limits);
    };
    // Only where it is unambiguous: VITALS_MEDIA_ROOT says so; a bucket or a MEDIA_ROOT
    // alone; never a guess between the two.
    kind.from_env = [](const Environment& env) -> std::optional<nlohmann::json> {
        const auto value = [&](const char* name) {
            const auto it = env.find(name);
            return it == env.end() ? std::string() : it->second;
        };
        if (!value("VITALS_MEDIA_ROOT").empty())
            return nlohmann::json{{"path", value("VITALS_MEDIA_ROOT")}};
        const std::string bucket = value("AWS_STORAGE_BUCKET_NAME");
        const std::string media = value("MEDIA_ROOT");
        if (!bucket.empty() && media.empty()) {
            nlohmann::json spec = {{"bucket", bucket}};
            if (!value("AWS_S3_ENDPOINT_URL").empty())
                spec["endpoint"] = value("AWS_S3_ENDPOINT_URL");
            return spec;
        }
        if (!media.empty() && bucket.empty()) return nlohmann::json{{"path", media}};
        return std::nullopt;
    };
    return kind;
}

}  // namespace vitals::checks
