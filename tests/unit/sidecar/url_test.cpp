#include <catch2/catch.hpp>

#include "sidecar/url.hpp"

using vitals::Expected;
using vitals::parse_url;
using vitals::redact_secrets;
using vitals::Url;

TEST_CASE("Django-style connection URLs parse into their parts", "[url]") {
    const auto p = parse_url("postgres://app:s3cr%40t@db.internal:6432/orders?sslmode=require");
    REQUIRE(p);
    CHECK(p->scheme == "postgres");
    CHECK(p->user == "app");
    CHECK(p->password == "s3cr@t");
    CHECK(p->has_password);
    CHECK(p->host == "db.internal");
    CHECK(p->port == 6432);
    CHECK(p->path == "/orders");
    CHECK(p->query == "sslmode=require");
}

TEST_CASE("URL forms: no credentials, password only, IPv6, no port", "[url]") {
    const auto redis = parse_url("redis://:pw@127.0.0.1:6379/0");
    REQUIRE(redis);
    CHECK(redis->user.empty());
    CHECK(redis->password == "pw");
    CHECK(redis->path == "/0");

    const auto v6 = parse_url("http://[::1]:8000/health");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->authority(80) == "[::1]:8000");

    const auto plain = parse_url("HTTP://example.com");
    REQUIRE(plain);
    CHECK(plain->scheme == "http");
    CHECK_FALSE(plain->port);
    CHECK(plain->authority(80) == "example.com:80");
}

TEST_CASE("a password containing @ and : is read to the last @", "[url]") {
    const auto p = parse_url("amqp://guest:p@ss:w0rd@rabbit:5672//");
    REQUIRE(p);
    CHECK(p->password == "p@ss:w0rd");
    CHECK(p->host == "rabbit");
    CHECK(p->path == "//");
}

TEST_CASE("invalid URLs give a reason and never echo the password", "[url]") {
    for (const char* bad :
         {"no-scheme", "postgres://u:hunter2@db:99999/x", "redis://u:hunter2@[::1/0", "1http://x",
          "postgres://u:hun%zzter2@db/x", "http://u:hunter2@db:12ab/"}) {
        INFO(bad);
        const auto p = parse_url(bad);
        REQUIRE_FALSE(p);
        CHECK_FALSE(p.error().message.empty());
        CHECK(p.error().message.find("hunter2") == std::string::npos);
    }
}

TEST_CASE("redacted URLs keep everything but the password", "[url]") {
    const auto p = parse_url("postgresql://app:hunter2@db:5432/orders?sslmode=require");
    REQUIRE(p);
    CHECK(p->redacted() == "postgresql://app:****@db:5432/orders?sslmode=require");
    CHECK(parse_url("redis://cache:6379/1")->redacted() == "redis://cache:6379/1");
    CHECK(parse_url("redis://:hunter2@cache/1")->redacted() == "redis://:****@cache/1");
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
    REQUIRE(p);
    CHECK(p->host == "broker");
    CHECK(p->password == "guest");
    CHECK(p->redacted() == "amqp://guest:****@broker:5672/vh:guest@x");
}

TEST_CASE("a user name holding ':' or '@' is percent-encoded in the redacted form", "[url]") {
    // From tests/fuzz/url_fuzz: printed raw, a decoded user "x:secret@" made the redacted URL
    // read as if it carried the password.
    const auto p = parse_url("amqp://x%3Asecret%40:secret@broker//");
    REQUIRE(p);
    CHECK(p->user == "x:secret@");
    CHECK(p->redacted() == "amqp://x%3Asecret%40:****@broker//");
}

TEST_CASE("passwords in query values and secret-looking keys are masked", "[url]") {
    const auto parsed =
        parse_url("postgres://app@db:5432/shop?sslmode=require&password=hunter2&auth_token=abc");
    REQUIRE(parsed);
    const std::string shown = parsed->redacted();
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
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().message.find("percent-encode the password") != std::string::npos);
        CHECK(parsed.error().message.find("ss@") == std::string::npos);
    }
    // Encoded, the same password is fine.
    const auto encoded = parse_url("postgres://app:pa%2Fss@db:5432/shop");
    REQUIRE(encoded);
    CHECK(encoded->password == "pa/ss");
}

