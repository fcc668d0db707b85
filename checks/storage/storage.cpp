// storage: Django's media storage works (the article's health_check.storage). The
// filesystem backend writes a probe file under the path (the MEDIA_ROOT volume), reads it
// back and deletes it, and judges the free space and inodes statvfs reports; a path that is
// on the container's own root filesystem (the volume is not mounted) warns, because what is
// written there is lost with the pod. The s3 backend puts, gets and deletes a small probe
// object in the bucket (django-storages' S3 storage), signed with AWS Signature V4.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include "checks/builtin.hpp"
#include "checks/http_target.hpp"
#include "sidecar/text.hpp"

namespace vitals::checks {

namespace {

struct StorageLimits {
    double free_warn = 0.10;
    double free_fail = 0.05;
    double inodes_warn = 0.10;
    double inodes_fail = 0.05;
    bool probe = true;
    bool expect_mount = true;
};

std::string errno_text(int error) {
    return std::strerror(error);
}

// Writes `content` to `file` (created, never followed through a link), reads it back and
// deletes it; "" when all of that worked, else what failed.
std::string write_read_delete(const std::string& file, const std::string& content) {
    // A probe file an earlier run could not delete is ours (the name holds pod and pid):
    // removed first, or one failed unlink would fail every later run with EEXIST. unlink
    // removes a symlink itself, never what it points to.
    ::unlink(file.c_str());
    const int out =
        ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) return "cannot create a file there: " + errno_text(errno);
    const ssize_t wrote = ::write(out, content.data(), content.size());
    const int write_error = errno;
    const bool synced = ::fsync(out) == 0;
    const int sync_error = errno;
    ::close(out);
    std::string problem;
    if (wrote != static_cast<ssize_t>(content.size()))
        problem = "cannot write a file there: " +
                  (wrote < 0 ? errno_text(write_error) : std::string("short write"));
    else if (!synced)
        problem = "cannot flush a file there: " + errno_text(sync_error);
    if (problem.empty()) {
        const int in = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0) {
            problem = "cannot read back the file written: " + errno_text(errno);
        } else {
            std::string back(content.size() + 1, '\0');
            const ssize_t got = ::read(in, back.data(), back.size());
            ::close(in);
            if (got != static_cast<ssize_t>(content.size()) ||
                back.compare(0, content.size(), content) != 0)
                problem = "the file read back differs from what was written";
        }
    }
    if (::unlink(file.c_str()) != 0 && problem.empty())
        problem = "cannot delete the file written: " + errno_text(errno);
    return problem;
}

class FilesystemCheck final : public Check {
  public:
    FilesystemCheck(std::string path, std::string probe_name, StorageLimits limits)
        : path_(std::move(path)), probe_name_(std::move(probe_name)), limits_(limits) {}

