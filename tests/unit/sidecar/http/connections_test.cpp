#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "sidecar/http/connections.hpp"

using namespace vitals;

namespace {

// A connected pair of sockets; the test's own end is never read unless it says so.
struct SocketPair {
    int ours = -1, theirs = -1;
    SocketPair() {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
        ours = fds[0];
        theirs = fds[1];
    }
    ~SocketPair() {
        ::close(ours);
        ::close(theirs);
    }
};

}  // namespace

TEST_CASE("one source holds at most a quarter of the connections, loopback counted apart",
          "[http][connections]") {
    const auto connections = std::make_shared<Connections>(ConnectionLimits{16});
    std::vector<std::unique_ptr<SocketPair>> sockets;
    std::vector<std::shared_ptr<ServedConnection>> held;
    const auto open = [&](const std::string& source) {
        sockets.push_back(std::make_unique<SocketPair>());
        held.push_back(connections->open(sockets.back()->ours, source));
        return held.back()->admitted();
    };
    for (int i = 0; i < 4; ++i)
        CHECK(open("10.0.0.1"));
    CHECK_FALSE(open("10.0.0.1"));  // its quarter of 16 is full
    CHECK(open("10.0.0.2"));
    // Every remote place taken (4 sources x 4)...
    for (const char* source :
         {"10.0.0.2", "10.0.0.2", "10.0.0.2", "10.0.0.3", "10.0.0.3", "10.0.0.3", "10.0.0.3",
          "10.0.0.4", "10.0.0.4", "10.0.0.4", "10.0.0.4"})
        CHECK(open(source));
    CHECK_FALSE(open("10.0.0.5"));
    // ...and loopback (port-forward, a mesh's proxy) still has its own.
    CHECK(open("127.0.0.1"));
    CHECK(open("::1"));
    CHECK(connections->counts().admitted_remote == 16);
    CHECK(connections->counts().admitted_local == 2);
    // A closed connection gives its place back; one that was over the caps had none.
    held.erase(held.begin());
    CHECK(connections->counts().admitted_remote == 15);
    CHECK(open("10.0.0.1"));
    const std::size_t before = connections->counts().admitted_remote;
    held.erase(held.begin() + 3);  // the fifth from 10.0.0.1, refused
    CHECK(connections->counts().admitted_remote == before);
}

TEST_CASE("a connection whose peer does not read is refused more answers past the bound",
          "[http][connections]") {
    const ConnectionLimits limits{16, 64 * 1024};
    const auto connections = std::make_shared<Connections>(limits);
    SocketPair pair;
    const auto c = connections->open(pair.ours, "127.0.0.1");
    // The first answer goes out whatever its size: nothing is waiting.
    CHECK(c->may_send(100 * 1024, limits));
    c->queued(40 * 1024);
    CHECK(c->may_send(20 * 1024, limits));
    CHECK_FALSE(c->may_send(30 * 1024, limits));
    c->written(40 * 1024);
    // Written to the socket but not read by the peer: still counted, from the socket.
    const std::string bytes(40 * 1024, 'x');
    REQUIRE(::send(pair.ours, bytes.data(), bytes.size(), MSG_DONTWAIT) > 0);
    CHECK_FALSE(c->may_send(30 * 1024, limits));
    // Once the peer reads, there is room again.
    std::string sink(64 * 1024, '\0');
    while (::recv(pair.theirs, sink.data(), sink.size(), MSG_DONTWAIT) > 0) {
    }
    CHECK(c->may_send(30 * 1024, limits));
    c->close();
    CHECK(c->closing());
    CHECK_FALSE(c->may_send(10, limits));
}
