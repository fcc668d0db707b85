// The Celery checks against real brokers (RabbitMQ and Redis) and real Celery 5 workers.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "integration/checks/celery/celery_helpers.hpp"
#include "sidecar/clients/redis_client.hpp"
#include "support/fake_clock.hpp"
#include "support/make_check.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

TEST_CASE("celery: workers answer the ping by name, one killed drops the count", "[celery]") {
    for (const std::string kind : {"amqp", "redis"}) {
        INFO("broker " << kind);
        CeleryBrokerServer broker(kind);
        CeleryWorker a(broker.url, "alpha"), b(broker.url, "beta");
        auto check = make_check("celery_workers", {{"url", broker.url}, {"min_workers", 2}});
        const CheckResult both = run(*check);
        CHECK(both.status == Status::ok);
        CHECK(answered(both) == std::vector<std::string>{a.node(), b.node()});
        CHECK(observed(both, "answering") == 2);
        CHECK(observed(both, "slowest_reply_seconds") < 1.0);

        b.kill();
        const CheckResult one = run(*check);
        CHECK(one.status == Status::fail);
        CHECK(answered(one) == std::vector<std::string>{a.node()});
        CHECK(one.message.find("fewer than min_workers 2") != std::string::npos);

        auto expecting =
            make_check("celery_workers", {{"url", broker.url}, {"expected", {a.node(), b.node()}}});
        const CheckResult missing = run(*expecting);
        CHECK(missing.status == Status::fail);
        CHECK(missing.message == "expected worker(s) did not answer: " + b.node());
    }
}

TEST_CASE("celery: worker-pod mode pings only its own worker, and returns at its reply",
          "[celery]") {
    for (const std::string kind : {"amqp", "redis"}) {
        INFO("broker " << kind);
        CeleryBrokerServer broker(kind);
        CeleryWorker a(broker.url, "alpha"), b(broker.url, "beta");
        auto own =
            make_check("celery_workers",
                       {{"url", broker.url}, {"destination", "beta@$HOSTNAME"}, {"window", "2s"}},
                       {{"HOSTNAME", host_name()}});
        const auto started = std::chrono::steady_clock::now();
        const CheckResult r = run(*own);
        CHECK(std::chrono::steady_clock::now() - started < 1500ms);  // did not wait out the window
        CHECK(r.status == Status::ok);
        CHECK(answered(r) == std::vector<std::string>{b.node()});
        b.kill();
        CHECK(run(*own).status == Status::fail);
    }
}

TEST_CASE("celery: tasks pile up without workers, 'no worker is consuming' fails, then drain",
          "[celery]") {
    for (const std::string kind : {"amqp", "redis"}) {
        INFO("broker " << kind);
        CeleryBrokerServer broker(kind);
        auto check = make_check("celery_broker",
                                {{"url", broker.url}, {"depth_warn", 10}, {"depth_fail", 1000}});
        {
            CeleryWorker declare(broker.url, "first");  // the worker declares the queue on AMQP
            const CheckResult idle = run(*check);
            CHECK(idle.status == Status::ok);
            CHECK(observed(idle, "queue_messages") == 0);
        }
        publish_tasks(broker.url, 25);
        // The broker may take a moment to drop the stopped worker's consumer.
        CheckResult piled = run(*check);
        for (int i = 0; i < 50 && piled.status != Status::fail; ++i) {
            std::this_thread::sleep_for(100ms);
            piled = run(*check);
        }
        CHECK(piled.status == Status::fail);
        CHECK(piled.message.find("no worker is consuming queue celery (25 messages waiting)") == 0);
        CHECK(observed(piled, "queue_messages") == 25);
        if (kind == "amqp") CHECK(observed(piled, "queue_consumers") == 0);

        CeleryWorker back(broker.url, "second");
        CheckResult drained = run(*check);
        for (int i = 0; i < 50 && observed(drained, "queue_messages") > 0; ++i) {
            std::this_thread::sleep_for(100ms);
            drained = run(*check);
        }
        CHECK(observed(drained, "queue_messages") == 0);
        CHECK(drained.status == Status::ok);
    }
}

TEST_CASE(
    "celery: a deep queue with a consumer warns, a missing queue is reported, not a broker failure",
    "[celery]") {
    CeleryBrokerServer broker("amqp");
    publish_tasks(broker.url, 12);  // kombu declares the queue when publishing
    auto check =
        make_check("celery_broker",
                   {{"url", broker.url}, {"queues", {"celery", "reports"}}, {"depth_warn", 10}});
    const CheckResult r = run(*check);
    // No consumer on a queue with messages is the worst finding; "reports" is missing.
    CHECK(r.status == Status::fail);
    CHECK(r.details["queues"]["reports"] == "missing");
    CHECK(r.details["queues"]["celery"]["messages"] == 12);
    CeleryWorker w(broker.url, "slowpoke");
    auto only_missing = make_check("celery_broker", {{"url", broker.url}, {"queues", {"reports"}}});
    const CheckResult missing = run(*only_missing);
    CHECK(missing.status == Status::warn);
    CHECK(missing.message == "queue reports does not exist (no worker has declared it yet)");
}

