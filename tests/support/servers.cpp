#include "support/servers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <stdexcept>
#include <thread>

#include "sidecar/clients/net.hpp"
#include "support/net_fixtures.hpp"

namespace vitals::testing {

namespace {

const char kPgBin[] = "/usr/lib/postgresql/15/bin";

std::string temp_dir(const char* name) {
    std::string pattern = std::string("/tmp/vitals-") + name + "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return pattern;
}

bool wait_until(const std::function<bool()>& ready, std::chrono::seconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (ready()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

}  // namespace

std::string capture(const std::string& command) {
    std::unique_ptr<FILE, decltype(&::pclose)> pipe(::popen(command.c_str(), "r"), &::pclose);
    std::string out;
    std::array<char, 4096> buf{};
    while (pipe && std::fgets(buf.data(), buf.size(), pipe.get()) != nullptr)
        out += buf.data();
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
        out.pop_back();
    return out;
}

int shell(const std::string& command) {
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

RedisServer::RedisServer(std::vector<std::string> extra_args)
    : RedisServer(std::move(extra_args), "") {}

RedisServer::RedisServer(std::vector<std::string> extra_args, std::string tls_dir)
    : port_(closed_port()),
      dir_(temp_dir("redis")),
      args_(std::move(extra_args)),
      tls_dir_(std::move(tls_dir)) {
    start();
}

RedisServer RedisServer::with_tls(const std::string& tls_dir) {
    return RedisServer({}, tls_dir);
}

RedisServer::~RedisServer() {
    stop();
    shell("rm -rf '" + dir_ + "'");
}

std::string RedisServer::url(const std::string& password, int db) const {
    return (tls_dir_.empty() ? "redis://" : "rediss://") +
           (password.empty() ? "" : ":" + password + "@") + "127.0.0.1:" + std::to_string(port_) +
           "/" + std::to_string(db);
}

void RedisServer::start() {
    std::vector<std::string> args = {"redis-server",
                                     "--bind",
                                     "127.0.0.1",
                                     "--port",
                                     tls_dir_.empty() ? std::to_string(port_) : "0",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--daemonize",
                                     "no",
                                     "--dir",
                                     dir_};
    if (!tls_dir_.empty()) {
        const std::string crt = tls_dir_ + "/server.crt";
        args.insert(args.end(), {"--tls-port", std::to_string(port_), "--tls-cert-file", crt,
                                 "--tls-key-file", tls_dir_ + "/server.key", "--tls-ca-cert-file",
                                 crt, "--tls-auth-clients", "no"});
    }
    args.insert(args.end(), args_.begin(), args_.end());
    std::fflush(nullptr);  // or the child would flush the test's buffered output again
    pid_ = ::fork();
    if (pid_ == 0) {
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        const int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 1);
        ::execvp("redis-server", argv.data());
        ::_exit(127);
    }
    const bool up = wait_until(
        [&] {
            redisContext* c = redisConnect("127.0.0.1", port_);
            const bool ok = c != nullptr && c->err == 0;
            redisFree(c);
            return ok;
        },
        std::chrono::seconds(10));
    if (!up) {
        stop();
        throw std::runtime_error("redis-server did not start");
    }
}

void RedisServer::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

std::string RedisServer::cli(const std::string& args, const std::string& password) const {
    const std::string auth = password.empty() ? "" : " --no-auth-warning -a '" + password + "'";
    const std::string tls = tls_dir_.empty() ? "" : " --tls --cacert '" + tls_dir_ + "/server.crt'";
    return capture("redis-cli -h 127.0.0.1 -p " + std::to_string(port_) + tls + auth + " " + args +
                   " 2>&1");
}

PostgresServer::PostgresServer(int max_connections, int ssl_days)
    : port_(closed_port()),
      dir_(temp_dir("pg")),
      max_connections_(max_connections),
      ssl_days_(ssl_days) {
    const std::string data = dir_ + "/data";
    shell("chmod 755 '" + dir_ + "'");
    if (::geteuid() == 0) shell("chown postgres: '" + dir_ + "'");
    const std::string pwfile = dir_ + "/pw";
    shell(as_owner("sh -c \"echo pg-super-secret > '" + pwfile + "'\""));
    if (shell(as_owner(std::string(kPgBin) + "/initdb -D '" + data + "' -U postgres --pwfile='" +
                       pwfile + "' --auth-local=trust --auth-host=scram-sha-256 >/dev/null")) !=
        0) {
        throw std::runtime_error("initdb failed");
    }
    if (ssl_days_ > 0) {
        make_certificate(dir_, "server", "127.0.0.1", ssl_days_);
        shell("chmod 600 '" + dir_ + "/server.key'");
        if (::geteuid() == 0)
            shell("chown postgres: '" + dir_ + "/server.key' '" + dir_ + "/server.crt'");
    }
    start();
    try {
        setup();
    } catch (...) {
        stop();  // a half-built cluster must not outlive the test
        shell("rm -rf '" + dir_ + "'");
        throw;
    }
}

void PostgresServer::setup() const {
    const std::string setup =
        " -c \"CREATE ROLE app LOGIN PASSWORD 'app-secret'\" -c \"GRANT pg_read_all_stats TO app\""
        " -c \"CREATE DATABASE shop OWNER app\"";
    if (shell(as_owner("psql -q -v ON_ERROR_STOP=1 -h '" + dir_ + "' -p " + std::to_string(port_) +
                       " -U postgres -d postgres" + setup + " >/dev/null")) != 0 ||
        sql("CREATE EXTENSION pg_stat_statements") != 0) {
        throw std::runtime_error("PostgreSQL setup failed");
    }
}

PostgresServer::~PostgresServer() {
    stop();
    shell("rm -rf '" + dir_ + "'");
}

std::string PostgresServer::as_owner(const std::string& command) const {
    return ::geteuid() == 0 ? "runuser -u postgres -- " + command : command;
}

std::string PostgresServer::url(const std::string& user, const std::string& password,
                                const std::string& db) const {
    return "postgres://" + user + ":" + password + "@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

void PostgresServer::start() {
    const std::string options =
        "-p " + std::to_string(port_) + " -k " + dir_ +
        " -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements"
        " -c max_connections=" +
        std::to_string(max_connections_) + " -c superuser_reserved_connections=3 -c fsync=off" +
        (ssl_days_ > 0 ? " -c ssl=on -c ssl_cert_file=" + dir_ +
                             "/server.crt -c ssl_key_file=" + dir_ + "/server.key"
                       : std::string());
    if (shell(as_owner(std::string(kPgBin) + "/pg_ctl -D '" + dir_ + "/data' -l '" + dir_ +
                       "/log' -w -o '" + options + "' start >/dev/null")) != 0) {
        throw std::runtime_error("pg_ctl start failed; see " + dir_ + "/log");
    }
}

void PostgresServer::stop() {
    shell(as_owner(std::string(kPgBin) + "/pg_ctl -D '" + dir_ +
                   "/data' -m immediate -w stop >/dev/null 2>&1"));
}

int PostgresServer::sql(const std::string& statement) const {
    return shell(as_owner("psql -q -v ON_ERROR_STOP=1 -h '" + dir_ + "' -p " +
                          std::to_string(port_) + " -U postgres -d shop -c \"" + statement +
                          "\" >/dev/null"));
}

PgBouncerServer::PgBouncerServer(const PostgresServer& postgres, const std::string& pool_mode,
                                 int pool_size)
    : port_(closed_port()), dir_(temp_dir("pgbouncer")) {
    const std::string config =
        "[databases]\n"
        "shop = host=127.0.0.1 port=" +
        std::to_string(postgres.port()) +
        " dbname=shop\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        "listen_port = " +
        std::to_string(port_) +
        "\n"
        "unix_socket_dir =\n"
        "auth_type = md5\n"
        "auth_file = " +
        dir_ +
        "/users.txt\n"
        "admin_users = app\n"
        "stats_users = app\n"
        "pool_mode = " +
        pool_mode +
        "\n"
        "default_pool_size = " +
        std::to_string(pool_size) +
        "\n"
        "max_client_conn = 100\n"
        "logfile = " +
        dir_ +
        "/log\n"
        "pidfile = " +
        dir_ + "/pid\n";
    std::ofstream(dir_ + "/pgbouncer.ini") << config;
    std::ofstream(dir_ + "/users.txt") << "\"app\" \"app-secret\"\n";
    // pgBouncer will not run as root.
    if (::geteuid() == 0) shell("chown -R postgres '" + dir_ + "'");
    const std::string run = "/usr/sbin/pgbouncer -d -q '" + dir_ + "/pgbouncer.ini'";
    if (shell(::geteuid() == 0 ? "runuser -u postgres -- " + run : run) != 0)
        throw std::runtime_error("pgbouncer did not start; see " + dir_ + "/log");
    const bool up = wait_until(
        [&] {
            return connect_tcp("127.0.0.1", port_, Deadline::in(std::chrono::milliseconds(200)))
                .socket.valid();
        },
        std::chrono::seconds(10));
    if (!up) throw std::runtime_error("pgbouncer did not listen; see " + dir_ + "/log");
}

PgBouncerServer::~PgBouncerServer() {
    shell("kill $(cat '" + dir_ + "/pid' 2>/dev/null) 2>/dev/null; sleep 0.2; rm -rf '" + dir_ +
          "'");
}

std::string PgBouncerServer::log() const {
    return capture("tail -n 20 '" + dir_ + "/log'");
}

std::string PgBouncerServer::url(const std::string& db) const {
    return "postgres://app:app-secret@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

std::uint16_t free_udp_port() {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

GunicornServer::GunicornServer(int workers, std::uint16_t statsd_port, bool start_now)
    : port_(closed_port()),
      static_root_(temp_dir("static")),
      workers_(workers),
      statsd_port_(statsd_port) {
    if (shell("cd '" VITALS_TESTS_DIR "/e2e/django_app' && STATIC_ROOT='" + static_root_ +
              "' /usr/bin/python3 manage.py collectstatic --noinput -v0") != 0) {
        throw std::runtime_error("collectstatic failed");
    }
    if (start_now) start();
}

GunicornServer::~GunicornServer() {
    kill();
    shell("rm -rf '" + static_root_ + "'");
}

std::string GunicornServer::url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void GunicornServer::start() {
    std::vector<std::string> args = {"/usr/bin/python3",
                                     "-m",
                                     "gunicorn",
                                     "--chdir",
                                     VITALS_TESTS_DIR "/e2e/django_app",
                                     "--workers",
                                     std::to_string(workers_),
                                     "--bind",
                                     "127.0.0.1:" + std::to_string(port_),
                                     "--timeout",
                                     "60",
                                     "--log-level",
                                     "warning"};
    if (statsd_port_ != 0) {
        args.push_back("--statsd-host");
        args.push_back("127.0.0.1:" + std::to_string(statsd_port_));
    }
    args.push_back("shop.wsgi:application");
    const std::string env_static = "STATIC_ROOT=" + static_root_;
    std::fflush(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
        ::setpgid(0, 0);  // one group: kill() takes master and workers at once
        ::putenv(const_cast<char*>(env_static.c_str()));
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    const bool up = wait_until(
        [&] {
            const HttpReply r = get(port_, "/health/");
            return r.ok && r.status == 200;
        },
        std::chrono::seconds(20));
    if (!up) {
        kill();
        throw std::runtime_error("gunicorn did not start");
    }
}

void GunicornServer::kill() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

void GunicornServer::remove_static() {
    shell("rm -rf '" + static_root_ + "/admin'");
}

std::string make_temp_dir(const char* name) {
    return temp_dir(name);
}

void make_certificate(const std::string& dir, const std::string& file, const std::string& name,
                      int days) {
    const bool ip = name.find_first_not_of("0123456789.") == std::string::npos;
    const std::string san = ip ? "IP:" + name : "DNS:" + name;
    if (shell("openssl req -x509 -newkey rsa:2048 -nodes -days " + std::to_string(days) +
              " -subj '/CN=" + name + "' -addext 'subjectAltName=" + san + "' -keyout '" + dir +
              "/" + file + ".key' -out '" + dir + "/" + file + ".crt' >/dev/null 2>&1") != 0) {
        throw std::runtime_error("openssl could not make a certificate");
    }
}

std::string host_name() {
    char buf[256] = {};
    ::gethostname(buf, sizeof(buf) - 1);
    return buf;
}

namespace {

// fork + exec in its own process group, environment added to ours, output to `log`.
pid_t spawn_group(const std::vector<std::string>& args, const std::vector<std::string>& env,
                  const std::string& log, const std::string& cwd = "") {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::setpgid(0, 0);
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
        const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (out >= 0) {
            ::dup2(out, 1);
            ::dup2(out, 2);
        }
        std::vector<std::string> copy = env;
        for (auto& e : copy)
            ::putenv(e.data());
        std::vector<std::string> argv_copy = args;
        std::vector<char*> argv;
        for (auto& a : argv_copy)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    return pid;
}

void kill_group(pid_t& pid, int sig) {
    if (pid <= 0) return;
    ::kill(-pid, sig);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
}

}  // namespace

RabbitMqServer::RabbitMqServer(const std::string& tls_dir)
    : port_(closed_port()),
      dist_port_(closed_port()),
      node_("vitals" + std::to_string(port_) + "@localhost"),
      dir_(temp_dir("rabbitmq")) {
    if (!tls_dir.empty()) {
        tls_port_ = closed_port();
        shell("cp '" + tls_dir + "/server.crt' '" + tls_dir + "/server.key' '" + dir_ + "/'");
        std::ofstream conf(dir_ + "/rabbitmq.conf");
        conf << "listeners.ssl.1 = 127.0.0.1:" << tls_port_ << "\n"
             << "ssl_options.cacertfile = " << dir_ << "/server.crt\n"
             << "ssl_options.certfile = " << dir_ << "/server.crt\n"
             << "ssl_options.keyfile = " << dir_ << "/server.key\n"
             << "ssl_options.verify = verify_none\n"
             << "ssl_options.fail_if_no_peer_cert = false\n";
    }
    if (::geteuid() == 0) shell("chown -R rabbitmq: '" + dir_ + "'");
    start();
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
                           const std::string& broker_ca)
    : log_(temp_dir("celery") + "/worker.log"), node_(name + "@" + host_name()) {
    std::vector<std::string> env = {"CELERY_BROKER_URL=" + broker_url};
    if (!broker_ca.empty()) env.push_back("CELERY_BROKER_CA=" + broker_ca);
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

void CeleryWorker::kill() {
    kill_group(pid_, SIGKILL);
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

TlsServer::TlsServer(const std::string& cert, const std::string& key) : port_(closed_port()) {
    pid_ = spawn_group({"openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port_),
                        "-cert", cert, "-key", key, "-www", "-quiet"},
                       {}, "/dev/null");
    const bool up =
        wait_until([&] { return RawClient(port_).connected(); }, std::chrono::seconds(10));
    if (!up) {
        kill_group(pid_, SIGKILL);
        throw std::runtime_error("openssl s_server did not start");
    }
}

TlsServer::~TlsServer() {
    kill_group(pid_, SIGKILL);
}

void publish_tasks(const std::string& broker_url, int count, const std::string& broker_ca) {
    const std::string command =
        "cd '" VITALS_TESTS_DIR "/e2e/celery_app' && CELERY_BROKER_URL='" + broker_url +
        "' CELERY_BROKER_CA='" + broker_ca +
        "' /usr/bin/python3 -c 'import tasks; [tasks.add.delay(1, 2) for _ in range(" +
        std::to_string(count) + ")]'";
    if (shell(command) != 0) throw std::runtime_error("publishing tasks failed");
}

}  // namespace vitals::testing
