// S3Server: s3rver, an S3-compatible server from the npm registry (Debian packages none),
// which scripts/install-deps installs under /opt/vitals/s3rver.
#include "support/servers.hpp"
#include "support/servers_internal.hpp"

#include <signal.h>

#include <cstdlib>
#include <stdexcept>

#include "support/net_fixtures.hpp"

namespace vitals::testing {

namespace {

std::string s3rver_binary() {
    const char* from_env = std::getenv("VITALS_S3RVER");
    return from_env != nullptr ? from_env : "/opt/vitals/s3rver/node_modules/.bin/s3rver";
}

}  // namespace

S3Server::S3Server(const std::string& bucket) : port_(closed_port()), dir_(temp_dir("s3")) {
    pid_ = spawn_group(
        {s3rver_binary(), "--directory", dir_ + "/data", "--port", std::to_string(port_),
         "--address", "127.0.0.1", "--configure-bucket", bucket, "--silent"},
        {}, dir_ + "/s3rver.log");
    if (!wait_until([&] { return RawClient(port_).connected(); }, std::chrono::seconds(20))) {
        kill_group(pid_, SIGKILL);
        throw std::runtime_error("s3rver did not start (scripts/install-deps installs it); see " +
                                 dir_ + "/s3rver.log");
    }
}

S3Server::~S3Server() {
    kill_group(pid_, SIGKILL);
    shell("rm -rf '" + dir_ + "'");
}

std::string S3Server::url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/";
}

}  // namespace vitals::testing
