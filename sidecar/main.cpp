// The composition root: reads configuration, wires the parts together, serves until
// SIGTERM or SIGINT. Nothing else in vitals constructs long-lived objects or reads globals.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include "checks/builtin.hpp"
#include "sidecar/app.hpp"
#include "sidecar/cli/cli.hpp"
#include "sidecar/config/config.hpp"
#include "sidecar/core/probes.hpp"
#include "sidecar/core/registry.hpp"
#include "sidecar/fleet/runs.hpp"
#include "sidecar/heartbeat/board.hpp"
#include "sidecar/http/render.hpp"
#include "sidecar/log.hpp"

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitConfig = 2;

const char kUsage[] =
    "usage: vitals [--config FILE] [--check-config]\n"
    "       vitals status [CHECK] [URL] [-o wide|json] [--fleet] [--token TOKEN]\n"
    "       vitals wait [--ready|--live|--startup] [URL] [--timeout 120s]\n"
    "\n"
    "  --config FILE    JSON configuration (default: $VITALS_CONFIG, else none)\n"
    "  --check-config   validate the configuration, print it with secrets redacted, exit\n"
    "  --version        print the version\n"
    "  --list-metrics   print every metric the check kinds declare (a Markdown table), exit\n"
    "  --list-settings  print every setting: vitals', every check's, each kind's (Markdown), exit\n"
    "  status           every check as a table, failing first (or CHECK in full); exit 1\n"
    "                   when /health fails; `vitals status --help` for its options\n"
    "  wait             poll until the probe passes; exit 1 listing the failing checks\n"
    "                   (URL default: http://127.0.0.1:<port of $VITALS_LISTEN or 8686>)\n"
    "\n"
    "Health sidecar for Django pods: /livez /readyz /startupz /health /metrics on $VITALS_LISTEN\n"
    "(default 0.0.0.0:8686). See README.md and docs/.\n";

struct Arguments {
    std::string config_file;
    bool config_given = false;
    bool check_config = false;
    bool version = false;
    bool list_metrics = false;
    bool list_settings = false;
    bool help = false;
    std::string error;
};

Arguments parse_arguments(int argc, char** argv) {
    Arguments args;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--config" && i + 1 < argc) {
            args.config_file = argv[++i];
            args.config_given = true;
        } else if (arg.rfind("--config=", 0) == 0) {
            args.config_file = arg.substr(9);
            args.config_given = true;
        } else if (arg == "--check-config") {
            args.check_config = true;
        } else if (arg == "--version") {
            args.version = true;
        } else if (arg == "--list-metrics") {
            args.list_metrics = true;
        } else if (arg == "--list-settings") {
            args.list_settings = true;
        } else if (arg == "--help" || arg == "-h") {
            args.help = true;
        } else {
            args.error = "unknown argument: " + arg;
        }
    }
    return args;
}

vitals::Environment read_environment() {
    vitals::Environment env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const char* eq = std::strchr(*e, '=');
        if (eq != nullptr)
            env.emplace(std::string(static_cast<const char*>(*e), eq), std::string(eq + 1));
    }
    return env;
}

// Where `vitals status` and `vitals wait` look by default: this pod's own vitals.
std::string local_url(const vitals::Environment& env) {
    std::string port = "8686";
    if (const auto it = env.find("VITALS_LISTEN"); it != env.end()) {
        if (const auto listen = vitals::ListenAddress::parse(it->second))
            port = std::to_string(listen->port);
    }
    return "http://127.0.0.1:" + port;
}

// What `vitals status` and `vitals wait` take from where they run: the local URL, the detail
// token the pod's own environment holds, and whether stdout is a terminal (colour, width).
vitals::CliEnvironment cli_environment(const vitals::Environment& env) {
    vitals::CliEnvironment cli;
    cli.default_url = local_url(env);
    if (const auto it = env.find("VITALS_DETAIL_TOKEN"); it != env.end()) cli.token = it->second;
    const auto term = env.find("TERM");
    const bool terminal = ::isatty(STDOUT_FILENO) == 1;
    cli.color =
        terminal && env.count("NO_COLOR") == 0 && (term == env.end() || term->second != "dumb");
    winsize size{};
    if (terminal && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0) cli.width = size.ws_col;
    return cli;
}

// Rollouts wait for the old pod to go: whatever its clients or checks do, vitals is gone
// this long after SIGTERM, well inside Kubernetes' default 30 s grace period.
constexpr std::chrono::seconds kStopLimit{4};

// Ends the process `limit` from now if it has not ended by itself.
void exit_within(std::chrono::seconds limit, vitals::Log& log) {
    std::thread([limit, &log] {
        std::this_thread::sleep_for(limit);
        log.event("error", "stop_overdue", {{"after_seconds", limit.count()}});
        std::cout.flush();
        std::_Exit(1);
    }).detach();
}

