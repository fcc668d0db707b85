// HttpsFileServer: Python's http.server (Debian's python3) behind TLS, serving a directory
// the test writes and rewrites between runs, as an RDAP registry or IANA's bootstrap would.
#include "support/servers.hpp"
#include "support/servers_internal.hpp"

#include <signal.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/net_fixtures.hpp"

namespace vitals::testing {

namespace {

// GET <path>: the file <root>/<path>, with the status in <root>/<path>.status when there is
// one (404 when neither is there). Each request's path and Accept header go to
// <root>/requests.log, one line each.
constexpr const char* kServer = R"(
import http.server, os, ssl, sys
root, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path.split('?')[0]
        with open(os.path.join(root, 'requests.log'), 'a') as log:
            log.write(path + ' ' + str(self.headers.get('Accept')) + '\n')
        file = os.path.normpath(os.path.join(root, path.lstrip('/')))
        status = 404
        if os.path.exists(file + '.status'):
            status = int(open(file + '.status').read())
        elif os.path.isfile(file):
            status = 200
        body = open(file, 'rb').read() if os.path.isfile(file) else b'{}'
        self.send_response(status)
        self.send_header('Content-Type', 'application/rdap+json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(('127.0.0.1', port), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
)";

}  // namespace

HttpsFileServer::HttpsFileServer(const std::string& root, const std::string& cert,
                                 const std::string& key)
    : port_(closed_port()), root_(root) {
    pid_ = spawn_group({"/usr/bin/python3", "-c", kServer, root, std::to_string(port_), cert, key},
                       {}, root + "/server.log");
    if (!wait_until([&] { return RawClient(port_).connected(); }, std::chrono::seconds(10))) {
        kill_group(pid_, SIGKILL);
        throw std::runtime_error("the HTTPS file server did not start; see " + root +
                                 "/server.log");
    }
}

HttpsFileServer::~HttpsFileServer() {
    kill_group(pid_, SIGKILL);
}

std::string HttpsFileServer::url() const {
    return "https://127.0.0.1:" + std::to_string(port_) + "/";
}

std::vector<std::string> HttpsFileServer::requests() const {
    std::vector<std::string> lines;
    std::ifstream in(root_ + "/requests.log");
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

}  // namespace vitals::testing
