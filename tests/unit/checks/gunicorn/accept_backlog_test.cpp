#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "checks/gunicorn/accept_backlog.hpp"

using vitals::AcceptBacklog;
using vitals::parse_proc_net_tcp;
using vitals::read_accept_backlog;

namespace {

const char kHeader[] = "  sl  local_address rem_address   st tx_queue rx_queue\n";

// From ../shared/captures/proc-net-tcp-gunicorn-saturated.txt: 4 busy sync workers on :8000.
const char kSaturated[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode\n"
    "   2: 0100007F:1F40 00000000:0000 0A 00000000:00000021 00:00000000 00000000     0        0 "
    "2335595 34 "
    "0000000086f2032a 100 0 0 10 0\n"
    "  10: 0100007F:9ECC 0100007F:1F40 01 00000000:00000000 00:00000000 00000000     0        0 "
    "2337474 1 "
    "00000000ec82d637 20 0 0 11 -1\n"
    "  11: 0100007F:9ED4 0100007F:1F40 01 00000000:00000000 00:00000000 00000000     0        0 "
    "2337475 1 "
    "0000000043f70784 20 0 0 11 -1\n";

}  // namespace

TEST_CASE("the LISTEN line's rx_queue is the accept backlog (captured under saturation)",
          "[accept_backlog]") {
    const auto parsed = parse_proc_net_tcp(kSaturated);
    REQUIRE(parsed.listening.size() == 1);
    CHECK(parsed.listening[0].port == 8000);
    CHECK(parsed.listening[0].accept_queue == 0x21);
    CHECK(parsed.malformed_lines == 0);
}

TEST_CASE("IPv6 lines parse, established connections are not listeners", "[accept_backlog]") {
    const char v6[] =
        "  sl  local_address                         remote_address                        st "
        "tx_queue rx_queue\n"
        "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A "
        "00000000:00000003 "
        "00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n"
        "   1: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:D2F0 01 "
        "00000000:00000007 "
        "00:00000000 00000000     0        0 2 1 0 20 0 0 10 -1\n";
    const auto parsed = parse_proc_net_tcp(v6);
    REQUIRE(parsed.listening.size() == 1);
    CHECK(parsed.listening[0].port == 8080);
    CHECK(parsed.listening[0].accept_queue == 3);
}

TEST_CASE("malformed and truncated lines are counted and skipped, never fatal",
          "[accept_backlog]") {
    const std::string header = "  sl  local_address rem_address   st tx_queue rx_queue\n";
    const auto parsed = parse_proc_net_tcp(
        header +
        "   2: 0100007F:1F40 00000000:0000 0A 00000000:00000005\n"  // ok, short
        "   3: 0100007F:1F40 00000000:0000\n"                       // truncated
        "   4: 0100007F:ZZZZ 00000000:0000 0A 00000000:00000001\n"  // bad hex
        "   5: 0100007F:1F40 00000000:0000 0A 0000000000000001\n"   // no colon
        "garbage\n"
        "   6: 0100007F:123456 00000000:0000 0A 00000000:00000001\n"  // port > 16 bits
        "\n");
    REQUIRE(parsed.listening.size() == 1);
    CHECK(parsed.listening[0].accept_queue == 5);
    CHECK(parsed.malformed_lines == 5);
    CHECK(parse_proc_net_tcp("").listening.empty());
    CHECK(parse_proc_net_tcp(header).listening.empty());
}

TEST_CASE("the running kernel's own tables parse without errors", "[accept_backlog]") {
    // Whatever this machine listens on, its /proc/net/tcp must be read cleanly.
    const auto b = vitals::read_accept_backlog(1);
    CHECK(b.listeners == 0);
}

TEST_CASE("the files are read row by row: a node's 50,000 connections, listeners summed",
          "[accept_backlog]") {
    char dir[] = "/tmp/vitals-proc-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    const std::string net = std::string(dir) + "/net";
    REQUIRE(::mkdir(net.c_str(), 0700) == 0);
    {
        std::ofstream tcp(net + "/tcp");
        tcp << kHeader;
        // Port 8000 (0x1F40) listening with 3 waiting, then a host's worth of connections.
        tcp << "   0: 00000000:1F40 00000000:0000 0A 00000000:00000003 00:00000000 00000000\n";
        for (int i = 1; i <= 50'000; ++i)
            tcp << "   " << i << ": 0100007F:1F40 0100007F:C350 01 00000000:00000000 00:00000000\n";
    }
    std::ofstream(net + "/tcp6")
        << kHeader
        << "   0: 00000000000000000000000000000000:1F40 00000000000000000000000000000000:0000 0A "
           "00000000:00000002 00:00000000 00000000\n";
    const AcceptBacklog b = read_accept_backlog(8000, dir);
    CHECK(b.listeners == 2);
    CHECK(b.queued == 5);
    CHECK(read_accept_backlog(8001, dir).listeners == 0);
    std::filesystem::remove_all(dir);
}
