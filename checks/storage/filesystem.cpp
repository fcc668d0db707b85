// storage's filesystem backend: a probe file written, read back and deleted under the path,
// the free space and inodes statvfs reports, and whether the path is a volume at all (on
// the container's own root filesystem, what is written is lost with the pod).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <random>

#include "checks/storage/backends.hpp"

namespace vitals::checks {

namespace {

std::string errno_text(int error) {
    return std::strerror(error);
}

// Writes `content` to `file` (created, never followed through a link), reads it back and
// deletes it; what failed, or nullopt when all of that worked.
std::optional<std::string> write_read_delete(const std::string& file, const std::string& content) {
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
    if (problem.empty()) return std::nullopt;
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
            const auto problem = write_read_delete(path_ + "/" + probe_name_, probe_content());
            result.observe(
                "probe_seconds",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
            if (problem) findings.add(Status::fail, path_ + ": " + *problem);
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

std::unique_ptr<Check> filesystem_check(std::string path, std::string probe_name,
                                        StorageLimits limits) {
    return std::make_unique<FilesystemCheck>(std::move(path), std::move(probe_name), limits);
}

}  // namespace vitals::checks
