// Which clients see full detail (error text, host names, query text): requests from these
// networks. Default loopback, which is what `kubectl port-forward` traffic is inside the pod.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vitals {

struct Cidr {
    std::array<std::uint8_t, 16> address{};  // IPv4 stored as IPv4-mapped IPv6
    int prefix = 0;                          // in IPv6 bits (IPv4 /8 becomes /104)
    std::string text;

    static std::optional<Cidr> parse(std::string_view text);
};

class TrustedNetworks {
  public:
    TrustedNetworks() = default;
    explicit TrustedNetworks(std::vector<Cidr> networks) : networks_(std::move(networks)) {}
    // `address` is a textual IPv4 or IPv6 address (IPv4-mapped forms count as IPv4).
    bool contains(std::string_view address) const;
    const std::vector<Cidr>& networks() const { return networks_; }

  private:
    std::vector<Cidr> networks_;
};

}  // namespace vitals
