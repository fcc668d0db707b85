// How every answer goes out, shared by the server's routes: content types, the headers
// every response carries, the keep-alive fix, and what a request says about its sender.
// Part of sidecar/http: the only place that sees Pistache.
#pragma once

#include <pistache/http.h>

#include <string>
#include <string_view>
#include <vector>

#include "sidecar/http/connections.hpp"
#include "sidecar/http/render.hpp"

namespace vitals {

// Methods as a bit set, so a route says what it takes in one word.
enum Method : unsigned { kGet = 1, kHead = 2, kPost = 4 };
unsigned method_bit(Pistache::Http::Method m);
// The methods of a bit set, for the Allow header.
std::vector<Pistache::Http::Method> allowed_methods(unsigned bits);
// The 405 answer for a route that takes `bits`, its body listing them.
const Response& not_allowed_response(unsigned bits);

// Content types, built once.
struct MediaTypes {
    Pistache::Http::Mime::MediaType json =
        Pistache::Http::Mime::MediaType::fromString("application/json");
    Pistache::Http::Mime::MediaType metrics =
        Pistache::Http::Mime::MediaType::fromString("text/plain; version=0.0.4; charset=utf-8");
    Pistache::Http::Mime::MediaType html =
        Pistache::Http::Mime::MediaType::fromString("text/html; charset=utf-8");
    Pistache::Http::Mime::MediaType text =
        Pistache::Http::Mime::MediaType::fromString("text/plain; charset=utf-8");
    Pistache::Http::Mime::MediaType javascript =
        Pistache::Http::Mime::MediaType::fromString("text/javascript; charset=utf-8");
};
const MediaTypes& media();

// Sends `response` (no body for HEAD) with Cache-Control: no-store, nosniff, the CSP and the
// right Connection header; `close` forces Connection: close. A connection answered with
// Connection: close (asked for, HTTP/1.0, or forced) is closed once the answer is written;
// one whose peer left more than `limits` allows unread is closed instead of answered.
void send(const Pistache::Http::Request& request, Pistache::Http::ResponseWriter& writer,
          const Response& response, const Pistache::Http::Mime::MediaType& type,
          const ConnectionLimits& limits, bool close = false);

// Where a connection's state hangs on Pistache's peer, and how to find it (null: none).
extern const char* const kConnectionData;
std::shared_ptr<ServedConnection> connection_of(const std::shared_ptr<Pistache::Tcp::Peer>& peer);

// A whole answer as bytes, with the headers every answer carries and Connection: close: for
// answers written past Pistache (to a request it could not parse, or over the caps).
std::string raw_answer(int code, std::string_view reason, std::string_view body);

// "127.0.0.1:8686", "[::1]:8686", "localhost", "10.0.0.7": names no DNS answer can move.
bool host_is_literal(std::string_view host);
// The token a request presents: "Authorization: Bearer <token>", else ?token= decoded.
std::string request_token(const Pistache::Http::Request& request);
// The token of an "Authorization: Bearer <token>" header, or "".
std::string bearer_token(const Pistache::Http::Request& request);
// Compares in time that does not depend on where the strings differ.
bool constant_time_equal(const std::string& presented, const std::string& want);

}  // namespace vitals