    CheckResult run(const Deadline&) override {
        struct stat st {};
        if (::stat(path_.c_str(), &st) != 0) {
            return verdict(Status::fail, path_ + ": " + errno_text(errno) +
                                             (errno == ENOENT ? " (is the volume mounted?)" : ""));
        }
        if (!S_ISDIR(st.st_mode)) return verdict(Status::fail, path_ + " is not a directory");
        CheckResult result;
        Findings findings;
        struct statvfs vfs {};
        if (::statvfs(path_.c_str(), &vfs) == 0 && vfs.f_blocks > 0) {
            const double block = static_cast<double>(vfs.f_frsize);
            const double size = static_cast<double>(vfs.f_blocks) * block;
            const double free = static_cast<double>(vfs.f_bavail) * block;
            result.observe("size_bytes", size)
                .observe("free_bytes", free)
                .observe("free_ratio", free / size);
            judge_ratio(findings, free / size, limits_.free_warn, limits_.free_fail, "space");
            if (vfs.f_files > 0) {
                const double inodes =
                    static_cast<double>(vfs.f_favail) / static_cast<double>(vfs.f_files);
                result.observe("inodes_free_ratio", inodes);
                judge_ratio(findings, inodes, limits_.inodes_warn, limits_.inodes_fail, "inodes");
            }
            if (vfs.f_flag & ST_RDONLY) findings.add(Status::fail, path_ + " is mounted read-only");
        }
        if (limits_.expect_mount) {
            struct stat root {};
            if (::stat("/", &root) == 0 && root.st_dev == st.st_dev)
                findings.add(Status::warn,
                             path_ +
                                 " is on the container's root filesystem, not a volume: files "
                                 "written there are lost when the pod is replaced");
        }
        if (limits_.probe) {
            const auto started = std::chrono::steady_clock::now();
            const std::string problem =
                write_read_delete(path_ + "/" + probe_name_, probe_content());
            result.observe(
                "probe_seconds",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
            if (!problem.empty()) findings.add(Status::fail, path_ + ": " + problem);
        }
        std::string ok = path_ + (limits_.probe ? " is writable" : " is there");
        for (const Observation& o : result.observations)
            if (o.name == "free_ratio")
                ok += ", " + std::to_string(static_cast<int>(o.value * 100)) + " % free";
        findings.conclude(result, ok);
        return result;
    }

  private:
    void judge_ratio(Findings& findings, double ratio, double warn, double fail,
                     const char* what) const {
        const std::string text = path_ + " has " + std::to_string(static_cast<int>(ratio * 100)) +
                                 " % of its " + what + " free";
        if (ratio < fail)
            findings.add(Status::fail,
                         text + " (under " + std::to_string(static_cast<int>(fail * 100)) + " %)");
        else if (ratio < warn)
            findings.add(Status::warn,
                         text + " (under " + std::to_string(static_cast<int>(warn * 100)) + " %)");
    }

    std::string probe_content() {
        return "vitals storage probe " + std::to_string(++runs_) + " " + std::to_string(random_());
    }

    std::string path_;
    std::string probe_name_;
    StorageLimits limits_;
    std::uint64_t runs_ = 0;
    std::mt19937_64 random_{std::random_device{}()};
};

// S3's error code in an error reply (<Code>NoSuchBucket</Code>), or "".
std::string s3_code(const std::string& body) {
    const auto start = body.find("<Code>");
    const auto end = body.find("</Code>");
    if (start == std::string::npos || end == std::string::npos || end < start) return "";
    return clip_utf8(valid_utf8(body.substr(start + 6, end - start - 6)), 64);
}

struct S3Target {
    Url endpoint;  // https://s3.<region>.amazonaws.com, or an S3-compatible server
    std::string bucket;
    std::string region;
    std::string prefix;
    std::string key_id, secret, session_token;
    std::string ca_file;
};

class S3Check final : public Check {
  public:
    S3Check(S3Target s3, std::string object) : s3_(std::move(s3)), object_(std::move(object)) {}

