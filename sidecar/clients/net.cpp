#include "sidecar/clients/net.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

namespace vitals {

namespace {

std::string where(const std::string& host, std::uint16_t port) {
    const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return h + ":" + std::to_string(port);
}

// A connect that answered EINPROGRESS, waited out: nullopt once connected, else why (and
// whether the deadline passed first).
std::optional<Failure> finish_connect(const Socket& s, const std::string& peer,
                                      const Deadline& deadline) {
    if (!wait_ready(s.fd(), true, deadline))
        return Failure{"no connection to " + peer + " before the deadline", true};
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Failure{"cannot connect to " + peer + ": " + std::strerror(err)};
    return std::nullopt;
}

}  // namespace

bool wait_ready(int fd, bool write, const Deadline& deadline) {
    while (true) {
        const auto left = deadline.remaining();
        if (left.count() <= 0) return false;
        pollfd p{fd, static_cast<short>(write ? POLLOUT : POLLIN), 0};
        const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 60'000)));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return true;  // let the following call report the error
    }
}

Socket::~Socket() {
    if (fd_ >= 0) ::close(fd_);
}

Socket& Socket::operator=(Socket&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

Expected<Socket> connect_tcp(const std::string& host, std::uint16_t port,
                             const Deadline& deadline) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    if (rc != 0) return Failure{"cannot resolve " + host + ": " + ::gai_strerror(rc)};
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
    std::string last_error = "no address for " + host;
    for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
        Socket s(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          ai->ai_protocol));
        if (!s.valid()) {
            last_error = std::string("socket: ") + std::strerror(errno);
            continue;
        }
        if (::connect(s.fd(), ai->ai_addr, ai->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) {
                last_error = "cannot connect to " + where(host, port) + ": " + std::strerror(errno);
                continue;
            }
            if (auto failed = finish_connect(s, where(host, port), deadline)) {
                if (failed->timed_out) return *std::move(failed);
                last_error = std::move(failed->message);
                continue;
            }
        }
        return s;
    }
    return Failure{last_error};
}

Expected<Socket> connect_unix(const std::string& path, const Deadline& deadline) {
    sockaddr_un to{};
    to.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(to.sun_path))
        return Failure{"not a socket path: " + path};
    std::memcpy(to.sun_path, path.data(), path.size());
    Socket s(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!s.valid()) return Failure{std::string("socket: ") + std::strerror(errno)};
    int rc = ::connect(s.fd(), reinterpret_cast<const sockaddr*>(&to), sizeof(to));
    // A Unix socket whose listen queue is full refuses with EAGAIN and queues nothing: a
    // blocking connect would wait for a place, so this one tries again until the deadline.
    while (rc != 0 && errno == EAGAIN && !deadline.expired()) {
        ::poll(nullptr, 0, 10);
        rc = ::connect(s.fd(), reinterpret_cast<const sockaddr*>(&to), sizeof(to));
    }
    if (rc != 0) {
        if (errno == EAGAIN)
            return Failure{"no connection to " + path + " before the deadline (its queue is full)",
                           true};
        if (errno != EINPROGRESS)
            return Failure{"cannot connect to " + path + ": " + std::strerror(errno)};
        if (auto failed = finish_connect(s, path, deadline)) return *std::move(failed);
    }
    return s;
}

IoStatus send_all(const Socket& socket, std::string_view data, const Deadline& deadline) {
    while (!data.empty()) {
        const ssize_t n = ::send(socket.fd(), data.data(), data.size(), MSG_NOSIGNAL);
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (!wait_ready(socket.fd(), true, deadline)) return IoStatus::timed_out;
            continue;
        }
        return IoStatus::error;
    }
    return IoStatus::ok;
}

IoStatus receive_some(const Socket& socket, std::string& out, std::size_t max,
                      const Deadline& deadline) {
    char buf[16 * 1024];
    while (true) {
        const ssize_t n = ::recv(socket.fd(), buf, std::min(sizeof(buf), max), 0);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
            return IoStatus::ok;
        }
        if (n == 0) return IoStatus::closed;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            if (!wait_ready(socket.fd(), false, deadline)) return IoStatus::timed_out;
            continue;
        }
        return IoStatus::error;
    }
}

}  // namespace vitals
