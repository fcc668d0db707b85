#include "checks/builtin.hpp"

namespace vitals {

Registry builtin_registry() {
    Registry registry;
#define VITALS_REGISTER_KIND(kind) registry.add(checks::kind##_kind());
    VITALS_CHECK_KINDS(VITALS_REGISTER_KIND)
#undef VITALS_REGISTER_KIND
    return registry;
}

}  // namespace vitals
