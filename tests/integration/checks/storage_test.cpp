// The storage kind's filesystem backend against real filesystems: a directory, a full tmpfs
// and a read-only mount (root, as CI runs), and paths that are not there.
#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include "checks/builtin.hpp"
#include "support/make_check.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<Check> storage_check(const nlohmann::json& settings, const Environment& env = {}) {
    return make_check("storage", settings, env);
}

// A tmpfs of `size` mounted on a fresh directory, in a mount namespace of this thread only
// (the check runs on it, and the shell commands it starts inherit it), so nothing is left
// mounted on the machine whatever happens; unmounted and removed at the end.
struct Tmpfs {
    std::string dir = make_temp_dir("media");
    explicit Tmpfs(const std::string& size, const std::string& extra = "") {
        if (::unshare(CLONE_NEWNS) != 0 ||
            ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
            throw std::runtime_error("cannot make a mount namespace (root needed)");
        if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + size + extra).c_str()) != 0)
            throw std::runtime_error("cannot mount a tmpfs (root needed)");
    }
    ~Tmpfs() {
        ::umount2(dir.c_str(), MNT_DETACH);
        ::rmdir(dir.c_str());
    }
};

}  // namespace

TEST_CASE("storage: a mounted volume with room is writable, and the probe leaves nothing",
          "[storage]") {
    REQUIRE(::geteuid() == 0);
    Tmpfs media("8m");
    const CheckResult r = storage_check({{"path", media.dir}})->run(Deadline::in(2s));
    INFO(r.message);
    CHECK(r.status == Status::ok);
    CHECK(r.message.find(media.dir + " is writable") == 0);
    CHECK(observed(r, "size_bytes") == 8 * 1024 * 1024);
    CHECK(observed(r, "free_ratio") > 0.99);
    CHECK(observed(r, "inodes_free_ratio") > 0.9);
    CHECK(observed(r, "probe_seconds") < 1);
    CHECK(capture("ls -A '" + media.dir + "'").empty());  // the probe file is gone
    // A probe file an earlier run left behind (its delete failed) does not fail later runs.
    const auto again = storage_check({{"path", media.dir}}, {{"HOSTNAME", "web-1"}});
    REQUIRE(shell("touch '" + media.dir + "/.vitals-probe-web-1-" + std::to_string(::getpid()) +
                  "'") == 0);
    CHECK(again->run(Deadline::in(2s)).status == Status::ok);
    CHECK(capture("ls -A '" + media.dir + "'").empty());
}

TEST_CASE("storage: filling the volume warns, then fails, and a read-only mount fails",
          "[storage]") {
    REQUIRE(::geteuid() == 0);
    Tmpfs media("10m");
    const auto check = storage_check({{"path", media.dir}});
    REQUIRE(shell("head -c 9600000 /dev/zero > '" + media.dir + "/upload.bin'") == 0);
    CheckResult r = check->run(Deadline::in(2s));
    CHECK(r.status == Status::warn);
    CHECK(r.message.find("% of its space free (under 10 %)") != std::string::npos);
    REQUIRE(shell("head -c 500000 /dev/zero >> '" + media.dir + "/upload.bin'") == 0);
    r = check->run(Deadline::in(2s));
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("(under 5 %)") != std::string::npos);
    // Completely full: the probe itself cannot write, and says why.
    shell("cat /dev/zero >> '" + media.dir + "/upload.bin' 2>/dev/null");
    r = check->run(Deadline::in(2s));
    CHECK(r.status == Status::fail);
    CHECK(r.details.dump().find("No space left on device") != std::string::npos);
    REQUIRE(shell("rm '" + media.dir + "/upload.bin'") == 0);
    CHECK(check->run(Deadline::in(2s)).status == Status::ok);
    // Remounted read-only, as a volume whose disk went bad is.
    REQUIRE(::mount("tmpfs", media.dir.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) == 0);
    r = check->run(Deadline::in(2s));
    CHECK(r.status == Status::fail);
    CHECK(r.details.dump().find("mounted read-only") != std::string::npos);
}

TEST_CASE("storage: out of inodes fails even with space free", "[storage]") {
    REQUIRE(::geteuid() == 0);
    Tmpfs media("8m", ",nr_inodes=40");
    const auto check = storage_check({{"path", media.dir}});
    shell("cd '" + media.dir + "' && for i in $(seq 1 60); do touch f$i 2>/dev/null; done");
    const CheckResult r = check->run(Deadline::in(2s));
    INFO(r.message << " " << r.details.dump());
    CHECK(r.status == Status::fail);
    CHECK(r.details.dump().find("inodes free") != std::string::npos);
    CHECK(observed(r, "free_ratio") > 0.9);
}

