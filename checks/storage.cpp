// storage: Django's media storage works (the article's health_check.storage). The
// filesystem backend writes a probe file under the path (the MEDIA_ROOT volume), reads it
// back and deletes it, and judges the free space and inodes statvfs reports; a path that is
// on the container's own root filesystem (the volume is not mounted) warns, because what is
// written there is lost with the pod.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include "checks/builtin.hpp"

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
            return CheckResult::fail(path_ + ": " + errno_text(errno) +
                                     (errno == ENOENT ? " (is the volume mounted?)" : ""));
        }
        if (!S_ISDIR(st.st_mode)) return CheckResult::fail(path_ + " is not a directory");
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

}  // namespace

// The storage kind's settings, each declared once: the table lists these members and the
// factory reads its values through them.
struct StorageSettings {
    Setting path = Setting::of("path", SettingType::string,
                               "the directory media files go to (MEDIA_ROOT, a mounted volume)")
                       .required();
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
        return {path, probe, free_warn, free_fail, inodes_warn, inodes_fail, expect_mount};
    }
};

CheckKind storage_kind() {
    static const StorageSettings s;
    CheckKind kind;
    kind.name = "storage";
    kind.summary = "media storage: a file is written, read back and deleted; free space and inodes";
    kind.default_groups = {};
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
        const auto host = ctx.env.find("HOSTNAME");
        const std::string pod =
            host != ctx.env.end() && !host->second.empty() ? host->second : "vitals";
        return std::make_unique<FilesystemCheck>(
            path, ".vitals-probe-" + pod + "-" + std::to_string(::getpid()), limits);
    };
    kind.from_env = [](const Environment& env) -> std::optional<nlohmann::json> {
        for (const char* name : {"VITALS_MEDIA_ROOT", "MEDIA_ROOT"}) {
            const auto it = env.find(name);
            if (it != env.end() && !it->second.empty()) return nlohmann::json{{"path", it->second}};
        }
        return std::nullopt;
    };
    return kind;
}

}  // namespace vitals::checks
