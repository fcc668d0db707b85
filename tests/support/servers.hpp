// Real dependency servers for integration tests, each on a free loopback port with a private
// data directory, started and stopped by the test (never the standard ports: a server a
// developer runs by hand must not collide with, or be mistaken for, the test's own).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vitals::testing {

// Runs a shell command; returns its exit code. Output goes to the test's stderr.
int shell(const std::string& command);
// Runs a shell command; what it printed on stdout.
std::string capture(const std::string& command);

class RedisServer {
  public:
    explicit RedisServer(std::vector<std::string> extra_args = {});
    // TLS only (no plaintext port), presenting <tls_dir>/server.crt and server.key.
    static RedisServer with_tls(const std::string& tls_dir);
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    std::uint16_t port() const { return port_; }
    // redis://[:password@]127.0.0.1:port/db (rediss:// for a TLS server)
    std::string url(const std::string& password = "", int db = 0) const;
    void start();
    void stop();
    // One command through redis-cli; its output, trimmed.
    std::string cli(const std::string& args, const std::string& password = "") const;

  private:
    RedisServer(std::vector<std::string> extra_args, std::string tls_dir);
    std::uint16_t port_;
    std::string dir_;
    std::vector<std::string> args_;
    std::string tls_dir_;
    pid_t pid_ = -1;
};

// A private memcached with `memory_mb` of item memory and at most `max_connections`, on
// 127.0.0.1:<free port>, or on a Unix socket in a directory of its own.
class MemcachedServer {
  public:
    explicit MemcachedServer(int memory_mb = 64, int max_connections = 1024,
                             bool unix_socket = false);
    ~MemcachedServer();
    MemcachedServer(const MemcachedServer&) = delete;
    MemcachedServer& operator=(const MemcachedServer&) = delete;

    std::uint16_t port() const { return port_; }
    std::string location() const;  // 127.0.0.1:<port>, or the socket's path
    std::string url() const;       // memcache://<location>
    void start();
    void stop();

  private:
    std::uint16_t port_;
    std::string dir_;  // the socket's, when on one
    int memory_mb_;
    int max_connections_;
    pid_t pid_ = -1;
};

// A private PostgreSQL 15 cluster with pg_stat_statements preloaded. Roles: the superuser
// "postgres" (password "pg-super-secret") and "app" (password "app-secret", member of
// pg_read_all_stats, owner of database "shop").
class PostgresServer {
  public:
    // `ssl_days` > 0: ssl=on with a self-signed certificate valid that many days.
    explicit PostgresServer(int max_connections = 20, int ssl_days = 0);
    // A streaming replica of `primary` (pg_basebackup -R over its socket), on a port of its
    // own: the same roles and databases, read-only until promoted.
    struct ReplicaOf {
        const PostgresServer& primary;
        // false: no primary_conninfo, a standby that only replays WAL it is given (as one
        // restoring from an archive does).
        bool streaming = true;
    };
    explicit PostgresServer(ReplicaOf replica);
    ~PostgresServer();
    PostgresServer(const PostgresServer&) = delete;
    PostgresServer& operator=(const PostgresServer&) = delete;

    std::uint16_t port() const { return port_; }
    std::string url(const std::string& user = "app", const std::string& password = "app-secret",
                    const std::string& db = "shop") const;
    // The directory of its Unix socket (.s.PGSQL.<port>).
    const std::string& socket_dir() const { return dir_; }
    void start();
    void stop();
    // Runs SQL as the superuser in database "shop"; returns psql's exit code.
    int sql(const std::string& statement) const;
    // The same, returning what the statement printed (unaligned, tuples only).
    std::string query(const std::string& statement) const;

  private:
    void setup() const;
    std::string as_owner(const std::string& command) const;
    std::uint16_t port_;
    std::string dir_;
    int max_connections_;
    int ssl_days_;
};

// pgBouncer (Debian's) in front of a PostgresServer, on 127.0.0.1:<free port>, serving
// database "shop" as user "app" (password "app-secret"), with `pool_mode` and a pool of
// `pool_size` server connections; "app" may also use the admin console (db "pgbouncer").
class PgBouncerServer {
  public:
    PgBouncerServer(const PostgresServer& postgres, const std::string& pool_mode, int pool_size);
    ~PgBouncerServer();
    PgBouncerServer(const PgBouncerServer&) = delete;
    PgBouncerServer& operator=(const PgBouncerServer&) = delete;

    std::uint16_t port() const { return port_; }
    std::string url(const std::string& db = "shop") const;
    // What pgBouncer logged, for a failing test to show.
    std::string log() const;

  private:
    std::uint16_t port_;
    std::string dir_;
};

