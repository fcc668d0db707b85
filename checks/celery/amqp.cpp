// Celery over AMQP (RabbitMQ) with librabbitmq: passive queue.declare for depths, and the
// pidbox ping with an exclusive, auto-delete reply queue so nothing outlives the run.
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "checks/celery/amqp_tls.hpp"
#include "checks/celery/celery.hpp"
#include "sidecar/clients/tls.hpp"

namespace vitals {

namespace {

// The largest frame vitals accepts. Its messages (pidbox replies, Celery's events) are a few
// KiB; a larger one arrives in several frames. librabbitmq allocates an inbound and an
// outbound buffer and pool pages of this size per connection: RabbitMQ's 128 KiB made them
// the largest heap allocations of a demo pod (heaptrack).
constexpr int kFrameMax = 16 * 1024;

using SteadyClock = std::chrono::steady_clock;

timeval to_timeval(std::chrono::milliseconds d) {
    const auto ms = std::max<long long>(d.count(), 1);
    return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

std::string bytes(const amqp_bytes_t& b) {
    return std::string(static_cast<const char*>(b.bytes), b.len);
}

// Why an RPC failed, in words.
std::string describe(const amqp_rpc_reply_t& r) {
    switch (r.reply_type) {
        case AMQP_RESPONSE_NORMAL:
            return "ok";
        case AMQP_RESPONSE_NONE:
            return "no reply";
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            return amqp_error_string2(r.library_error);
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
                const auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
                return "server closed the connection: " + bytes(m->reply_text);
            }
            if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
                const auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
                return "server closed the channel: " + bytes(m->reply_text);
            }
            return "server exception";
    }
    return "unknown reply";
}

class AmqpBroker final : public CeleryBroker {
  public:
    AmqpBroker(const Url& url, const Deadline& deadline)
        : deadline_(deadline), where_(url.authority(url.scheme == "amqps" ? 5671 : 5672)) {
        const auto started = SteadyClock::now();
        conn_.reset(amqp_new_connection());
        const bool tls = url.scheme == "amqps";
        amqp_socket_t* socket =
            tls ? amqp_tls_socket(conn(), url, tls_) : amqp_tcp_socket_new(conn());
        const timeval tv = to_timeval(deadline.remaining());
        if (socket == nullptr) throw BrokerError("broker unreachable: cannot create a socket");
        reset_amqp_verify_error();
        const int opened = amqp_socket_open_noblock(socket, url.host.c_str(),
                                                    url.port.value_or(tls ? 5671 : 5672), &tv);
        if (opened != AMQP_STATUS_OK) {
            const std::string why =
                opened == AMQP_STATUS_SSL_PEER_VERIFY_FAILED && amqp_verify_error() != X509_V_OK
                    ? describe_verify_error(amqp_verify_error(), tls_)
                    : amqp_error_string2(opened);
            throw BrokerError("broker unreachable: cannot connect to " + where_ + ": " +
                              (tls ? "TLS: " : "") + why);
        }
        amqp_set_handshake_timeout(conn(), &tv);
        amqp_set_rpc_timeout(conn(), &tv);
        // amqp://host// is the vhost "/", amqp://host/shop is "shop"; %2F spells a slash.
        std::string vhost = url.path.size() > 1 ? url.path.substr(1) : "/";
        for (auto at = vhost.find("%2F"); at != std::string::npos; at = vhost.find("%2F"))
            vhost.replace(at, 3, "/");
        const std::string user = url.user.empty() ? "guest" : url.user;
        const std::string pass = url.has_password ? url.password : "guest";
        const amqp_rpc_reply_t login =
            amqp_login(conn(), vhost.c_str(), 0, kFrameMax, 0, AMQP_SASL_METHOD_PLAIN, user.c_str(),
                       pass.c_str());
        if (login.reply_type != AMQP_RESPONSE_NORMAL) {
            throw BrokerError("broker unreachable: login to " + where_ +
                              " failed: " + describe(login));
        }
        open_channel();
        connect_seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
    }

