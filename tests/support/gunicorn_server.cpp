// GunicornServer: the e2e Django project under a real Gunicorn.
#include "support/servers.hpp"
#include "support/servers_internal.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

#include "support/net_fixtures.hpp"

namespace vitals::testing {

GunicornServer::GunicornServer(int workers, std::uint16_t statsd_port, bool start_now,
                               bool manifest)
    : port_(closed_port()),
      static_root_(temp_dir("static")),
      workers_(workers),
      statsd_port_(statsd_port),
      manifest_(manifest) {
    if (shell("cd '" VITALS_TESTS_DIR "/e2e/django_app' && STATIC_ROOT='" + static_root_ + "'" +
              (manifest_ ? " STATIC_MANIFEST=1" : "") +
              " /usr/bin/python3 manage.py collectstatic --noinput -v0") != 0) {
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
    std::vector<std::string> args = {
        "/usr/bin/python3",
        "-m",
        "gunicorn",
        "--chdir",
        VITALS_TESTS_DIR "/e2e/django_app",
        "--workers",
        std::to_string(workers_),
        "--bind",
        unix_socket_.empty() ? "127.0.0.1:" + std::to_string(port_) : "unix:" + unix_socket_,
        "--timeout",
        "60",
        "--log-level",
        "warning"};
    if (statsd_port_ != 0) {
        args.push_back("--statsd-host");
        args.push_back("127.0.0.1:" + std::to_string(statsd_port_));
        if (!dogstatsd_tags_.empty()) {
            args.push_back("--dogstatsd-tags");
            args.push_back(dogstatsd_tags_);
        }
    }
    args.push_back("shop.wsgi:application");
    const std::string env_static = "STATIC_ROOT=" + static_root_;
    std::fflush(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
        ::setpgid(0, 0);  // one group: kill() takes master and workers at once
        ::putenv(const_cast<char*>(env_static.c_str()));
        if (manifest_) ::putenv(const_cast<char*>("STATIC_MANIFEST=1"));
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    const bool up = wait_until(
        [&] {
            if (unix_socket_.empty()) {
                const RawReply r = get(port_, "/health/");
                return r.ok && r.status == 200;
            }
            HttpTarget target;
            target.url = *parse_url("http://localhost/health/");
            target.unix_socket = unix_socket_;
            const Expected<HttpReply> r = http_get(target, Deadline::in(std::chrono::seconds(1)));
            return r && r->status == 200;
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

}  // namespace vitals::testing
