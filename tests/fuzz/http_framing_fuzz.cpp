// libFuzzer target: any bytes as what a connection sent. The frame found is always within
// the bytes and the limit, and a complete frame found again in a longer stream is the same.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sidecar/http/framing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    constexpr std::size_t kLimit = 12 * 1024;
    const vitals::Frame f = vitals::frame_request(bytes, kLimit);
    if (f.kind == vitals::Frame::complete) {
        if (f.length == 0 || f.length > bytes.size() || f.length > kLimit) std::abort();
        const vitals::Frame again = vitals::frame_request(bytes.substr(0, f.length), kLimit);
        if (again.kind != vitals::Frame::complete || again.length != f.length) std::abort();
    } else if (f.length != 0) {
        std::abort();
    }
    return 0;
}
