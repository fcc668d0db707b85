// libFuzzer target: the text of /proc/net/tcp or /proc/net/tcp6, which the gunicorn check
// parses for the accept backlog of the app's listen socket.
#include <cstdint>
#include <string_view>

#include "checks/gunicorn/accept_backlog.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)vitals::parse_proc_net_tcp(text);
    return 0;
}