TEST_CASE("storage: a path on the root filesystem warns, a missing one fails, settings checked",
          "[storage]") {
    const std::string dir = make_temp_dir("not-a-volume");  // under /tmp: the root filesystem?
    const bool on_root = capture("stat -c %d / '" + dir + "' | uniq | wc -l") == "1";
    const CheckResult r = storage_check({{"path", dir}})->run(Deadline::in(2s));
    if (on_root) {
        CHECK(r.status == Status::warn);
        CHECK(r.message.find("not a volume") != std::string::npos);
        CHECK(
            storage_check({{"path", dir}, {"expect_mount", false}})->run(Deadline::in(2s)).status ==
            Status::ok);
    } else {
        CHECK(r.status == Status::ok);
    }
    const CheckResult missing = storage_check({{"path", dir + "/media"}})->run(Deadline::in(2s));
    CHECK(missing.status == Status::fail);
    CHECK(missing.message.find("No such file or directory (is the volume mounted?)") !=
          std::string::npos);
    shell("touch '" + dir + "/file'");
    CHECK(storage_check({{"path", dir + "/file"}})->run(Deadline::in(2s)).message ==
          dir + "/file is not a directory");
    CHECK_THROWS_WITH(storage_check({{"path", "media"}}), Catch::Contains("absolute path"));
    CHECK_THROWS_WITH(storage_check({{"path", dir}, {"free_warn", 0.01}}),
                      Catch::Contains("must not be above free_warn"));
    shell("rm -rf '" + dir + "'");
}

TEST_CASE("storage: an S3 bucket takes a signed put, get and delete, and a wrong key fails",
          "[storage][s3]") {
    S3Server s3("media");
    const Environment env = {{"AWS_ACCESS_KEY_ID", "S3RVER"},
                             {"AWS_SECRET_ACCESS_KEY", "S3RVER"},
                             {"HOSTNAME", "web-7d9f"}};
    const auto check = make_check("storage", {{"bucket", "media"}, {"endpoint", s3.url()}}, env);
    const CheckResult r = check->run(Deadline::in(5s));
    INFO(r.message);
    CHECK(r.status == Status::ok);
    CHECK(r.message == "s3://media/vitals-probe/ takes a put, get and delete");
    CHECK(observed(r, "probe_seconds") < 5);
    // Nothing left behind in the bucket: s3rver keeps objects as files.
    CHECK(capture("find '" + s3.directory() + "/media' -type f -name '*web-7d9f*' | wc -l") == "0");
    CHECK(r.message.find("S3RVER") == std::string::npos);

    // A bucket that is not there.
    const CheckResult missing =
        make_check("storage", {{"bucket", "uploads"}, {"endpoint", s3.url()}}, env)
            ->run(Deadline::in(5s));
    CHECK(missing.status == Status::fail);
    CHECK(missing.message.find("PUT answered 404 NoSuchBucket: the bucket uploads does not "
                               "exist") != std::string::npos);
    // A key the server does not know: 403, and what to check; the secret printed nowhere.
    Environment wrong = env;
    wrong["AWS_ACCESS_KEY_ID"] = "AKIAWRONG";
    wrong["AWS_SECRET_ACCESS_KEY"] = "wrong-secret-value";
    const CheckResult denied =
        make_check("storage", {{"bucket", "media"}, {"endpoint", s3.url()}}, wrong)
            ->run(Deadline::in(5s));
    CHECK(denied.status == Status::fail);
    CHECK(denied.message.find("PUT answered 403 InvalidAccessKeyId") != std::string::npos);
    CHECK(denied.message.find("wrong-secret-value") == std::string::npos);
    CHECK(denied.details.dump().find("wrong-secret-value") == std::string::npos);
    // No credentials, or both backends at once: the configuration says so.
    CHECK_THROWS_WITH(make_check("storage", {{"bucket", "media"}}),
                      Catch::Contains("AWS_ACCESS_KEY_ID"));
    CHECK_THROWS_WITH(make_check("storage", {{"bucket", "media"}, {"path", "/tmp"}}, env),
                      Catch::Contains("exactly one of path"));
}

TEST_CASE("storage: the environment enables it only where the backend is unambiguous",
          "[storage]") {
    const Registry registry = builtin_registry();
    const auto& from_env = registry.find("storage")->from_env;
    CHECK(!from_env({}));
    CHECK(*from_env({{"MEDIA_ROOT", "/app/media"}}) == nlohmann::json{{"path", "/app/media"}});
    CHECK(*from_env({{"AWS_STORAGE_BUCKET_NAME", "shop-media"},
                     {"AWS_S3_ENDPOINT_URL", "https://minio:9000"}}) ==
          nlohmann::json{{"bucket", "shop-media"}, {"endpoint", "https://minio:9000"}});
    // Both: which one Django uses is in settings.py, not the environment.
    CHECK(!from_env({{"MEDIA_ROOT", "/app/media"}, {"AWS_STORAGE_BUCKET_NAME", "shop-media"}}));
    CHECK(*from_env({{"VITALS_MEDIA_ROOT", "/data"}, {"AWS_STORAGE_BUCKET_NAME", "b"}}) ==
          nlohmann::json{{"path", "/data"}});
}
