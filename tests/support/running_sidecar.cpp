#include "support/running_sidecar.hpp"

#include <stdexcept>

namespace vitals::testing {

RunningSidecar::RunningSidecar(const std::string& config_json, Registry registry, Environment env)
    : log_(std::make_unique<Log>(log_text_, clock_)) {
    TempFile file(config_json);
    Services services;
    services.heartbeats = &heartbeats_;
    services.snapshots = &snapshots_;
    ConfigLoad load = load_config(env, file.path(), registry, services);
    if (!load.config) {
        std::string text;
        for (const auto& e : load.errors)
            text += e.text() + "\n";
        throw std::runtime_error("test configuration is invalid:\n" + text);
    }
    if (!load.config->state_dir.empty())
        heartbeats_.open(load.config->state_dir + "/heartbeats.json");
    app_ = std::make_unique<App>(*load.config, clock_, random_, *log_, &heartbeats_);
    snapshots_.attach(&app_->store());
    app_->start();
}

RunningSidecar::~RunningSidecar() {
    app_->stop();
}

bool RunningSidecar::wait_for_status(const std::string& check, Status status,
                                     std::chrono::milliseconds wait) const {
    return wait_until(
        [&](const Snapshot& s) {
            for (const CheckState& c : s.checks) {
                if (c.name == check) return c.has_run() && c.effective() == status;
            }
            return false;
        },
        wait);
}

}  // namespace vitals::testing