    ~AmqpBroker() override {
        if (channel_open_) amqp_channel_close(conn(), channel_, AMQP_REPLY_SUCCESS);
        amqp_connection_close(conn(), AMQP_REPLY_SUCCESS);
    }

    std::vector<QueueDepth> queue_depths(const std::vector<std::string>& queues) override {
        std::vector<QueueDepth> out;
        for (const std::string& name : queues) {
            QueueDepth d;
            d.queue = name;
            const amqp_queue_declare_ok_t* ok = amqp_queue_declare(
                conn(), channel_, amqp_cstring_bytes(name.c_str()), 1, 0, 0, 0, amqp_empty_table);
            const amqp_rpc_reply_t reply = amqp_get_rpc_reply(conn());
            if (ok != nullptr && reply.reply_type == AMQP_RESPONSE_NORMAL) {
                d.messages = ok->message_count;
                d.consumers = ok->consumer_count;
            } else if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
                       reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD &&
                       static_cast<amqp_channel_close_t*>(reply.reply.decoded)->reply_code ==
                           AMQP_NOT_FOUND) {
                d.exists = false;
                recover_channel();
            } else {
                throw BrokerError("queue.declare " + name + " failed: " + describe(reply));
            }
            out.push_back(d);
        }
        return out;
    }

    std::optional<double> unacked() override { return std::nullopt; }
    std::optional<double> listening_workers() override { return std::nullopt; }

    ControlReplies control(const std::vector<std::string>& methods,
                           const std::vector<std::string>& destination, Millis window,
                           const std::set<std::string>& stop_when) override {
        // Both exchanges exactly as kombu declares them, or the server answers 406.
        amqp_exchange_declare(conn(), channel_, amqp_cstring_bytes("celery.pidbox"),
                              amqp_cstring_bytes("fanout"), 0, 0, 0, 0, amqp_empty_table);
        expect_ok("declare celery.pidbox");
        amqp_exchange_declare(conn(), channel_, amqp_cstring_bytes("reply.celery.pidbox"),
                              amqp_cstring_bytes("direct"), 0, 0, 0, 0, amqp_empty_table);
        expect_ok("declare reply.celery.pidbox");
        // A server-named queue, exclusive and auto-delete: it goes with this connection.
        const amqp_queue_declare_ok_t* q =
            amqp_queue_declare(conn(), channel_, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
        expect_ok("declare the reply queue");
        const std::string queue = bytes(q->queue);
        const std::string key = uuid4();
        amqp_queue_bind(conn(), channel_, amqp_cstring_bytes(queue.c_str()),
                        amqp_cstring_bytes("reply.celery.pidbox"), amqp_cstring_bytes(key.c_str()),
                        amqp_empty_table);
        expect_ok("bind the reply queue");
        amqp_basic_consume(conn(), channel_, amqp_cstring_bytes(queue.c_str()), amqp_empty_bytes, 0,
                           1, 1, amqp_empty_table);
        expect_ok("consume the reply queue");

        const double expires =
            std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                .count() +
            std::chrono::duration<double>(window).count();
        amqp_table_entry_t headers[2];
        headers[0].key = amqp_cstring_bytes("clock");
        headers[0].value.kind = AMQP_FIELD_KIND_I64;
        headers[0].value.value.i64 = 1;
        headers[1].key = amqp_cstring_bytes("expires");
        headers[1].value.kind = AMQP_FIELD_KIND_F64;
        headers[1].value.value.f64 = expires;
        amqp_basic_properties_t props{};
        props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_CONTENT_ENCODING_FLAG |
                       AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
        props.content_type = amqp_cstring_bytes("application/json");
        props.content_encoding = amqp_cstring_bytes("utf-8");
        props.headers.num_entries = 2;
        props.headers.entries = headers;
        props.delivery_mode = 2;
        const auto sent = SteadyClock::now();
        std::map<std::string, std::string> tickets;  // ticket -> method
        for (const std::string& method : methods) {
            const std::string ticket = uuid4();
            tickets[ticket] = method;
            const std::string body = control_request(method, ticket, key, destination);
            const int published = amqp_basic_publish(
                conn(), channel_, amqp_cstring_bytes("celery.pidbox"), amqp_empty_bytes, 0, 0,
                &props, amqp_cstring_bytes(body.c_str()));
            if (published != AMQP_STATUS_OK)
                throw BrokerError("publishing the " + method +
                                  " request failed: " + amqp_error_string2(published));
        }

        ReplyCollector replies(methods, stop_when);
        const auto until = std::min(sent + window, deadline_.at());
        while (SteadyClock::now() < until && !replies.complete()) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(until - SteadyClock::now());
            const timeval tv = to_timeval(left);
            std::string reply_ticket;
            std::optional<std::string> reply_body;
            if (!read_delivery(tv, reply_ticket, reply_body)) break;  // the window ran out
            const double seconds = std::chrono::duration<double>(SteadyClock::now() - sent).count();
            const auto method = tickets.find(reply_ticket);
            if (method == tickets.end()) continue;
            if (!reply_body) {
                ++oversized_replies;
                continue;
            }
            replies.add(method->second, *reply_body, seconds);
        }
        return replies.take();
    }

