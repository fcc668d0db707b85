#include "sidecar/clients/tls.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

namespace vitals {

namespace {

// The reason of the first queued OpenSSL error, in words ("wrong version number").
std::string openssl_reason(const char* fallback) {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) return fallback;
    const char* reason = ERR_reason_error_string(e);
    return reason != nullptr ? reason : fallback;
}

bool is_ip_literal(const std::string& host) {
    unsigned char buf[16];
    return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
           ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string lower(std::string text) {
    for (char& c : text)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

// Modification time of a file, so that a rotated CA bundle or client certificate is read
// again; 0 when there is none.
long long modified(const std::string& path) {
    struct stat st {};
    if (path.empty() || ::stat(path.c_str(), &st) != 0) return 0;
    return static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000LL + st.st_mtim.tv_nsec;
}

// True when `dir` holds a subject-hash link (8 hex digits, a dot, a digit), as OpenSSL's
// directory lookup needs.
bool has_hash_links(const std::string& dir) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
    if (!d) return false;
    while (const dirent* e = ::readdir(d.get())) {
        const std::string_view name(e->d_name);
        if (name.size() >= 10 && name[8] == '.' &&
            name.find_first_not_of("0123456789abcdef") == 8 &&
            std::isdigit(static_cast<unsigned char>(name[9])) != 0)
            return true;
    }
    return false;
}

}  // namespace

std::string lazy_ca_dir(const char* cert_file_env, const std::string& dirs) {
    if (cert_file_env != nullptr && *cert_file_env != '\0') return {};
    std::size_t from = 0;
    while (from <= dirs.size()) {
        const std::size_t to = std::min(dirs.find(':', from), dirs.size());
        if (!has_hash_links(dirs.substr(from, to - from))) return {};
        from = to + 1;
    }
    return dirs;
}

const std::string& system_ca_dir() {
    static const std::string dir = [] {
        const char* env = std::getenv(X509_get_default_cert_dir_env());
        return lazy_ca_dir(std::getenv(X509_get_default_cert_file_env()),
                           env != nullptr && *env != '\0' ? env : X509_get_default_cert_dir());
    }();
    return dir;
}

bool trust_system_cas(ssl_ctx_st* ctx) {
    const std::string& dir = system_ca_dir();
    if (!dir.empty() && SSL_CTX_load_verify_dir(ctx, dir.c_str()) == 1) return true;
    return SSL_CTX_set_default_verify_paths(ctx) == 1;
}

namespace {

// Reading the system's CA bundle costs milliseconds, so a context is made once per set of
// options (and again when one of its files changes), then shared by every connection.
std::shared_ptr<SSL_CTX> client_context(const TlsOptions& o) {
    static std::mutex mutex;
    static std::map<std::string, std::pair<std::string, std::shared_ptr<SSL_CTX>>> made;
    const std::string key = std::string(o.verify ? "v" : "-") + '\n' + o.ca_file + '\n' +
                            o.cert_file + '\n' + o.key_file;
    const std::string stamp = std::to_string(modified(o.ca_file)) + '/' +
                              std::to_string(modified(o.cert_file)) + '/' +
                              std::to_string(modified(o.key_file));
    std::lock_guard<std::mutex> lock(mutex);
    if (const auto it = made.find(key); it != made.end() && it->second.first == stamp)
        return it->second.second;
    ERR_clear_error();
    std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
    if (!ctx) throw TlsError("cannot create a TLS context: " + openssl_reason("out of memory"));
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);  // a close is a close
#endif
    if (o.verify) {
        const bool loaded = o.ca_file.empty() ? trust_system_cas(ctx.get())
                                              : SSL_CTX_load_verify_locations(
                                                    ctx.get(), o.ca_file.c_str(), nullptr) == 1;
        if (!loaded) {
            throw TlsError(o.ca_file.empty() ? "cannot read the system's CA certificates: " +
                                                   openssl_reason("no bundle")
                                             : "cannot read ssl_ca_certs " + o.ca_file + ": " +
                                                   openssl_reason("not a PEM bundle"));
        }
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    } else {
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    }
    if (!o.cert_file.empty()) {
        const std::string& key_file = o.key_file.empty() ? o.cert_file : o.key_file;
        if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert_file.c_str()) != 1)
            throw TlsError("cannot read ssl_certfile " + o.cert_file + ": " +
                           openssl_reason("not a PEM certificate"));
        if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx.get()) != 1)
            throw TlsError("cannot use ssl_keyfile " + key_file + ": " +
                           openssl_reason("not the certificate's key"));
    }
    made[key] = {stamp, ctx};
    return ctx;
}

}  // namespace

