#include "checks/redis/cluster.hpp"

#include <cstdint>

namespace vitals::checks {

namespace {

std::uint16_t crc16_xmodem(std::string_view data) {
    std::uint16_t crc = 0;
    for (const char c : data) {
        crc ^= static_cast<std::uint16_t>(static_cast<unsigned char>(c) << 8);
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc & 0x8000) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                                      : static_cast<std::uint16_t>(crc << 1);
    }
    return crc;
}

}  // namespace

int key_slot(std::string_view key) {
    const auto open = key.find('{');
    if (open != std::string_view::npos) {
        const auto close = key.find('}', open + 1);
        if (close != std::string_view::npos && close > open + 1)
            key = key.substr(open + 1, close - open - 1);
    }
    return crc16_xmodem(key) % 16384;
}

std::optional<std::string> key_in_slots(const std::string& base,
                                        const std::vector<SlotRange>& owned) {
    if (owned.empty()) return std::nullopt;
    std::string plain = base;  // a brace in the base would make its own hash tag
    for (char& c : plain)
        if (c == '{' || c == '}') c = '_';
    // A node owns at least one slot of 16384: some tag below a few hundred thousand hits it.
    for (int tag = 0; tag < 1'000'000; ++tag) {
        const std::string text = std::to_string(tag);
        const int slot = key_slot(text);
        for (const auto& [first, last] : owned)
            if (slot >= first && slot <= last) return plain.append("{").append(text).append("}");
    }
    return std::nullopt;
}

bool is_redirect(std::string_view error) {
    return error.find("MOVED ") != std::string_view::npos ||
           error.find("ASK ") != std::string_view::npos;
}

}  // namespace vitals::checks
