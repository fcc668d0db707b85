// The Celery checks against real brokers (RabbitMQ and Redis) and real Celery 5 workers.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "sidecar/clients/redis_client.hpp"
#include "support/fake_clock.hpp"
#include "support/make_check.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::vector<std::string> answered(const CheckResult& r) {
    std::vector<std::string> names;
    if (!r.details.contains("workers")) return names;
    for (const auto& w : r.details["workers"])
        names.push_back(w["name"]);
    std::sort(names.begin(), names.end());
    return names;
}

CheckResult run(Check& check) {
    return check.run(Deadline::in(3s));
}

}  // namespace

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
        std::this_thread::sleep_for(500ms);
        publish_tasks(broker.url, 25);
        const CheckResult piled = run(*check);
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
    RedisClient client(*parse_url(broker.url).url, Deadline::in(2s));
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
        std::this_thread::sleep_for(300ms);
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

TEST_CASE("celery: over TLS brokers (rediss://, amqps://), depth and ping with a worker on TLS",
          "[celery][tls]") {
    const std::string dir = make_temp_dir("celery-tls");
    make_certificate(dir, "server", "127.0.0.1", 30);
    const std::string ca = dir + "/server.crt";
    RedisServer redis = RedisServer::with_tls(dir);
    RabbitMqServer rabbit(dir);
    for (const std::string& url : {redis.url("", 1), rabbit.tls_url()}) {
        INFO("broker " << url);
        // Tasks published over TLS by Celery itself wait with no worker to take them: the
        // depth is read over TLS, and "no worker is consuming" is the verdict.
        publish_tasks(url, 3, ca);
        const std::string verified = url + "?ssl_ca_certs=" + ca;
        auto broker = make_check("celery_broker", {{"url", verified}});
        const CheckResult depth = run(*broker);
        INFO(depth.message);
        CHECK(depth.details["queues"]["celery"]["messages"] == 3);
        CHECK_THAT(depth.message, Catch::Contains("no worker is consuming"));

        CeleryWorker worker(url, "tls", ca);
        auto workers = make_check("celery_workers", {{"url", verified}});
        const CheckResult pinged = run(*workers);
        INFO(pinged.message);
        CHECK(pinged.status == Status::ok);
        CHECK(answered(pinged) == std::vector<std::string>{worker.node()});

        // The system's CAs do not know this one: no answer is taken from an unverified
        // broker, and the reason says how to name the CA.
        const CheckResult untrusted = run(*make_check("celery_broker", {{"url", url}}));
        CHECK(untrusted.status == Status::fail);
        CHECK_THAT(untrusted.message, Catch::Contains("ssl_ca_certs"));
        CHECK(run(*make_check("celery_workers", {{"url", url + "?ssl_cert_reqs=none"}})).status ==
              Status::ok);
        // The certificate is for 127.0.0.1: reached as "localhost", it is refused, by name.
        std::string by_name = verified;
        by_name.replace(by_name.find("127.0.0.1"), 9, "localhost");
        const CheckResult wrong_name = run(*make_check("celery_broker", {{"url", by_name}}));
        CHECK(wrong_name.status == Status::fail);
        CHECK_THAT(wrong_name.message, Catch::Contains("not for localhost"));
    }
    // The system's bundle is wherever OpenSSL looks: $SSL_CERT_FILE counts for amqps:// too
    // (librabbitmq takes one file, so vitals names the one OpenSSL would use).
    ::setenv("SSL_CERT_FILE", ca.c_str(), 1);
    const CheckResult system = run(*make_check("celery_broker", {{"url", rabbit.tls_url()}}));
    ::unsetenv("SSL_CERT_FILE");
    INFO(system.message);
    CHECK(system.message.find("TLS") == std::string::npos);
    CHECK(system.status == Status::ok);  // reached and read over TLS, verified
}