TlsOptions tls_options_from_url(const Url& url) {
    TlsOptions o;
    o.server_name = url.host;
    if (const auto reqs = url.query_value("ssl_cert_reqs")) {
        const std::string v = lower(*reqs);
        if (v == "none" || v == "cert_none") {
            o.verify = false;
        } else if (v == "optional" || v == "cert_optional" || v == "required" ||
                   v == "cert_required") {
            o.verify = true;
        } else {
            throw std::invalid_argument("ssl_cert_reqs must be none, optional or required, not \"" +
                                        *reqs + "\"");
        }
    }
    if (const auto check = url.query_value("ssl_check_hostname")) {
        const std::string v = lower(*check);
        if (v == "true" || v == "1" || v == "yes" || v == "on") {
            o.check_hostname = true;
        } else if (v == "false" || v == "0" || v == "no" || v == "off") {
            o.check_hostname = false;
        } else {
            throw std::invalid_argument("ssl_check_hostname must be true or false, not \"" +
                                        *check + "\"");
        }
    }
    for (const auto& [name, field] :
         {std::pair<const char*, std::string*>{"ssl_ca_certs", &o.ca_file},
          {"ssl_certfile", &o.cert_file},
          {"ssl_keyfile", &o.key_file}}) {
        if (const auto value = url.query_value(name)) {
            if (value->empty()) throw std::invalid_argument(std::string(name) + " is empty");
            *field = *value;
        }
    }
    if (!o.key_file.empty() && o.cert_file.empty())
        throw std::invalid_argument("ssl_keyfile needs ssl_certfile");
    return o;
}

std::string describe_verify_error(long code, const TlsOptions& options) {
    if (code == X509_V_ERR_HOSTNAME_MISMATCH || code == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        return "the certificate is not for " + options.server_name +
               " (ssl_check_hostname=false skips this check)";
    }
    return std::string("the certificate does not verify: ") + X509_verify_cert_error_string(code) +
           (options.ca_file.empty()
                ? " (checked against the system's CAs; name the CA with ssl_ca_certs)"
                : " (checked against ssl_ca_certs)");
}

TlsSession::TlsSession(Socket socket, const TlsOptions& options, const Deadline& deadline)
    : socket_(std::move(socket)), context_(client_context(options)) {
    ERR_clear_error();
    ssl_ = SSL_new(context_.get());
    if (ssl_ == nullptr) throw TlsError("cannot start TLS: " + openssl_reason("out of memory"));
    SSL_set_fd(ssl_, socket_.fd());
    const std::string& name = options.server_name;
    const bool ip = is_ip_literal(name);
    if (!name.empty() && !ip) SSL_set_tlsext_host_name(ssl_, name.c_str());
    if (options.verify && options.check_hostname && !name.empty()) {
        if (ip) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str());
        } else {
            SSL_set1_host(ssl_, name.c_str());
        }
    }
    while (true) {
        ERR_clear_error();
        errno = 0;
        const int rc = SSL_connect(ssl_);
        if (rc == 1) return;
        const int err = SSL_get_error(ssl_, rc);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            if (!wait_ready(socket_.fd(), err == SSL_ERROR_WANT_WRITE, deadline)) {
                SSL_free(ssl_);
                throw TlsError("the TLS handshake did not finish before the deadline");
            }
            continue;
        }
        const long verify = SSL_get_verify_result(ssl_);
        std::string why;
        if (verify != X509_V_OK) {
            why = describe_verify_error(verify, options);
        } else if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
            why = errno != 0 ? std::string(std::strerror(errno))
                             : "the server closed the connection during the handshake";
        } else {
            why = openssl_reason("handshake failed");
            if (why == "wrong version number") why += " (does this port speak TLS?)";
        }
        SSL_free(ssl_);
        throw TlsError("TLS: " + why);
    }
}

TlsSession::~TlsSession() {
    SSL_free(ssl_);
}

IoStatus TlsSession::send_all(std::string_view data, const Deadline& deadline) {
    while (!data.empty()) {
        ERR_clear_error();
        errno = 0;
        const int n = SSL_write(ssl_, data.data(),
                                static_cast<int>(std::min<std::size_t>(data.size(), 1 << 20)));
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        const int err = SSL_get_error(ssl_, n);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            if (!wait_ready(socket_.fd(), err == SSL_ERROR_WANT_WRITE, deadline))
                return IoStatus::timed_out;
            continue;
        }
        error_ = errno != 0 ? std::strerror(errno) : openssl_reason("TLS write failed");
        return err == SSL_ERROR_ZERO_RETURN ? IoStatus::closed : IoStatus::error;
    }
    return IoStatus::ok;
}

IoStatus TlsSession::receive_some(std::string& out, std::size_t max, const Deadline& deadline) {
    char buf[16 * 1024];
    while (true) {
        ERR_clear_error();
        errno = 0;
        const int n = SSL_read(ssl_, buf, static_cast<int>(std::min(sizeof(buf), max)));
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
            return IoStatus::ok;
        }
        const int err = SSL_get_error(ssl_, n);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            if (!wait_ready(socket_.fd(), err == SSL_ERROR_WANT_WRITE, deadline))
                return IoStatus::timed_out;
            continue;
        }
        if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0))
            return IoStatus::closed;
        error_ = errno != 0 ? std::strerror(errno) : openssl_reason("TLS read failed");
        return IoStatus::error;
    }
}

IoStatus Stream::send_all(std::string_view data, const Deadline& deadline) {
    if (tls_) return tls_->send_all(data, deadline);
    errno = 0;
    const IoStatus st = vitals::send_all(socket_, data, deadline);
    errno_ = errno;
    return st;
}

IoStatus Stream::receive_some(std::string& out, std::size_t max, const Deadline& deadline) {
    if (tls_) return tls_->receive_some(out, max, deadline);
    errno = 0;
    const IoStatus st = vitals::receive_some(socket_, out, max, deadline);
    errno_ = errno;
    return st;
}

std::string Stream::error() const {
    if (tls_) return tls_->error();
    return errno_ != 0 ? std::strerror(errno_) : "connection failed";
}

}  // namespace vitals
