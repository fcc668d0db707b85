#include "sidecar/clients/redis_client.hpp"

#include <hiredis/hiredis.h>

namespace vitals {

std::optional<RedisTransport> redis_transport(const std::string& scheme) {
    if (scheme == "redis" || scheme == "rediscache") return RedisTransport::tcp;
    if (scheme == "unix" || scheme == "redis+socket") return RedisTransport::unix_socket;
    if (scheme == "rediss") return RedisTransport::tls;
    return std::nullopt;
}

bool redis_over_socket(const Url& url) {
    // django-environ's rediscache:///run/redis.sock:1 is a socket too.
    return redis_transport(url.scheme) == RedisTransport::unix_socket ||
           (url.scheme == "rediscache" && url.host.empty() && !url.path.empty());
}

std::string redis_socket_path(const Url& url) {
    if (url.scheme != "rediscache") return url.path;
    const auto colon = url.path.rfind(':');
    const bool db_suffix = colon != std::string::npos && colon + 1 < url.path.size() &&
                           url.path.find_first_not_of("0123456789", colon + 1) == std::string::npos;
    return db_suffix ? url.path.substr(0, colon) : url.path;
}

int redis_database(const Url& url) {
    // redis-py's ?db=N wins over the path (and is the only way with a socket); kombu spells
    // it ?virtual_host=N for redis+socket:// brokers; django-environ's socket form ends in
    // :N.
    std::string digits;
    if (const auto db = url.query_value("db")) {
        digits = *db;
    } else if (const auto vhost = url.query_value("virtual_host")) {
        digits = *vhost;
    } else if (redis_over_socket(url)) {
        if (url.scheme == "rediscache" && redis_socket_path(url) != url.path)
            digits = url.path.substr(url.path.rfind(':') + 1);
    } else if (url.path.size() > 1) {
        digits = url.path.substr(1);
    }
    if (digits.empty()) return 0;
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 4) {
        throw std::invalid_argument(
            "the database must be a database number: redis://host:6379/1, or ?db=1");
    }
    return std::stoi(digits);
}

void validate_redis_url(const Url& url) {
    const auto transport = redis_transport(url.scheme);
    if (!transport) {
        throw std::invalid_argument(
            "must be a redis:// URL (also rediss://, rediscache://, unix://, redis+socket://)");
    }
    if (redis_over_socket(url) && url.path.empty())
        throw std::invalid_argument("a " + url.scheme + ":// URL needs the socket's path");
    if (!redis_over_socket(url) && url.host.empty()) throw std::invalid_argument("needs a host");
    redis_database(url);
    if (*transport == RedisTransport::tls) tls_options_from_url(url);
}

void RedisClient::FreeReply::operator()(redisReply* r) const {
    freeReplyObject(r);
}

RedisClient::RedisClient(const Url& url, const Deadline& deadline) : deadline_(deadline) {
    const auto transport = redis_transport(url.scheme);
    if (!transport) throw RedisError(url.scheme + ":// is not a Redis URL");
    const bool socket = redis_over_socket(url);
    // One server even when the URL lists several (rediscache://primary,replica): the first.
    const std::string host =
        url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    where_ = socket ? redis_socket_path(url) : host + ":" + std::to_string(url.port.value_or(6379));
    const auto started = std::chrono::steady_clock::now();
    Expected<Socket> conn = socket ? connect_unix(redis_socket_path(url), deadline)
                                   : connect_tcp(url.host, url.port.value_or(6379), deadline);
    if (!conn) throw RedisError(conn.error().message);
    if (*transport == RedisTransport::tls) {
        // Never a fallback to plaintext: a handshake that fails is the answer.
        try {
            stream_ = Stream(std::make_unique<TlsSession>(std::move(*conn),
                                                          tls_options_from_url(url), deadline));
        } catch (const std::exception& e) {
            throw RedisError("cannot connect to " + where_ + ": " + e.what());
        }
    } else {
        stream_ = Stream(std::move(*conn));
    }
    connect_seconds_ =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    reader_ = redisReaderCreate();
    if (reader_ == nullptr) throw RedisError("out of memory");
    try {
        if (url.has_password) {
            if (url.user.empty()) {
                command({"AUTH", url.password}, "AUTH");
            } else {
                command({"AUTH", url.user, url.password}, "AUTH");
            }
        }
        const int db = redis_database(url);
        if (db != 0) command({"SELECT", std::to_string(db)}, "SELECT");
    } catch (...) {
        redisReaderFree(reader_);
        reader_ = nullptr;
        throw;
    }
}

