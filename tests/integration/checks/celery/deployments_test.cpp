// Celery as deployments run it, against real RabbitMQ and Redis with real workers: TLS brokers,
// queues discovered from the workers, several Redis databases, the management API.
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
    RedisClient raw(*parse_url(url), Deadline::in(3s));
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
