// Celery over kombu's Redis transport: queue depth is the list plus its priority
// sub-lists; the pidbox ping is a binding in a set, a PUBLISH on the fanout channel and
// BRPOP on a reply list, all removed afterwards.
#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdio>
#include <functional>

#include "checks/celery/celery.hpp"
#include "sidecar/clients/redis_client.hpp"
#include "sidecar/json.hpp"

namespace vitals {

namespace {

using SteadyClock = std::chrono::steady_clock;

// A control reply cut off by the Redis client is reported with CeleryBroker's limit.
static_assert(RedisClient::kMaxReplyBytes == CeleryBroker::kMaxReplyBytes,
              "the cap the check reports must be the cap the client applies");
class RedisBroker final : public CeleryBroker {
  public:
    RedisBroker(const Url& url, const Deadline& deadline, KombuOptions kombu)
        : url_(url), deadline_(deadline), kombu_(std::move(kombu)) {
        try {
            client_ = std::make_unique<RedisClient>(url, deadline);
            client_->command({"PING"}, "PING");
        } catch (const RedisError& e) {
            throw BrokerError(std::string("broker unreachable: ") + e.what());
        }
        db_ = redis_database(url);
        connect_seconds = client_->connect_seconds();
    }

    std::vector<QueueDepth> queue_depths(const std::vector<std::string>& queues) override {
        std::vector<QueueDepth> out;
        for (const std::string& name : queues) {
            QueueDepth d;
            d.queue = name;
            for (const std::string& key : kombu_.queue_keys(name)) {
                d.messages += static_cast<double>(
                    RedisClient::integer(*client_->command({"LLEN", key}, "LLEN")));
            }
            out.push_back(d);
        }
        return out;
    }

    // kombu LPUSHes and BRPOPs: each list's oldest message is at index -1.
    std::vector<std::string> oldest_messages(const std::string& queue) override {
        std::vector<std::string> out;
        for (const std::string& key : kombu_.queue_keys(queue)) {
            const auto reply = client_->command({"LINDEX", key, "-1"}, "LINDEX");
            if (reply->type != REDIS_REPLY_STRING) continue;  // an empty list
            const std::string message(reply->str, reply->len);
            const auto envelope = vitals::parse_json(message);
            const nlohmann::json* tag = nullptr;
            if (envelope.is_object() && envelope.contains("properties") &&
                envelope["properties"].is_object() &&
                envelope["properties"].contains("delivery_tag")) {
                tag = &envelope["properties"]["delivery_tag"];
            }
            // A message without a tag is still one message: known by its bytes.
            out.push_back(key + "\n" +
                          (tag != nullptr && tag->is_string()
                               ? tag->get<std::string>()
                               : std::to_string(std::hash<std::string>{}(message))));
        }
        return out;
    }

    std::optional<double> unacked() override {
        return static_cast<double>(RedisClient::integer(
            *client_->command({"HLEN", kombu_.key("unacked")}, "HLEN unacked")));
    }

    // kombu subscribes workers to the pidbox fanout with PSUBSCRIBE, which PUBSUB NUMSUB does
    // not count: count the clients holding pattern subscriptions instead, on this broker's
    // database only (another app's workers on db 2 consume nothing of db 1), and not vitals'
    // own event listeners. Flower and other event monitors still count. Unknown where CLIENT
    // LIST is not allowed.
    std::optional<double> listening_workers() override {
        try {
            const auto reply = client_->command({"CLIENT", "LIST"}, "CLIENT LIST");
            return count_listening_clients(RedisClient::text(*reply), db_);
        } catch (const RedisError&) {
            return std::nullopt;
        }
    }

    void subscribe_events() override {
        try {
            client_->set_timeout(std::chrono::seconds(5));
            client_->command({"CLIENT", "SETNAME", kEventListenerName}, "CLIENT SETNAME");
            // kombu's fanout channel for celeryev with its default fanout_prefix and
            // fanout_patterns: /<db>.celeryev/<routing key>.
            client_->command({"PSUBSCRIBE", kombu_.key("/" + std::to_string(db_) + ".celeryev/*")},
                             "PSUBSCRIBE");
        } catch (const RedisError& e) {
            throw BrokerError(std::string("subscribing to events failed: ") + e.what());
        }
    }

