#include "sidecar/clients/memcached_client.hpp"

#include <chrono>
#include <sstream>

namespace vitals {

namespace {

bool ends_with(const std::string& text, const std::string& tail) {
    return text.size() >= tail.size() &&
           text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

// ERROR, CLIENT_ERROR <why>, SERVER_ERROR <why>: one line, and the reply ends there.
bool is_error_line(const std::string& reply) {
    return (reply.rfind("ERROR", 0) == 0 || reply.rfind("CLIENT_ERROR", 0) == 0 ||
            reply.rfind("SERVER_ERROR", 0) == 0) &&
           ends_with(reply, "\r\n");
}

bool line_complete(const std::string& reply) {
    return ends_with(reply, "\r\n");
}
bool end_complete(const std::string& reply) {
    return reply == "END\r\n" || ends_with(reply, "\r\nEND\r\n") || is_error_line(reply);
}

}  // namespace

std::string MemcachedAddress::name() const {
    return host.empty() ? "unix:" + socket_path : host + ":" + std::to_string(port);
}

MemcachedClient::MemcachedClient(const MemcachedAddress& server, const Deadline& deadline)
    : deadline_(deadline), where_(server.name()) {
    const auto started = std::chrono::steady_clock::now();
    Expected<Socket> c = server.host.empty() ? connect_unix(server.socket_path, deadline)
                                             : connect_tcp(server.host, server.port, deadline);
    if (!c) throw MemcachedError(c.error().message);
    socket_ = std::move(*c);
    connect_seconds_ =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

std::string MemcachedClient::exchange(const std::string& request, const char* what,
                                      bool (*complete)(const std::string&)) {
    const auto failed = [&](IoStatus st) {
        const char* why = st == IoStatus::timed_out ? "no answer before the deadline"
                          : st == IoStatus::closed  ? "the server closed the connection"
                                                    : "the connection failed";
        return MemcachedError(std::string(what) + " on " + where_ + ": " + why);
    };
    if (const IoStatus st = send_all(socket_, request, deadline_); st != IoStatus::ok)
        throw failed(st);
    std::string reply;
    while (!complete(reply)) {
        if (reply.size() > kMaxReplyBytes)
            throw MemcachedError(std::string(what) + " on " + where_ + ": reply longer than " +
                                 std::to_string(kMaxReplyBytes / 1024) + " KiB");
        if (const IoStatus st = receive_some(socket_, reply, std::size_t{16} * 1024, deadline_);
            st != IoStatus::ok)
            throw failed(st);
    }
    if (is_error_line(reply)) {
        std::string line = reply.substr(0, reply.find('\r'));
        if (line.size() > 200) line.resize(200);
        throw MemcachedError(std::string(what) + " on " + where_ + ": " + line);
    }
    return reply;
}

void MemcachedClient::set(const std::string& key, const std::string& value, int ttl_seconds) {
    const std::string reply = exchange("set " + key + " 0 " + std::to_string(ttl_seconds) + " " +
                                           std::to_string(value.size()) + "\r\n" + value + "\r\n",
                                       "set", &line_complete);
    if (reply != "STORED\r\n")
        throw MemcachedError("set on " + where_ + ": the server said " +
                             reply.substr(0, std::min<std::size_t>(reply.find('\r'), 100)));
}

std::optional<std::string> MemcachedClient::get(const std::string& key) {
    try {
        return parse_memcached_get(exchange("get " + key + "\r\n", "get", &end_complete));
    } catch (const MemcachedError& e) {
        throw MemcachedError(std::string(e.what()) + " (" + where_ + ")");
    }
}

std::map<std::string, std::string> MemcachedClient::stats() {
    return parse_memcached_stats(exchange("stats\r\n", "stats", &end_complete));
}

std::map<std::string, std::string> parse_memcached_stats(const std::string& reply) {
    std::map<std::string, std::string> out;
    std::istringstream in(reply);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.rfind("STAT ", 0) != 0) continue;
        const auto space = line.find(' ', 5);
        if (space == std::string::npos || space == 5) continue;
        out[line.substr(5, space - 5)] = line.substr(space + 1);
    }
    return out;
}

std::optional<std::string> parse_memcached_get(const std::string& reply) {
    if (reply == "END\r\n") return std::nullopt;
    const auto header_end = reply.find("\r\n");
    if (reply.rfind("VALUE ", 0) != 0 || header_end == std::string::npos)
        throw MemcachedError("get: an unexpected reply");
    // VALUE <key> <flags> <bytes>
    std::istringstream header(reply.substr(6, header_end - 6));
    std::string key;
    unsigned long flags = 0;
    std::size_t bytes = 0;
    if (!(header >> key >> flags >> bytes)) throw MemcachedError("get: a malformed VALUE line");
    const std::size_t data = header_end + 2;
    if (bytes > reply.size() || reply.size() - data < bytes + 2 ||
        reply.compare(data + bytes, 2, "\r\n") != 0)
        throw MemcachedError("get: the value is not as long as it says");
    return reply.substr(data, bytes);
}

}  // namespace vitals