TEST_CASE("PostgreSQL URLs may list several hosts, other schemes may not", "[url]") {
    const Expected<Url> multi =
        parse_url("postgres://app:pw@db1:5432,db2:5433,[::1]/shop?target_session_attrs=read-write");
    REQUIRE(multi);
    CHECK(multi->host == "db1");
    CHECK(multi->port == std::optional<std::uint16_t>(5432));
    REQUIRE(multi->more_hosts.size() == 2);
    CHECK(multi->more_hosts[0].host == "db2");
    CHECK(multi->more_hosts[0].port == std::optional<std::uint16_t>(5433));
    CHECK(multi->more_hosts[1].host == "::1");
    CHECK_FALSE(multi->more_hosts[1].port);
    CHECK(multi->path == "/shop");
    CHECK(multi->authority(5432) == "db1:5432,db2:5433,[::1]:5432");
    CHECK(multi->redacted() ==
          "postgres://app:****@db1:5432,db2:5433,[::1]/shop?target_session_attrs=read-write");

    CHECK_FALSE(parse_url("postgres://app:pw@db1,,db2/shop"));
    CHECK_FALSE(parse_url("postgres://app:pw@db1,db2:99999/shop"));
    // Elsewhere a comma is no list: one (odd) host, as before.
    const Expected<Url> redis = parse_url("redis://a,b:6379/0");
    REQUIRE(redis);
    CHECK(redis->more_hosts.empty());
}

TEST_CASE("a URL is read as Python's urlsplit reads it: blanks and newlines dropped", "[url]") {
    // A Secret made with `echo url | base64` ends in a newline; Django never sees it.
    for (const char* text :
         {"postgres://app:pw@db:5432/shop\n", " postgres://app:pw@db:5432/shop",
          "postgres://app:pw@db:5432/shop\r\n", "\tpostgres://app:pw@db:5432/sh\nop"}) {
        INFO(text);
        const Expected<Url> p = parse_url(text);
        REQUIRE(p);
        CHECK(p->host == "db");
        CHECK(p->path == "/shop");
        CHECK(p->password == "pw");
    }
}

TEST_CASE("Cloud SQL's //socket-directory form names the socket and the database", "[url]") {
    const Expected<Url> p = parse_url("postgres://u:pw@//cloudsql/proj:europe-west1:inst/shop");
    REQUIRE(p);
    CHECK(p->host == "/cloudsql/proj:europe-west1:inst");
    CHECK(p->path == "/shop");
    CHECK_FALSE(p->port);
    CHECK(p->redacted() == "postgres://u:****@%2Fcloudsql%2Fproj%3Aeurope-west1%3Ainst/shop");
    // The redacted form reads back the same (what --check-config prints can be pasted).
    const Expected<Url> again = parse_url(p->redacted());
    REQUIRE(again);
    CHECK(again->host == p->host);
}

TEST_CASE("kombu's failover lists: every URL kept, every password redacted", "[url]") {
    const Expected<Url> full = parse_url("amqp://u:first@h1:5672//;amqp://v:second@h2//");
    REQUIRE(full);
    CHECK(full->host == "h1");
    CHECK(full->path == "//");
    REQUIRE(full->failover.size() == 1);
    CHECK(full->failover[0].host == "h2");
    CHECK(full->failover[0].user == "v");
    CHECK(full->failover[0].password == "second");
    CHECK(full->redacted() == "amqp://u:****@h1:5672//;amqp://v:****@h2//");
    // kombu's short form: the later parts take the first one's scheme.
    const Expected<Url> short_form = parse_url("amqp://u:A@h1;u:B@h2");
    REQUIRE(short_form);
    CHECK(short_form->password == "A");
    REQUIRE(short_form->failover.size() == 1);
    CHECK(short_form->failover[0].host == "h2");
    CHECK(short_form->failover[0].password == "B");
    CHECK(short_form->redacted().find('A') == std::string::npos);
    CHECK(short_form->redacted().find('B') == std::string::npos);
    const Expected<Url> redis = parse_url("redis://:pw1@h1:6379/0;redis://:pw2@h2:6379/0");
    REQUIRE(redis);
    REQUIRE(redis->failover.size() == 1);
    CHECK(redis->redacted() == "redis://:****@h1:6379/0;redis://:****@h2:6379/0");
    // A bad part is named by its place, without its password.
    const Expected<Url> bad = parse_url("amqp://u:ok@h1//;amqp://u:hunter2@h2:99999//");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("failover URL 2") != std::string::npos);
    CHECK(bad.error().message.find("hunter2") == std::string::npos);
    // Not a broker scheme: a ';' is no list (memcached's is a host separator).
    const Expected<Url> memcached = parse_url("pymemcache://10.0.0.1:11211;10.0.0.2:11212");
    REQUIRE(memcached);
    CHECK(memcached->failover.empty());
    CHECK(memcached->more_hosts.size() == 1);
}

TEST_CASE("django-environ's rediscache:// lists a primary and its replicas", "[url]") {
    const Expected<Url> p = parse_url("rediscache://h1:6379,h2:6380/1");
    REQUIRE(p);
    CHECK(p->host == "h1");
    REQUIRE(p->more_hosts.size() == 1);
    CHECK(p->more_hosts[0].host == "h2");
    CHECK(p->path == "/1");
}

TEST_CASE("percent_encode leaves only unreserved characters", "[url]") {
    CHECK(vitals::percent_encode("p@ss/w:rd %") == "p%40ss%2Fw%3Ard%20%25");
    CHECK(vitals::percent_encode("plain-text_1.2~") == "plain-text_1.2~");
}
