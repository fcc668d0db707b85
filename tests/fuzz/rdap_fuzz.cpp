// libFuzzer target: any bytes as a registry's RDAP answer, IANA's bootstrap file and the saved
// state (they come from any registry, any server it redirects to, a proxy, or the disk).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "checks/domain/judge.hpp"
#include "sidecar/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const nlohmann::json j = vitals::parse_json(text);
    if (j.is_discarded()) return 0;
    std::string error;
    if (const auto record = vitals::parse_domain_record(j, error)) {
        (void)vitals::domain_changes(*record, *record, 0);
        if (record->registrar.size() > 4096) std::abort();
    }
    (void)vitals::rdap_bases(j, "shop.example.com");
    const vitals::DomainState state = vitals::domain_state_from_json(j, "shop.example.com");
    (void)vitals::to_json(state).dump();  // no recursion past the parser's depth bound
    return 0;
}
