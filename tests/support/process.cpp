#include "support/process.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace vitals::testing {

namespace {

pid_t spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
            int out_fd, int err_fd) {
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : env)
        env_strings.push_back(k + "=" + v);
    std::fflush(nullptr);  // or the child would flush the test's buffered output again
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(out_fd, 1);
        ::dup2(err_fd, 2);
        std::vector<char*> argv;
        std::string binary = VITALS_BINARY;
        argv.push_back(binary.data());
        std::vector<std::string> copy = args;
        for (auto& a : copy)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        std::vector<char*> envp;
        for (auto& e : env_strings)
            envp.push_back(e.data());
        envp.push_back(nullptr);
        // The child starts with default signal handling and an empty mask.
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(binary.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    return pid;
}

void drain(int fd, std::string& into) {
    char buf[4096];
    while (true) {
        const ssize_t n = ::read(fd, buf, sizeof(buf));
        if (n <= 0) return;
        into.append(buf, static_cast<std::size_t>(n));
    }
}

int decode(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

Finished run_binary(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env, std::chrono::seconds limit) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe");
    const pid_t pid = spawn(args, env, out[1], err[1]);
    ::close(out[1]);
    ::close(err[1]);
    Finished f;
    const auto until = std::chrono::steady_clock::now() + limit;
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0 && std::chrono::steady_clock::now() < until) {
        if (::poll(fds, 2, 100) <= 0) continue;
        for (auto& p : fds) {
            if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP))) continue;
            char buf[4096];
            const ssize_t n = ::read(p.fd, buf, sizeof(buf));
            if (n <= 0) {
                ::close(p.fd);
                p.fd = -1;
                --open_fds;
            } else {
                (p.fd == out[0] ? f.out : f.err).append(buf, static_cast<std::size_t>(n));
            }
        }
    }
    for (auto& p : fds) {
        if (p.fd >= 0) ::close(p.fd);
    }
    if (open_fds > 0) ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    f.exit_code = decode(status);
    return f;
}

ChildProcess::ChildProcess(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = spawn(args, env, out[1], 2);
    ::close(out[1]);
    out_fd_ = out[0];
}

ChildProcess::~ChildProcess() {
    if (!exited_) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    ::close(out_fd_);
}

std::optional<std::string> ChildProcess::wait_for_line(const std::string& text,
                                                       std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    std::size_t scanned = 0;
    while (true) {
        for (auto end = out_.find('\n', scanned); end != std::string::npos;
             end = out_.find('\n', scanned)) {
            const std::string line = out_.substr(scanned, end - scanned);
            scanned = end + 1;
            if (line.find(text) != std::string::npos) return line;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        pollfd p{out_fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) > 0) {
            char buf[4096];
            const ssize_t n = ::read(out_fd_, buf, sizeof(buf));
            if (n <= 0) return std::nullopt;
            out_.append(buf, static_cast<std::size_t>(n));
        }
    }
}

void ChildProcess::signal(int sig) {
    ::kill(pid_, sig);
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            exited_ = true;
            ::fcntl(out_fd_, F_SETFL, O_NONBLOCK);
            drain(out_fd_, out_);
            return decode(status);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return std::nullopt;
}

VitalsPod start_pod(const std::string& name, const std::string& config,
                    std::map<std::string, std::string> env) {
    env["VITALS_LISTEN"] = "127.0.0.1:0";
    env["HOSTNAME"] = name;
    VitalsPod pod;
    pod.name = name;
    pod.process = std::make_unique<ChildProcess>(std::vector<std::string>{"--config", config}, env);
    pod.port = listening_port(*pod.process);
    if (pod.port == 0) throw std::runtime_error("vitals " + name + " did not start");
    return pod;
}

std::uint16_t listening_port(ChildProcess& process, std::chrono::milliseconds limit) {
    const auto line = process.wait_for_line("\"event\":\"start\"", limit);
    if (!line) return 0;
    const auto event = nlohmann::json::parse(*line, nullptr, false);
    if (!event.is_object() || !event.contains("listen")) return 0;
    const std::string listen = event["listen"];
    return static_cast<std::uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1)));
}

}  // namespace vitals::testing
