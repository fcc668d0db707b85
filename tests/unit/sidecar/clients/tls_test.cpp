// TLS options as redis-py, Celery and kombu write them in a URL's query.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "sidecar/clients/tls.hpp"

using namespace vitals;

namespace {

TlsOptions from(const std::string& text) {
    const Expected<Url> parsed = parse_url(text);
    REQUIRE(parsed);
    return tls_options_from_url(*parsed);
}

}  // namespace

TEST_CASE("tls options: verify the chain and the host name unless the URL says otherwise",
          "[tls][url]") {
    const TlsOptions plain = from("rediss://:pw@cache.example:6380/0");
    CHECK(plain.verify);
    CHECK(plain.check_hostname);
    CHECK(plain.ca_file.empty());
    CHECK(plain.server_name == "cache.example");

    for (const char* none : {"none", "NONE", "CERT_NONE", "cert_none"})
        CHECK_FALSE(from(std::string("rediss://c/0?ssl_cert_reqs=") + none).verify);
    for (const char* on : {"required", "optional", "CERT_REQUIRED", "CERT_OPTIONAL"})
        CHECK(from(std::string("rediss://c/0?ssl_cert_reqs=") + on).verify);
    CHECK_FALSE(from("rediss://c/0?ssl_check_hostname=false").check_hostname);
    CHECK(from("rediss://c/0?ssl_check_hostname=True").check_hostname);

    const TlsOptions files =
        from("rediss://c/0?ssl_ca_certs=%2Fetc%2Fca.pem&ssl_certfile=/c.pem&ssl_keyfile=/k.pem");
    CHECK(files.ca_file == "/etc/ca.pem");
    CHECK(files.cert_file == "/c.pem");
    CHECK(files.key_file == "/k.pem");
}

TEST_CASE("tls options: a value that means nothing is an error that names the option",
          "[tls][url]") {
    CHECK_THROWS_WITH(from("rediss://c/0?ssl_cert_reqs=sometimes"),
                      Catch::Contains("ssl_cert_reqs") && Catch::Contains("sometimes"));
    CHECK_THROWS_WITH(from("rediss://c/0?ssl_check_hostname=perhaps"),
                      Catch::Contains("ssl_check_hostname"));
    CHECK_THROWS_WITH(from("rediss://c/0?ssl_ca_certs="), Catch::Contains("ssl_ca_certs is empty"));
    CHECK_THROWS_WITH(from("rediss://c/0?ssl_keyfile=/k.pem"),
                      Catch::Contains("ssl_keyfile needs ssl_certfile"));
}

TEST_CASE("url: query values are percent-decoded, the last one wins, absent is absent", "[url]") {
    const Expected<Url> parsed = parse_url("redis://h/0?db=2&x=a%2Fb&flag&db=3");
    REQUIRE(parsed);
    CHECK(parsed->query_value("db") == std::optional<std::string>("3"));
    CHECK(parsed->query_value("x") == std::optional<std::string>("a/b"));
    CHECK(parsed->query_value("flag") == std::optional<std::string>(""));
    CHECK_FALSE(parsed->query_value("missing"));
    CHECK_FALSE(parsed->query_value("d"));
}

TEST_CASE("the system's CAs are read lazily from a directory with hash links, else the bundle",
          "[tls]") {
    char base[] = "/tmp/vitals-ca-XXXXXX";
    REQUIRE(::mkdtemp(base) != nullptr);
    const std::string hashed = std::string(base) + "/hashed";
    const std::string plain = std::string(base) + "/plain";
    REQUIRE(::mkdir(hashed.c_str(), 0700) == 0);
    REQUIRE(::mkdir(plain.c_str(), 0700) == 0);
    std::ofstream(plain + "/ca.pem") << "-----BEGIN CERTIFICATE-----\n";
    std::ofstream(plain + "/ca.0") << "";  // not a subject hash: 8 hex digits first
    REQUIRE(::symlink("../plain/ca.pem", (hashed + "/9d66eef0.0").c_str()) == 0);

    CHECK(lazy_ca_dir(nullptr, hashed) == hashed);
    CHECK(lazy_ca_dir("", hashed) == hashed);
    // SSL_CERT_FILE names a bundle: the operator's choice, read whole.
    CHECK(lazy_ca_dir("/etc/ssl/certs/ca-certificates.crt", hashed).empty());
    // A directory without links (never rehashed) finds nothing by hash: the bundle instead.
    CHECK(lazy_ca_dir(nullptr, plain).empty());
    CHECK(lazy_ca_dir(nullptr, hashed + ":" + plain).empty());
    CHECK(lazy_ca_dir(nullptr, std::string(base) + "/absent").empty());
    std::filesystem::remove_all(base);
}