TEST_CASE(
    "celery: on Redis, the oldest waiting task is followed across runs and judged by its wait",
    "[celery][latency]") {
    RedisServer redis;
    const std::string url = redis.url("", 1);
    publish_tasks(url, 3);  // no worker: they wait
    FakeClock clock;
    auto check =
        make_check("celery_broker", {{"url", url}, {"latency_warn", "1m"}, {"latency_fail", "5m"}},
                   {}, &clock);
    const auto findings = [](const CheckResult& r) { return r.details["findings"].dump(); };

    const CheckResult first = check->run(Deadline::in(3s));
    CHECK(observed(first, "oldest_wait_seconds.celery") == 0);  // first seen now

    clock.advance(90s);
    const CheckResult later = check->run(Deadline::in(3s));
    CHECK(observed(later, "oldest_wait_seconds.celery") == 90);
    INFO(findings(later));
    CHECK(findings(later).find("the oldest task in queue celery has waited at least 90s") !=
          std::string::npos);

    // The head is taken (a worker would): the next one is only known to wait from now.
    REQUIRE(redis.cli("-n 1 RPOP celery") != "");
    clock.advance(30s);
    CHECK(observed(check->run(Deadline::in(3s)), "oldest_wait_seconds.celery") == 0);

    clock.advance(400s);
    const CheckResult stuck = check->run(Deadline::in(3s));
    CHECK(observed(stuck, "oldest_wait_seconds.celery") == 400);
    CHECK(stuck.status == Status::fail);
    INFO(findings(stuck));
    CHECK(findings(stuck).find("has waited at least 6m") != std::string::npos);
    CHECK(stuck.details["queues"]["celery"]["oldest_wait_seconds"] == 400);

    // Drained: nothing waits.
    REQUIRE(redis.cli("-n 1 DEL celery") == "1");
    clock.advance(10s);
    CHECK(observed(check->run(Deadline::in(3s)), "oldest_wait_seconds.celery") == 0);
}

TEST_CASE(
    "celery: the workers' own stats show busy slots, every slot busy for the limit warns "
    "while the queue grows, and a queue nobody consumes fails",
    "[celery][saturation]") {
    const auto sleeps = [](const std::string& url, int count) {
        REQUIRE(shell("cd '" VITALS_TESTS_DIR "/e2e/celery_app' && CELERY_BROKER_URL='" + url +
                      "' /usr/bin/python3 -c 'import tasks; [tasks.sleep.delay(30) for _ in "
                      "range(" +
                      std::to_string(count) + ")]'") == 0);
    };
    for (const std::string kind : {"amqp", "redis"}) {
        INFO("broker " << kind);
        CeleryBrokerServer broker(kind);
        CeleryWorker worker(broker.url, "busy");  // one process: one slot
        FakeClock clock;
        auto check = make_check("celery_workers",
                                {{"url", broker.url},
                                 {"expected", {worker.node()}},
                                 {"window", "5s"},
                                 {"saturation_warn", "1m"},
                                 {"queues", {"celery", "reports"}}},
                                {}, &clock);
        const CheckResult idle = check->run(Deadline::in(8s));
        INFO(idle.message << " " << idle.details.dump());
        CHECK(observed(idle, "pool_slots") == 1);
        CHECK(observed(idle, "busy_slots") == 0);
        CHECK(idle.details["workers"][0]["queues"] == json::array({"celery"}));
        CHECK(idle.status == Status::fail);
        CHECK(idle.message.find("nobody consumes queue reports") == 0);

        sleeps(broker.url, 10);  // one runs, some are prefetched, the rest wait in the queue
        CheckResult busy;
        for (int i = 0; i < 20; ++i) {
            busy = check->run(Deadline::in(8s));
            if (has_observation(busy, "busy_slots") && observed(busy, "busy_slots") == 1) break;
        }
        REQUIRE(observed(busy, "busy_slots") == 1);
        CHECK(observed(busy, "reserved_tasks") >= 1);

        clock.advance(61s);
        sleeps(broker.url, 5);
        const CheckResult saturated = check->run(Deadline::in(8s));
        const std::string findings = saturated.details["findings"].dump();
        INFO(findings);
        CHECK(findings.find("every worker slot has been busy for 61s (1 of 1) while celery grew "
                            "from ") != std::string::npos);
        worker.kill();
    }
}

