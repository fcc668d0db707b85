#include "sidecar/config/trust.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace vitals {

namespace {

std::optional<std::array<std::uint8_t, 16>> parse_address(std::string_view text, bool* is_v4) {
    char buf[INET6_ADDRSTRLEN + 1];
    if (text.size() >= sizeof(buf)) return std::nullopt;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    std::array<std::uint8_t, 16> out{};
    in_addr v4{};
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        out[10] = 0xff;
        out[11] = 0xff;
        std::memcpy(out.data() + 12, &v4, 4);
        *is_v4 = true;
        return out;
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, buf, &v6) == 1) {
        std::memcpy(out.data(), &v6, 16);
        *is_v4 = false;
        return out;
    }
    return std::nullopt;
}

bool prefix_matches(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b,
                    int prefix) {
    int i = 0;
    for (; prefix >= 8; prefix -= 8, ++i) {
        if (a[i] != b[i]) return false;
    }
    if (prefix == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - prefix));
    return (a[i] & mask) == (b[i] & mask);
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
    const auto slash = text.find('/');
    bool v4 = false;
    auto address = parse_address(text.substr(0, slash), &v4);
    if (!address) return std::nullopt;
    const int max_bits = v4 ? 32 : 128;
    int bits = max_bits;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        if (digits.empty() || digits.size() > 3) return std::nullopt;
        bits = 0;
        for (char c : digits) {
            if (c < '0' || c > '9') return std::nullopt;
            bits = bits * 10 + (c - '0');
        }
        if (bits > max_bits) return std::nullopt;
    }
    Cidr cidr;
    cidr.address = *address;
    cidr.prefix = v4 ? bits + 96 : bits;
    cidr.text = std::string(text);
    return cidr;
}

bool TrustedNetworks::contains(std::string_view address) const {
    bool v4 = false;
    const auto parsed = parse_address(address, &v4);
    if (!parsed) return false;
    for (const Cidr& net : networks_) {
        if (prefix_matches(*parsed, net.address, net.prefix)) return true;
    }
    return false;
}

}  // namespace vitals
