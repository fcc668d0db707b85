// Redis Cluster's key slots, against the values Redis itself gives (CLUSTER KEYSLOT).
#include <catch2/catch.hpp>

#include "checks/redis/cluster.hpp"

using namespace vitals::checks;

TEST_CASE("key slots are Redis Cluster's, hash tags included", "[redis][cluster]") {
    // The CRC16 reference vector of the cluster specification: 0x31C3 for "123456789".
    CHECK(key_slot("123456789") == 0x31C3 % 16384);
    CHECK(key_slot("foo") == 12182);  // CLUSTER KEYSLOT foo
    CHECK(key_slot("{user1000}.following") == key_slot("user1000"));
    CHECK(key_slot("foo{}{bar}") == key_slot("foo{}{bar}"));  // an empty tag: the whole key
    CHECK(key_slot("foo{}{bar}") != key_slot("bar"));
}

TEST_CASE("a key is found in whichever slots a node owns", "[redis][cluster]") {
    for (const SlotRange& range :
         {SlotRange{0, 0}, SlotRange{8192, 16383}, SlotRange{16383, 16383}}) {
        const auto key = key_in_slots("vitals:probe:web-1", {range});
        REQUIRE(key);
        CHECK(key->rfind("vitals:probe:web-1{", 0) == 0);
        const int slot = key_slot(*key);
        CHECK(slot >= range.first);
        CHECK(slot <= range.second);
    }
    CHECK_FALSE(key_in_slots("k", {}));
    // A brace in the base cannot steal the tag.
    const auto braced = key_in_slots("pod{x}", {{100, 100}});
    REQUIRE(braced);
    CHECK(key_slot(*braced) == 100);
}

TEST_CASE("MOVED and ASK are redirects, other errors are not", "[redis][cluster]") {
    CHECK(is_redirect("SET: MOVED 12427 10.0.0.2:6379"));
    CHECK(is_redirect("GET: ASK 3999 10.0.0.3:6379"));
    CHECK_FALSE(is_redirect("SET: OOM command not allowed when used memory > 'maxmemory'"));
}
