// RabbitMQ's management API, as much of it as celery_broker reads: a queue's delivery and
// publish rates and its head message's timestamp, for the queue's drain time and oldest wait
// over AMQP (which tells neither).
#pragma once

#include <optional>
#include <string>

#include "sidecar/deadline.hpp"
#include "sidecar/url.hpp"

namespace vitals::checks {

// What RabbitMQ's management API says of a queue.
struct ManagedQueue {
    std::optional<double> deliver_rate;  // messages a second handed to consumers
    std::optional<double> publish_rate;
    std::optional<double> head_timestamp;  // Unix seconds: the head message's timestamp
};

// GET <management>/api/queues/<vhost of `broker`>/<queue>. Throws, with a sentence a person
// reads and no password, when the API cannot be asked or answers anything but the queue.
ManagedQueue managed_queue(const Url& management, const Url& broker, const std::string& queue,
                           const Deadline& deadline);

}  // namespace vitals::checks
