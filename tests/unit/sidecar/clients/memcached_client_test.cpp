// memcached's text-protocol replies, parsed without a server: the shapes the server sends
// and the ones a broken peer might.
#include <catch2/catch.hpp>

#include "sidecar/clients/memcached_client.hpp"
#include "sidecar/url.hpp"

using namespace vitals;

TEST_CASE("memcached stats: STAT lines become name -> value, anything else is skipped",
          "[memcached]") {
    const auto stats = parse_memcached_stats(
        "STAT pid 7\r\nSTAT version 1.6.18\r\nSTAT limit_maxbytes 67108864\r\n"
        "garbage\r\nSTAT \r\nSTAT lonely\r\nEND\r\n");
    CHECK(stats == std::map<std::string, std::string>{
                       {"pid", "7"}, {"version", "1.6.18"}, {"limit_maxbytes", "67108864"}});
    CHECK(parse_memcached_stats("").empty());
}

TEST_CASE("memcached get: a value, a miss, and replies that lie about their length",
          "[memcached]") {
    CHECK(parse_memcached_get("VALUE k 0 5\r\nhello\r\nEND\r\n") ==
          std::optional<std::string>("hello"));
    CHECK(parse_memcached_get("VALUE k 0 0\r\n\r\nEND\r\n") == std::optional<std::string>(""));
    CHECK_FALSE(parse_memcached_get("END\r\n"));
    CHECK_THROWS_AS(parse_memcached_get("VALUE k 0 50\r\nhello\r\nEND\r\n"), MemcachedError);
    CHECK_THROWS_AS(parse_memcached_get("VALUE k 0 18446744073709551615\r\nx\r\nEND\r\n"),
                    MemcachedError);
    CHECK_THROWS_AS(parse_memcached_get("VALUE k zero 5\r\nhello\r\nEND\r\n"), MemcachedError);
    CHECK_THROWS_AS(parse_memcached_get("STORED\r\n"), MemcachedError);
}

TEST_CASE("memcache:// URLs list servers as django-environ does", "[memcached][url]") {
    const auto both = parse_url("pymemcache://10.0.0.1:11211;10.0.0.2:11212,cache-3");
    REQUIRE(both);
    CHECK(both->host == "10.0.0.1");
    REQUIRE(both->more_hosts.size() == 2);
    CHECK(both->more_hosts[0].host == "10.0.0.2");
    CHECK(both->more_hosts[0].port == 11212);
    CHECK(both->more_hosts[1].host == "cache-3");
    CHECK_FALSE(both->more_hosts[1].port);
    const auto socket = parse_url("memcache:///var/run/memcached/memcached.sock");
    REQUIRE(socket);
    CHECK(socket->host.empty());
    CHECK(socket->path == "/var/run/memcached/memcached.sock");
    // Lists are for memcached (and PostgreSQL) only.
    const auto redis = parse_url("redis://a:1,b:2");
    CHECK((!redis || redis->more_hosts.empty()));
}
