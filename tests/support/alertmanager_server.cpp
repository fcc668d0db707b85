// AlertmanagerServer: Debian's Alertmanager on loopback, single node, with a webhook receiver
// (a few lines of Python's http.server) that appends every notification to a file.
#include <signal.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "support/net_fixtures.hpp"
#include "support/servers.hpp"
#include "support/servers_internal.hpp"

namespace vitals::testing {

namespace {

constexpr const char* kReceiver = R"(import http.server, sys
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[2], "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
)";

}  // namespace

AlertmanagerServer::AlertmanagerServer(const std::string& config)
    : port_(closed_port()), hook_port_(closed_port()), dir_(temp_dir("alertmanager")) {
    std::ofstream(dir_ + "/hook.py") << kReceiver;
    hook_pid_ = spawn_group(
        {"python3", dir_ + "/hook.py", std::to_string(hook_port_), dir_ + "/notifications"}, {},
        dir_ + "/hook.log");
    std::ofstream(dir_ + "/alertmanager.yml") << std::regex_replace(
        config, std::regex("WEBHOOK_URL"), "http://127.0.0.1:" + std::to_string(hook_port_) + "/");
    pid_ = spawn_group({"prometheus-alertmanager", "--config.file=" + dir_ + "/alertmanager.yml",
                        "--storage.path=" + dir_ + "/data",
                        "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                        "--cluster.listen-address=", "--log.level=warn"},
                       {}, dir_ + "/alertmanager.log");
    if (!wait_until([&] { return get(port_, "/-/ready").status == 200; },
                    std::chrono::seconds(30))) {
        const std::string log = capture("tail -20 '" + dir_ + "/alertmanager.log'");
        kill_group(pid_, SIGKILL);
        kill_group(hook_pid_, SIGKILL);
        shell("rm -rf '" + dir_ + "'");
        throw std::runtime_error("alertmanager did not become ready:\n" + log);
    }
}

AlertmanagerServer::~AlertmanagerServer() {
    kill_group(pid_, SIGKILL);
    kill_group(hook_pid_, SIGKILL);
    shell("rm -rf '" + dir_ + "'");
}

std::vector<nlohmann::json> AlertmanagerServer::notifications() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(dir_ + "/notifications");
    std::string line;
    while (std::getline(in, line)) {
        nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
}

}  // namespace vitals::testing
