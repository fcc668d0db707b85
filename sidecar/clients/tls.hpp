// TLS for the clients that speak their protocol themselves (Redis today): OpenSSL over a
// connected socket, every wait bounded by the caller's Deadline, the chain and the host name
// verified by default against the system's CAs (system_ca_dir below). Never a fallback to
// plaintext: a handshake that fails is an error.
//
// Stream is what a client reads and writes: the socket itself, or the TLS session over it.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sidecar/clients/net.hpp"
#include "sidecar/url.hpp"

struct ssl_st;
struct ssl_ctx_st;

namespace vitals {

class TlsError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct TlsOptions {
    // What redis-py calls ssl_cert_reqs. "optional" means "required" for a client (a server
    // always presents a certificate), as in Python's ssl module.
    bool verify = true;
    bool check_hostname = true;  // only with verify
    std::string ca_file;         // PEM bundle; empty: the system's
    std::string cert_file;       // a client certificate (mutual TLS), with key_file
    std::string key_file;
    std::string server_name;  // sent as SNI and matched against the certificate
};

// The TLS options a URL's query carries, as redis-py, Celery and kombu spell them:
// ssl_cert_reqs (none | optional | required, also CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED),
// ssl_ca_certs, ssl_certfile, ssl_keyfile, ssl_check_hostname (true | false). The server
// name is the URL's host. Throws std::invalid_argument naming the option that is wrong.
TlsOptions tls_options_from_url(const Url& url);

// Why a certificate was refused, in words an operator can act on: the host name it is not
// for, or the chain error and which CAs it was checked against. `code` is OpenSSL's
// verification result (X509_V_ERR_...).
std::string describe_verify_error(long code, const TlsOptions& options);

// The directory of the system's CAs, with the subject-hash links update-ca-certificates
// makes, when verification can read it lazily (one certificate when a chain names its
// issuer); empty when SSL_CERT_FILE names a bundle or no directory has links, and the whole
// bundle is read instead. Parsing Debian's 146 roots costs about 650 KiB of heap per TLS
// context and a few milliseconds per libcurl request.
const std::string& system_ca_dir();
// The same choice from given values: SSL_CERT_FILE's (null when unset) and the directories
// (SSL_CERT_DIR's colon-separated list, or OpenSSL's default).
std::string lazy_ca_dir(const char* cert_file_env, const std::string& dirs);

// Trusts the system's CAs in `ctx`: system_ca_dir() when there is one, else OpenSSL's default
// bundle and directory. False when neither could be read.
bool trust_system_cas(ssl_ctx_st* ctx);

class TlsSession {
  public:
    // Handshakes over `socket` (non-blocking, connected) by the deadline. Throws TlsError
    // saying why: the verification error ("self-signed certificate in certificate chain",
    // "the certificate is not for cache.internal"), a timeout, or what OpenSSL reported.
    TlsSession(Socket socket, const TlsOptions& options, const Deadline& deadline);
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    IoStatus send_all(std::string_view data, const Deadline& deadline);
    IoStatus receive_some(std::string& out, std::size_t max, const Deadline& deadline);
    // What the last failed call ran into, for messages.
    const std::string& error() const { return error_; }

  private:
    Socket socket_;
    std::shared_ptr<ssl_ctx_st> context_;
    ssl_st* ssl_ = nullptr;
    std::string error_;
};

// A connected byte stream: plain, or TLS.
class Stream {
  public:
    Stream() = default;
    explicit Stream(Socket socket) : socket_(std::move(socket)) {}
    explicit Stream(std::unique_ptr<TlsSession> tls) : tls_(std::move(tls)) {}

    IoStatus send_all(std::string_view data, const Deadline& deadline);
    IoStatus receive_some(std::string& out, std::size_t max, const Deadline& deadline);
    // Why the last call failed, in words ("connection reset by peer", a TLS alert).
    std::string error() const;
    bool tls() const { return tls_ != nullptr; }

  private:
    Socket socket_;
    std::unique_ptr<TlsSession> tls_;
    int errno_ = 0;
};

}  // namespace vitals