// Every held connection and dependency takes a descriptor; the usual soft limit of 1,024
// is below what max_connections allows. Raised to the hard limit, as Go programs do.
void raise_file_limit() {
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur >= files.rlim_max) return;
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, 1 << 16);
    ::setrlimit(RLIMIT_NOFILE, &files);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace vitals;
    // glibc gives each thread that allocates an arena of its own; with a thread per check that
    // is 3 MiB of resident memory for nothing (measured with the demo's eleven checks: 7.5 ->
    // 4.6 MiB anonymous). Nothing on the probe path allocates enough to contend for two.
    mallopt(M_ARENA_MAX, 2);
    if (argc >= 2 && (std::strcmp(argv[1], "status") == 0 || std::strcmp(argv[1], "wait") == 0)) {
        const std::vector<std::string> rest(argv + 2, argv + argc);
        const CliEnvironment cli = cli_environment(read_environment());
        return std::strcmp(argv[1], "status") == 0 ? cli_status(rest, cli, std::cout, std::cerr)
                                                   : cli_wait(rest, cli, std::cout, std::cerr);
    }
    const Arguments args = parse_arguments(argc, argv);
    if (!args.error.empty()) {
        std::cerr << "vitals: " << args.error << "\n\n" << kUsage;
        return kExitUsage;
    }
    if (args.help) {
        std::cout << kUsage;
        return 0;
    }
    if (args.version) {
        std::cout << "vitals " VITALS_VERSION "\n";
        return 0;
    }
    if (args.list_metrics) {
        std::cout << describe_metrics(builtin_registry());
        return 0;
    }
    if (args.list_settings) {
        std::cout << settings_reference(builtin_registry());
        return 0;
    }

    raise_file_limit();
    // Block the stop signals before any thread exists, so every thread inherits the mask
    // and only sigwait below receives them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    const Environment env = read_environment();
    std::string config_file = args.config_file;
    if (!args.config_given) {
        if (const auto it = env.find("VITALS_CONFIG"); it != env.end()) config_file = it->second;
    }
    const Registry registry = builtin_registry();
    const SystemClock clock;
    HeartbeatBoard heartbeats(clock);
    Services services;
    services.heartbeats = &heartbeats;
    services.clock = &clock;
    SnapshotView snapshots;  // attached to the App's store once it exists
    services.snapshots = &snapshots;
    FleetRuns fleet(clock);  // coordinates once the configuration says where
    services.fleet = &fleet;
    ConfigLoad load = load_config(env, config_file, registry, services);
    if (!load.config) {
        std::cerr << "vitals: the configuration has " << load.errors.size()
                  << (load.errors.size() == 1 ? " problem" : " problems") << ":\n";
        for (const ConfigError& e : load.errors)
            std::cerr << "  " << e.text() << "\n";
        return kExitConfig;
    }
    Config config = std::move(*load.config);
    if (args.check_config) {
        for (const SkippedCheck& skip : config.skipped)
            std::cerr << "vitals: skipped " << skip.name << " from the environment: " << skip.reason
                      << "\n";
        for (const auto& [kind, note] : config.env_notes)
            std::cerr << "vitals: " << (note.warning ? "WARNING: " : "") << kind << ": "
                      << note.text << "\n";
        std::cout << config.describe().dump(2) << "\n";
        return 0;
    }

    SystemRandom random;
    Log log(std::cout, clock);
    nlohmann::json check_names = nlohmann::json::array();
    for (const CheckConfig& c : config.checks)
        check_names.push_back(c.name);
    // The board does nothing with either until a heartbeat check asks or a ping arrives.
    if (!config.state_dir.empty()) heartbeats.open(config.state_dir + "/heartbeats.json");
    if (config.heartbeat_redis) heartbeats.share(*config.heartbeat_redis, config.heartbeat_prefix);
    for (const SkippedCheck& skip : config.skipped)
        log.warn("check_skipped", {{"check", skip.name}, {"reason", skip.reason}});
    for (const auto& [kind, note] : config.env_notes) {
        const nlohmann::json fields = {{"kind", kind}, {"note", note.text}};
        if (note.warning) {
            log.warn("environment_note", fields);
        } else {
            log.info("environment_note", fields);
        }
    }
    // Checks about a shared dependency's state run once per fleet (docs/fleets.md), and so do
    // the parts of checks that read one (they were shared as the configuration was read).
    if (config.fleet_redis) {
        const auto host = env.find("HOSTNAME");
        const std::string pod =
            host != env.end() && !host->second.empty() ? host->second : "vitals";
        fleet.coordinate(FleetOptions{
            *config.fleet_redis, config.fleet.empty() ? fleet_of_pod(pod) : config.fleet, pod});
        nlohmann::json shared = nlohmann::json::array();
        for (CheckConfig& c : config.checks) {
            if (!c.policy.shared) continue;
            c.check = fleet.share(c.name, std::move(c.check), c.policy);
            shared.push_back(c.name);
        }
        log.info("fleet", {{"fleet", fleet.options().fleet},
                           {"pod", pod},
                           {"redis", config.fleet_redis->redacted()},
                           {"shared_checks", shared}});
    }
    const bool any_live =
        std::any_of(config.checks.begin(), config.checks.end(),
                    [](const CheckConfig& c) { return (c.policy.groups & kGroupLive) != 0; });
    if (const auto why = unfailable_probes(config.checks.size(), any_live))
        log.warn("probes_cannot_fail", {{"message", *why}});
    App app(config, clock, random, log, &heartbeats);
    snapshots.attach(&app.store());
    int exit_code = 0;
    try {
        app.start();
        log.info("start", {{"version", VITALS_VERSION},
                           {"listen", config.listen.text(app.port())},
                           {"config_file", config.config_file},
                           {"checks", check_names}});
        int signal_number = 0;
        sigwait(&stop_signals, &signal_number);
        log.info("shutdown", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
        // The heartbeats' state first: whatever follows, a restart loses no ping.
        heartbeats.flush(std::chrono::milliseconds(1000));
        exit_within(kStopLimit, log);
    } catch (const std::exception& e) {
        log.event("error", "listen_failed",
                  {{"listen", config.listen.text(config.listen.port)}, {"error", e.what()}});
        exit_code = 1;
    }
    const bool all_stopped = app.stop();
    log.info("stopped", {{"abandoned_stuck_checks", !all_stopped}});
    if (!all_stopped) {
        // A check is blocked in I/O that cannot be interrupted (name resolution, say).
        // Its thread holds references into this frame, so leave without unwinding.
        std::cout.flush();
        std::_Exit(exit_code);
    }
    return exit_code;
}
