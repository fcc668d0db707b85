// tcp: the dependency accepts a TCP connection before the deadline.
#include "checks/builtin.hpp"
#include "sidecar/clients/net.hpp"

namespace vitals::checks {

namespace {

class TcpCheck final : public Check {
  public:
    TcpCheck(std::string host, std::uint16_t port) : host_(std::move(host)), port_(port) {}

    CheckResult run(const Deadline& deadline) override {
        const auto started = std::chrono::steady_clock::now();
        const Expected<Socket> conn = connect_tcp(host_, port_, deadline);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        CheckResult result =
            conn ? verdict(Status::ok, "connected") : verdict(Status::fail, conn.error().message);
        result.observe("connect_seconds", seconds);
        return result;
    }

  private:
    std::string host_;
    std::uint16_t port_;
};

}  // namespace

// The tcp kind's settings, each declared once: the table lists these members and the
// factory reads its values through them.
struct TcpSettings {
    Setting host = Setting::of("host", SettingType::string, "host name or IP address to connect to")
                       .required();
    Setting port = Setting::of("port", SettingType::integer, "TCP port").required().range(1, 65535);
    SettingsTable table() const { return {host, port}; }
};

CheckKind tcp_kind() {
    static const TcpSettings s;
    CheckKind kind;
    kind.name = "tcp";
    kind.summary = "a TCP connection to host:port is accepted before the deadline";
    kind.about = About::reach;  // what this pod reaches
    kind.default_groups = {"ready"};
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::gauge("connect_seconds", U::seconds, "Time to open the TCP connection.").headline(),
    };
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        return std::make_unique<TcpCheck>(ctx.params.str(s.host),
                                          static_cast<std::uint16_t>(ctx.params.integer(s.port)));
    };
    return kind;
}

}  // namespace vitals::checks
