#include "checks/expiry.hpp"

namespace vitals::checks {

const ExpirySettings& expiry_settings() {
    static const ExpirySettings settings;
    return settings;
}

ExpiryDays expiry_days(const CheckContext& ctx) {
    const ExpirySettings& s = expiry_settings();
    ExpiryDays days;
    days.warn = static_cast<int>(ctx.params.integer(s.warn_days));
    days.fail = static_cast<int>(ctx.params.integer(s.fail_days));
    if (days.fail > days.warn) ctx.refuse(s.fail_days.key, "must not be above warn_days");
    return days;
}

}  // namespace vitals::checks
