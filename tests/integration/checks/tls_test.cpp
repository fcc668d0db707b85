// The tls check against real TLS servers (openssl s_server) and PostgreSQL with ssl=on,
// with certificates the test makes.
#include <catch2/catch.hpp>

#include "support/make_check.hpp"
#include "support/net_fixtures.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;

namespace {

struct Certificates {
    std::string dir = make_temp_dir("certs");
    ~Certificates() { shell("rm -rf '" + dir + "'"); }
    std::string make(const std::string& file, const std::string& name, int days) {
        make_certificate(dir, file, name, days);
        return dir + "/" + file;
    }
};

CheckResult probe(std::uint16_t port, nlohmann::json extra = nlohmann::json::object()) {
    nlohmann::json settings = {{"host", "127.0.0.1"}, {"port", port}};
    for (const auto& item : extra.items())
        settings[item.key()] = item.value();
    return make_check("tls", settings)->run(Deadline::in(3s));
}

// Days from now until the expiry the check observed (a timestamp, as Prometheus wants it).
double days_left(const CheckResult& r) {
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    return (observed(r, "expiry_timestamp_seconds") - now) / 86400;
}

}  // namespace

TEST_CASE("tls: days until expiry decide ok, warn and fail", "[tls]") {
    Certificates certs;
    const std::string far = certs.make("far", "127.0.0.1", 90);
    const std::string soon = certs.make("soon", "127.0.0.1", 20);
    const std::string imminent = certs.make("imminent", "127.0.0.1", 5);
    TlsServer ok_server(far + ".crt", far + ".key");
    TlsServer warn_server(soon + ".crt", soon + ".key");
    TlsServer fail_server(imminent + ".crt", imminent + ".key");

    const CheckResult ok = probe(ok_server.port());
    CHECK(ok.status == Status::ok);
    CHECK(days_left(ok) == Approx(90).margin(1));
    CHECK(observed(ok, "hostname_matches") == 1);
    CHECK(observed(ok, "chain_valid") == 0);  // self-signed: reported, not failed by default
    CHECK(ok.details["issuer"] == "/CN=127.0.0.1");

    const CheckResult warn = probe(warn_server.port());
    CHECK(warn.status == Status::warn);
    CHECK(warn.message.find("certificate expires in ") == 0);
    CHECK(days_left(warn) == Approx(20).margin(0.1));

    const CheckResult fail = probe(fail_server.port());
    CHECK(fail.status == Status::fail);
    CHECK(fail.message.find("certificate expires in ") == 0);
    CHECK(days_left(fail) == Approx(5).margin(0.1));

    CHECK(probe(ok_server.port(), {{"verify_chain", true}}).status == Status::fail);
}

TEST_CASE("tls: a certificate for another name fails", "[tls]") {
    Certificates certs;
    const std::string other = certs.make("other", "shop.example.com", 90);
    TlsServer server(other + ".crt", other + ".key");
    const CheckResult r = probe(server.port());
    CHECK(r.status == Status::fail);
    CHECK(r.message == "certificate does not match 127.0.0.1");
    CHECK(probe(server.port(), {{"server_name", "shop.example.com"}}).status == Status::ok);
}

TEST_CASE("tls: no TLS on the port, or nothing listening, fails with a reason", "[tls]") {
    RedisServer plain;
    const CheckResult r = probe(plain.port());
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("TLS handshake with 127.0.0.1:" + std::to_string(plain.port())) == 0);
    CHECK(probe(closed_port()).message.find("Connection refused") != std::string::npos);
}

TEST_CASE("tls: PostgreSQL's certificate is read through its SSLRequest handshake", "[tls]") {
    PostgresServer pg(20, 20);
    const CheckResult r = probe(pg.port(), {{"protocol", "postgres"}});
    INFO(r.message);
    CHECK(r.status == Status::warn);
    CHECK(days_left(r) == Approx(20).margin(1));
    PostgresServer no_ssl;
    const CheckResult plain = probe(no_ssl.port(), {{"protocol", "postgres"}});
    CHECK(plain.status == Status::fail);
    CHECK(plain.message.find("does not offer TLS") != std::string::npos);
}
