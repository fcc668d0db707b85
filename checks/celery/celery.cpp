#include "checks/celery/celery.hpp"
#include "sidecar/clients/redis_client.hpp"

#include <algorithm>
#include <random>

#include "sidecar/core/registry.hpp"
#include "sidecar/json.hpp"

namespace vitals {

namespace {

const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

std::unique_ptr<CeleryBroker> connect_amqp_broker(const Url& url, const Deadline& deadline);
std::unique_ptr<CeleryBroker> connect_redis_broker(const Url& url, const Deadline& deadline,
                                                   const KombuOptions& kombu);

std::vector<std::string> KombuOptions::queue_keys(const std::string& queue) const {
    std::vector<std::string> keys;
    for (const std::int64_t step : priority_steps)
        keys.push_back(key(step == 0 ? queue : queue + sep + std::to_string(step)));
    return keys;
}

const KombuSettings& kombu_settings() {
    static const KombuSettings settings{
        Setting::of("global_keyprefix", SettingType::string,
                    "Redis: the global_keyprefix of Celery's broker_transport_options")
            .defaults(""),
        Setting::of("sep", SettingType::string,
                    "Redis: kombu's separator between a queue and its priority (transport "
                    "option sep)")
            .defaults("\x06\x16"),
        Setting::of("priority_steps", SettingType::integer_list,
                    "Redis: kombu's priority_steps (transport option), one list per step")
            .defaults(nlohmann::json::array({0, 3, 6, 9}))
            .range(0, 255)};
    return settings;
}

KombuOptions KombuSettings::read(const Params& params) const {
    KombuOptions kombu;
    kombu.global_keyprefix = params.str(global_keyprefix);
    kombu.sep = params.str(sep);
    if (kombu.sep.empty()) throw SettingError(sep.key, "must not be empty");
    kombu.priority_steps = params.integers(priority_steps);
    if (kombu.priority_steps.empty() ||
        !std::is_sorted(kombu.priority_steps.begin(), kombu.priority_steps.end()) ||
        std::adjacent_find(kombu.priority_steps.begin(), kombu.priority_steps.end()) !=
            kombu.priority_steps.end())
        throw SettingError(priority_steps.key, "must be ascending, without repeats ([0, 3, 6, 9])");
    return kombu;
}

bool is_redis_broker(const Url& url) {
    return redis_transport(url.scheme).has_value();
}

bool is_celery_broker_url(const Url& url) {
    return url.scheme == "amqp" || url.scheme == "amqps" || url.scheme == "pyamqp" ||
           url.scheme == "librabbitmq" || is_redis_broker(url);
}

namespace {

std::unique_ptr<CeleryBroker> connect_one(const Url& url, const Deadline& deadline,
                                          const KombuOptions& kombu) {
    if (is_redis_broker(url)) return connect_redis_broker(url, deadline, kombu);
    return connect_amqp_broker(url, deadline);
}

}  // namespace

std::unique_ptr<CeleryBroker> connect_celery_broker(const Url& url, const Deadline& deadline,
                                                    const KombuOptions& kombu) {
    if (url.failover.empty()) return connect_one(url, deadline, kombu);
    // kombu's failover list: the URLs in turn, as kombu's connection tries them. One that
    // hangs holds the rest back, as it holds kombu back for its connect_timeout.
    std::vector<const Url*> urls = {&url};
    for (const Url& next : url.failover)
        urls.push_back(&next);
    std::string failures;
    for (std::size_t i = 0; i < urls.size(); ++i) {
        try {
            auto broker = connect_one(*urls[i], deadline, kombu);
            if (i > 0) {
                broker->failed_over = true;
                broker->failover_note =
                    failures + "; kombu fails over to " + urls[i]->redacted() + ", which answered";
            }
            return broker;
        } catch (const BrokerError& e) {
            failures += (failures.empty() ? "" : "; ") + std::string(e.what());
        }
    }
    throw BrokerError("no broker of the failover list answered: " + failures);
}

std::string base64_encode(const std::string& data) {
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < data.size(); i += 3) {
        const unsigned n = (static_cast<unsigned char>(data[i]) << 16) |
                           (static_cast<unsigned char>(data[i + 1]) << 8) |
                           static_cast<unsigned char>(data[i + 2]);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
        out += kAlphabet[n & 63];
    }
    if (i < data.size()) {
        const bool two = i + 1 < data.size();
        const unsigned n = (static_cast<unsigned char>(data[i]) << 16) |
                           (two ? static_cast<unsigned char>(data[i + 1]) << 8 : 0);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += two ? kAlphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(const std::string& text) {
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    std::size_t padding = 0;
    for (char c : text) {
        if (c == '=') {
            ++padding;
            continue;
        }
        if (padding > 0) return std::nullopt;  // data after padding
        const char* at = std::char_traits<char>::find(kAlphabet, 64, c);
        if (at == nullptr) return std::nullopt;
        buffer = (buffer << 6) | static_cast<unsigned>(at - kAlphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xFF);
        }
    }
    if (padding > 2 || (text.size() % 4) != 0) return std::nullopt;
    return out;
}

std::string uuid4() {
    thread_local std::mt19937_64 engine(std::random_device{}());
    std::uniform_int_distribution<unsigned> nibble(0, 15);
    const char* hex = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 32; ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
        unsigned v = nibble(engine);
        if (i == 12) v = 4;            // version 4
        if (i == 16) v = 8 | (v & 3);  // variant 10xx
        out += hex[v];
    }
    return out;
}

std::string control_request(const std::string& method, const std::string& ticket,
                            const std::string& reply_routing_key,
                            const std::vector<std::string>& destination) {
    nlohmann::json body = {
        {"method", method},
        {"arguments", nlohmann::json::object()},
        {"destination",
         destination.empty() ? nlohmann::json(nullptr) : nlohmann::json(destination)},
        {"pattern", nullptr},
        {"matcher", nullptr},
        {"ticket", ticket},
        {"reply_to", {{"exchange", "reply.celery.pidbox"}, {"routing_key", reply_routing_key}}}};
    return body.dump();
}

std::vector<std::pair<std::string, nlohmann::json>> control_reply(const std::string& body) {
    std::vector<std::pair<std::string, nlohmann::json>> out;
    auto j = vitals::parse_json(body);
    if (!j.is_object()) return out;
    for (auto& item : j.items())
        out.emplace_back(item.key(), std::move(item.value()));
    return out;
}

ReplyCollector::ReplyCollector(const std::vector<std::string>& methods,
                               const std::set<std::string>& stop_when)
    : waits_(!stop_when.empty()) {
    for (const std::string& method : methods)
        for (const std::string& node : stop_when)
            awaited_.emplace(method, node);
}

void ReplyCollector::add(const std::string& method, const std::string& body, double seconds) {
    for (auto& [node, reply] : control_reply(body)) {
        awaited_.erase({method, node});
        replies_[method].push_back({node, seconds, std::move(reply)});
    }
}

std::vector<std::string> ping_reply_nodes(const std::string& body) {
    std::vector<std::string> nodes;
    for (const auto& [node, reply] : control_reply(body)) {
        if (!reply.is_object()) continue;
        const auto ok = reply.find("ok");
        if (ok != reply.end() && ok->is_string() && *ok == "pong") nodes.push_back(node);
    }
    return nodes;
}

std::string kombu_envelope(const std::string& body, const std::string& exchange,
                           const std::string& routing_key, const nlohmann::json& headers,
                           int delivery_mode) {
    return nlohmann::json{
        {"body", base64_encode(body)},
        {"content-encoding", "utf-8"},
        {"content-type", "application/json"},
        {"headers", headers},
        {"properties",
         {{"delivery_mode", delivery_mode},
          {"delivery_info", {{"exchange", exchange}, {"routing_key", routing_key}}},
          {"priority", 0},
          {"body_encoding", "base64"},
          {"delivery_tag", uuid4()}}}}
        .dump();
}

std::optional<std::string> kombu_body(const nlohmann::json& envelope) {
    if (!envelope.is_object()) return std::nullopt;
    const auto body = envelope.find("body");
    if (body == envelope.end() || !body->is_string()) return std::nullopt;
    const auto properties = envelope.find("properties");
    const bool base64 = properties != envelope.end() && properties->is_object() &&
                        properties->value("body_encoding", "") == "base64";
    if (!base64) return body->get<std::string>();
    return base64_decode(body->get<std::string>());
}

std::optional<std::pair<std::string, std::string>> redis_reply(std::string_view message) {
    const auto envelope = vitals::parse_json(message);
    if (!envelope.is_object()) return std::nullopt;
    const auto headers = envelope.find("headers");
    if (headers == envelope.end() || !headers->is_object()) return std::nullopt;
    const auto sent = headers->find("ticket");
    if (sent == headers->end() || !sent->is_string()) return std::nullopt;
    const auto body = envelope.find("body");
    if (body == envelope.end() || !body->is_string()) return std::nullopt;
    auto decoded = base64_decode(body->get<std::string>());
    if (!decoded) return std::nullopt;
    return std::make_pair(sent->get<std::string>(), std::move(*decoded));
}

double count_listening_clients(const std::string& client_list, int db) {
    double count = 0;
    std::size_t start = 0;
    while (start < client_list.size()) {
        std::size_t end = client_list.find('\n', start);
        if (end == std::string::npos) end = client_list.size();
        const std::string line = " " + client_list.substr(start, end - start) + " ";
        start = end + 1;
        const auto field = [&](const char* name) {
            const std::string key = std::string(" ") + name + "=";
            const auto at = line.find(key);
            if (at == std::string::npos) return std::string();
            const auto from = at + key.size();
            return line.substr(from, line.find(' ', from) - from);
        };
        const std::string psub = field("psub");
        if (psub.empty() || psub == "0") continue;
        if (field("db") != std::to_string(db)) continue;
        if (field("name").rfind(kEventListenerName, 0) == 0) continue;
        ++count;
    }
    return count;
}

std::vector<std::string> redis_reply_nodes(std::string_view message, const std::string& ticket) {
    const auto reply = redis_reply(message);
    if (!reply || reply->first != ticket) return {};
    return ping_reply_nodes(reply->second);
}

}  // namespace vitals