    void next_events(Millis wait, std::size_t max, std::vector<std::string>& bodies) override {
        const Deadline until = Deadline::in(wait);
        try {
            for (std::size_t taken = 0; taken < max; ++taken) {
                const auto reply = client_->read(until, "reading events");
                if (!reply) return;
                // ["pmessage", pattern, channel, kombu's envelope]
                if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4) continue;
                if (RedisClient::text(*reply->element[0]) != "pmessage") continue;
                const redisReply& payload = *reply->element[3];
                if (payload.type != REDIS_REPLY_STRING) continue;
                const auto envelope =
                    vitals::parse_json(std::string_view(payload.str, payload.len));
                if (auto body = kombu_body(envelope)) bodies.push_back(std::move(*body));
            }
        } catch (const RedisError& e) {
            throw BrokerError(std::string("the event stream broke: ") + e.what());
        }
    }

    ControlReplies control(const std::vector<std::string>& methods,
                           const std::vector<std::string>& destination, Millis window,
                           const std::set<std::string>& stop_when) override {
        const std::string key = uuid4();
        const std::string queue = key + ".reply.celery.pidbox";
        // routing key, pattern, queue; the queue as the worker will LPUSH to it.
        const std::string binding = key + kombu_.sep + kombu_.sep + queue;
        struct Cleanup {
            RedisBroker& broker;
            const std::string& binding;
            const std::string& queue;
            ~Cleanup() { broker.remove_reply_queue(binding, queue); }
        } cleanup{*this, binding, queue};

        client_->command({"SADD", kombu_.key("_kombu.binding.reply.celery.pidbox"), binding},
                         "SADD binding");
        const double expires =
            std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                .count() +
            std::chrono::duration<double>(window).count();
        const auto sent = SteadyClock::now();
        std::map<std::string, std::string> tickets;  // ticket -> method
        for (const std::string& method : methods) {
            const std::string ticket = uuid4();
            tickets[ticket] = method;
            const std::string envelope =
                kombu_envelope(control_request(method, ticket, key, destination), "celery.pidbox",
                               "", {{"clock", 1}, {"expires", expires}});
            client_->command({"PUBLISH", fanout_channel(), envelope}, "PUBLISH request");
        }

        ReplyCollector replies(methods, stop_when);
        const auto until = std::min(sent + window, deadline_.at());
        std::vector<std::string> brpop = {"BRPOP"};
        for (const std::string& k : kombu_.queue_keys(queue))
            brpop.push_back(k);
        brpop.emplace_back();
        while (!replies.complete()) {
            const double left = std::chrono::duration<double>(until - SteadyClock::now()).count();
            if (left < 0.01) break;
            char timeout[32];
            std::snprintf(timeout, sizeof(timeout), "%.3f", left);
            brpop.back() = timeout;
            client_->set_timeout(
                std::chrono::milliseconds(static_cast<long long>(left * 1000) + 1000));
            RedisClient::Reply reply;
            try {
                reply = client_->command(brpop, "BRPOP reply");
            } catch (const RedisReplyTooLarge&) {
                // Popped whole on the server's side, cut off on ours: that reply is gone and
                // the connection is past saving. The next replies come on a new one.
                ++oversized_replies;
                client_ = std::make_unique<RedisClient>(url_, deadline_);
                continue;
            }
            if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
                break;  // nil: the window ran out
            const double seconds = std::chrono::duration<double>(SteadyClock::now() - sent).count();
            const auto message = redis_reply(RedisClient::text(*reply->element[1]));
            if (!message) continue;
            const auto method = tickets.find(message->first);
            if (method == tickets.end()) continue;
            replies.add(method->second, message->second, seconds);
        }
        return replies.take();
    }

  private:
    std::string fanout_channel() const {
        return kombu_.key("/" + std::to_string(db_) + ".celery.pidbox");
    }

    // Leaves nothing behind, even after a failure: on a connection that broke, a fresh one.
    void remove_reply_queue(const std::string& binding, const std::string& queue) noexcept {
        std::vector<std::string> del = {"DEL"};
        for (const std::string& k : kombu_.queue_keys(queue))
            del.push_back(k);
        for (int attempt = 0; attempt < 2; ++attempt) {
            try {
                if (attempt == 1)
                    client_ = std::make_unique<RedisClient>(
                        url_, Deadline::in(std::chrono::milliseconds(500)));
                client_->set_timeout(std::chrono::milliseconds(500));
                client_->command(
                    {"SREM", kombu_.key("_kombu.binding.reply.celery.pidbox"), binding},
                    "SREM binding");
                client_->command(del, "DEL reply queue");
                return;
            } catch (const std::exception&) {
            }
        }
    }

    Url url_;
    Deadline deadline_;
    KombuOptions kombu_;
    std::unique_ptr<RedisClient> client_;
    int db_ = 0;
};

}  // namespace

std::unique_ptr<CeleryBroker> connect_redis_broker(const Url& url, const Deadline& deadline,
                                                   const KombuOptions& kombu) {
    return std::make_unique<RedisBroker>(url, deadline, kombu);
}

}  // namespace vitals
