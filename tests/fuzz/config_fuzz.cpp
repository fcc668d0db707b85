// libFuzzer target: the configuration file, through the whole loader (settings tables, every
// check kind's factory). Bad input must come back as listed errors, never as a crash or an
// exception, and no error may repeat a password from the environment's URLs.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "checks/builtin.hpp"
#include "sidecar/config/config.hpp"
#include "sidecar/core/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const vitals::Registry registry = vitals::builtin_registry();
    static const std::string path = "/tmp/vitals-config-fuzz-" + std::to_string(::getpid());
    static const vitals::Environment env = {
        {"DATABASE_URL", "postgres://shop:fuzz-secret-1@127.0.0.1:1/shop"},
        {"REDIS_URL", "redis://:fuzz-secret-2@127.0.0.1:1/0"},
        {"HOSTNAME", "fuzz"},
    };
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return 0;
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    const vitals::ConfigLoad load = vitals::load_config(env, path, registry);
    if (!load.config && load.errors.empty()) std::abort();  // refused without saying why
    // A secret of the environment's must not show; nor may a password written in the file
    // surface through the JSON parser's quote of what it last read.
    const std::string input(reinterpret_cast<const char*>(data), size);
    for (const auto& e : load.errors) {
        const std::string text = e.where + " " + e.pointer + " " + e.message;
        if (input.find("fuzz-secret") == std::string::npos &&
            text.find("fuzz-secret") != std::string::npos)
            std::abort();
        if (input.find("last read") == std::string::npos &&
            text.find("last read") != std::string::npos)
            std::abort();  // the parser's quote of the file came through
    }
    if (load.config && load.config->describe().dump().find("fuzz-secret") != std::string::npos)
        std::abort();  // --check-config would print a password
    return 0;
}