    void subscribe_events() override {
        // Declared as Celery declares it (kombu's defaults: durable, not auto-delete), or the
        // server answers 406.
        amqp_exchange_declare(conn(), channel_, amqp_cstring_bytes("celeryev"),
                              amqp_cstring_bytes("topic"), 0, 1, 0, 0, amqp_empty_table);
        expect_ok("declare celeryev");
        // A server-named queue that goes with this connection. Events older than a minute
        // are dropped by RabbitMQ, not kept for a listener that fell behind.
        amqp_table_entry_t ttl;
        ttl.key = amqp_cstring_bytes("x-message-ttl");
        ttl.value.kind = AMQP_FIELD_KIND_I32;
        ttl.value.value.i32 = 60'000;
        const amqp_table_t arguments{1, &ttl};
        const amqp_queue_declare_ok_t* q =
            amqp_queue_declare(conn(), channel_, amqp_empty_bytes, 0, 0, 1, 1, arguments);
        expect_ok("declare the event queue");
        const std::string queue = bytes(q->queue);
        amqp_queue_bind(conn(), channel_, amqp_cstring_bytes(queue.c_str()),
                        amqp_cstring_bytes("celeryev"), amqp_cstring_bytes("#"), amqp_empty_table);
        expect_ok("bind the event queue");
        amqp_basic_consume(conn(), channel_, amqp_cstring_bytes(queue.c_str()), amqp_empty_bytes, 0,
                           1, 1, amqp_empty_table);
        expect_ok("consume the event queue");
    }

