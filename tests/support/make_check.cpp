#include "support/make_check.hpp"
#include "checks/builtin.hpp"

#include <stdexcept>

#include "sidecar/heartbeat/board.hpp"

namespace vitals::testing {

namespace {

// Runs the check and refuses any observation its kind does not declare, so every test that
// runs a kind against its real dependency also proves /metrics would export what it saw.
class DeclaredOnly : public Check {
  public:
    DeclaredOnly(std::unique_ptr<Check> inner, const CheckKind& kind)
        : inner_(std::move(inner)), kind_(kind) {}
    CheckResult run(const Deadline& deadline) override {
        CheckResult r = inner_->run(deadline);
        for (const Observation& o : r.observations) {
            if (find_spec(kind_.observations, o) == nullptr) {
                throw std::logic_error("kind " + kind_.name + " observed '" + o.key() +
                                       "' (label '" + o.label + "') without declaring it");
            }
        }
        return r;
    }
    void start() override { inner_->start(); }

  private:
    std::unique_ptr<Check> inner_;
    const CheckKind& kind_;
};

}  // namespace

std::unique_ptr<Check> make_check(const std::string& kind_name, const nlohmann::json& settings,
                                  const Environment& env, const Clock* clock,
                                  const std::string& state_dir) {
    static const Registry registry = builtin_registry();
    const CheckKind* kind = registry.find(kind_name);
    if (kind == nullptr) throw std::runtime_error("no kind " + kind_name);
    ConfigErrors errors;
    const Params params = read_settings(settings, kind->settings, "test", "", errors);
    if (!errors.empty()) {
        std::string text;
        for (const auto& e : errors)
            text += e.text() + "\n";
        throw std::runtime_error(text);
    }
    const std::string name = kind_name;
    static HeartbeatBoard board;
    Services services;
    services.heartbeats = &board;
    services.clock = clock;
    services.state_dir = state_dir;
    auto check = std::make_unique<DeclaredOnly>(
        kind->make(CheckContext{name, params, env, services}), *kind);
    check->start();  // as the App does before the first run
    return check;
}

bool has_observation(const CheckResult& result, const std::string& name) {
    for (const auto& o : result.observations) {
        if (o.name == name || o.key() == name) return true;
    }
    return false;
}

double observed(const CheckResult& result, const std::string& name) {
    for (const auto& o : result.observations) {
        if (o.name == name || o.key() == name) return o.value;
    }
    throw std::runtime_error("no observation " + name);
}

}  // namespace vitals::testing
