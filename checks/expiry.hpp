// The expiry settings the tls and domain kinds share: how many days before something expires
// a check warns, and fails. Declared once here; each kind lists them in its table.
#pragma once

#include "sidecar/core/registry.hpp"

namespace vitals::checks {

struct ExpirySettings {
    Setting warn_days =
        Setting::of("warn_days", SettingType::integer, "days before expiry that warn")
            .defaults(30)
            .range(0, 3650);
    Setting fail_days =
        Setting::of("fail_days", SettingType::integer, "days before expiry that fail")
            .defaults(7)
            .range(0, 3650);
};

const ExpirySettings& expiry_settings();

struct ExpiryDays {
    int warn = 0;
    int fail = 0;
};

// Both values of a check; refuses fail_days above warn_days.
ExpiryDays expiry_days(const CheckContext& ctx);

}  // namespace vitals::checks
