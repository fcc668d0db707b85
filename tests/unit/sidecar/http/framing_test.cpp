#include <catch2/catch.hpp>

#include <string>

#include "sidecar/http/framing.hpp"

using namespace vitals;

TEST_CASE("frame_request finds where each request ends, and refuses what could smuggle",
          "[http][framing]") {
    const std::string get = "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string post = "POST /ping/x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
    const std::string chunked =
        "POST /ping/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n";
    const std::string lower = "POST / HTTP/1.1\r\ncontent-length: 2\r\n\r\nhi";
    const std::string twice = "POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi";
    struct Case {
        std::string bytes;
        Frame::Kind kind;
        std::size_t length;
    };
    const Case cases[] = {
        {get, Frame::complete, get.size()},
        {get + get, Frame::complete, get.size()},  // pipelined: the first one
        {get.substr(0, 20), Frame::incomplete, 0},
        {post, Frame::complete, post.size()},
        {post.substr(0, post.size() - 1), Frame::incomplete, 0},
        {chunked, Frame::complete, chunked.size()},
        {chunked + get, Frame::complete, chunked.size()},
        {chunked.substr(0, chunked.size() - 2), Frame::incomplete, 0},
        {lower, Frame::complete, lower.size()},
        {twice, Frame::complete, twice.size()},
        {"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi", Frame::bad, 0},
        {"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", Frame::bad, 0},
        {"POST / HTTP/1.1\r\nContent-Length: 1e22\r\n\r\n", Frame::bad, 0},
        {"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", Frame::bad, 0},
        {"POST / HTTP/1.1\r\nContent-Length: 20000\r\n\r\n", Frame::too_large, 0},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", Frame::bad, 0},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", Frame::bad,
         0},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n\r\n", Frame::bad, 0},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", Frame::bad,
         0},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffff\r\n", Frame::too_large, 0},
        {"GET /" + std::string(20000, 'a'), Frame::too_large, 0},
        {"GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n", Frame::too_large, 0},
    };
    for (const Case& c : cases) {
        INFO(c.bytes.substr(0, 120));
        const Frame f = frame_request(c.bytes, 12 * 1024);
        CHECK(f.kind == c.kind);
        CHECK(f.length == c.length);
    }
}
