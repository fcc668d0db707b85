// libFuzzer target: what comes back from the broker after a ping, from any client that can
// publish there: a reply body (AMQP) or kombu's Redis envelope around one. Must never throw.
#include <cstdint>
#include <string>

#include "checks/celery/celery.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    (void)vitals::ping_reply_nodes(text);
    (void)vitals::redis_reply_nodes(text, "t");
    (void)vitals::control_reply(text);
    (void)vitals::redis_reply(text);
    (void)vitals::base64_decode(text);
    return 0;
}
