#include "checks/celery/management.hpp"

#include <cctype>
#include <cstdio>
#include <stdexcept>

#include "checks/http_target.hpp"
#include "sidecar/clients/http_client.hpp"
#include "sidecar/json.hpp"

namespace vitals::checks {

ManagedQueue managed_queue(const Url& management, const Url& broker, const std::string& queue,
                           const Deadline& deadline) {
    const auto escape = [](const std::string& text) {
        std::string out;
        for (const unsigned char c : text) {
            if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
                out += static_cast<char>(c);
            } else {
                char hex[4];
                std::snprintf(hex, sizeof hex, "%%%02X", c);
                out += hex;
            }
        }
        return out;
    };
    std::string vhost = broker.path.size() > 1 ? broker.path.substr(1) : "/";
    for (auto at = vhost.find("%2F"); at != std::string::npos; at = vhost.find("%2F"))
        vhost.replace(at, 3, "/");
    HttpTarget target;
    target.url = management;
    std::string base = management.path;
    while (!base.empty() && base.back() == '/')
        base.pop_back();
    target.url.path = base + "/api/queues/" + escape(vhost) + "/" + escape(queue);
    target.url.query.clear();
    const Expected<HttpReply> got = http_get(target, deadline, std::size_t{256} * 1024);
    if (!got) throw std::runtime_error("the management API: " + got.error().message);
    const HttpReply& reply = *got;
    if (reply.status != 200)
        throw std::runtime_error(
            "the management API answered " + std::to_string(reply.status) + " for queue " + queue +
            (reply.status == 401 ? " (check the user and password in the URL)" : ""));
    const auto j = vitals::parse_json(reply.body);
    if (!j.is_object()) throw std::runtime_error("the management API's answer is not JSON");
    ManagedQueue q;
    const auto rate = [&](const char* key) -> std::optional<double> {
        const auto stats = j.find("message_stats");
        if (stats == j.end() || !stats->is_object()) return std::nullopt;
        const auto details = stats->find(key);
        if (details == stats->end() || !details->is_object()) return std::nullopt;
        const auto r = details->find("rate");
        return r != details->end() && r->is_number() ? std::optional<double>(r->get<double>())
                                                     : std::nullopt;
    };
    q.deliver_rate = rate("deliver_get_details");
    q.publish_rate = rate("publish_details");
    // Messages stats appear only once a message went through; none yet: nothing delivered.
    if (!q.deliver_rate && j.contains("messages")) q.deliver_rate = 0;
    if (const auto head = j.find("head_message_timestamp"); head != j.end() && head->is_number())
        q.head_timestamp = head->get<double>();
    return q;
}

}  // namespace vitals::checks
