// tls: the certificate a server presents — days until it expires, whether it matches the
// host name, whether its chain verifies, who issued it. Also PostgreSQL's certificate,
// reached through its SSLRequest handshake.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <cstring>
#include <ctime>
#include <optional>

#include "checks/builtin.hpp"
#include "checks/expiry.hpp"
#include "sidecar/clients/net.hpp"
#include "sidecar/clients/tls.hpp"

namespace vitals::checks {

namespace {

struct TlsPolicy {
    std::string host;
    std::uint16_t port = 443;
    std::string server_name;  // SNI and the name the certificate must match
    bool postgres = false;    // SSLRequest first
    int warn_days = 0;        // read from the settings (checks/expiry.hpp holds the defaults)
    int fail_days = 0;
    bool verify_chain = false;
};

std::string openssl_error() {
    const unsigned long e = ERR_get_error();
    if (e == 0) return "handshake failed";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    return buf;
}

// notAfter as seconds since the Unix epoch.
std::time_t expiry_unix(const X509& cert) {
    std::tm t{};
    ASN1_TIME_to_tm(X509_get0_notAfter(&cert), &t);
    return ::timegm(&t);
}

std::string name_text(X509_NAME* name) {
    char buf[512];
    X509_NAME_oneline(name, buf, sizeof(buf));
    return buf;
}

// PostgreSQL answers 'S' to an SSLRequest when it speaks TLS on that port: why it did not,
// or nullopt.
std::optional<std::string> postgres_ssl_request(const Socket& s, const Deadline& deadline) {
    const unsigned char request[8] = {0,    0,    0,    8,
                                      0x04, 0xd2, 0x16, 0x2f};  // length 8, code 80877103
    if (send_all(s, std::string_view(reinterpret_cast<const char*>(request), 8), deadline) !=
        IoStatus::ok) {
        return "could not send the SSLRequest";
    }
    std::string answer;
    if (receive_some(s, answer, 1, deadline) != IoStatus::ok || answer.empty())
        return "no answer to the SSLRequest";
    if (answer[0] != 'S')
        return "the PostgreSQL server does not offer TLS (answered '" + answer.substr(0, 1) + "')";
    return std::nullopt;
}

class TlsCheck final : public Check {
  public:
    explicit TlsCheck(TlsPolicy policy) : p_(std::move(policy)) {
        ctx_.reset(SSL_CTX_new(TLS_client_method()));
        if (!ctx_) throw std::runtime_error("cannot create a TLS context");
        trust_system_cas(ctx_.get());
        SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_NONE, nullptr);  // judged below, not by aborting
    }

