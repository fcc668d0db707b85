// The storage kind's two backends, each a Check: a directory on a filesystem (the MEDIA_ROOT
// volume) and an S3 bucket (django-storages). storage.cpp reads the settings and picks one.
#pragma once

#include <memory>
#include <string>

#include "sidecar/core/check.hpp"
#include "sidecar/url.hpp"

namespace vitals::checks {

// What the filesystem backend judges by, read from the kind's settings (whose declarations
// hold the defaults).
struct StorageLimits {
    double free_warn = 0;
    double free_fail = 0;
    double inodes_warn = 0;
    double inodes_fail = 0;
    bool probe = false;         // write, read back and delete a file each run
    bool expect_mount = false;  // warn when the path is on the container's root filesystem
};

struct S3Target {
    Url endpoint;  // https://s3.<region>.amazonaws.com, or an S3-compatible server
    std::string bucket;
    std::string region;
    std::string prefix;
    std::string key_id, secret, session_token;
    std::string ca_file;
};

// Writes, reads back and deletes `probe_name` under `path` each run, and judges the free
// space and inodes statvfs reports.
std::unique_ptr<Check> filesystem_check(std::string path, std::string probe_name,
                                        StorageLimits limits);

// Puts, gets and deletes `object` under the target's prefix each run, signed with SigV4.
std::unique_ptr<Check> s3_check(S3Target s3, std::string object);

}  // namespace vitals::checks