TEST_CASE("celery: with no queues configured, the broker check watches what the workers consume",
          "[celery][discovery]") {
    for (const std::string kind : {"amqp", "redis"}) {
        INFO("broker " << kind);
        CeleryBrokerServer broker(kind);
        CeleryWorker mail(broker.url, "mail", "", "mail");  // consumes "mail" only
        auto check = make_check("celery_broker", {{"url", broker.url}});
        const CheckResult r = check->run(Deadline::in(5s));
        INFO(r.message << " " << r.details.dump());
        CHECK(r.details["queues"].contains("mail"));
        CHECK(r.details["queues"].contains("celery"));  // Celery's default, always watched
        CHECK(has_observation(r, "queue_messages"));
        CHECK(observed(r, "queue_messages.mail") == 0);
        CHECK(r.details["queues"].size() == 2);
    }
}

TEST_CASE(
    "celery: kombu's global_keyprefix, sep and priority_steps are spelled as the workers "
    "spell them",
    "[celery][kombu]") {
    RedisServer redis;
    const std::string url = redis.url("", 1);
    const std::string options =
        R"({"global_keyprefix": "shop:", "sep": ":", "priority_steps": [0, 5, 9]})";
    const json settings = {
        {"global_keyprefix", "shop:"}, {"sep", ":"}, {"priority_steps", {0, 5, 9}}};
    // Three tasks at priority 9 and two at 0 wait, under the prefix, before any worker runs.
    publish(url, "tasks.app.conf.broker_transport_options = " + options +
                     "; [tasks.add.apply_async((1, 2), priority=9) for i in range(3)]; "
                     "[tasks.add.apply_async((1, 2), priority=0) for i in range(2)]");
    RedisClient raw(*parse_url(url).url, Deadline::in(3s));
    REQUIRE(RedisClient::integer(*raw.command({"LLEN", "shop:celery:9"}, "LLEN")) == 3);
    json broker_settings = settings;
    broker_settings["url"] = url;
    CHECK(observed(run(*make_check("celery_broker", broker_settings)), "queue_messages.celery") ==
          5);
    // Spelled kombu's default way, the same queue looks empty.
    CHECK(observed(run(*make_check("celery_broker", {{"url", url}})), "queue_messages.celery") ==
          0);

    CeleryWorker worker(url, "prefixed", "", "",
                        {"CELERY_TRANSPORT_OPTIONS=" + options, "CELERY_TASK_EVENTS=1"});
    json workers_settings = settings;
    workers_settings["url"] = url;
    const CheckResult answered_prefixed = run(*make_check("celery_workers", workers_settings));
    INFO(answered_prefixed.message);
    CHECK(answered_prefixed.status == Status::ok);
    CHECK(observed(answered_prefixed, "answering") == 1);
    // The default spelling reaches no worker: the pidbox channel is prefixed too.
    CHECK(run(*make_check("celery_workers", {{"url", url}})).status == Status::fail);

    // Its events come on the prefixed channels.
    json tasks_settings = settings;
    tasks_settings["url"] = url;
    auto events = make_check("celery_tasks", tasks_settings);
    publish(url,
            "tasks.app.conf.broker_transport_options = " + options + "; tasks.add.delay(2, 2)");
    CheckResult seen;
    const auto until = std::chrono::steady_clock::now() + 30s;
    do {
        std::this_thread::sleep_for(100ms);
        seen = run(*events);
    } while (!(has_observation(seen, "succeeded.tasks.add") &&
               observed(seen, "succeeded.tasks.add") >= 1) &&
             std::chrono::steady_clock::now() < until);
    CHECK(observed(seen, "succeeded.tasks.add") >= 1);
    // The queue drained under the prefix.
    CHECK(observed(run(*make_check("celery_broker", broker_settings)), "queue_messages.celery") ==
          0);
}

TEST_CASE("celery: on Redis, only workers of the broker's own database count as listening",
          "[celery][kombu]") {
    RedisServer redis;
    CeleryWorker elsewhere(redis.url("", 2), "other-app");  // db 2: another app's workers
    publish_tasks(redis.url("", 1), 4);
    const CheckResult r = run(*make_check("celery_broker", {{"url", redis.url("", 1)}}));
    CHECK(observed(r, "subscribed_clients") == 0);
    CHECK(r.message.find("no worker is consuming queue celery") == 0);
    CHECK(observed(run(*make_check("celery_broker", {{"url", redis.url("", 2)}})),
                   "subscribed_clients") >= 1);
}

