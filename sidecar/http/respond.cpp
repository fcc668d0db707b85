#include "sidecar/http/respond.hpp"

#include <sys/socket.h>

#include <array>

#include <pistache/http_headers.h>
#include <pistache/peer.h>

#include "sidecar/url.hpp"

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

constexpr std::string_view kPolicy =
    "default-src 'none'; script-src 'self'; connect-src 'self'; "
    "style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'";

class ContentSecurityPolicy final : public Http::Header::Header {
  public:
    NAME("Content-Security-Policy")
    void write(std::ostream& os) const override { os << kPolicy; }
};

// The answer's size on the wire, near enough to bound what a connection leaves unread.
constexpr std::size_t kHeaderBytes = 400;

}  // namespace

const char* const kConnectionData = "vitals.connection";

std::shared_ptr<ServedConnection> connection_of(const std::shared_ptr<Tcp::Peer>& peer) {
    if (!peer) return nullptr;
    return std::static_pointer_cast<ServedConnection>(peer->getData(kConnectionData));
}

std::string raw_answer(int code, std::string_view reason, std::string_view body) {
    std::string out =
        "HTTP/1.1 " + std::to_string(code) + " " + std::string(reason) +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\nCache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\nContent-Security-Policy: ";
    out += kPolicy;
    out += "\r\n\r\n";
    out += body;
    return out;
}

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
          const Http::Mime::MediaType& type, const ConnectionLimits& limits, bool close) {
    const bool keep_alive = set_connection(request, writer, close);
    writer.headers().add<Http::Header::CacheControl>(Http::CacheDirective::NoStore);
    // Every answer: no type sniffing, and a page that can load nothing from anywhere (it
    // needs only its inline style and SVG), nor be framed.
    writer.headers().add<NoSniff>();
    writer.headers().add<ContentSecurityPolicy>();
    const bool head = request.method() == Http::Method::Head;
    const std::size_t body = head ? 0 : response.body.size();
    // A peer that does not read its answers is let go rather than queued for: this Pistache
    // keeps every unsent answer, and busy-loops on a socket that is full.
    const auto connection = connection_of(writer.getPeer());
    const std::size_t bytes = body + kHeaderBytes;
    if (connection) {
        if (!connection->may_send(bytes, limits)) {
            connection->close();
            return;
        }
        connection->queued(bytes);
    }
    auto sent = writer.send(static_cast<Http::Code>(response.code),
                            head ? std::string_view().data() : response.body.data(), body, type);
    // "Connection: close" alone does not make this Pistache close: the connection stayed
    // open until the keep-alive timeout, and a client reading to the end of the stream (an
    // HTTP/1.0 monitor, nc) waited that long. Once the answer is written, the socket is shut
    // down and the reactor lets the peer go.
    const std::weak_ptr<ServedConnection> weak = connection;
    sent.then(
        [weak, bytes, keep_alive](ssize_t) {
            if (const auto c = weak.lock()) {
                c->written(bytes);
                if (!keep_alive) c->close();
            }
        },
        [weak, bytes](std::exception_ptr&) {
            if (const auto c = weak.lock()) c->written(bytes);
        });
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

std::string request_token(const Http::Request& request) {
    std::string token = bearer_token(request);
    if (!token.empty()) return token;
    // curl --data-urlencode and most clients percent-encode the query.
    const auto query = request.query().get("token");
    return query ? percent_decode(*query).value_or("") : "";
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

unsigned method_bit(Pistache::Http::Method m) {
    switch (m) {
        case Pistache::Http::Method::Get:
            return kGet;
        case Pistache::Http::Method::Head:
            return kHead;
        case Pistache::Http::Method::Post:
            return kPost;
        default:
            return 0;
    }
}

std::vector<Pistache::Http::Method> allowed_methods(unsigned bits) {
    std::vector<Pistache::Http::Method> out;
    if (bits & kGet) out.push_back(Pistache::Http::Method::Get);
    if (bits & kHead) out.push_back(Pistache::Http::Method::Head);
    if (bits & kPost) out.push_back(Pistache::Http::Method::Post);
    return out;
}

const Response& not_allowed_response(unsigned bits) {
    // One body per set of the three methods, built once.
    static const std::array<Response, 8> bodies = [] {
        std::array<Response, 8> out;
        for (unsigned m = 0; m < out.size(); ++m) {
            std::string names;
            for (const auto& [bit, name] :
                 {std::pair<unsigned, const char*>{kGet, "GET"}, {kHead, "HEAD"}, {kPost, "POST"}})
                if (m & bit) names += std::string(names.empty() ? "" : ", ") + "\"" + name + "\"";
            out[m] = Response{
                405, "{\n  \"error\": \"method not allowed\",\n  \"allow\": [" + names + "]\n}\n"};
        }
        return out;
    }();
    return bodies[bits & 7U];
}

}  // namespace vitals
