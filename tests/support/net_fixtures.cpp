#include "support/net_fixtures.hpp"

#include "support/http_parse.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace vitals::testing {

namespace {

int listen_loopback(std::uint16_t* port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(fd, 64) != 0) {
        throw std::runtime_error("cannot listen on loopback");
    }
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    *port = ntohs(addr.sin_port);
    return fd;
}

bool readable(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) > 0;
}

}  // namespace

Blackhole::Blackhole() {
    fd_ = listen_loopback(&port_);
    thread_ = std::thread([this] {
        while (!stop_) {
            if (!readable(fd_, 50)) continue;
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c >= 0) {
                held_.push_back(c);
                ++accepted_;
            }
        }
    });
}

bool Blackhole::wait_accepted(int n, std::chrono::milliseconds limit) const {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (accepted_.load() < n) {
        if (std::chrono::steady_clock::now() >= until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

Blackhole::~Blackhole() {
    stop_ = true;
    thread_.join();
    for (int c : held_)
        ::close(c);
    ::close(fd_);
}

ScriptedHttpServer::ScriptedHttpServer(Responder respond) : respond_(std::move(respond)) {
    fd_ = listen_loopback(&port_);
    thread_ = std::thread([this] {
        while (!stop_) {
            if (!readable(fd_, 50)) continue;
            Socket client(::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
            if (!client.valid()) continue;
            std::string request;
            const Deadline deadline = Deadline::in(std::chrono::seconds(2));
            while (request.find("\r\n\r\n") == std::string::npos &&
                   receive_some(client, request, 4096, deadline) == IoStatus::ok) {
            }
            const auto sp1 = request.find(' ');
            const auto sp2 = request.find(' ', sp1 + 1);
            const std::string path =
                sp1 == std::string::npos ? "" : request.substr(sp1 + 1, sp2 - sp1 - 1);
            {
                std::lock_guard<std::mutex> lock(mutex_);
                last_head_ = request.substr(0, request.find("\r\n\r\n"));
            }
            ++requests_;
            send_all(client, respond_(path), deadline);
        }
    });
}

std::string ScriptedHttpServer::last_head() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_head_;
}

ScriptedHttpServer::~ScriptedHttpServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
}

std::uint16_t closed_port() {
    std::uint16_t port = 0;
    ::close(listen_loopback(&port));
    return port;
}

RawClient::RawClient(std::uint16_t port, const std::string& source) {
    Socket s(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!source.empty()) {
        sockaddr_in from{};
        from.sin_family = AF_INET;
        ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
        if (::bind(s.fd(), reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0) return;
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(s.fd(), reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
        pollfd p{s.fd(), POLLOUT, 0};
        int err = 0;
        socklen_t len = sizeof(err);
        if (errno != EINPROGRESS || ::poll(&p, 1, 2000) != 1) return;
        ::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) return;
    }
    socket_ = std::move(s);
}

bool RawClient::send(const std::string& data) {
    return send_all(socket_, data, Deadline::in(std::chrono::seconds(5))) == IoStatus::ok;
}

RawReply RawClient::read_response(std::chrono::milliseconds wait) {
    RawReply reply;
    const Deadline deadline = Deadline::in(wait);
    while (true) {
        // A response to this client is complete once its Content-Length is satisfied.
        if (parse_http_response(buffer_, false, 1 << 20, reply)) {
            const auto head_end = buffer_.find("\r\n\r\n");
            std::size_t consumed = head_end + 4 + reply.body.size();
            buffer_.erase(0, consumed);
            reply.ok = true;
            return reply;
        }
        const IoStatus st = receive_some(socket_, buffer_, 64 * 1024, deadline);
        if (st != IoStatus::ok) {
            if (st == IoStatus::closed && parse_http_response(buffer_, true, 1 << 20, reply)) {
                buffer_.clear();
                reply.ok = true;
                return reply;
            }
            reply.ok = false;
            reply.timed_out = st == IoStatus::timed_out;
            reply.error = st == IoStatus::closed ? "closed" : "no response";
            return reply;
        }
    }
}

bool RawClient::closed_by_peer(std::chrono::milliseconds wait) {
    std::string ignored;
    return receive_some(socket_, ignored, 4096, Deadline::in(wait)) == IoStatus::closed;
}

RawReply get(std::uint16_t port, const std::string& path, const std::string& source,
             const std::string& method) {
    RawClient client(port, source);
    const auto started = std::chrono::steady_clock::now();
    // The Host a client sends when it is pointed at the address, as curl and kubelet do.
    client.send(method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                "\r\n\r\n");
    RawReply reply = client.read_response();
    reply.total_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return reply;
}

std::string http_response(int status, const std::string& body, const std::string& content_type) {
    return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + content_type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
           body;
}

}  // namespace vitals::testing