TEST_CASE(
    "celery: over AMQP a queue that never shrinks while consumed warns, then fails, and "
    "clears once it drains",
    "[celery][amqp_latency]") {
    RabbitMqServer rabbit;
    FakeClock clock;
    auto check = make_check("celery_broker",
                            {{"url", rabbit.url()},
                             {"queues", {"celery"}},
                             {"latency_warn", "1m"},
                             {"latency_fail", "5m"}},
                            {}, &clock);
    CeleryWorker worker(rabbit.url(), "stuck");
    worker.pause(true);  // connected, consuming, and doing nothing
    publish(rabbit.url(), "[tasks.add.delay(1, 1) for i in range(20)]");
    const CheckResult first = run(*check);
    INFO(first.message);
    REQUIRE(observed(first, "queue_consumers.celery") == 1);
    REQUIRE(observed(first, "queue_messages.celery") > 0);  // the rest sit in its prefetch
    CHECK(observed(first, "not_shrinking_seconds.celery") == 0);
    clock.advance(61s);
    const CheckResult warn = run(*check);
    INFO(warn.message);
    CHECK(warn.status == Status::warn);
    CHECK(warn.message.find("queue celery has not shrunk for 61s (") == 0);
    clock.advance(5min);
    const CheckResult fail = run(*check);
    CHECK(fail.status == Status::fail);
    CHECK(fail.cause == Cause::elsewhere);

    worker.pause(false);
    CheckResult drained;
    const auto until = std::chrono::steady_clock::now() + 30s;
    do {
        std::this_thread::sleep_for(100ms);
        clock.advance(1s);
        drained = run(*check);
    } while (drained.status != Status::ok && std::chrono::steady_clock::now() < until);
    CHECK(drained.status == Status::ok);
    CHECK(observed(drained, "not_shrinking_seconds.celery") == 0);
}

TEST_CASE("celery: RabbitMQ's management API gives the drain time and rates",
          "[celery][amqp_latency]") {
    RabbitMqServer rabbit("", true);
    CeleryWorker worker(rabbit.url(), "draining");
    publish(rabbit.url(), "[tasks.sleep.delay(0.05) for i in range(200)]");
    auto check = make_check("celery_broker", {{"url", rabbit.url()},
                                              {"queues", {"celery"}},
                                              {"management_url", rabbit.management_url()}});
    CheckResult measured;
    const auto until = std::chrono::steady_clock::now() + 40s;
    do {
        std::this_thread::sleep_for(200ms);
        measured = run(*check);
    } while (!has_observation(measured, "drain_seconds.celery") &&
             std::chrono::steady_clock::now() < until);
    INFO(measured.details.dump());
    REQUIRE(has_observation(measured, "drain_seconds.celery"));
    CHECK(measured.details["queues"]["celery"]["deliver_rate"].get<double>() > 0);
    CHECK(observed(measured, "drain_seconds.celery") > 0);
    CHECK(has_observation(measured, "oldest_wait_seconds.celery"));

    // A wrong password is said in details; the depth is still read.
    std::string wrong = rabbit.management_url();
    wrong.replace(wrong.find("guest@"), 6, "nope@");
    const CheckResult refused = run(
        *make_check("celery_broker",
                    {{"url", rabbit.url()}, {"queues", {"celery"}}, {"management_url", wrong}}));
    CHECK(refused.details["queues"]["celery"]["management_error"].get<std::string>().find(
              "answered 401") != std::string::npos);
    CHECK(refused.details.dump().find("nope") == std::string::npos);
    CHECK(has_observation(refused, "queue_messages.celery"));
    CHECK_THROWS_WITH(make_check("celery_broker", {{"url", "redis://127.0.0.1:1/0"},
                                                   {"management_url", rabbit.management_url()}}),
                      Catch::Contains("the broker is Redis"));
}
