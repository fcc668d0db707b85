#include "sidecar/http/server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/peer.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sidecar/heartbeat/board.hpp"
#include "sidecar/http/connections.hpp"
#include "sidecar/http/framing.hpp"
#include "sidecar/http/ping.hpp"
#include "sidecar/http/render.hpp"
#include "sidecar/http/respond.hpp"

namespace vitals {

namespace {

using namespace Pistache;

const Response kNoSuchCheck{404, "{\n  \"error\": \"no such check\"\n}\n"};
const Response kStalled{503,
                        "{\n  \"status\": \"fail\",\n  \"failing\": [\"vitals_scheduler\"]\n}\n"};

// What one request may hold, headers and body: a ping's body (a job's output, up to
// kHeartbeatBodyLimit, 10,000 bytes, as runitor sends it) and ordinary headers fit; a
// connection holding a half-sent request holds at most this.
constexpr std::size_t kMaxRequestBytes = 12 * 1024;

// What a request is answered with: a body (rendered or constant) and its content type.
struct Answer {
    const Response* response;
    const Http::Mime::MediaType* type;
};

struct RequestView {
    const Http::Request& request;
    const Rendered& pages;
    bool trusted;
    std::string_view rest;  // the path after a prefix route's prefix
};

class ProbeHandler;
using Answerer = Answer (*)(const ProbeHandler&, const RequestView&);

// One table drives dispatch, the 405 Allow header and the 404 list of endpoints.
struct Route {
    std::string_view path;  // exact, or a prefix when `prefix`
    bool prefix;
    std::string_view shown;  // in the 404 body
    unsigned methods;
    bool needs_scheduler;  // goes wrong when the scheduler stalls: 503 then
    bool reserved;         // a probe path: answered over the connection caps too
    Answerer answer;
};

Answer json_answer(const Response& r) {
    return {&r, &media().json};
}

extern const Route kRoutes[];
extern const std::size_t kRouteCount;

Response not_found_response() {
    std::string list;
    for (std::size_t i = 0; i < kRouteCount; ++i)
        list += std::string(list.empty() ? "" : ", ") + "\"" + std::string(kRoutes[i].shown) + "\"";
    return {404, "{\n  \"error\": \"no such endpoint\",\n  \"endpoints\": [" + list + "]\n}\n"};
}

class ProbeHandler final : public Http::Handler {
  public:
    HTTP_PROTOTYPE(ProbeHandler)

    ProbeHandler(const Latest<Rendered>* pages, const Store* store, const Clock* clock,
                 const HttpOptions* options, std::shared_ptr<Connections> connections)
        : pages_(pages),
          store_(store),
          clock_(clock),
          options_(options),
          connections_(std::move(connections)) {}

