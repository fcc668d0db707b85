#pragma once

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace vitals::testing {

// A file with the given contents, removed when the object goes.
class TempFile {
  public:
    explicit TempFile(const std::string& contents, const std::string& suffix = ".json") {
        std::string pattern = "/tmp/vitals-test-XXXXXX" + suffix;
        const int fd = ::mkstemps(pattern.data(), static_cast<int>(suffix.size()));
        ::close(fd);
        path_ = pattern;
        std::ofstream(path_) << contents;
    }
    ~TempFile() { std::remove(path_.c_str()); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

}  // namespace vitals::testing
