// librabbitmq's TLS socket for amqps://, set up from the URL's options as redis-py spells
// them (ssl_cert_reqs, ssl_ca_certs, ssl_certfile, ssl_keyfile, ssl_check_hostname), with
// OpenSSL checking the name (librabbitmq checks DNS names only) and recording why it refused.
#pragma once

#include <amqp.h>

#include "sidecar/clients/tls.hpp"
#include "sidecar/url.hpp"

namespace vitals {

// A TLS socket on `conn` for `url`, its options read into `tls`; null when librabbitmq cannot
// make one. Throws BrokerError for options it cannot use.
amqp_socket_t* amqp_tls_socket(amqp_connection_state_t conn, const Url& url, TlsOptions& tls);

// Why this thread's last handshake refused the peer (an X509_V_ERR_*), X509_V_OK if it did
// not; reset before each connection.
long amqp_verify_error();
void reset_amqp_verify_error();

}  // namespace vitals