// The e2e Django project (tests/e2e/django_app) under a real Gunicorn with sync workers, on
// 127.0.0.1:<free port>, its static files collected into a private STATIC_ROOT.
class GunicornServer {
  public:
    // `start_now` false: the port is chosen, the server starts at start().
    // `manifest`: ManifestStaticFilesStorage (hashed names and staticfiles.json).
    GunicornServer(int workers, std::uint16_t statsd_port = 0, bool start_now = true,
                   bool manifest = false);
    ~GunicornServer();
    GunicornServer(const GunicornServer&) = delete;
    GunicornServer& operator=(const GunicornServer&) = delete;

    std::uint16_t port() const { return port_; }
    std::string url(const std::string& path = "/") const;
    // Before start(): bind to this Unix socket (--bind unix:PATH) instead of the port.
    void bind_unix(const std::string& path) { unix_socket_ = path; }
    // Before start(): statsd lines in DogStatsD's form, with these tags (--dogstatsd-tags).
    void dogstatsd_tags(const std::string& tags) { dogstatsd_tags_ = tags; }
    void start();
    // SIGKILL to the master and every worker (its process group).
    void kill();
    // Removes the collected static files, as a deploy without collectstatic leaves them.
    void remove_static();
    const std::string& static_root() const { return static_root_; }

  private:
    std::uint16_t port_;
    std::string static_root_;
    int workers_;
    std::uint16_t statsd_port_;
    std::string dogstatsd_tags_;
    bool manifest_;
    std::string unix_socket_;
    pid_t pid_ = -1;
};

// A private RabbitMQ node on 127.0.0.1:<free port> (user guest/guest, vhost "/").
class RabbitMqServer {
  public:
    // With `tls_dir`, also a TLS listener presenting <tls_dir>/server.crt and server.key.
    // With `management`, the management plugin on a port of its own, its statistics
    // collected every 500 ms.
    explicit RabbitMqServer(const std::string& tls_dir = "", bool management = false);
    ~RabbitMqServer();
    RabbitMqServer(const RabbitMqServer&) = delete;
    RabbitMqServer& operator=(const RabbitMqServer&) = delete;

    std::uint16_t port() const { return port_; }
    std::string url() const;             // amqp://guest:guest@127.0.0.1:port//
    std::string tls_url() const;         // amqps://guest:guest@127.0.0.1:tls port//
    std::string management_url() const;  // http://guest:guest@127.0.0.1:port/
    void start();                        // again after stop(), same port and data
    void stop();
    // rabbitmqctl's output for e.g. "list_queues -q name".
    std::string ctl(const std::string& args) const;

  private:
    std::string as_owner(const std::string& command) const;
    std::uint16_t port_;
    std::uint16_t dist_port_;
    std::uint16_t tls_port_ = 0;
    std::uint16_t management_port_ = 0;
    std::string node_;
    std::string dir_;
    pid_t pid_ = -1;
};

// A Celery worker (tests/e2e/celery_app) named <name>@<this host>, one process.
class CeleryWorker {
  public:
    // `broker_ca`: a CA file the worker verifies a TLS broker against (CELERY_BROKER_CA).
    // `queue`: the queue it consumes (and its tasks' default), "celery" when empty.
    // `env`: more of the worker's environment ("VITALS_PING_URL=...").
    CeleryWorker(const std::string& broker_url, const std::string& name,
                 const std::string& broker_ca = "", const std::string& queue = "",
                 const std::vector<std::string>& env = {});
    ~CeleryWorker();
    CeleryWorker(const CeleryWorker&) = delete;
    CeleryWorker& operator=(const CeleryWorker&) = delete;

    const std::string& node() const { return node_; }  // name@host, as it answers pings
    void kill();
    // SIGSTOP (true) or SIGCONT (false) to every process of the worker: stuck, not gone.
    void pause(bool paused);

  private:
    std::string log_;
    std::string node_;
    pid_t pid_ = -1;
};

// Runs `python3 manage.py <args>` in the e2e Django project against `database_url`; its
// exit code (output goes to stderr).
int django_manage(const std::string& args, const std::string& database_url);

// Celery Beat of the e2e Django project with django-celery-beat's DatabaseScheduler, writing
// last_run_at after every task it sends (beat_sync_every = 1).
class CeleryBeat {
  public:
    CeleryBeat(const std::string& database_url, const std::string& broker_url);
    ~CeleryBeat();
    CeleryBeat(const CeleryBeat&) = delete;
    CeleryBeat& operator=(const CeleryBeat&) = delete;
    void kill();

  private:
    std::string log_;
    pid_t pid_ = -1;
};

// A Celery broker of either kind, started for a test: "amqp" (RabbitMQ) or "redis" (its db 1).
struct CeleryBrokerServer {
    std::unique_ptr<RabbitMqServer> rabbit;
    std::unique_ptr<RedisServer> redis;
    std::string url;
    explicit CeleryBrokerServer(const std::string& kind);
    void stop();
};

