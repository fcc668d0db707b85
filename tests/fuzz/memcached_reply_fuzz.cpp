// libFuzzer target: what a memcached server (or anything on its port) answers to `get` and
// `stats`, through the parsers the memcached check reads it with.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sidecar/clients/memcached_client.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string reply(reinterpret_cast<const char*>(data), size);
    for (const auto& [name, value] : vitals::parse_memcached_stats(reply)) {
        if (name.empty() || name.find(' ') != std::string::npos) std::abort();
    }
    try {
        const auto value = vitals::parse_memcached_get(reply);
        if (value && value->size() > size) std::abort();
    } catch (const vitals::MemcachedError&) {
        // the shape was wrong: said, never a crash
    }
    return 0;
}