RedisClient::~RedisClient() {
    if (reader_ != nullptr) redisReaderFree(reader_);
}

void RedisClient::set_timeout(std::chrono::milliseconds timeout) {
    deadline_ = Deadline::in(timeout);
}

void RedisClient::failed(const char* what, IoStatus status) const {
    switch (status) {
        case IoStatus::timed_out:
            throw RedisError(std::string(what) + ": no answer before the deadline");
        case IoStatus::closed:
            throw RedisError(std::string(what) + ": the server closed the connection");
        default:
            throw RedisError(std::string(what) + ": " + stream_.error());
    }
}

RedisClient::Reply RedisClient::command(const std::vector<std::string>& args, const char* what) {
    send(args, what);
    Reply reply = read(deadline_, what);
    if (!reply) failed(what, IoStatus::timed_out);
    return reply;
}

void RedisClient::send(const std::vector<std::string>& args, const char* what) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const auto& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    char* formatted = nullptr;
    const int length = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()),
                                              argv.data(), lengths.data());
    if (length < 0) throw RedisError(std::string(what) + ": out of memory");
    const std::unique_ptr<char, decltype(&redisFreeCommand)> request(formatted, &redisFreeCommand);
    if (const IoStatus st = stream_.send_all(
            std::string_view(formatted, static_cast<std::size_t>(length)), deadline_);
        st != IoStatus::ok)
        failed(what, st);
    received_ = 0;
}

RedisClient::Reply RedisClient::read(const Deadline& until, const char* what) {
    // Read until a reply is complete, the deadline passes, or the reply grows past the cap:
    // a broken or hostile server streaming 40 MB is cut off, not buffered whole. Counted as
    // received, not as buffered: the reader turns what it buffered into reply objects as it
    // goes, and "*100000000" followed by a stream of ":1" would grow those without ever
    // holding much in the buffer. (hiredis 0.14 has no limit of its own.) A reply begun
    // before a timeout stays in the reader, and the next read goes on with it.
    std::string chunk;
    void* raw = nullptr;
    while (true) {
        if (redisReaderGetReply(reader_, &raw) != REDIS_OK)
            throw RedisError(std::string(what) + ": malformed reply: " + reader_->errstr);
        if (raw != nullptr) break;
        if (received_ > kMaxReplyBytes)
            throw RedisReplyTooLarge(std::string(what) + ": reply larger than " +
                                     std::to_string(kMaxReplyBytes / 1024) +
                                     " KiB, closing the connection");
        chunk.clear();
        const IoStatus st = stream_.receive_some(chunk, std::size_t{64} * 1024, until);
        if (st == IoStatus::timed_out) return nullptr;
        if (st != IoStatus::ok) failed(what, st);
        received_ += chunk.size();
        if (redisReaderFeed(reader_, chunk.data(), chunk.size()) != REDIS_OK)
            throw RedisError(std::string(what) + ": malformed reply: " + reader_->errstr);
    }
    received_ = 0;
    Reply reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_ERROR) throw RedisError(std::string(what) + ": " + text(*reply));
    return reply;
}

std::string RedisClient::text(const redisReply& r) {
    return r.str != nullptr ? std::string(r.str, r.len) : std::string();
}

long long RedisClient::integer(const redisReply& r) {
    return r.type == REDIS_REPLY_INTEGER ? r.integer : 0;
}

std::map<std::string, std::string> RedisClient::pairs(const redisReply& r) {
    std::map<std::string, std::string> out;
    if (r.type != REDIS_REPLY_ARRAY) return out;
    for (std::size_t i = 0; i + 1 < r.elements; i += 2)
        out[text(*r.element[i])] = text(*r.element[i + 1]);
    return out;
}

}  // namespace vitals
