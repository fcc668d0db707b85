// The ceiling of the HTTP library vitals uses, for bench/run: a bare Pistache handler that
// answers every request with a constant 200 through the same send() as vitals (the same
// headers and the same keep-alive fix), and nothing else: no route table, no snapshot, no
// trust or connection cap. What vitals' /readyz costs beyond it is vitals' own.
//   vitals_floor <port> <threads>
#include <pistache/endpoint.h>
#include <pistache/http.h>

#include <csignal>
#include <cstdlib>
#include <iostream>

#include "sidecar/http/respond.hpp"

namespace {

class Constant final : public Pistache::Http::Handler {
  public:
    HTTP_PROTOTYPE(Constant)
    void onRequest(const Pistache::Http::Request& request,
                   Pistache::Http::ResponseWriter writer) override {
        static const vitals::Response ok{200, "{\n  \"status\": \"ok\"\n}\n"};
        vitals::send(request, writer, ok, vitals::media().json);
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: vitals_floor <port> <threads>\n";
        return 2;
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    const auto port = static_cast<std::uint16_t>(std::atoi(argv[1]));
    Pistache::Http::Endpoint endpoint(
        Pistache::Address(Pistache::Ipv4::loopback(), Pistache::Port(port)));
    endpoint.init(Pistache::Http::Endpoint::options()
                      .threads(std::atoi(argv[2]))
                      .flags(Pistache::Tcp::Options::ReuseAddr));
    endpoint.setHandler(Pistache::Http::make_handler<Constant>());
    endpoint.serveThreaded();
    int received = 0;
    sigwait(&signals, &received);
    endpoint.shutdown();
    return 0;
}
