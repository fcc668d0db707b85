#include <catch2/catch.hpp>

#include "sidecar/config/trust.hpp"

using vitals::Cidr;
using vitals::TrustedNetworks;

TEST_CASE("CIDR parsing accepts IPv4 and IPv6 networks and rejects the rest", "[trust]") {
    CHECK(Cidr::parse("127.0.0.0/8"));
    CHECK(Cidr::parse("10.1.2.3"));
    CHECK(Cidr::parse("::1/128"));
    CHECK(Cidr::parse("fd00::/8"));
    for (const char* bad :
         {"", "127.0.0.0/33", "::1/129", "localhost", "10.0.0.0/", "10.0.0.0/8x", "300.1.1.1/8"}) {
        INFO(bad);
        CHECK_FALSE(Cidr::parse(bad));
    }
}

TEST_CASE("trusted networks match addresses by prefix", "[trust]") {
    const TrustedNetworks trusted(
        {*Cidr::parse("127.0.0.1/32"), *Cidr::parse("10.0.0.0/12"), *Cidr::parse("::1/128")});
    CHECK(trusted.contains("127.0.0.1"));
    CHECK_FALSE(trusted.contains("127.0.0.2"));
    CHECK(trusted.contains("10.15.255.255"));
    CHECK_FALSE(trusted.contains("10.16.0.0"));
    CHECK(trusted.contains("::1"));
    CHECK(trusted.contains("::ffff:127.0.0.1"));  // IPv4-mapped counts as IPv4
    CHECK_FALSE(trusted.contains("::2"));
    CHECK_FALSE(trusted.contains("garbage"));
}

TEST_CASE("no trusted networks trusts nobody, /0 trusts every address of its family", "[trust]") {
    CHECK_FALSE(TrustedNetworks().contains("127.0.0.1"));
    const TrustedNetworks all_v4({*Cidr::parse("0.0.0.0/0")});
    CHECK(all_v4.contains("203.0.113.9"));
    CHECK_FALSE(all_v4.contains("2001:db8::1"));
}