    void next_events(Millis wait, std::size_t max, std::vector<std::string>& bodies) override {
        const auto until = SteadyClock::now() + wait;
        for (std::size_t taken = 0; taken < max; ++taken) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(until - SteadyClock::now());
            if (left.count() <= 0) return;
            std::string ticket;
            std::optional<std::string> body;
            if (!read_delivery(to_timeval(left), ticket, body)) return;
            if (body) bodies.push_back(std::move(*body));
        }
    }

    // One delivered message, read frame by frame: amqp_consume_message allocates whatever
    // body size the header frame declares, so a broken or hostile peer declaring 4 GB got
    // 4 GB. The declared size is checked first; a body over kMaxReplyBytes is read past
    // frame by frame, never held, and comes back as nullopt (the next reply still counts).
    // False when `tv` passed with nothing.
    bool read_delivery(timeval tv, std::string& ticket, std::optional<std::string>& body) {
        amqp_frame_t frame;
        const auto next = [&](const char* what) {
            amqp_maybe_release_buffers(conn());
            const int rc = amqp_simple_wait_frame_noblock(conn(), &frame, &tv);
            if (rc == AMQP_STATUS_TIMEOUT) return false;
            if (rc != AMQP_STATUS_OK)
                throw BrokerError(std::string("waiting for messages failed (") + what +
                                  "): " + amqp_error_string2(rc));
            return true;
        };
        if (!next("method")) return false;
        if (frame.frame_type != AMQP_FRAME_METHOD ||
            frame.payload.method.id != AMQP_BASIC_DELIVER_METHOD)
            throw BrokerError("waiting for messages failed: the broker sent another frame");
        if (!next("header")) throw BrokerError("a message stopped after its method frame");
        if (frame.frame_type != AMQP_FRAME_HEADER)
            throw BrokerError("a message has no header frame");
        const std::uint64_t size = frame.payload.properties.body_size;
        const bool keep = size <= kMaxReplyBytes;
        ticket =
            header(*static_cast<const amqp_basic_properties_t*>(frame.payload.properties.decoded),
                   "ticket");
        std::string kept;
        if (keep) kept.reserve(static_cast<std::size_t>(size));
        for (std::uint64_t read = 0; read < size;) {
            if (!next("body")) throw BrokerError("a message stopped in the middle of its body");
            if (frame.frame_type != AMQP_FRAME_BODY)
                throw BrokerError("a message's body was interrupted by another frame");
            read += frame.payload.body_fragment.len;
            if (read > size) throw BrokerError("a message is longer than it declared");
            if (keep) kept += bytes(frame.payload.body_fragment);
        }
        body = keep ? std::optional<std::string>(std::move(kept)) : std::nullopt;
        return true;
    }

  private:
    static std::string header(const amqp_basic_properties_t& props, const char* name) {
        if (!(props._flags & AMQP_BASIC_HEADERS_FLAG)) return "";
        for (int i = 0; i < props.headers.num_entries; ++i) {
            const amqp_table_entry_t& e = props.headers.entries[i];
            if (bytes(e.key) != name) continue;
            if (e.value.kind == AMQP_FIELD_KIND_UTF8 || e.value.kind == AMQP_FIELD_KIND_BYTES)
                return bytes(e.value.value.bytes);
        }
        return "";
    }

    void expect_ok(const char* what) {
        const amqp_rpc_reply_t r = amqp_get_rpc_reply(conn());
        if (r.reply_type != AMQP_RESPONSE_NORMAL)
            throw BrokerError(std::string(what) + " failed: " + describe(r));
    }

    void open_channel() {
        amqp_channel_open(conn(), channel_);
        const amqp_rpc_reply_t r = amqp_get_rpc_reply(conn());
        if (r.reply_type != AMQP_RESPONSE_NORMAL)
            throw BrokerError("broker unreachable: opening a channel failed: " + describe(r));
        channel_open_ = true;
    }

    // After a channel exception (a missing queue): acknowledge the close, open another.
    void recover_channel() {
        amqp_channel_close_ok_t close_ok{};
        amqp_send_method(conn(), channel_, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
        channel_open_ = false;
        ++channel_;
        open_channel();
    }

    struct Destroy {
        void operator()(amqp_connection_state_t c) const { amqp_destroy_connection(c); }
    };
    amqp_connection_state_t conn() const { return conn_.get(); }

    std::unique_ptr<amqp_connection_state_t_, Destroy>
        conn_;  // also freed when the constructor throws
    amqp_channel_t channel_ = 1;
    bool channel_open_ = false;
    Deadline deadline_;
    std::string where_;
    TlsOptions tls_;  // amqps:// only
};

}  // namespace

std::unique_ptr<CeleryBroker> connect_amqp_broker(const Url& url, const Deadline& deadline) {
    return std::make_unique<AmqpBroker>(url, deadline);
}

}  // namespace vitals