    CheckResult run(const Deadline& deadline) override {
        const std::string content =
            "vitals storage probe " + std::to_string(++runs_) + " " + std::to_string(random_());
        const auto started = std::chrono::steady_clock::now();
        CheckResult result;
        std::string problem = step("PUT", content, deadline, {200});
        if (problem.empty()) {
            const HttpReply got = request("GET", "", deadline);
            if (!got.ok)
                problem = "GET failed: " + got.error;
            else if (got.status != 200)
                problem = explain("GET", got);
            else if (got.body != content)
                problem = "the object read back differs from what was written";
            // Deleted whatever the read said: nothing is left behind.
            const std::string deleted = step("DELETE", "", deadline, {200, 204});
            if (problem.empty()) problem = deleted;
        }
        result.observe(
            "probe_seconds",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        const std::string where = "s3://" + s3_.bucket + "/" + s3_.prefix;
        Findings findings;
        if (!problem.empty()) findings.add(Status::fail, where + ": " + problem);
        findings.conclude(result, where + " takes a put, get and delete");
        return result;
    }

  private:
    HttpReply request(const std::string& method, const std::string& body,
                      const Deadline& deadline) const {
        HttpTarget t;
        t.url = s3_.endpoint;
        std::string base = t.url.path;
        while (!base.empty() && base.back() == '/')
            base.pop_back();
        t.url.path = base + "/" + s3_.bucket + "/" + s3_.prefix + object_;
        t.url.query.clear();
        t.method = method;
        t.body = body;
        t.aws_sigv4 = "aws:amz:" + s3_.region + ":s3";
        t.aws_key_id = s3_.key_id;
        t.aws_secret = s3_.secret;
        t.ca_file = s3_.ca_file;
        if (!s3_.session_token.empty())
            t.headers.emplace_back("x-amz-security-token", s3_.session_token);
        return http_get(t, deadline, std::size_t{64} * 1024);
    }

    // "" when `method` answered one of `ok`, else what went wrong.
    std::string step(const std::string& method, const std::string& body, const Deadline& deadline,
                     std::initializer_list<int> ok) const {
        const HttpReply reply = request(method, body, deadline);
        if (!reply.ok) return method + " failed: " + reply.error;
        for (const int status : ok)
            if (reply.status == status) return "";
        return explain(method, reply);
    }

    std::string explain(const std::string& method, const HttpReply& reply) const {
        const std::string code = s3_code(reply.body);
        std::string text =
            method + " answered " + std::to_string(reply.status) + (code.empty() ? "" : " " + code);
        if (code == "NoSuchBucket") text += ": the bucket " + s3_.bucket + " does not exist";
        if (reply.status == 403)
            text +=
                ": check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket policy "
                "(s3:PutObject, s3:GetObject, s3:DeleteObject on the prefix)";
        return text;
    }

    S3Target s3_;
    std::string object_;
    std::uint64_t runs_ = 0;
    std::mt19937_64 random_{std::random_device{}()};
};

}  // namespace

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
                throw SettingError(s.bucket.key, "must be a bucket name");
            for (const std::string& r : {ctx.params.has(s.region) ? ctx.params.str(s.region) : "",
                                         env("AWS_S3_REGION_NAME"), env("AWS_REGION"),
                                         env("AWS_DEFAULT_REGION"), std::string("us-east-1")})
                if (s3.region.empty()) s3.region = r;
            s3.endpoint = ctx.params.has(s.endpoint)
                              ? ctx.params.url(s.endpoint)
                              : *parse_url("https://s3." + s3.region + ".amazonaws.com/").url;
            if (s3.endpoint.scheme != "http" && s3.endpoint.scheme != "https")
                throw SettingError(s.endpoint.key, "must be an http:// or https:// URL");
            s3.prefix = ctx.params.str(s.prefix);
            s3.key_id = env("AWS_ACCESS_KEY_ID");
            s3.secret = env("AWS_SECRET_ACCESS_KEY");
            s3.session_token = env("AWS_SESSION_TOKEN");
            if (s3.key_id.empty() || s3.secret.empty())
                throw SettingError(s.bucket.key,
                                   "needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the "
                                   "environment");
            const Setting& ca = http_target_settings().ca_file;
            if (ctx.params.has(ca)) {
                s3.ca_file = ctx.params.str(ca);
                if (::access(s3.ca_file.c_str(), R_OK) != 0)
                    throw SettingError(ca.key, "cannot read " + s3.ca_file);
            }
            return std::make_unique<S3Check>(std::move(s3), object);
        }
        StorageLimits limits;
        limits.probe = ctx.params.boolean(s.probe);
        limits.free_warn = ctx.params.number(s.free_warn);
        limits.free_fail = ctx.params.number(s.free_fail);
        limits.inodes_warn = ctx.params.number(s.inodes_warn);
        limits.inodes_fail = ctx.params.number(s.inodes_fail);
        limits.expect_mount = ctx.params.boolean(s.expect_mount);
        if (limits.free_fail > limits.free_warn)
            throw SettingError(s.free_fail.key, "must not be above free_warn");
        if (limits.inodes_fail > limits.inodes_warn)
            throw SettingError(s.inodes_fail.key, "must not be above inodes_warn");
        std::string path = ctx.params.str(s.path);
        if (path.empty() || path[0] != '/')
            throw SettingError(s.path.key, "must be an absolute path");
        while (path.size() > 1 && path.back() == '/')
            path.pop_back();
        return std::make_unique<FilesystemCheck>(path, ".vitals-probe-" + object, limits);
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
