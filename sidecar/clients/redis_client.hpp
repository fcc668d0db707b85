// A Redis connection for checks (the cache, the Celery broker, shared heartbeats): connect
// over TCP, a Unix socket or TLS by the deadline, AUTH with the URL's credentials, SELECT its
// database; every failure is an exception whose text says which step failed and never holds
// the password. hiredis formats the commands and parses the replies; the bytes travel over
// our own Stream, because Debian 12's hiredis (0.14) has no TLS and reads without a deadline.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sidecar/clients/tls.hpp"
#include "sidecar/deadline.hpp"
#include "sidecar/url.hpp"

struct redisReader;
struct redisReply;

namespace vitals {

class RedisError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A reply grew past RedisClient::kMaxReplyBytes: it was cut off, and the connection with it.
class RedisReplyTooLarge : public RedisError {
  public:
    using RedisError::RedisError;
};

// How a URL's scheme reaches Redis, as redis-py and django-environ spell it: redis://,
// rediscache:// (tcp); unix://, redis+socket:// (a socket path); rediss:// (TLS).
enum class RedisTransport { tcp, unix_socket, tls };
std::optional<RedisTransport> redis_transport(const std::string& scheme);

// The database number: ?db=N, else redis://host:port/<db>, else 0; throws
// std::invalid_argument for anything else.
int redis_database(const Url& url);
// True when the URL names a Unix socket (unix://, redis+socket://, rediscache:///path:db),
// and that socket's path.
bool redis_over_socket(const Url& url);
std::string redis_socket_path(const Url& url);

// Everything wrong with a Redis URL, found before any connection (the scheme, the database,
// the TLS options); throws std::invalid_argument saying what.
void validate_redis_url(const Url& url);

class RedisClient {
  public:
    // A reply may not buffer more than this: INFO is a few KiB, Celery's replies less.
    static constexpr std::size_t kMaxReplyBytes = std::size_t{1024} * 1024;

    struct FreeReply {
        void operator()(redisReply* r) const;
    };
    using Reply = std::unique_ptr<redisReply, FreeReply>;

    RedisClient(const Url& url, const Deadline& deadline);
    ~RedisClient();
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;

    // Runs one command; `what` names it in errors. Error replies throw too.
    Reply command(const std::vector<std::string>& args, const char* what);
    // Sends a command without waiting for its reply (PSUBSCRIBE), for read() to collect.
    void send(const std::vector<std::string>& args, const char* what);
    // The next reply (or pushed message), or none when `until` passes first; a reply begun
    // stays buffered for the next read. Error replies throw.
    Reply read(const Deadline& until, const char* what);
    // The socket timeout for the commands that follow (longer than any BRPOP wait).
    void set_timeout(std::chrono::milliseconds timeout);
    double connect_seconds() const { return connect_seconds_; }
    const std::string& where() const { return where_; }

    // Helpers for reading replies.
    static std::string text(const redisReply& r);
    static long long integer(const redisReply& r);
    // An array of field, value, field, value... (HGETALL) as a map; empty for anything else.
    static std::map<std::string, std::string> pairs(const redisReply& r);

  private:
    [[noreturn]] void failed(const char* what, IoStatus status) const;

    Stream stream_;
    redisReader* reader_ = nullptr;
    Deadline deadline_;         // no command reads past it
    std::size_t received_ = 0;  // of the reply being read
    std::string where_;
    double connect_seconds_ = 0;
};

}  // namespace vitals
