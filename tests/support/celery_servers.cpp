// RabbitMqServer, CeleryWorker, CeleryBeat: the Celery side of the stack.
#include "support/servers.hpp"
#include "support/servers_internal.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

#include "support/net_fixtures.hpp"

namespace vitals::testing {

RabbitMqServer::RabbitMqServer(const std::string& tls_dir, bool management)
    : port_(closed_port()),
      dist_port_(closed_port()),
      node_("vitals" + std::to_string(port_) + "@localhost"),
      dir_(temp_dir("rabbitmq")) {
    {
        std::ofstream conf(dir_ + "/rabbitmq.conf");
        if (management) {
            management_port_ = closed_port();
            std::ofstream(dir_ + "/plugins") << "[rabbitmq_management].\n";
            conf << "management.tcp.port = " << management_port_ << "\n"
                 << "management.tcp.ip = 127.0.0.1\n"
                 << "collect_statistics_interval = 500\n";
        }
        if (!tls_dir.empty()) {
            tls_port_ = closed_port();
            shell("cp '" + tls_dir + "/server.crt' '" + tls_dir + "/server.key' '" + dir_ + "/'");
            conf << "listeners.ssl.1 = 127.0.0.1:" << tls_port_ << "\n"
                 << "ssl_options.cacertfile = " << dir_ << "/server.crt\n"
                 << "ssl_options.certfile = " << dir_ << "/server.crt\n"
                 << "ssl_options.keyfile = " << dir_ << "/server.key\n"
                 << "ssl_options.verify = verify_none\n"
                 << "ssl_options.fail_if_no_peer_cert = false\n";
        }
    }  // written before the server reads it
    if (::geteuid() == 0) shell("chown -R rabbitmq: '" + dir_ + "'");
    start();
}

std::string RabbitMqServer::management_url() const {
    return "http://guest:guest@127.0.0.1:" + std::to_string(management_port_) + "/";
}

std::string RabbitMqServer::tls_url() const {
    return "amqps://guest:guest@127.0.0.1:" + std::to_string(tls_port_) + "//";
}

void RabbitMqServer::start() {
    const std::string home = ::geteuid() == 0 ? "/var/lib/rabbitmq" : dir_;
    std::vector<std::string> args = {"/usr/lib/rabbitmq/bin/rabbitmq-server"};
    if (::geteuid() == 0) args.insert(args.begin(), {"runuser", "-u", "rabbitmq", "--"});
    pid_ = spawn_group(
        args,
        {"HOME=" + home, "RABBITMQ_NODENAME=" + node_, "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
         "RABBITMQ_NODE_PORT=" + std::to_string(port_),
         "RABBITMQ_DIST_PORT=" + std::to_string(dist_port_), "ERL_EPMD_ADDRESS=127.0.0.1",
         "RABBITMQ_MNESIA_BASE=" + dir_ + "/mnesia", "RABBITMQ_LOG_BASE=" + dir_ + "/log",
         "RABBITMQ_ENABLED_PLUGINS_FILE=" + dir_ + "/plugins",
         "RABBITMQ_CONFIG_FILE=" + dir_ + "/rabbitmq.conf"},
        dir_ + "/out");
    // await_startup gives up at once while the node is not registered yet: ask again.
    const bool up = wait_until(
        [&] {
            return shell(as_owner("rabbitmqctl -n " + node_ +
                                  " await_startup --timeout 10 >/dev/null 2>&1")) == 0;
        },
        std::chrono::seconds(60));
    if (!up) {
        stop();
        throw std::runtime_error("rabbitmq-server did not start; see " + dir_ + "/out");
    }
}

RabbitMqServer::~RabbitMqServer() {
    stop();
    shell("rm -rf '" + dir_ + "'");
}

std::string RabbitMqServer::as_owner(const std::string& command) const {
    const std::string env =
        "env HOME=" + std::string(::geteuid() == 0 ? "/var/lib/rabbitmq" : dir_) +
        " ERL_EPMD_ADDRESS=127.0.0.1 ";
    return ::geteuid() == 0 ? "runuser -u rabbitmq -- " + env + command : env + command;
}

std::string RabbitMqServer::url() const {
    return "amqp://guest:guest@127.0.0.1:" + std::to_string(port_) + "//";
}

void RabbitMqServer::stop() {
    kill_group(pid_, SIGKILL);
}

std::string RabbitMqServer::ctl(const std::string& args) const {
    return capture(as_owner("rabbitmqctl -n " + node_ + " " + args + " 2>/dev/null"));
}

CeleryWorker::CeleryWorker(const std::string& broker_url, const std::string& name,
                           const std::string& broker_ca, const std::string& queue,
                           const std::vector<std::string>& more_env)
    : log_(temp_dir("celery") + "/worker.log"), node_(name + "@" + host_name()) {
    std::vector<std::string> env = more_env;
    env.push_back("CELERY_BROKER_URL=" + broker_url);
    if (!broker_ca.empty()) env.push_back("CELERY_BROKER_CA=" + broker_ca);
    if (!queue.empty()) env.push_back("CELERY_QUEUE=" + queue);
    pid_ = spawn_group({"/usr/bin/python3", "-m", "celery", "-A", "tasks", "worker", "-n", node_,
                        "-c", "1", "-l", "info", "--without-mingle", "--without-gossip"},
                       env, log_, VITALS_TESTS_DIR "/e2e/celery_app");
    const bool ready =
        wait_until([&] { return shell("grep -q ' ready.' '" + log_ + "' 2>/dev/null") == 0; },
                   std::chrono::seconds(30));
    if (!ready) {
        kill();
        throw std::runtime_error("celery worker did not start; see " + log_);
    }
}

CeleryWorker::~CeleryWorker() {
    kill();
    shell("rm -rf \"$(dirname '" + log_ + "')\"");
}

CeleryBrokerServer::CeleryBrokerServer(const std::string& kind) {
    if (kind == "amqp") {
        rabbit = std::make_unique<RabbitMqServer>();
        url = rabbit->url();
    } else {
        redis = std::make_unique<RedisServer>();
        url = redis->url("", 1);
    }
}

void CeleryBrokerServer::stop() {
    if (rabbit) rabbit->stop();
    if (redis) redis->stop();
}

void CeleryWorker::kill() {
    kill_group(pid_, SIGKILL);
}

void CeleryWorker::pause(bool paused) {
    if (pid_ > 0) ::kill(-pid_, paused ? SIGSTOP : SIGCONT);
}

int django_manage(const std::string& args, const std::string& database_url) {
    return shell("cd '" VITALS_TESTS_DIR "/e2e/django_app' && DATABASE_URL='" + database_url +
                 "' /usr/bin/python3 manage.py " + args + " 1>&2");
}

CeleryBeat::CeleryBeat(const std::string& database_url, const std::string& broker_url)
    : log_(temp_dir("beat") + "/beat.log") {
    pid_ = spawn_group({"/usr/bin/python3", "-m", "celery", "-A", "shop", "beat", "-l", "info",
                        "-S", "django_celery_beat.schedulers:DatabaseScheduler", "--pidfile="},
                       {"DATABASE_URL=" + database_url, "CELERY_BROKER_URL=" + broker_url,
                        "CELERY_BEAT_SYNC_EVERY=1"},
                       log_, VITALS_TESTS_DIR "/e2e/django_app");
    const bool ready = wait_until(
        [&] { return shell("grep -q 'beat: Starting' '" + log_ + "' 2>/dev/null") == 0; },
        std::chrono::seconds(30));
    if (!ready) {
        kill();
        throw std::runtime_error("celery beat did not start; see " + log_);
    }
}

CeleryBeat::~CeleryBeat() {
    kill();
    shell("rm -rf \"$(dirname '" + log_ + "')\"");
}

void CeleryBeat::kill() {
    kill_group(pid_, SIGKILL);
}

void publish(const std::string& broker_url, const std::string& calls,
             const std::string& broker_ca) {
    if (calls.find('\'') != std::string::npos)
        throw std::invalid_argument("publish: use double quotes in the Python calls");
    const std::string command = "cd '" VITALS_TESTS_DIR "/e2e/celery_app' && CELERY_BROKER_URL='" +
                                broker_url + "' CELERY_BROKER_CA='" + broker_ca +
                                "' /usr/bin/python3 -c 'import tasks; " + calls + "'";
    if (shell(command) != 0) throw std::runtime_error("publishing tasks failed: " + calls);
}

void publish_tasks(const std::string& broker_url, int count, const std::string& broker_ca) {
    publish(broker_url, "[tasks.add.delay(1, 2) for _ in range(" + std::to_string(count) + ")]",
            broker_ca);
}

}  // namespace vitals::testing
