#include "checks/celery/amqp_tls.hpp"

#include <amqp_ssl_socket.h>
#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <stdexcept>

#include "checks/celery/celery.hpp"

namespace vitals {

namespace {

// librabbitmq checks host names itself, by DNS name only (an address never matches), and
// reports a refused certificate without saying why. So OpenSSL checks the name (DNS or IP)
// as part of the chain, and this records the first reason on the thread that handshakes.
thread_local long t_verify_error = X509_V_OK;

int record_verify_error(int ok, X509_STORE_CTX* store) {
    if (ok == 0 && t_verify_error == X509_V_OK) t_verify_error = X509_STORE_CTX_get_error(store);
    return ok;
}

// The system's CA bundle as OpenSSL finds it for rediss:// (SSL_CTX_set_default_verify_paths):
// $SSL_CERT_FILE when set, else the build's default file. librabbitmq takes one file.
std::string system_ca_file() {
    const char* from_env = std::getenv(X509_get_default_cert_file_env());
    return from_env != nullptr && *from_env != '\0' ? from_env : X509_get_default_cert_file();
}

bool is_ip_literal(const std::string& host) {
    unsigned char buf[16];
    return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
           ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

long amqp_verify_error() {
    return t_verify_error;
}

void reset_amqp_verify_error() {
    t_verify_error = X509_V_OK;
}

// librabbitmq's own TLS socket, set up from the URL's options as redis-py spells them
// (ssl_cert_reqs, ssl_ca_certs, ssl_certfile, ssl_keyfile, ssl_check_hostname). It
// verifies against one CA file: by default the system bundle. Never a plaintext fallback.
// With verification on, librabbitmq refuses the connection when the result is not
// X509_V_OK, which the name check above is part of.
amqp_socket_t* amqp_tls_socket(amqp_connection_state_t conn, const Url& url, TlsOptions& tls) {
    try {
        tls = tls_options_from_url(url);
    } catch (const std::invalid_argument& e) {
        throw BrokerError(e.what());
    }
    amqp_socket_t* socket = amqp_ssl_socket_new(conn);
    if (socket == nullptr) return nullptr;
    amqp_ssl_socket_set_verify_peer(socket, tls.verify ? 1 : 0);
    amqp_ssl_socket_set_verify_hostname(socket, 0);  // OpenSSL does it, see above
    auto* ctx = static_cast<SSL_CTX*>(amqp_ssl_socket_get_context(socket));
    if (tls.verify) {
        const std::string ca = tls.ca_file.empty() ? system_ca_file() : tls.ca_file;
        if (amqp_ssl_socket_set_cacert(socket, ca.c_str()) != AMQP_STATUS_OK)
            throw BrokerError("cannot read the CA certificates in " + ca);
        if (tls.check_hostname) {
            X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
            if (is_ip_literal(url.host)) {
                X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
            } else {
                X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), 0);
            }
        }
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, &record_verify_error);
    if (!tls.cert_file.empty()) {
        const std::string& key = tls.key_file.empty() ? tls.cert_file : tls.key_file;
        if (amqp_ssl_socket_set_key(socket, tls.cert_file.c_str(), key.c_str()) != AMQP_STATUS_OK)
            throw BrokerError("cannot use ssl_certfile " + tls.cert_file + " with " + key);
    }
    return socket;
}

}  // namespace vitals
