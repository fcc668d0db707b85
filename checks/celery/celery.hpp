// Celery's broker, as vitals sees it: queue depths and the remote-control ping that
// `celery inspect ping` does (kombu's pidbox), spoken natively over AMQP (librabbitmq) and
// over kombu's Redis transport. Wire formats: ../shared/PROTOCOLS.md §1-3.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sidecar/core/check.hpp"
#include "sidecar/core/settings.hpp"
#include "sidecar/duration.hpp"
#include "sidecar/url.hpp"

namespace vitals {

// The broker could not be reached or refused us: the check says "broker unreachable".
class BrokerError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct QueueDepth {
    std::string queue;
    bool exists = true;
    double messages = 0;              // ready, not yet delivered to a worker
    std::optional<double> consumers;  // unknown on Redis (kombu keeps no per-queue count)
};

// One worker's answer to a remote-control command (ping, stats, active, reserved,
// active_queues): its node name, how long it took, and what it said.
struct WorkerReply {
    std::string name;
    double seconds = 0;
    nlohmann::json reply;
};

// Replies by command. What control() collects as they come, and whether it may stop waiting.
using ControlReplies = std::map<std::string, std::vector<WorkerReply>>;

class ReplyCollector {
  public:
    // Waits for every command in `methods` from every node in `stop_when` (nothing to wait
    // for when it is empty: the window decides).
    ReplyCollector(const std::vector<std::string>& methods, const std::set<std::string>& stop_when);
    // A reply body to `method` that came `seconds` after the requests went out.
    void add(const std::string& method, const std::string& body, double seconds);
    bool complete() const { return waits_ && awaited_.empty(); }
    ControlReplies take() { return std::move(replies_); }

