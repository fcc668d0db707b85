#include <catch2/catch.hpp>

#include "sidecar/clients/http_client.hpp"

using vitals::HttpReply;
using vitals::parse_http_response;

TEST_CASE("responses with Content-Length parse once complete", "[http_client]") {
    HttpReply r;
    const std::string full =
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello";
    CHECK(parse_http_response(full, false, 1024, r));
    CHECK(r.status == 200);
    CHECK(r.body == "hello");
    CHECK(r.headers.at("content-type") == "text/html");
    CHECK_FALSE(parse_http_response(full.substr(0, full.size() - 2), false, 1024, r));
    CHECK_FALSE(parse_http_response(full.substr(0, 20), false, 1024, r));
    CHECK_FALSE(parse_http_response(full.substr(0, full.size() - 2), true, 1024, r));
    CHECK(r.error.find("middle of the body") != std::string::npos);
}

TEST_CASE("chunked bodies are decoded", "[http_client]") {
    HttpReply r;
    const std::string raw =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\nA\r\n in "
        "chunks\r\n0\r\n\r\n";
    REQUIRE(parse_http_response(raw, false, 1024, r));
    CHECK(r.body == "Wikipedia in chunks");
    CHECK_FALSE(parse_http_response(raw.substr(0, 50), false, 1024, r));
    HttpReply bad;
    CHECK_FALSE(parse_http_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                                    false, 1024, bad));
    CHECK(bad.error == "malformed chunked body");
}

TEST_CASE("bodies without length end at close, large ones are cut at the limit", "[http_client]") {
    HttpReply r;
    CHECK_FALSE(parse_http_response("HTTP/1.0 503 Busy\r\n\r\npartial", false, 1024, r));
    REQUIRE(parse_http_response("HTTP/1.0 503 Busy\r\n\r\npartial", true, 1024, r));
    CHECK(r.status == 503);
    CHECK(r.body == "partial");
    REQUIRE(parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", false, 4,
                                r));
    CHECK(r.body == "0123");
    CHECK(r.body_truncated);
}

TEST_CASE("what is not an HTTP response is rejected", "[http_client]") {
    for (const char* raw :
         {"SSH-2.0-OpenSSH_9.2\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
          "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", "\x16\x03\x01\x02\x00\r\n\r\n"}) {
        HttpReply r;
        INFO(raw);
        CHECK_FALSE(parse_http_response(raw, true, 1024, r));
        CHECK_FALSE(r.error.empty());
    }
}