    // Every connection gets its parser (as Pistache's own handler does) and its place under
    // the caps.
    void onConnection(const std::shared_ptr<Tcp::Peer>& peer) override {
        // Pipelined requests get their answers at once: with Nagle's algorithm each answer
        // after the first waited for the client's delayed ACK (40 ms a batch, measured).
        const int on = 1;
        ::setsockopt(peer->fd(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        peer->putData(ParserData, std::make_shared<Http::RequestParser>(getMaxRequestSize()));
        peer->putData(kConnectionData, connections_->open(peer->fd(), peer->address().host()));
    }

    // Pistache's own reading parses one request per read and drops what follows it, answers
    // its parse errors with exception text, and keeps the connection open after a 413 (so
    // the rest of a refused body ran as a request). Here each request is framed first, then
    // parsed alone; an error answer is vitals' and closes the connection.
    void onInput(const char* buffer, size_t length,
                 const std::shared_ptr<Tcp::Peer>& peer) override {
        const auto connection = connection_of(peer);
        if (!connection || connection->closing()) return;
        ServedConnection& c = *connection;
        c.inbox.append(buffer, length);
        while (!c.closing() && !c.inbox.empty()) {
            const Frame frame = frame_request(c.inbox, kMaxRequestBytes);
            if (frame.kind == Frame::incomplete) break;
            if (frame.kind != Frame::complete) {
                c.close_with(frame.kind == Frame::too_large ? too_large() : bad_request());
                break;
            }
            serve(peer, c, frame.length);
            c.inbox.erase(0, frame.length);
        }
        if (c.closing()) std::string().swap(c.inbox);
    }

    void onRequest(const Http::Request& request, Http::ResponseWriter writer) override {
        // Pistache answers an escaped exception with its text as the body; nothing here
        // should throw, but if something does, the answer says nothing about it.
        try {
            answer(request, writer);
        } catch (const std::exception&) {
            static const Response internal{500, "{\n  \"error\": \"internal error\"\n}\n"};
            reply(request, writer, internal, media().json, true);
        }
    }

    void answer(const Http::Request& request, Http::ResponseWriter& writer) {
        static const Response not_found = not_found_response();
        const std::string& path = request.resource();
        const Route* route = nullptr;
        for (std::size_t i = 0; i < kRouteCount && route == nullptr; ++i) {
            const Route& r = kRoutes[i];
            if (r.prefix
                    ? path.size() > r.path.size() && path.compare(0, r.path.size(), r.path) == 0
                    : path == r.path)
                route = &r;
        }
        // Over the caps, a probe path is answered and the connection closed; anything else
        // is refused.
        const auto connection = connection_of(writer.getPeer());
        const bool over = connection && !connection->admitted();
        if (over && (route == nullptr || !route->reserved)) {
            static const std::string too_many =
                raw_answer(503, "Service Unavailable",
                           "{\n  \"error\": \"too many connections, try again\"\n}\n");
            connection->close_with(too_many);
            return;
        }
        if (route == nullptr) {
            reply(request, writer, not_found, media().json);
            return;
        }
        if ((method_bit(request.method()) & route->methods) == 0) {
            writer.headers().add<Http::Header::Allow>(allowed_methods(route->methods));
            reply(request, writer, not_allowed_response(route->methods), media().json);
            return;
        }
        if (route->needs_scheduler && clock_->now() - store_->last_beat() > options_->stall_after) {
            reply(request, writer, kStalled, media().json, over);
            return;
        }
        const RequestView view{
            request, pages(), is_trusted(request),
            std::string_view(path).substr(route->prefix ? route->path.size() : 0)};
        const Answer answer = route->answer(*this, view);
        reply(request, writer, *answer.response, *answer.type, over);
    }

    void onTimeout(const Http::Request& /*request*/, Http::ResponseWriter writer) override {
        writer.headers().add<Http::Header::Connection>(Http::ConnectionControl::Close);
        writer.send(Http::Code::Request_Timeout, "{\n  \"error\": \"request timed out\"\n}\n",
                    media().json);
    }

    const Response& heartbeat(const Http::Request& request, std::string name) const {
        return heartbeat_ping(options_->heartbeats, request, std::move(name), *clock_);
    }
    const Response& hc_ping(const Http::Request& request, std::string_view rest) const {
        return healthchecks_ping(options_->heartbeats, request, rest, *clock_);
    }

  private:
    void reply(const Http::Request& request, Http::ResponseWriter& writer, const Response& response,
               const Http::Mime::MediaType& type, bool close = false) const {
        send(request, writer, response, type, connections_->limits(), close);
    }

    static const std::string& bad_request() {
        static const std::string raw =
            raw_answer(400, "Bad Request", "{\n  \"error\": \"malformed request\"\n}\n");
        return raw;
    }
    static const std::string& too_large() {
        static const std::string raw = raw_answer(
            413, "Payload Too Large",
            "{\n  \"error\": \"a request may hold at most 12 KiB, headers and body\"\n}\n");
        return raw;
    }

    // Parses and answers the first `length` bytes of the connection's inbox: one request.
    void serve(const std::shared_ptr<Tcp::Peer>& peer, ServedConnection& c, std::size_t length) {
        const auto parser = getParser(peer);
        try {
            if (!parser->feed(c.inbox.data(), length) ||
                parser->parse() != Http::Private::State::Done) {
                parser->reset();
                c.close_with(bad_request());
                return;
            }
            Http::Request& request = parser->request;
            request.copyAddress(peer->address());
            Http::ResponseWriter writer(request.version(), transport(), this, peer);
            peer->setIdle(false);
            onRequest(request, std::move(writer));
        } catch (const std::exception&) {
            // Pistache's parse errors (a bad Date, Host: x:99999999, ...) carry library text;
            // the answer carries none of it.
            c.close_with(bad_request());
        }
        parser->reset();
    }

    // The current bodies. Each HTTP thread keeps its own reference and the version it saw,
    // so a request costs one atomic load; only the first one after a publication takes the
    // shared pointer's pooled lock (see Latest).
    const Rendered& pages() const {
        thread_local const Latest<Rendered>* source = nullptr;
        thread_local std::uint64_t seen = 0;
        thread_local std::shared_ptr<const Rendered> held;
        const std::uint64_t version = pages_->version();
        if (source != pages_ || version != seen || !held) {
            source = pages_;
            seen = version;
            held = pages_->load();
        }
        return *held;
    }

    // Who sees error text and details. With a detail token: whoever presents it. Without:
    // a trusted source address, and a Host that is an IP literal or localhost, so that a
    // DNS-rebinding page in a browser during `kubectl port-forward` (its Host is its own
    // name) is not trusted.
    bool is_trusted(const Http::Request& request) const {
        if (!options_->detail_token.empty())
            return constant_time_equal(bearer_token(request), options_->detail_token);
        if (!options_->trusted.contains(request.address().host())) return false;
        const auto host = request.headers().tryGetRaw("Host");
        return !host || host_is_literal(host->value());
    }

    const Latest<Rendered>* pages_;
    const Store* store_;
    const Clock* clock_;
    const HttpOptions* options_;
    std::shared_ptr<Connections> connections_;
};

Answer live_answer(const ProbeHandler& /*handler*/, const RequestView& v) {
    return json_answer(v.pages.livez);
}
Answer ready_answer(const ProbeHandler& /*handler*/, const RequestView& v) {
    return json_answer(v.pages.readyz);
}
Answer health_answer(const ProbeHandler& /*handler*/, const RequestView& v) {
    return json_answer(v.trusted ? v.pages.health_trusted : v.pages.health_public);
}

const Route kRoutes[] = {
    {"/livez", false, "/livez", kGet | kHead, true, true, live_answer},
    {"/vitalz", false, "/vitalz", kGet | kHead, true, true,  // vitals itself, for its own probes
     [](const ProbeHandler&, const RequestView&) { return json_answer(kPingOk); }},
    {"/readyz", false, "/readyz", kGet | kHead, true, true, ready_answer},
    {"/startupz", false, "/startupz", kGet | kHead, false, true,
     [](const ProbeHandler&, const RequestView& v) { return json_answer(v.pages.startupz); }},
    // The names people already call, answered as their counterparts: /live and /healthz as
    // /livez (Kubernetes' older liveness path), /ready as /readyz; /health/ below.
    {"/live", false, "/live", kGet | kHead, true, true, live_answer},
    {"/healthz", false, "/healthz", kGet | kHead, true, true, live_answer},
    {"/ready", false, "/ready", kGet | kHead, true, true, ready_answer},
    {"/health", false, "/health", kGet | kHead, true, false, health_answer},
    // "/health/" itself is /health: the article's post-deploy curl and its uptime monitor.
    {"/health/", false, "/health/", kGet | kHead, true, false, health_answer},
    {"/health/history", false, "/health/history", kGet | kHead, false, false,
     [](const ProbeHandler&, const RequestView& v) {
         return json_answer(v.trusted ? v.pages.history_trusted : v.pages.history_public);
     }},
    {"/health/", true, "/health/<check>", kGet | kHead, false, false,
     [](const ProbeHandler&, const RequestView& v) {
         const auto it = v.pages.check_detail.find(v.rest);
         if (it == v.pages.check_detail.end()) return json_answer(kNoSuchCheck);
         return json_answer(v.trusted ? it->second.second : it->second.first);
     }},
    {"/metrics", false, "/metrics", kGet | kHead, false, false,
     [](const ProbeHandler&, const RequestView& v) {
         return Answer{&v.pages.metrics, &media().metrics};
     }},
    {"/", false, "/", kGet | kHead, false, false,
     [](const ProbeHandler&, const RequestView& v) {
         return Answer{v.trusted ? &v.pages.page_trusted : &v.pages.page_public, &media().html};
     }},
    {"/kinds/", true, "/kinds/<kind>", kGet | kHead, false, false,  // the page's kind links
     [](const ProbeHandler&, const RequestView& v) {
         return Answer{&kind_page(v.pages, v.rest), &media().html};
     }},
    {"/page.json", false, "/page.json", kGet | kHead, false, false,
     [](const ProbeHandler&, const RequestView& v) {
         return json_answer(v.trusted ? v.pages.page_json_trusted : v.pages.page_json_public);
     }},
    {"/page.js", false, "/page.js", kGet | kHead, false, false,
     [](const ProbeHandler&, const RequestView&) {
         static const Response script{200, page_script()};
         return Answer{&script, &media().javascript};
     }},
    {"/heartbeat/", true, "/heartbeat/<name>", kGet | kPost, false, false,
     [](const ProbeHandler& h, const RequestView& v) {
         return json_answer(h.heartbeat(v.request, std::string(v.rest)));
     }},
    {"/ping/", true, "/ping/<name>", kGet | kHead | kPost, false, false,
     [](const ProbeHandler& h, const RequestView& v) {
         return Answer{&h.hc_ping(v.request, v.rest), &media().text};
     }},
};
const std::size_t kRouteCount = sizeof(kRoutes) / sizeof(kRoutes[0]);

}  // namespace

HttpServer::HttpServer(const Store& store, const Clock& clock, HttpOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      connections_(std::make_shared<Connections>(ConnectionLimits{options_.max_connections})),
      pages_(std::make_shared<const Rendered>(render(*store.load(), nullptr, options_.page))) {}

void HttpServer::publish(const Snapshot& snapshot) {
    const auto previous = pages_.load();
    pages_.publish(
        std::make_shared<const Rendered>(render(snapshot, previous.get(), options_.page)));
}

HttpServer::~HttpServer() {
    stop();
}

void HttpServer::start() {
    // Pistache tells an IPv6 literal by its brackets: "[::]" binds every address, "::" fails.
    const std::string& host = options_.listen.host;
    Address address(host.find(':') != std::string::npos ? "[" + host + "]" : host,
                    Port(options_.listen.port));
    endpoint_ = std::make_unique<Http::Endpoint>(address);
    auto opts = Http::Endpoint::options()
                    .threads(options_.threads)
                    .flags(Tcp::Options::ReuseAddr)
                    .maxRequestSize(kMaxRequestBytes)
                    .headerTimeout(options_.header_timeout)
                    .bodyTimeout(options_.header_timeout)
                    .keepaliveTimeout(options_.keepalive_timeout);
    endpoint_->init(opts);
    // Pistache listens with a backlog of 128, and this version's Endpoint::init drops the
    // option's backlog on the way to the listener (measured: listen(fd, 128) whatever is
    // set). A burst of connections (a scanner, a reconnect storm) fills 128 places faster
    // than the accept loop drains them, and the kernel then drops a probe's handshake:
    // kubelet waits out a 1 s SYN retransmit, or times out. The listener is initialised again
    // with room for as many connections as vitals serves at once (the kernel clamps it to
    // net.core.somaxconn).
    const auto backlog =
        static_cast<int>(std::clamp<std::size_t>(options_.max_connections, 128, 65535));
    endpoint_->initArgs(static_cast<std::size_t>(options_.threads),
                        Flags<Tcp::Options>(Tcp::Options::ReuseAddr), std::string(), backlog);
    endpoint_->setHandler(
        Http::make_handler<ProbeHandler>(&pages_, &store_, &clock_, &options_, connections_));
    endpoint_->serveThreaded();
}

std::uint16_t HttpServer::port() const {
    return endpoint_ ? static_cast<std::uint16_t>(endpoint_->getPort()) : 0;
}

void HttpServer::stop() {
    if (endpoint_) {
        // A write stuck on a peer that stopped reading would keep its thread (and so this
        // shutdown) waiting: every connection is shut first.
        connections_->shut_all();
        endpoint_->shutdown();
        endpoint_.reset();
    }
}

}  // namespace vitals
