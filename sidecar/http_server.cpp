#include "sidecar/http_server.hpp"

#include <pistache/endpoint.h>
#include <pistache/http.h>

#include <string_view>

#include "sidecar/heartbeats.hpp"

namespace vitals {

namespace {

using namespace Pistache;

// Content types, built once.
struct MediaTypes {
    Http::Mime::MediaType json = Http::Mime::MediaType::fromString("application/json");
    Http::Mime::MediaType metrics =
        Http::Mime::MediaType::fromString("text/plain; version=0.0.4; charset=utf-8");
    Http::Mime::MediaType html = Http::Mime::MediaType::fromString("text/html; charset=utf-8");
};

const MediaTypes& media() {
    static const MediaTypes types;
    return types;
}

const Response kNotFound{
    404,
    "{\n  \"error\": \"no such endpoint\",\n  \"endpoints\": [\"/livez\", \"/vitalz\", "
    "\"/readyz\", \"/startupz\", "
    "\"/health\", \"/health/history\", \"/health/<check>\", \"/metrics\", "
    "\"/\", \"/heartbeat/<name>\"]\n}\n"};
const Response kNoSuchCheck{404, "{\n  \"error\": \"no such check\"\n}\n"};
const Response kNotAllowed{
    405, "{\n  \"error\": \"method not allowed\",\n  \"allow\": [\"GET\", \"HEAD\"]\n}\n"};
const Response kPingOk{200, "{\n  \"status\": \"ok\"\n}\n"};
const Response kNoSuchHeartbeat{404, "{\n  \"error\": \"no such heartbeat\"\n}\n"};
const Response kBadToken{401, "{\n  \"error\": \"missing or wrong token\"\n}\n"};
const Response kTooLarge{413,
                         "{\n  \"error\": \"a failure message may hold at most 1024 bytes\"\n}\n"};
const Response kStalled{503,
                        "{\n  \"status\": \"fail\",\n  \"failing\": [\"vitals_scheduler\"]\n}\n"};

// HTTP/1.1 connections persist unless the client says otherwise; this Pistache writes
// "Connection: Close" whenever the request has no Connection header, which makes every
// client reconnect per request. Every response goes through here, so the fix is in one place.
void set_connection(const Http::Request& request, Http::ResponseWriter& writer) {
    bool keep_alive = request.version() == Http::Version::Http11;
    if (const auto connection = request.headers().tryGet<Http::Header::Connection>()) {
        keep_alive = connection->control() != Http::ConnectionControl::Close;
    }
    writer.headers().remove<Http::Header::Connection>();
    writer.headers().add<Http::Header::Connection>(keep_alive ? Http::ConnectionControl::KeepAlive
                                                              : Http::ConnectionControl::Close);
}

void send(const Http::Request& request, Http::ResponseWriter& writer, const Response& response,
          const Http::Mime::MediaType& type) {
    set_connection(request, writer);
    writer.headers().add<Http::Header::CacheControl>(Http::CacheDirective::NoStore);
    const bool head = request.method() == Http::Method::Head;
    writer.send(static_cast<Http::Code>(response.code),
                head ? std::string_view().data() : response.body.data(),
                head ? 0 : response.body.size(), type);
}

class ProbeHandler final : public Http::Handler {
  public:
    HTTP_PROTOTYPE(ProbeHandler)

    ProbeHandler(const Store* store, const Clock* clock, const HttpOptions* options)
        : store_(store), clock_(clock), options_(options) {}