    CheckResult run(const Deadline& deadline) override {
        const std::string where = p_.host + ":" + std::to_string(p_.port);
        const Expected<Socket> conn = connect_tcp(p_.host, p_.port, deadline);
        if (!conn) return verdict(Status::fail, conn.error().message);
        if (p_.postgres) {
            if (const auto refused = postgres_ssl_request(*conn, deadline))
                return verdict(Status::fail, *refused + " (" + where + ")");
        }
        std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx_.get()), &SSL_free);
        SSL_set_fd(ssl.get(), conn->fd());
        SSL_set_tlsext_host_name(ssl.get(), p_.server_name.c_str());
        ERR_clear_error();
        while (true) {
            const int rc = SSL_connect(ssl.get());
            if (rc == 1) break;
            const int err = SSL_get_error(ssl.get(), rc);
            if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
                return verdict(Status::fail,
                               "TLS handshake with " + where + " failed: " + openssl_error());
            }
            const auto left = deadline.remaining();
            pollfd pfd{conn->fd(),
                       static_cast<short>(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
            if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
                return verdict(Status::fail, "TLS handshake with " + where +
                                                 " did not finish before the deadline");
            }
        }
        std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(ssl.get()),
                                                         &X509_free);
        if (!cert) return verdict(Status::fail, where + " presented no certificate");
        return judge(*cert, SSL_get_verify_result(ssl.get()));
    }

  private:
    CheckResult judge(X509& cert, long verify) const {
        int days = 0, seconds = 0;
        ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(&cert));
        const double days_left = days + seconds / 86400.0;
        const bool name_ok = X509_check_host(&cert, p_.server_name.c_str(), p_.server_name.size(),
                                             0, nullptr) == 1 ||
                             X509_check_ip_asc(&cert, p_.server_name.c_str(), 0) == 1;
        const bool chain_ok = verify == X509_V_OK;
        CheckResult result;
        result.observe("expiry_timestamp_seconds", static_cast<double>(expiry_unix(cert)))
            .observe("hostname_matches", name_ok ? 1 : 0)
            .observe("chain_valid", chain_ok ? 1 : 0);
        result.details["issuer"] = name_text(X509_get_issuer_name(&cert));
        result.details["subject"] = name_text(X509_get_subject_name(&cert));
        std::tm expiry{};
        ASN1_TIME_to_tm(X509_get0_notAfter(&cert), &expiry);
        char date[32];
        std::strftime(date, sizeof(date), "%Y-%m-%d", &expiry);
        result.details["not_after"] = date;
        if (!chain_ok) result.details["chain_error"] = X509_verify_cert_error_string(verify);

        Findings findings;
        const std::string expires = "certificate expires in " +
                                    std::to_string(static_cast<int>(days_left)) + " days (" + date +
                                    ")";
        if (days_left < 0) {
            findings.add(Status::fail, std::string("certificate expired on ") + date);
        } else if (days_left <= p_.fail_days) {
            findings.add(Status::fail, expires);
        } else if (days_left <= p_.warn_days) {
            findings.add(Status::warn, expires);
        }
        if (!name_ok) findings.add(Status::fail, "certificate does not match " + p_.server_name);
        if (!chain_ok && p_.verify_chain) {
            findings.add(Status::fail, std::string("certificate chain does not verify: ") +
                                           X509_verify_cert_error_string(verify));
        }
        findings.conclude(result, expires);
        return result;
    }

    TlsPolicy p_;
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx_{nullptr, &SSL_CTX_free};
};

}  // namespace

// The tls kind's settings, each declared once: the table lists these members and the
// factory reads its values through them.
struct TlsSettings {
    Setting host =
        Setting::of("host", SettingType::string, "host name or address to connect to").required();
    Setting port = Setting::of("port", SettingType::integer, "port").defaults(443).range(1, 65535);
    Setting server_name =
        Setting::of("server_name", SettingType::string,
                    "name sent as SNI and matched against the certificate; default host");
    Setting protocol =
        Setting::of("protocol", SettingType::string,
                    "tls: TLS from the first byte; postgres: PostgreSQL's SSLRequest first")
            .defaults("tls")
            .choices({"tls", "postgres"});
    const Setting& warn_days = expiry_settings().warn_days;
    const Setting& fail_days = expiry_settings().fail_days;
    Setting verify_chain = Setting::of("verify_chain", SettingType::boolean,
                                       "fail when the chain does not verify against the system CAs")
                               .defaults(false);
    SettingsTable table() const {
        return {host, port, server_name, protocol, warn_days, fail_days, verify_chain};
    }
};

CheckKind tls_kind() {
    static const TlsSettings s;
    CheckKind kind;
    kind.name = "tls";
    kind.summary = "certificate expiry, host name and chain of a TLS server (or PostgreSQL)";
    kind.about = About::shared;  // a shared dependency's state
    kind.default_groups = {};
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::gauge("expiry_timestamp_seconds", U::timestamp,
                 "When the certificate expires (notAfter).")
            .headline(),
        O::gauge("hostname_matches", U::boolean, "1 when the certificate names the host."),
        O::gauge("chain_valid", U::boolean, "1 when the chain verifies against the trust store."),
    };
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        TlsPolicy p;
        p.host = ctx.params.str(s.host);
        p.port = static_cast<std::uint16_t>(ctx.params.integer(s.port));
        p.server_name = ctx.params.has(s.server_name) ? ctx.params.str(s.server_name) : p.host;
        p.postgres = ctx.params.str(s.protocol) == "postgres";
        const ExpiryDays days = expiry_days(ctx);
        p.warn_days = days.warn;
        p.fail_days = days.fail;
        p.verify_chain = ctx.params.boolean(s.verify_chain);
        return std::make_unique<TlsCheck>(std::move(p));
    };
    return kind;
}

}  // namespace vitals::checks