TEST_CASE("celery: priority sub-queues count toward the depth on Redis", "[celery]") {
    CeleryBrokerServer broker("redis");
    RedisClient client(*parse_url(broker.url), Deadline::in(2s));
    client.command({"LPUSH", "celery", "a"}, "LPUSH");
    client.command({"LPUSH", std::string("celery\x06\x16") + "3", "b", "c"}, "LPUSH");
    client.command({"LPUSH", std::string("celery\x06\x16") + "9", "d"}, "LPUSH");
    const CheckResult r = run(*make_check("celery_broker", {{"url", broker.url}}));
    CHECK(observed(r, "queue_messages") == 4);
    CHECK(observed(r, "subscribed_clients") == 0);
    CHECK(r.message.find("no worker is consuming queue celery") == 0);
}

TEST_CASE("celery: a stopped broker is 'broker unreachable', not zero workers", "[celery]") {
    for (const std::string kind : {"amqp", "redis"}) {
        INFO("broker " << kind);
        CeleryBrokerServer broker(kind);
        broker.stop();
        for (const char* check_kind : {"celery_workers", "celery_broker"}) {
            const CheckResult r = run(*make_check(check_kind, {{"url", broker.url}}));
            CHECK(r.status == Status::fail);
            CHECK(r.message.find("broker unreachable") == 0);
        }
    }
}

TEST_CASE("celery: 100 pings leave no queue, binding, key or exchange behind", "[celery]") {
    {
        CeleryBrokerServer broker("amqp");
        CeleryWorker w(broker.url, "alpha");
        auto ping = make_check("celery_workers", {{"url", broker.url}, {"window", "100ms"}});
        REQUIRE(run(*ping).status == Status::ok);  // the first run declares the pidbox exchanges
        const std::string queues = broker.rabbit->ctl("list_queues -q name");
        const std::string exchanges = broker.rabbit->ctl("list_exchanges -q name");
        for (int i = 0; i < 100; ++i)
            REQUIRE(run(*ping).status == Status::ok);
        // The last reply queue (exclusive, auto-delete) goes with its connection, as RabbitMQ
        // gets to it: waited for, never assumed.
        const auto until = std::chrono::steady_clock::now() + 5s;
        while (broker.rabbit->ctl("list_queues -q name") != queues &&
               std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(100ms);
        CHECK(broker.rabbit->ctl("list_queues -q name") == queues);
        CHECK(broker.rabbit->ctl("list_exchanges -q name") == exchanges);
    }
    {
        CeleryBrokerServer broker("redis");
        CeleryWorker w(broker.url, "alpha");
        auto ping = make_check("celery_workers", {{"url", broker.url}, {"window", "100ms"}});
        REQUIRE(run(*ping).status == Status::ok);
        const std::string keys = broker.redis->cli("-n 1 --no-raw KEYS '*'");
        const std::string bindings =
            broker.redis->cli("-n 1 SMEMBERS _kombu.binding.reply.celery.pidbox");
        for (int i = 0; i < 100; ++i)
            REQUIRE(run(*ping).status == Status::ok);
        CHECK(broker.redis->cli("-n 1 SMEMBERS _kombu.binding.reply.celery.pidbox") == bindings);
        CHECK(broker.redis->cli("-n 1 --no-raw KEYS '*'") == keys);
    }
}

// A process that answers every Celery remote-control command as `node`, whatever its
// destination, as a worker answers (reply_to and ticket from the request): one pool slot
// busy with a task whose arguments are `pad_bytes` long, consuming `celery`. The padding
// goes in the ping reply too unless `pad_ping` is false.
class ImpostorWorker {
  public:
    ImpostorWorker(const std::string& url, const std::string& node, std::size_t pad_bytes,
                   bool pad_ping = true)
        : dir_(make_temp_dir("impostor")) {
        const std::string script = dir_ + "/worker.py";
        std::ofstream(script) << R"(import sys
from kombu import Connection, Exchange, Queue
node, pad, pad_ping = sys.argv[3], int(sys.argv[4]), sys.argv[5] == 'yes'
with Connection(sys.argv[1]) as conn:
    pidbox = Exchange('celery.pidbox', type='fanout', durable=False, auto_delete=False)
    replies = Exchange('reply.celery.pidbox', type='direct', durable=False, auto_delete=False)
    queue = Queue(node + '.celery.pidbox', exchange=pidbox, auto_delete=True)
    producer = conn.Producer()
    def reply(method):
        if method == 'ping':
            return {'ok': 'pong', 'pad': 'x' * pad} if pad_ping else {'ok': 'pong'}
        if method == 'stats':
            return {'pool': {'max-concurrency': 1}}
        if method == 'active':
            return [{'id': 'big', 'name': 'shop.tasks.resize', 'args': ['x' * pad]}]
        if method == 'active_queues':
            return [{'name': 'celery'}]
        return []
    def answer(body, message):
        producer.publish({node: reply(body['method'])},
                         exchange=replies, routing_key=body['reply_to']['routing_key'],
                         headers={'ticket': body['ticket']}, serializer='json')
        message.ack()
    with conn.Consumer(queue, callbacks=[answer], accept=['json']):
        open(sys.argv[2], 'w').write('ready')
        while True:
            conn.drain_events()
)";
        const std::string ready = script + ".ready";
        const std::string pad = std::to_string(pad_bytes);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::execl("/usr/bin/python3", "python3", script.c_str(), url.c_str(), ready.c_str(),
                    node.c_str(), pad.c_str(), pad_ping ? "yes" : "no",
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        const auto until = std::chrono::steady_clock::now() + 20s;
        while (std::chrono::steady_clock::now() < until && !std::ifstream(ready))
            std::this_thread::sleep_for(50ms);
    }
    ~ImpostorWorker() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        shell("rm -rf '" + dir_ + "'");
    }
    ImpostorWorker(const ImpostorWorker&) = delete;
    ImpostorWorker& operator=(const ImpostorWorker&) = delete;

  private:
    std::string dir_;
    int pid_ = -1;
};

