#include "sidecar/http/respond.hpp"

#include <sys/socket.h>

#include <pistache/http_headers.h>
#include <pistache/peer.h>

namespace vitals {

using namespace Pistache;

namespace {

// Headers with one fixed value. This Pistache does not write raw headers of a response, so
// they are typed ones.
class NoSniff final : public Http::Header::Header {
  public:
    NAME("X-Content-Type-Options")
    void write(std::ostream& os) const override { os << "nosniff"; }
};

class ContentSecurityPolicy final : public Http::Header::Header {
  public:
    NAME("Content-Security-Policy")
    void write(std::ostream& os) const override {
        os << "default-src 'none'; script-src 'self'; connect-src 'self'; "
              "style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'";
    }
};

}  // namespace

const MediaTypes& media() {
    static const MediaTypes types;
    return types;
}

// HTTP/1.1 connections persist unless the client says otherwise; this Pistache writes
// "Connection: Close" whenever the request has no Connection header, which makes every
// client reconnect per request. Every response goes through here, so the fix is in one place.
// Whether the connection stays open.
bool set_connection(const Http::Request& request, Http::ResponseWriter& writer, bool close) {
    bool keep_alive = !close && request.version() == Http::Version::Http11;
    if (const auto connection = request.headers().tryGet<Http::Header::Connection>()) {
        keep_alive = keep_alive && connection->control() != Http::ConnectionControl::Close;
    }
    writer.headers().remove<Http::Header::Connection>();
    writer.headers().add<Http::Header::Connection>(keep_alive ? Http::ConnectionControl::KeepAlive
                                                              : Http::ConnectionControl::Close);
    return keep_alive;
}

void send(const Http::Request& request, Http::ResponseWriter& writer, const Response& response,
          const Http::Mime::MediaType& type, bool close) {
    const bool keep_alive = set_connection(request, writer, close);
    writer.headers().add<Http::Header::CacheControl>(Http::CacheDirective::NoStore);
    // Every answer: no type sniffing, and a page that can load nothing from anywhere (it
    // needs only its inline style and SVG), nor be framed.
    writer.headers().add<NoSniff>();
    writer.headers().add<ContentSecurityPolicy>();
    const bool head = request.method() == Http::Method::Head;
    auto sent = writer.send(static_cast<Http::Code>(response.code),
                            head ? std::string_view().data() : response.body.data(),
                            head ? 0 : response.body.size(), type);
    if (keep_alive) return;
    // "Connection: close" alone does not make this Pistache close: the connection stayed
    // open until the keep-alive timeout, and a client reading to the end of the stream (an
    // HTTP/1.0 monitor, nc) waited that long. Once the answer is written, the socket is shut
    // down and the reactor lets the peer go.
    const auto peer = writer.getPeer();
    const int fd = peer ? peer->fd() : -1;
    sent.then(
        [fd](ssize_t) {
            if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
        },
        Async::IgnoreException);
}

// "127.0.0.1:8686", "[::1]:8686", "localhost", "10.0.0.7": names no DNS answer can move.
bool host_is_literal(std::string_view host) {
    if (!host.empty() && host.front() == '[') return host.find(']') != std::string_view::npos;
    host = host.substr(0, host.rfind(':'));
    if (host == "localhost") return true;
    if (host.empty()) return false;
    for (const char c : host) {
        if (!(c == '.' || (c >= '0' && c <= '9'))) return false;
    }
    return true;
}

std::string bearer_token(const Http::Request& request) {
    if (const auto auth = request.headers().tryGetRaw("Authorization")) {
        const std::string value = auth->value();
        if (value.rfind("Bearer ", 0) == 0) return value.substr(7);
    } else if (const auto parsed = request.headers().tryGet<Http::Header::Authorization>()) {
        const std::string value = parsed->value();
        if (value.rfind("Bearer ", 0) == 0) return value.substr(7);
    }
    return "";
}

bool constant_time_equal(const std::string& presented, const std::string& want) {
    unsigned char diff = want.size() == presented.size() ? 0 : 1;
    for (std::size_t i = 0; i < want.size(); ++i)
        diff |= static_cast<unsigned char>(want[i] ^ (i < presented.size() ? presented[i] : 0));
    return diff == 0;
}

}  // namespace vitals
