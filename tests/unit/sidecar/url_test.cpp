#include <catch2/catch.hpp>

#include "sidecar/url.hpp"

using vitals::parse_url;
using vitals::redact_secrets;
using vitals::UrlParse;

TEST_CASE("Django-style connection URLs parse into their parts", "[url]") {
    const auto p = parse_url("postgres://app:s3cr%40t@db.internal:6432/orders?sslmode=require");
    REQUIRE(p.url);
    CHECK(p.url->scheme == "postgres");
    CHECK(p.url->user == "app");
    CHECK(p.url->password == "s3cr@t");
    CHECK(p.url->has_password);
    CHECK(p.url->host == "db.internal");
    CHECK(p.url->port == 6432);
    CHECK(p.url->path == "/orders");
    CHECK(p.url->query == "sslmode=require");
}

TEST_CASE("URL forms: no credentials, password only, IPv6, no port", "[url]") {
    const auto redis = parse_url("redis://:pw@127.0.0.1:6379/0");
    REQUIRE(redis.url);
    CHECK(redis.url->user.empty());
    CHECK(redis.url->password == "pw");
    CHECK(redis.url->path == "/0");

    const auto v6 = parse_url("http://[::1]:8000/health");
    REQUIRE(v6.url);
    CHECK(v6.url->host == "::1");
    CHECK(v6.url->authority(80) == "[::1]:8000");

    const auto plain = parse_url("HTTP://example.com");
    REQUIRE(plain.url);
    CHECK(plain.url->scheme == "http");
    CHECK_FALSE(plain.url->port);
    CHECK(plain.url->authority(80) == "example.com:80");
}

TEST_CASE("a password containing @ and : is read to the last @", "[url]") {
    const auto p = parse_url("amqp://guest:p@ss:w0rd@rabbit:5672//");
    REQUIRE(p.url);
    CHECK(p.url->password == "p@ss:w0rd");
    CHECK(p.url->host == "rabbit");
    CHECK(p.url->path == "//");
}

TEST_CASE("invalid URLs give a reason and never echo the password", "[url]") {
    for (const char* bad :
         {"no-scheme", "postgres://u:hunter2@db:99999/x", "redis://u:hunter2@[::1/0", "1http://x",
          "postgres://u:hun%zzter2@db/x", "http://u:hunter2@db:12ab/"}) {
        INFO(bad);
        const auto p = parse_url(bad);
        CHECK_FALSE(p.url);
        CHECK_FALSE(p.error.empty());
        CHECK(p.error.find("hunter2") == std::string::npos);
    }
}

TEST_CASE("redacted URLs keep everything but the password", "[url]") {
    const auto p = parse_url("postgresql://app:hunter2@db:5432/orders?sslmode=require");
    REQUIRE(p.url);
    CHECK(p.url->redacted() == "postgresql://app:****@db:5432/orders?sslmode=require");
    CHECK(parse_url("redis://cache:6379/1").url->redacted() == "redis://cache:6379/1");
    CHECK(parse_url("redis://:hunter2@cache/1").url->redacted() == "redis://:****@cache/1");
}

TEST_CASE("secrets inside free text are masked", "[url]") {
    const std::string text = "could not connect to postgres://app:hunter2@db:5432/orders: refused";
    const std::string masked = redact_secrets(text);
    CHECK(masked.find("hunter2") == std::string::npos);
    CHECK(masked == "could not connect to postgres://app:****@db:5432/orders: refused");
    CHECK(redact_secrets("no urls here") == "no urls here");
    CHECK(redact_secrets("http://host:80/x") == "http://host:80/x");
}

TEST_CASE("the same letters as the password in the path are not the password", "[url]") {
    // From tests/fuzz/url_fuzz: the authority ends at the first '/', so a later "user:pw@"
    // belongs to the path; the redacted form masks the real password only.
    const auto p = parse_url("amqp://guest:guest@broker:5672/vh:guest@x");
    REQUIRE(p.url);
    CHECK(p.url->host == "broker");
    CHECK(p.url->password == "guest");
    CHECK(p.url->redacted() == "amqp://guest:****@broker:5672/vh:guest@x");
}