TEST_CASE("celery: a reply declaring 40 MB is read past, never held, and the ping still counts",
          "[celery][hostile]") {
    // librabbitmq's amqp_consume_message allocated whatever a header frame declared.
    RabbitMqServer rabbit;
    {
        ImpostorWorker hostile(rabbit.url(), "celery@hostile", 40'000'000);
        auto check = make_check("celery_workers", {{"url", rabbit.url()}, {"window", "2s"}});
        const CheckResult r = check->run(Deadline::in(5s));
        INFO(r.message);
        CHECK(r.status == Status::fail);
        CHECK(r.message.find("no worker answered") != std::string::npos);
        CHECK(r.message.find("over 1024 KiB dropped unread") != std::string::npos);
    }
    // A worker busy with a task whose arguments are 2 MB: `active` is too big to keep, and
    // that must not make a live worker look dead (it once failed the whole check), nor the
    // queue it consumes look unconsumed. Both transports.
    RedisServer redis;
    for (const std::string& url : {rabbit.url(), redis.url("", 1)}) {
        INFO("broker " << url);
        ImpostorWorker busy(url, "celery@busy", 2'000'000, false);
        auto check = make_check(
            "celery_workers",
            {{"url", url}, {"window", "3s"}, {"queues", nlohmann::json::array({"celery"})}});
        const CheckResult r = check->run(Deadline::in(6s));
        INFO(r.message << " " << r.details.dump());
        CHECK(r.status == Status::ok);
        CHECK(answered(r) == std::vector<std::string>{"celery@busy"});
        CHECK(r.details.value("inspection_incomplete", "").find("1 remote-control reply over") !=
              std::string::npos);
        CHECK(r.details["queues_consumed"] == nlohmann::json::array({"celery"}));
        // What was small still counts: the pool's one slot.
        CHECK(observed(r, "pool_slots") == 1);
        // The connection survived the drop: the next run on the same broker is as good.
        CHECK(check->run(Deadline::in(6s)).status == Status::ok);
    }
}

TEST_CASE("celery: in worker-pod mode only the destination's own reply counts",
          "[celery][hostile]") {
    RabbitMqServer rabbit;
    ImpostorWorker other(rabbit.url(), "celery@other", 0);
    // A reply from any other node does not say this pod's worker is alive.
    auto mine =
        make_check("celery_workers",
                   {{"url", rabbit.url()}, {"destination", "celery@mine"}, {"window", "1s"}});
    const CheckResult r = mine->run(Deadline::in(3s));
    INFO(r.message);
    CHECK(r.status == Status::fail);
    CHECK(answered(r).empty());
    // A HOSTNAME that itself holds "$HOSTNAME" is put in once: the check is made (this once
    // looped forever) and pings the node named literally.
    ImpostorWorker literal(rabbit.url(), "celery@$HOSTNAME", 0);
    auto odd =
        make_check("celery_workers",
                   {{"url", rabbit.url()}, {"destination", "celery@$HOSTNAME"}, {"window", "1s"}},
                   {{"HOSTNAME", "$HOSTNAME"}});
    const CheckResult found = odd->run(Deadline::in(3s));
    INFO(found.message);
    CHECK(found.status == Status::ok);
    CHECK(answered(found) == std::vector<std::string>{"celery@$HOSTNAME"});
}
