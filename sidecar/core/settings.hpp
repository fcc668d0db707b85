// One declarative table of settings (name, type, unit, default, bounds, help) drives
// validation, defaults, the --check-config output and the docs' generated tables alike.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sidecar/duration.hpp"
#include "sidecar/status_codes.hpp"
#include "sidecar/url.hpp"

namespace vitals {

// status_codes: 200, [200, 204], "200-399" or ["200-299", 304] (StatusCodes, kept as the
// text "200-399,304"). string_map: a JSON object of strings.
enum class SettingType {
    string,
    integer,
    number,
    boolean,
    duration,
    string_list,
    integer_list,
    url,
    status_codes,
    string_map
};

struct Setting {
    std::string key;
    SettingType type = SettingType::string;
    std::string help;
    nlohmann::json default_value;  // null: no default (optional unless `is_required`)
    bool is_required = false;
    // Inclusive bounds: the value for integer/number, milliseconds for durations.
    double min = -std::numeric_limits<double>::infinity();
    double max = std::numeric_limits<double>::infinity();
    // Allowed values, for strings and each element of string lists.
    std::vector<std::string> one_of;
    // The environment variable that overrides the file (vitals' own settings only).
    std::string env_name;
    // Printed as "****" by --check-config.
    bool is_secret = false;

    // Builders, so tables read as `Setting::of("timeout", SettingType::duration,
    // "...").defaults("3s")`.
    static Setting of(std::string key, SettingType type, std::string help) {
        Setting s;
        s.key = std::move(key);
        s.type = type;
        s.help = std::move(help);
        return s;
    }
    Setting& defaults(nlohmann::json value) {
        default_value = std::move(value);
        return *this;
    }
    Setting& required() {
        is_required = true;
        return *this;
    }
    Setting& range(double low, double high) {
        min = low;
        max = high;
        return *this;
    }
    Setting& choices(std::vector<std::string> values) {
        one_of = std::move(values);
        return *this;
    }
    Setting& env(std::string name) {
        env_name = std::move(name);
        return *this;
    }
    Setting& secret() {
        is_secret = true;
        return *this;
    }
};

using SettingsTable = std::vector<Setting>;

// A configuration problem and where it is: a file (or "environment") and a JSON pointer
// (or a variable name).
// A key as one token of a JSON pointer (RFC 6901): '~' as ~0, '/' as ~1.
std::string escape_pointer_token(const std::string& key);

struct ConfigError {
    std::string where;
    std::string pointer;
    std::string message;
    std::string text() const;
};

using ConfigErrors = std::vector<ConfigError>;

// Validated values with defaults applied. Durations are stored as milliseconds.
// Values are read through the setting's declaration, never a re-spelled key: reading one as
// another type than it was declared with throws std::logic_error (a programming error).
class Params {
  public:
    Params() = default;
    explicit Params(nlohmann::json values) : values_(std::move(values)) {}

    bool has(const Setting& s) const;
    std::string str(const Setting& s) const;  // a string setting
    std::int64_t integer(const Setting& s) const;
    double number(const Setting& s) const;
    bool boolean(const Setting& s) const;
    Millis duration(const Setting& s) const;
    std::vector<std::string> strings(const Setting& s) const;
    std::vector<std::int64_t> integers(const Setting& s) const;
    StatusCodes status_codes(const Setting& s) const;
    std::map<std::string, std::string> string_map(const Setting& s) const;
    Url url(const Setting& s) const;

    const nlohmann::json& values() const { return values_; }

  private:
    nlohmann::json values_ = nlohmann::json::object();
};

// Checks `object` against `table`: unknown keys (usually typos), wrong types, values out of
// bounds and missing required settings all become errors at `where` + `pointer`/<key>.
// Every problem is appended; nothing stops at the first. Values that failed are left out.
Params read_settings(const nlohmann::json& object, const SettingsTable& table,
                     const std::string& where, const std::string& pointer, ConfigErrors& errors);

// Converts an environment variable's text to the JSON value `read_settings` expects
// (comma-separated lists, numbers, booleans). Returns null when the text does not parse.
nlohmann::json setting_from_env(const Setting& setting, const std::string& text);

// The effective values as a person should see them: durations spelled with units, URL
// passwords and secret settings replaced by "****".
nlohmann::json describe_settings(const Params& params, const SettingsTable& table);

std::string_view setting_type_name(SettingType type);
// A setting's type with its bounds and choices ("duration ≥ 1ms", "string: a, b"), and its
// default as the docs write it (`10s`, required, —).
std::string setting_type_text(const Setting& s);
std::string setting_default_text(const Setting& s);

// The table as Markdown, one row per setting: | `key` | type and bounds | default | meaning |
// (with a column for the environment variable when any setting has one). What
// `vitals --list-settings` prints, and what the docs' settings tables are.
std::string settings_markdown(const SettingsTable& table);

}  // namespace vitals
