#include "sidecar/registry.hpp"

#include "checks/kinds.hpp"

namespace vitals {

void Registry::add(CheckKind kind) {
    const std::string name = kind.name;
    if (!kinds_.emplace(name, std::move(kind)).second) {
        throw std::logic_error("check kind registered twice: " + name);
    }
}

const CheckKind* Registry::find(const std::string& name) const {
    const auto it = kinds_.find(name);
    return it == kinds_.end() ? nullptr : &it->second;
}

std::string Registry::names() const {
    std::string out;
    for (const auto& [name, kind] : kinds_)
        out += (out.empty() ? "" : ", ") + name;
    return out;
}

Registry builtin_registry() {
    Registry registry;
#define VITALS_REGISTER_KIND(kind) registry.add(checks::kind##_kind());
    VITALS_CHECK_KINDS(VITALS_REGISTER_KIND)
#undef VITALS_REGISTER_KIND
    return registry;
}

}  // namespace vitals
