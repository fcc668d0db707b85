#include "sidecar/clients/http_client.hpp"

#include <curl/curl.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>

#include "sidecar/clients/tls.hpp"

namespace vitals {

namespace {

// Headers of one response may take this much, whatever the body's cap.
constexpr std::size_t kMaxHeaderBytes = std::size_t{64} * 1024;

std::string lower(std::string s) {
    for (char& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return "";
    return std::string(s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1));
}

// libcurl's global state, once, before the first handle (thread-safe since 7.84 where
// built "threadsafe", as Debian's is; call_once keeps it right elsewhere).
void init_curl() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::uint16_t default_port(const Url& url) {
    return url.scheme == "https" ? 443 : 80;
}

// What libcurl is given: never the password, which goes through CURLOPT_PASSWORD.
std::string curl_url(const Url& url) {
    std::string text = url.scheme + "://" + url.authority(default_port(url));
    text += url.path.empty() ? "/" : url.path;
    if (!url.query.empty()) text += "?" + url.query;
    return text;
}

// Collects one transfer's answer as it arrives.
struct Sink {
    HttpReply* reply;
    std::size_t max_body;
    std::size_t header_bytes = 0;
    bool header_overflow = false;
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* sink = static_cast<Sink*>(user);
    const std::size_t n = size * count;
    sink->header_bytes += n;
    if (sink->header_bytes > kMaxHeaderBytes) {
        sink->header_overflow = true;
        return 0;  // aborts the transfer
    }
    const std::string_view line(data, n);
    if (line.rfind("HTTP/", 0) == 0) {
        // A new response (after a redirect or a 100 Continue): only the last one's headers.
        sink->reply->headers.clear();
        sink->header_bytes = n;
        return n;
    }
    const auto colon = line.find(':');
    if (colon != std::string_view::npos)
        sink->reply->headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
    return n;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* sink = static_cast<Sink*>(user);
    const std::size_t n = size * count;
    std::string& body = sink->reply->body;
    const std::size_t room = sink->max_body - std::min(sink->max_body, body.size());
    body.append(data, std::min(n, room));
    if (n > room) {
        // The cap is reached: enough to judge, and no more is read.
        sink->reply->body_truncated = true;
        return 0;
    }
    return n;
}

std::string sha256_hex(const std::string& data) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
    static const char* const hex = "0123456789abcdef";
    std::string out;
    for (const unsigned char b : digest) {
        out += hex[b >> 4];
        out += hex[b & 15];
    }
    return out;
}

double seconds(CURL* curl, CURLINFO what) {
    curl_off_t us = 0;
    curl_easy_getinfo(curl, what, &us);
    return static_cast<double>(us) / 1e6;
}

struct CurlDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// Why a transfer that libcurl ended with `code` has no response, in words for a check's
// message: host:port and the cause, never a password.
std::string failure_text(CURL* curl, CURLcode code, const char* error_text,
                         const HttpTarget& target, const std::string& where, bool header_overflow) {
    const std::string detail =
        redact_secrets(error_text[0] != 0 ? error_text : curl_easy_strerror(code));
    switch (code) {
        case CURLE_OPERATION_TIMEDOUT: {
            long status = 0;
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
            return status > 0 || seconds(curl, CURLINFO_CONNECT_TIME_T) > 0
                       ? "no complete response from " + where + " before the deadline"
                       : "could not reach " + where + " before the deadline (" + detail + ")";
        }
        case CURLE_COULDNT_CONNECT: {
            long os_errno = 0;
            curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
            return "connect to " + where + " failed: " +
                   (os_errno != 0 ? std::string(std::strerror(static_cast<int>(os_errno)))
                                  : detail);
        }
        case CURLE_COULDNT_RESOLVE_HOST:
            return "cannot resolve " + target.url.host + ": " + detail;
        case CURLE_TOO_MANY_REDIRECTS:
            return "more than " + std::to_string(target.max_redirects) + " redirects from " + where;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CONNECT_ERROR:
            return "TLS with " + where + " failed: " + detail;
        case CURLE_WRITE_ERROR:
            return header_overflow ? "response headers from " + where + " over " +
                                         std::to_string(kMaxHeaderBytes / 1024) + " KiB"
                                   : "reading from " + where + " failed: " + detail;
        default:
            return "request to " + where + " failed: " + detail;
    }
}

}  // namespace

std::optional<std::string> HttpExpectation::unmet(const HttpReply& reply) const {
    if (!status.contains(reply.status)) {
        std::string why = "status " + std::to_string(reply.status) + ", expected " + status.text();
        if (reply.status >= 300 && reply.status < 400) {
            const auto location = reply.headers.find("location");
            if (location != reply.headers.end())
                why += " (a redirect to " + redact_secrets(location->second) +
                       ": set follow_redirects, or send the header the app expects, e.g. "
                       "X-Forwarded-Proto: https)";
        }
        return why;
    }
    if (!body_contains.empty() && reply.body.find(body_contains) == std::string::npos) {
        return "body does not contain \"" + body_contains + "\"";
    }
    return std::nullopt;
}