TEST_CASE("a user name holding ':' or '@' is percent-encoded in the redacted form", "[url]") {
    // From tests/fuzz/url_fuzz: printed raw, a decoded user "x:secret@" made the redacted URL
    // read as if it carried the password.
    const auto p = parse_url("amqp://x%3Asecret%40:secret@broker//");
    REQUIRE(p.url);
    CHECK(p.url->user == "x:secret@");
    CHECK(p.url->redacted() == "amqp://x%3Asecret%40:****@broker//");
}

TEST_CASE("passwords in query values and secret-looking keys are masked", "[url]") {
    const auto parsed =
        parse_url("postgres://app@db:5432/shop?sslmode=require&password=hunter2&auth_token=abc");
    REQUIRE(parsed.url);
    const std::string shown = parsed.url->redacted();
    CHECK(shown.find("hunter2") == std::string::npos);
    CHECK(shown.find("abc") == std::string::npos);
    CHECK(shown.find("sslmode=require") != std::string::npos);
    CHECK(shown.find("password=****") != std::string::npos);
    const std::string text =
        redact_secrets("connect failed: host=db password='s3 cret' user=app; token=xyz&x=1");
    CHECK(text.find("s3 cret") == std::string::npos);
    CHECK(text.find("xyz") == std::string::npos);
    CHECK(text.find("user=app") != std::string::npos);
    CHECK(text.find("x=1") != std::string::npos);
}

TEST_CASE("a password with an unencoded '/' or '?' is refused, and not printed", "[url]") {
    for (const char* text : {"postgres://app:pa/ss@db:5432/shop", "redis://:12/34@cache:6379/0",
                             "amqp://u:p?w@rabbit//"}) {
        INFO(text);
        const auto parsed = parse_url(text);
        CHECK_FALSE(parsed.url);
        CHECK(parsed.error.find("percent-encode the password") != std::string::npos);
        CHECK(parsed.error.find("ss@") == std::string::npos);
    }
    // Encoded, the same password is fine.
    const auto encoded = parse_url("postgres://app:pa%2Fss@db:5432/shop");
    REQUIRE(encoded.url);
    CHECK(encoded.url->password == "pa/ss");
}

TEST_CASE("PostgreSQL URLs may list several hosts, other schemes may not", "[url]") {
    const UrlParse multi =
        parse_url("postgres://app:pw@db1:5432,db2:5433,[::1]/shop?target_session_attrs=read-write");
    REQUIRE(multi.url);
    CHECK(multi.url->host == "db1");
    CHECK(multi.url->port == std::optional<std::uint16_t>(5432));
    REQUIRE(multi.url->more_hosts.size() == 2);
    CHECK(multi.url->more_hosts[0].host == "db2");
    CHECK(multi.url->more_hosts[0].port == std::optional<std::uint16_t>(5433));
    CHECK(multi.url->more_hosts[1].host == "::1");
    CHECK_FALSE(multi.url->more_hosts[1].port);
    CHECK(multi.url->path == "/shop");
    CHECK(multi.url->authority(5432) == "db1:5432,db2:5433,[::1]:5432");
    CHECK(multi.url->redacted() ==
          "postgres://app:****@db1:5432,db2:5433,[::1]/shop?target_session_attrs=read-write");

    CHECK_FALSE(parse_url("postgres://app:pw@db1,,db2/shop").url);
    CHECK_FALSE(parse_url("postgres://app:pw@db1,db2:99999/shop").url);
    // Elsewhere a comma is no list: one (odd) host, as before.
    const UrlParse redis = parse_url("redis://a,b:6379/0");
    REQUIRE(redis.url);
    CHECK(redis.url->more_hosts.empty());
}