// Publishes `count` add() tasks to the default queue through Celery itself.
void publish_tasks(const std::string& broker_url, int count, const std::string& broker_ca = "");
// Runs `calls` (Python, e.g. "tasks.fail.delay('disk full')") with the tasks module imported.
void publish(const std::string& broker_url, const std::string& calls,
             const std::string& broker_ca = "");
std::string host_name();

// Writes a self-signed certificate and key for `name` (DNS name and, for an address, IP)
// valid `days` days: <dir>/<file>.crt and <dir>/<file>.key.
void make_certificate(const std::string& dir, const std::string& file, const std::string& name,
                      int days);

// Debian's prometheus on 127.0.0.1:<free port>, scraping vitals at 127.0.0.1:`target_port`
// (job "vitals") and evaluating `rule_file`, both every second.
class PrometheusServer {
  public:
    PrometheusServer(std::uint16_t target_port, const std::string& rule_file);
    // Several targets, each with its own namespace and pod labels (as Kubernetes' service
    // discovery gives them), alerts sent to an Alertmanager on `alertmanager_port`.
    struct Target {
        std::uint16_t port;
        std::string namespace_name;
        std::string pod;
    };
    PrometheusServer(const std::vector<Target>& targets, const std::string& rule_file,
                     std::uint16_t alertmanager_port);
    ~PrometheusServer();
    PrometheusServer(const PrometheusServer&) = delete;
    PrometheusServer& operator=(const PrometheusServer&) = delete;
    std::uint16_t port() const { return port_; }
    // GET on its HTTP API, parsed (a discarded value when the body is not JSON).
    nlohmann::json api(const std::string& path) const;
    // /api/v1/query for `promql` at the current time.
    nlohmann::json query(const std::string& promql) const;
    // /api/v1/alerts: every pending and firing alert.
    nlohmann::json alerts() const;

  private:
    std::uint16_t port_;
    std::string dir_;
    pid_t pid_ = -1;
};

// Debian's Alertmanager on 127.0.0.1:<free port> (no cluster) with `config` (YAML), and a
// webhook receiver that keeps every notification; `webhook_url()` is the receiver's URL.
class AlertmanagerServer {
  public:
    // `config` may hold WEBHOOK_URL, replaced by the receiver's URL.
    explicit AlertmanagerServer(const std::string& config);
    ~AlertmanagerServer();
    AlertmanagerServer(const AlertmanagerServer&) = delete;
    AlertmanagerServer& operator=(const AlertmanagerServer&) = delete;
    std::uint16_t port() const { return port_; }
    // Every notification the receiver got, oldest first (Alertmanager's webhook JSON).
    std::vector<nlohmann::json> notifications() const;

  private:
    std::uint16_t port_;
    std::uint16_t hook_port_;
    std::string dir_;
    pid_t pid_ = -1;
    pid_t hook_pid_ = -1;
};

// `openssl s_server` on 127.0.0.1:<free port> presenting the given certificate.
class TlsServer {
  public:
    TlsServer(const std::string& cert, const std::string& key);
    ~TlsServer();
    TlsServer(const TlsServer&) = delete;
    TlsServer& operator=(const TlsServer&) = delete;
    std::uint16_t port() const { return port_; }

  private:
    std::uint16_t port_;
    pid_t pid_ = -1;
};

// An HTTPS server on 127.0.0.1:<free port> serving the files under `root` (written and
// rewritten by the test) with the given certificate; <path>.status beside a file sets its
// status. Every request is recorded.
class HttpsFileServer {
  public:
    HttpsFileServer(const std::string& root, const std::string& cert, const std::string& key);
    ~HttpsFileServer();
    HttpsFileServer(const HttpsFileServer&) = delete;
    HttpsFileServer& operator=(const HttpsFileServer&) = delete;
    std::string url() const;  // https://127.0.0.1:<port>/
    // "<path> <Accept header>" for each request so far, oldest first.
    std::vector<std::string> requests() const;

  private:
    std::uint16_t port_;
    std::string root_;
    pid_t pid_ = -1;
};

// s3rver on 127.0.0.1:<free port> with one bucket; access key S3RVER, secret S3RVER (it
// checks the key id, not the signature).
class S3Server {
  public:
    explicit S3Server(const std::string& bucket);
    ~S3Server();
    S3Server(const S3Server&) = delete;
    S3Server& operator=(const S3Server&) = delete;
    std::string url() const;  // the endpoint, http://127.0.0.1:<port>/
    std::string directory() const { return dir_ + "/data"; }

  private:
    std::uint16_t port_;
    std::string dir_;
    pid_t pid_ = -1;
};

std::string make_temp_dir(const char* name);

// A UDP port nothing listens on (bound, then closed).
std::uint16_t free_udp_port();

}  // namespace vitals::testing
