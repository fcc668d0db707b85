#include "sidecar/http/connections.hpp"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <climits>

namespace vitals {

namespace {

std::uint64_t socket_id(int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_ino) : 0;
}

// What a socket holds that its peer has not acknowledged yet.
std::size_t unsent_bytes(int fd) {
    int unsent = 0;
    if (::ioctl(fd, SIOCOUTQ, &unsent) != 0 || unsent < 0) return 0;
    return static_cast<std::size_t>(unsent);
}

// Answers this small fit any socket's initial send buffer (16 KiB, of which Linux counts
// half as payload): no need to ask for its size.
constexpr std::size_t kFitsAnySocket = std::size_t{4} * 1024;

}  // namespace

bool is_loopback(const std::string& address) {
    return address.rfind("127.", 0) == 0 || address == "::1" ||
           address.rfind("::ffff:127.", 0) == 0;
}

ServedConnection::ServedConnection(std::shared_ptr<Connections> owner, int fd, std::string source,
                                   bool loopback, bool admitted)
    : owner_(std::move(owner)),
      fd_(fd),
      socket_id_(socket_id(fd)),
      source_(std::move(source)),
      loopback_(loopback),
      admitted_(admitted) {}

ServedConnection::~ServedConnection() {
    owner_->forget(this);
}

bool ServedConnection::may_send(std::size_t bytes, const ConnectionLimits& limits) {
    if (closing_) return false;
    const std::size_t held = pending_ + unsent_bytes(fd_);
    if (held > 0 && held + bytes > limits.max_unsent_bytes) return false;
    const std::size_t want = held + bytes;
    if (want <= kFitsAnySocket) return true;
    int size = 0;
    socklen_t length = sizeof size;
    if (::getsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &size, &length) != 0) return true;
    // Linux reports twice what it was set to, and counts half of it as payload.
    if (want + want / 4 > static_cast<std::size_t>(size) / 2) {
        const int grown = static_cast<int>(std::min<std::size_t>(want + want / 4, INT_MAX / 2));
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &grown, sizeof grown);
    }
    return true;
}

void ServedConnection::close_with(std::string_view raw) {
    if (closing_) return;
    if (pending_ == 0 && unsent_bytes(fd_) == 0)
        (void)::send(fd_, raw.data(), raw.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    close();
}

void ServedConnection::close() {
    if (closing_) return;
    closing_ = true;
    ::shutdown(fd_, SHUT_RDWR);
}

std::shared_ptr<ServedConnection> Connections::open(int fd, const std::string& source) {
    const bool loopback = is_loopback(source);
    bool admitted = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        std::size_t& total = loopback ? local_ : remote_;
        auto mine = per_source_.find(source);
        const std::size_t held = mine == per_source_.end() ? 0 : mine->second;
        admitted = total < limits_.max_connections && held < limits_.per_source();
        if (admitted) {
            ++total;
            ++per_source_[source];
        }
    }
    auto c = std::make_shared<ServedConnection>(shared_from_this(), fd, source, loopback, admitted);
    std::lock_guard<std::mutex> lock(mutex_);
    open_.insert(c.get());
    return c;
}

void Connections::forget(ServedConnection* c) {
    std::lock_guard<std::mutex> lock(mutex_);
    open_.erase(c);
    if (!c->admitted_) return;
    --(c->loopback_ ? local_ : remote_);
    const auto it = per_source_.find(c->source_);
    if (it != per_source_.end() && --it->second == 0) per_source_.erase(it);
}

void Connections::shut_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (ServedConnection* c : open_) {
        // The descriptor may have been closed (and reused) while its connection lives on:
        // shut it only if it is still this connection's socket.
        if (c->socket_id_ != 0 && socket_id(c->fd_) == c->socket_id_) ::shutdown(c->fd_, SHUT_RDWR);
    }
}

Connections::Counts Connections::counts() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {open_.size(), local_, remote_};
}

}  // namespace vitals
