#include "support/make_check.hpp"
#include "checks/builtin.hpp"

#include <stdexcept>

#include "sidecar/heartbeat/board.hpp"

namespace vitals::testing {

std::unique_ptr<Check> make_check(const std::string& kind_name, const nlohmann::json& settings,
                                  const Environment& env) {
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
    const Services services{&board};
    auto check = kind->make(CheckContext{name, params, env, services});
    check->start();  // as the App does before the first run
    return check;
}

bool has_observation(const CheckResult& result, const std::string& name) {
    for (const auto& o : result.observations) {
        if (o.name == name) return true;
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
