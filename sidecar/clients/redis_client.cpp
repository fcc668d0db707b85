#include "sidecar/clients/redis_client.hpp"

#include <hiredis/hiredis.h>

#include <cerrno>

namespace vitals {

namespace {

timeval to_timeval(std::chrono::milliseconds d) {
    const auto ms = std::max<long long>(d.count(), 1);
    return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

}  // namespace

std::optional<RedisTransport> redis_transport(const std::string& scheme) {
    if (scheme == "redis" || scheme == "rediscache") return RedisTransport::tcp;
    if (scheme == "unix" || scheme == "redis+socket") return RedisTransport::unix_socket;
    if (scheme == "rediss") return RedisTransport::tls;
    return std::nullopt;
}

int redis_database(const Url& url) {
    // redis-py's ?db=N wins over the path (and is the only way with a socket).
    std::string digits;
    const std::string q = "&" + url.query;
    if (const auto at = q.find("&db="); at != std::string::npos) {
        digits = q.substr(at + 4, q.find('&', at + 4) - (at + 4));
    } else if (redis_transport(url.scheme) != RedisTransport::unix_socket && url.path.size() > 1) {
        digits = url.path.substr(1);
    }
    if (digits.empty()) return 0;
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 4) {
        throw std::invalid_argument(
            "the database must be a database number: redis://host:6379/1, or ?db=1");
    }
    return std::stoi(digits);
}

void RedisClient::FreeReply::operator()(redisReply* r) const {
    freeReplyObject(r);
}

RedisClient::RedisClient(const Url& url, const Deadline& deadline) {
    const auto transport = redis_transport(url.scheme);
    if (!transport || *transport == RedisTransport::tls) {
        // Never fall back to plaintext for a rediss:// URL.
        throw RedisError(url.scheme + ":// is not a transport this build speaks");
    }
    const bool socket = *transport == RedisTransport::unix_socket;
    where_ = socket ? url.path : url.authority(6379);
    const auto started = std::chrono::steady_clock::now();
    context_ = socket
                   ? redisConnectUnixWithTimeout(url.path.c_str(), to_timeval(deadline.remaining()))
                   : redisConnectWithTimeout(url.host.c_str(), url.port.value_or(6379),
                                             to_timeval(deadline.remaining()));
    if (context_ == nullptr || context_->err) {
        const std::string why = context_ ? context_->errstr : "out of memory";
        if (context_) redisFree(context_);
        context_ = nullptr;
        throw RedisError("cannot connect to " + where_ + ": " + why);
    }
    redisSetTimeout(context_, to_timeval(deadline.remaining()));
    deadline_ = deadline.at();
    connect_seconds_ =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
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
        redisFree(context_);
        context_ = nullptr;
        throw;
    }
}

RedisClient::~RedisClient() {
    if (context_) redisFree(context_);
}

void RedisClient::set_timeout(std::chrono::milliseconds timeout) {
    redisSetTimeout(context_, to_timeval(timeout));
    deadline_ = std::chrono::steady_clock::now() + timeout;
}

RedisClient::Reply RedisClient::command(const std::vector<std::string>& args, const char* what) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const auto& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    // hiredis' redisCommand would read until a reply is complete, however long it takes and
    // however large it grows: a broken or hostile server streaming 40 MB was buffered whole
    // after the check had timed out. So the loop is ours: the deadline is checked between
    // reads, and so is the size of what is buffered.
    const auto fail = [&](const std::string& why) {
        return RedisError(std::string(what) + ": " + why);
    };
    const auto io_error = [&] {
        const bool timed_out =
            context_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
        return fail(timed_out ? "no answer before the deadline" : std::string(context_->errstr));
    };
    errno = 0;
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                               lengths.data()) != REDIS_OK)
        throw io_error();
    for (int done = 0; !done;) {
        if (redisBufferWrite(context_, &done) != REDIS_OK) throw io_error();
    }
    // Counted as received, not as buffered: the reader turns what it buffered into reply
    // objects as it goes, and "*100000000" followed by a stream of ":1" would grow those
    // without ever holding much in the buffer. (hiredis 0.14 has no limit of its own.)
    std::size_t received = 0;
    void* raw = nullptr;
    while (true) {
        if (redisReaderGetReply(context_->reader, &raw) != REDIS_OK)
            throw fail("malformed reply: " + std::string(context_->reader->errstr));
        if (raw != nullptr) break;
        if (received > kMaxReplyBytes)
            throw fail("reply larger than " + std::to_string(kMaxReplyBytes / 1024) +
                       " KiB, closing the connection");
        if (std::chrono::steady_clock::now() >= deadline_)
            throw fail("no answer before the deadline");
        errno = 0;
        const std::size_t before = context_->reader->len;
        if (redisBufferRead(context_) != REDIS_OK) throw io_error();
        received += context_->reader->len - before;
    }
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
