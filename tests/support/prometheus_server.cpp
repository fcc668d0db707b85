// PrometheusServer: Debian's prometheus on loopback, scraping one target every second and
// evaluating the given rule file every second.
#include "support/servers.hpp"
#include "support/servers_internal.hpp"

#include <signal.h>

#include <fstream>
#include <stdexcept>

#include "support/net_fixtures.hpp"

namespace vitals::testing {

PrometheusServer::PrometheusServer(std::uint16_t target_port, const std::string& rule_file)
    : PrometheusServer(std::vector<Target>{{target_port, "", ""}}, rule_file, 0) {}

PrometheusServer::PrometheusServer(const std::vector<Target>& targets, const std::string& rule_file,
                                   std::uint16_t alertmanager_port)
    : port_(closed_port()), dir_(temp_dir("prometheus")) {
    std::ofstream config(dir_ + "/prometheus.yml");
    config << "global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}\n"
           << "rule_files: ['" << rule_file << "']\n";
    if (alertmanager_port != 0)
        config << "alerting: {alertmanagers: [{static_configs: [{targets: ['127.0.0.1:"
               << alertmanager_port << "']}]}]}\n";
    config << "scrape_configs:\n"
           << "  - job_name: vitals\n"
           << "    static_configs:\n";
    for (const Target& t : targets) {
        config << "      - targets: ['127.0.0.1:" << t.port << "']\n";
        if (!t.pod.empty())
            config << "        labels: {namespace: '" << t.namespace_name << "', pod: '" << t.pod
                   << "'}\n";
    }
    config.close();
    pid_ =
        spawn_group({"prometheus", "--config.file=" + dir_ + "/prometheus.yml",
                     "--storage.tsdb.path=" + dir_ + "/data",
                     "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"},
                    {}, dir_ + "/prometheus.log");
    if (!wait_until([&] { return get(port_, "/-/ready").status == 200; },
                    std::chrono::seconds(30))) {
        const std::string log = capture("tail -20 '" + dir_ + "/prometheus.log'");
        kill_group(pid_, SIGKILL);
        shell("rm -rf '" + dir_ + "'");
        throw std::runtime_error("prometheus did not become ready:\n" + log);
    }
}

PrometheusServer::~PrometheusServer() {
    kill_group(pid_, SIGKILL);
    shell("rm -rf '" + dir_ + "'");
}

// curl: the API answers in chunks once a body passes 4 KiB, which the tests' raw client
// does not read.
nlohmann::json PrometheusServer::api(const std::string& path) const {
    return nlohmann::json::parse(
        capture("curl -s --max-time 10 'http://127.0.0.1:" + std::to_string(port_) + path + "'"),
        nullptr, false);
}

nlohmann::json PrometheusServer::query(const std::string& promql) const {
    const std::string file = dir_ + "/query.txt";
    std::ofstream(file) << promql;
    return nlohmann::json::parse(
        capture("curl -s --max-time 10 --get --data-urlencode 'query@" + file +
                "' 'http://127.0.0.1:" + std::to_string(port_) + "/api/v1/query'"),
        nullptr, false);
}

nlohmann::json PrometheusServer::alerts() const {
    return api("/api/v1/alerts")["data"]["alerts"];
}

}  // namespace vitals::testing