HttpExchange http_exchange(const HttpTarget& target, const Deadline& deadline,
                           std::size_t max_body) {
    init_curl();
    HttpReply reply;
    HttpTimings timings;
    const Url& url = target.url;
    const std::string where =
        target.unix_socket.empty() ? url.authority(default_port(url)) : target.unix_socket;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline.remaining());
    if (left.count() <= 0) return {Failure{"no time left to ask " + where, true}, timings};
    std::unique_ptr<CURL, CurlDeleter> handle(curl_easy_init());
    if (!handle) return {Failure{"libcurl could not make a handle"}, timings};
    CURL* curl = handle.get();
    Sink sink{&reply, max_body};
    char error_text[CURL_ERROR_SIZE] = {};
    const std::string text = curl_url(url);
    curl_easy_setopt(curl, CURLOPT_URL, text.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    // At the deadline the resolver thread is left behind, not waited for.
    curl_easy_setopt(curl, CURLOPT_QUICK_EXIT, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(left.count()));
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "vitals/" VITALS_VERSION);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    // One connection per run, so every run measures a connect; nothing shared between checks.
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
    if (!url.user.empty() || url.has_password) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, url.user.c_str());
        curl_easy_setopt(curl, CURLOPT_PASSWORD, url.password.c_str());
    }
    if (target.follow_redirects) {
        curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(curl, CURLOPT_MAXREDIRS, static_cast<long>(target.max_redirects));
        curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    }
    if (!target.unix_socket.empty())
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, target.unix_socket.c_str());
    // The environment's proxy (HTTPS_PROXY, http_proxy) serves what leaves the pod, a CDN say;
    // the app beside vitals is reached directly, whatever NO_PROXY forgot.
    const bool in_pod = !target.unix_socket.empty() || url.host == "localhost" ||
                        url.host == "::1" || url.host.rfind("127.", 0) == 0;
    if (in_pod) curl_easy_setopt(curl, CURLOPT_PROXY, "");
    if (!target.ca_file.empty()) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, target.ca_file.c_str());
    } else if (!system_ca_dir().empty()) {  // no bundle parsed per request: see tls.hpp
        curl_easy_setopt(curl, CURLOPT_CAINFO, nullptr);
        curl_easy_setopt(curl, CURLOPT_CAPATH, system_ca_dir().c_str());
    }
    if (target.insecure) {
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    std::unique_ptr<curl_slist, SlistDeleter> headers;
    const auto add_header = [&](const std::string& line) {
        curl_slist* next = curl_slist_append(headers.get(), line.c_str());
        if (next != nullptr) {
            (void)headers.release();
            headers.reset(next);
        }
    };
    if (target.method != "GET")
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, target.method.c_str());
    if (target.method == "PUT") {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, target.body.data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(target.body.size()));
        add_header("Content-Type: application/octet-stream");
    }
    if (!target.aws_sigv4.empty()) {
        curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, target.aws_sigv4.c_str());
        curl_easy_setopt(curl, CURLOPT_USERNAME, target.aws_key_id.c_str());
        curl_easy_setopt(curl, CURLOPT_PASSWORD, target.aws_secret.c_str());
        add_header("x-amz-content-sha256: " +
                   sha256_hex(target.method == "PUT" ? target.body : std::string()));
    }
    if (!target.host_header.empty()) add_header("Host: " + target.host_header);
    for (const auto& [name, value] : target.headers) {
        std::string line = name;
        line += ": ";
        line += value;
        add_header(line);
    }
    if (headers) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());

    const CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    reply.status = static_cast<int>(status);
    long redirects = 0;
    curl_easy_getinfo(curl, CURLINFO_REDIRECT_COUNT, &redirects);
    timings.redirects = static_cast<int>(redirects);
    char* effective = nullptr;
    curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &effective);
    if (effective != nullptr) reply.final_url = redact_secrets(effective);
    timings.connect_seconds = seconds(curl, CURLINFO_CONNECT_TIME_T);
    if (url.scheme == "https") timings.tls_seconds = seconds(curl, CURLINFO_APPCONNECT_TIME_T);
    timings.first_byte_seconds = seconds(curl, CURLINFO_STARTTRANSFER_TIME_T);
    timings.total_seconds = seconds(curl, CURLINFO_TOTAL_TIME_T);

    if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && reply.body_truncated)) {
        if (status <= 0) return {Failure{"no HTTP status from " + where}, timings};
        return {std::move(reply), timings};
    }
    return {Failure{failure_text(curl, code, error_text, target, where, sink.header_overflow),
                    code == CURLE_OPERATION_TIMEDOUT},
            timings};
}

Expected<HttpReply> http_get(const HttpTarget& target, const Deadline& deadline,
                             std::size_t max_body) {
    return http_exchange(target, deadline, max_body).reply;
}

Expected<HttpReply> http_get(const Url& url, const std::string& host_header,
                             const Deadline& deadline, std::size_t max_body) {
    HttpTarget target;
    target.url = url;
    target.host_header = host_header;
    return http_get(target, deadline, max_body);
}

}  // namespace vitals
