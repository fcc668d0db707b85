#include "support/servers.hpp"
#include "support/servers_internal.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
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

// fork + exec in its own process group, environment added to ours, output to `log`.
pid_t spawn_group(const std::vector<std::string>& args, const std::vector<std::string>& env,
                  const std::string& log, const std::string& cwd) {
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

}  // namespace vitals::testing
