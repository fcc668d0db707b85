#pragma once

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
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

inline std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file(const std::string& path, const std::string& contents) {
    std::ofstream(path, std::ios::trunc) << contents;
}

}  // namespace vitals::testing