    void onRequest(const Http::Request& request, Http::ResponseWriter writer) override {
        const std::string& path = request.resource();
        if (path.rfind("/heartbeat/", 0) == 0) {
            send(request, writer, heartbeat(request, path.substr(11)), media().json);
            return;
        }
        const Http::Method method = request.method();
        const auto snapshot = store_->load();
        const Rendered& r = snapshot->rendered;

        const Response* response = nullptr;
        const Http::Mime::MediaType* type = &media().json;
        bool needs_scheduler = false;  // answers that go wrong when the scheduler stalls
        if (path == "/livez") {
            response = &r.livez;
            needs_scheduler = true;
        } else if (path == "/readyz") {
            response = &r.readyz;
            needs_scheduler = true;
        } else if (path == "/startupz") {
            response = &r.startupz;
        } else if (path == "/vitalz") {  // vitals itself, for its own container's probes
            response = &kPingOk;
            needs_scheduler = true;
        } else if (path == "/health") {
            response = is_trusted(request) ? &r.health_trusted : &r.health_public;
            needs_scheduler = true;
        } else if (path == "/health/history") {
            response = is_trusted(request) ? &r.history_trusted : &r.history_public;
        } else if (path.rfind("/health/", 0) == 0) {
            const auto it = r.check_detail.find(std::string_view(path).substr(8));
            if (it == r.check_detail.end()) {
                response = &kNoSuchCheck;
            } else {
                response = is_trusted(request) ? &it->second.second : &it->second.first;
            }
        } else if (path == "/metrics") {
            response = &r.metrics;
            type = &media().metrics;
        } else if (path == "/") {
            response = is_trusted(request) ? &r.page_trusted : &r.page_public;
            type = &media().html;
        } else {
            response = &kNotFound;
        }
        if (response != &kNotFound && method != Http::Method::Get && method != Http::Method::Head) {
            writer.headers().add<Http::Header::Allow>(
                std::vector<Http::Method>{Http::Method::Get, Http::Method::Head});
            response = &kNotAllowed;
            type = &media().json;
        } else if (needs_scheduler && clock_->now() - store_->last_beat() > options_->stall_after) {
            response = &kStalled;
        }
        send(request, writer, *response, *type);
    }

    void onTimeout(const Http::Request& /*request*/, Http::ResponseWriter writer) override {
        writer.headers().add<Http::Header::Connection>(Http::ConnectionControl::Close);
        writer.send(Http::Code::Request_Timeout, "{\n  \"error\": \"request timed out\"\n}\n",
                    media().json);
    }

  private:
    // The only write path: GET (for curl in a cron line) or POST /heartbeat/<name>[/start|/fail].
    const Response& heartbeat(const Http::Request& request, std::string name) const {
        const Http::Method method = request.method();
        if (options_->heartbeats == nullptr) return kNoSuchHeartbeat;
        if (method != Http::Method::Get && method != Http::Method::Post) return kNotAllowed;
        Ping ping = Ping::success;
        for (const auto& [suffix, kind] :
             {std::pair<const char*, Ping>{"/start", Ping::start}, {"/fail", Ping::fail}}) {
            const std::string s = suffix;
            if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
                name.resize(name.size() - s.size());
                ping = kind;
            }
        }
        HeartbeatBoard& board = *options_->heartbeats;
        if (!board.known(name)) return kNoSuchHeartbeat;
        std::string token = request.query().get("token").value_or("");
        if (const auto auth = request.headers().tryGetRaw("Authorization")) {
            const std::string value = auth->value();
            if (value.rfind("Bearer ", 0) == 0) token = value.substr(7);
        } else if (const auto parsed = request.headers().tryGet<Http::Header::Authorization>()) {
            const std::string value = parsed->value();
            if (value.rfind("Bearer ", 0) == 0) token = value.substr(7);
        }
        if (!board.authorized(name, token)) return kBadToken;
        if (ping == Ping::fail && request.body().size() > 1024) return kTooLarge;
        const auto now =
            std::chrono::duration_cast<std::chrono::milliseconds>(clock_->wall().time_since_epoch())
                .count();
        board.record(name, ping, now, ping == Ping::fail ? request.body() : "");
        return kPingOk;
    }

    bool is_trusted(const Http::Request& request) const {
        return options_->trusted.contains(request.address().host());
    }

    const Store* store_;
    const Clock* clock_;
    const HttpOptions* options_;
};

}  // namespace

HttpServer::HttpServer(const Store& store, const Clock& clock, HttpOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

HttpServer::~HttpServer() {
    stop();
}

void HttpServer::start() {
    Address address(options_.listen.host, Port(options_.listen.port));
    endpoint_ = std::make_unique<Http::Endpoint>(address);
    auto opts = Http::Endpoint::options()
                    .threads(options_.threads)
                    .flags(Tcp::Options::ReuseAddr)
                    .maxRequestSize(std::size_t{16} * 1024)
                    .headerTimeout(options_.header_timeout)
                    .bodyTimeout(options_.header_timeout)
                    .keepaliveTimeout(std::chrono::seconds(120));
    endpoint_->init(opts);
    endpoint_->setHandler(Http::make_handler<ProbeHandler>(&store_, &clock_, &options_));
    endpoint_->serveThreaded();
}

std::uint16_t HttpServer::port() const {
    return endpoint_ ? static_cast<std::uint16_t>(endpoint_->getPort()) : 0;
}

void HttpServer::stop() {
    if (endpoint_) {
        endpoint_->shutdown();
        endpoint_.reset();
    }
}

}  // namespace vitals