  private:
    bool waits_;
    std::set<std::pair<std::string, std::string>> awaited_;  // (method, node) still to come
    ControlReplies replies_;
};

class CeleryBroker {
  public:
    virtual ~CeleryBroker() = default;
    virtual std::vector<QueueDepth> queue_depths(const std::vector<std::string>& queues) = 0;
    // Messages delivered to workers and not yet acknowledged, where the transport tells.
    virtual std::optional<double> unacked() = 0;
    // An identity (kombu's delivery_tag) of the message each of `queue`'s lists will hand out
    // next: its oldest waiting message, one per priority sub-queue holding any. Empty where
    // the transport cannot tell without consuming (AMQP).
    virtual std::vector<std::string> oldest_messages(const std::string& /*queue*/) { return {}; }
    // Clients subscribed to the broker's fanout channels, where the transport tells (Redis:
    // kombu workers, two connections each, plus event monitors). Zero: no worker is there.
    virtual std::optional<double> listening_workers() = 0;
    // Sends each remote-control command in `methods` to every worker (or to `destination`
    // only), as `celery inspect` does, and collects the replies for `window`, or until every
    // name in `stop_when` has answered every command. Replies by command. Leaves nothing
    // behind.
    virtual ControlReplies control(const std::vector<std::string>& methods,
                                   const std::vector<std::string>& destination, Millis window,
                                   const std::set<std::string>& stop_when) = 0;
    // Turns this connection into a listener for Celery's events (the `celeryev` exchange:
    // AMQP, a private auto-delete queue bound with '#'; Redis, PSUBSCRIBE on kombu's fanout
    // channels). Afterwards only next_events() may be called.
    virtual void subscribe_events() = 0;
    // Appends the bodies of the event messages that arrive within `wait` (each a JSON event,
    // or a list of them: Celery batches task events as task.multi), up to `max` of them.
    // Throws BrokerError when the connection breaks.
    virtual void next_events(Millis wait, std::size_t max, std::vector<std::string>& bodies) = 0;
    // A reply may not be larger than this: a ping reply is a few dozen bytes, but `active`
    // and `reserved` carry every task's arguments.
    static constexpr std::uint64_t kMaxReplyBytes = std::uint64_t{1024} * 1024;
    double connect_seconds = 0;
    // Replies control() read past and dropped for being over kMaxReplyBytes. Their workers'
    // other replies still count.
    int oversized_replies = 0;
    // Connected to a failover URL, the first of the list having failed: which, and why.
    bool failed_over = false;
    std::string failover_note;
};

// kombu's Redis transport options (Celery's broker_transport_options) that change the names
// of keys and channels: vitals must spell them as the workers do.
struct KombuOptions {
    std::string global_keyprefix;  // before every key and channel (kombu >= 5.2)
    std::string sep = "\x06\x16";  // between a queue's name and its priority
    std::vector<std::int64_t> priority_steps = {0, 3, 6, 9};
    std::string key(const std::string& name) const { return global_keyprefix + name; }
    // The prefixed keys of `queue`'s lists, one per priority step (the bare name for 0).
    std::vector<std::string> queue_keys(const std::string& queue) const;
};

// The settings that fill KombuOptions, shared by the Celery kinds (declared once).
struct KombuSettings {
    Setting global_keyprefix;
    Setting sep;
    Setting priority_steps;
    // Throws SettingError for steps that are not ascending from 0 to 255, or an empty sep.
    KombuOptions read(const Params& params) const;
};
const KombuSettings& kombu_settings();

bool is_celery_broker_url(const Url& url);  // amqp(s)://, pyamqp://, redis(s)://, ...
bool is_redis_broker(const Url& url);       // any of the Redis spellings
// Throws BrokerError when the broker cannot be reached or logged into by the deadline.
// `kombu` applies to the Redis transport only.
std::unique_ptr<CeleryBroker> connect_celery_broker(const Url& url, const Deadline& deadline,
                                                    const KombuOptions& kombu = KombuOptions{});

// Wire helpers, exposed for tests.
std::string base64_encode(const std::string& data);
std::optional<std::string> base64_decode(const std::string& text);
std::string uuid4();
// The pidbox request body: {"method": "ping", ..., "ticket", "reply_to": {...}}.
std::string control_request(const std::string& method, const std::string& ticket,
                            const std::string& reply_routing_key,
                            const std::vector<std::string>& destination);
// What a reply body {"celery@host": <reply>} says, node by node. Never throws: a body of any
// other shape says nothing.
std::vector<std::pair<std::string, nlohmann::json>> control_reply(const std::string& body);
// Node names in a ping reply body {"celery@host": {"ok": "pong"}}. Never throws.
std::vector<std::string> ping_reply_nodes(const std::string& body);
// One message of kombu's Redis transport, a JSON envelope with `headers.ticket` and a base64
// `body`: the ticket and the decoded body. Never throws; nullopt for any other shape.
std::optional<std::pair<std::string, std::string>> redis_reply(std::string_view message);
// The JSON envelope kombu's Redis transport carries a message in: `body` base64-encoded,
// JSON content, the exchange and routing key it was published to, a fresh delivery tag.
std::string kombu_envelope(const std::string& body, const std::string& exchange,
                           const std::string& routing_key,
                           const nlohmann::json& headers = nlohmann::json::object(),
                           int delivery_mode = 2);
// The decoded body of any kombu Redis envelope (base64 when its properties say so). Never
// throws; nullopt for any other shape.
std::optional<std::string> kombu_body(const nlohmann::json& envelope);
// The clients in CLIENT LIST's text that hold pattern subscriptions (kombu workers listening
// on the pidbox fanout) on database `db`, vitals' own event listeners excepted.
double count_listening_clients(const std::string& client_list, int db);
// The connection name vitals' event listener gives itself (CLIENT SETNAME).
inline constexpr const char* kEventListenerName = "vitals-events";
// Node names from such a message whose ticket is `ticket`. Never throws.
std::vector<std::string> redis_reply_nodes(std::string_view message, const std::string& ticket);

}  // namespace vitals
