#include "sidecar/core/settings.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <stdexcept>

#include "sidecar/json.hpp"

namespace vitals {

std::string escape_pointer_token(const std::string& key) {
    std::string out;
    for (char c : key) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

namespace {

using nlohmann::json;

std::string number_text(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

std::string bounds_text(const Setting& s) {
    const bool has_min = std::isfinite(s.min);
    const bool has_max = std::isfinite(s.max);
    auto fmt = [&](double v) {
        return s.type == SettingType::duration
                   ? format_duration(Millis(static_cast<std::int64_t>(v)))
                   : number_text(v);
    };
    if (has_min && has_max) return "between " + fmt(s.min) + " and " + fmt(s.max);
    if (has_min) return "at least " + fmt(s.min);
    return "at most " + fmt(s.max);
}

bool in_bounds(const Setting& s, double v) {
    return v >= s.min && v <= s.max;
}

std::string one_of_text(const Setting& s) {
    std::string out;
    for (const auto& v : s.one_of) {
        out += (out.empty() ? "" : ", ") + ('"' + v + '"');
    }
    return out;
}

// Returns the value to store, or null (and records an error) when it is invalid.
json validate_value(const Setting& s, const json& v, const std::string& where,
                    const std::string& pointer, ConfigErrors& errors) {
    auto bad = [&](const std::string& message) {
        errors.push_back({where, pointer, message});
        return json();
    };
    switch (s.type) {
        case SettingType::string:
            if (!v.is_string()) return bad("must be a string");
            if (!s.one_of.empty() && std::find(s.one_of.begin(), s.one_of.end(),
                                               v.get<std::string>()) == s.one_of.end()) {
                return bad("must be one of " + one_of_text(s));
            }
            return v;
        case SettingType::url: {
            if (!v.is_string()) return bad("must be a URL string");
            const Expected<Url> parsed = parse_url(v.get<std::string>());
            if (!parsed) return bad(parsed.error().message);
            // No host is fine with a path: a Unix socket (unix:///run/redis.sock) or libpq's
            // default socket (postgres:///shop).
            if (parsed->host.empty() && parsed->path.size() <= 1) return bad("URL has no host");
            return v;
        }
        case SettingType::integer: {
            if (!v.is_number_integer()) return bad("must be a whole number");
            const auto n = v.get<std::int64_t>();
            if (!in_bounds(s, static_cast<double>(n))) return bad("must be " + bounds_text(s));
            return v;
        }
        case SettingType::number: {
            if (!v.is_number()) return bad("must be a number");
            const double n = v.get<double>();
            if (!in_bounds(s, n)) return bad("must be " + bounds_text(s));
            return v;
        }
        case SettingType::boolean:
            if (!v.is_boolean()) return bad("must be true or false");
            return v;
        case SettingType::duration: {
            if (!v.is_string())
                return bad("must be a duration string such as \"250ms\", \"5s\" or \"1m\"");
            const auto d = parse_duration(v.get<std::string>());
            if (!d)
                return bad("\"" + v.get<std::string>() +
                           "\" is not a duration (use 250ms, 5s, 1m, 2h)");
            if (!in_bounds(s, static_cast<double>(d->count())))
                return bad("must be " + bounds_text(s));
            return d->count();
        }
        case SettingType::status_codes: {
            const char* const what =
                "must be a status code (200), a list of them, or a range (\"200-399\")";
            const auto item = [](const json& e) -> std::optional<std::string> {
                if (e.is_number_integer()) return std::to_string(e.get<std::int64_t>());
                if (e.is_string() && !e.get<std::string>().empty()) return e.get<std::string>();
                return std::nullopt;
            };
            std::string text;
            if (!v.is_array()) {
                const auto one = item(v);
                if (!one) return bad(what);
                text = *one;
            }
            for (const json& e : v.is_array() ? v : json::array()) {
                const auto one = item(e);
                if (!one) return bad(what);
                text += (text.empty() ? "" : ",") + *one;
            }
            std::string error;
            const auto codes = StatusCodes::parse(text, error);
            if (!codes) return bad(text.empty() ? what : error);
            return codes->text();
        }
        case SettingType::string_map: {
            if (!v.is_object()) return bad("must be an object of strings ({\"Name\": \"value\"})");
            for (const auto& item : v.items())
                if (!item.value().is_string())
                    return bad("\"" + item.key() + "\" must be a string");
            return v;
        }
        case SettingType::string_list: {
            if (!v.is_array()) return bad("must be a list of strings");
            json out = json::array();
            bool ok = true;
            for (std::size_t i = 0; i < v.size(); ++i) {
                const std::string item_pointer = pointer + "/" + std::to_string(i);
                if (!v[i].is_string()) {
                    errors.push_back({where, item_pointer, "must be a string"});
                    ok = false;
                } else if (!s.one_of.empty() &&
                           std::find(s.one_of.begin(), s.one_of.end(), v[i].get<std::string>()) ==
                               s.one_of.end()) {
                    errors.push_back({where, item_pointer, "must be one of " + one_of_text(s)});
                    ok = false;
                } else {
                    out.push_back(v[i]);
                }
            }
            return ok ? out : json();
        }
        case SettingType::integer_list: {
            if (!v.is_array()) return bad("must be a list of integers");
            for (const json& item : v) {
                if (!item.is_number_integer()) return bad("must be a list of integers");
                if (!in_bounds(s, item.get<double>()))
                    return bad("must hold integers " + bounds_text(s));
            }
            return v;
        }
    }
    return bad("unsupported setting type");
}

}  // namespace

std::string ConfigError::text() const {
    std::string out = where;
    if (!pointer.empty()) out += ": " + pointer;
    return out + ": " + message;
}

namespace {

std::string bound_text(const Setting& s, double v) {
    if (s.type == SettingType::duration)
        return format_duration(Millis(static_cast<std::int64_t>(v)));
    const json n = v == static_cast<double>(static_cast<std::int64_t>(v))
                       ? json(static_cast<std::int64_t>(v))
                       : json(v);
    return n.dump();
}

}  // namespace

std::string setting_type_text(const Setting& s) {
    std::string out(setting_type_name(s.type));
    const bool low = std::isfinite(s.min), high = std::isfinite(s.max);
    if (low && high)
        out += " " + bound_text(s, s.min) + "–" + bound_text(s, s.max);
    else if (low)
        out += " ≥ " + bound_text(s, s.min);
    else if (high)
        out += " ≤ " + bound_text(s, s.max);
    if (!s.one_of.empty()) {
        out += ": ";
        for (std::size_t i = 0; i < s.one_of.size(); ++i)
            out += (i ? ", " : "") + s.one_of[i];
    }
    return out;
}

std::string setting_default_text(const Setting& s) {
    if (s.is_required) return "required";
    if (s.default_value.is_null()) return "—";
    if (s.default_value.is_string()) {
        const auto& text = s.default_value.get_ref<const std::string&>();
        return text.empty() ? "`\"\"`" : "`" + text + "`";
    }
    return "`" + s.default_value.dump() + "`";
}

std::string settings_markdown(const SettingsTable& table) {
    const bool any_env = std::any_of(table.begin(), table.end(),
                                     [](const Setting& s) { return !s.env_name.empty(); });
    std::string out = any_env
                          ? "| setting | environment | type | default | meaning |\n"
                            "| --- | --- | --- | --- | --- |\n"
                          : "| setting | type | default | meaning |\n| --- | --- | --- | --- |\n";
    for (const Setting& s : table) {
        out += "| `" + s.key + "` | ";
        if (any_env) out += (s.env_name.empty() ? "—" : "`" + s.env_name + "`") + " | ";
        std::string help;
        for (const char c : s.help)
            help += c == '|' ? std::string("\\|") : std::string(1, c);
        out += setting_type_text(s) + " | " + setting_default_text(s) + " | " + help + " |\n";
    }
    return out;
}

std::string_view setting_type_name(SettingType type) {
    switch (type) {
        case SettingType::string:
            return "string";
        case SettingType::integer:
            return "integer";
        case SettingType::number:
            return "number";
        case SettingType::boolean:
            return "boolean";
        case SettingType::duration:
            return "duration";
        case SettingType::string_list:
            return "list of strings";
        case SettingType::integer_list:
            return "list of integers";
        case SettingType::status_codes:
            return "status codes";
        case SettingType::string_map:
            return "object of strings";
        case SettingType::url:
            break;
    }
    return "URL";
}

Params read_settings(const json& object, const SettingsTable& table, const std::string& where,
                     const std::string& pointer, ConfigErrors& errors) {
    json values = json::object();
    if (!object.is_object()) {
        errors.push_back({where, pointer.empty() ? "/" : pointer, "must be a JSON object"});
        return Params(values);
    }
    std::set<std::string> known;
    for (const Setting& s : table) {
        known.insert(s.key);
        const std::string key_pointer = pointer + "/" + escape_pointer_token(s.key);
        const auto it = object.find(s.key);
        if (it == object.end() || it->is_null()) {
            if (s.is_required) {
                errors.push_back({where, key_pointer, "is required (" + s.help + ")"});
            } else if (!s.default_value.is_null()) {
                json v = validate_value(s, s.default_value, where, key_pointer, errors);
                if (!v.is_null()) values[s.key] = std::move(v);
            }
            continue;
        }
        json v = validate_value(s, *it, where, key_pointer, errors);
        if (v.is_null() && !s.default_value.is_null()) {
            // The error is recorded and the configuration will be refused; the default
            // stands in so that whatever reads the rest can still read this one.
            ConfigErrors ignored;
            v = validate_value(s, s.default_value, where, key_pointer, ignored);
        }
        if (!v.is_null()) values[s.key] = std::move(v);
    }
    for (const auto& item : object.items()) {
        if (known.count(item.key()) == 0) {
            std::string known_list;
            for (const Setting& s : table)
                known_list += (known_list.empty() ? "" : ", ") + s.key;
            errors.push_back({where, pointer + "/" + escape_pointer_token(item.key()),
                              "unknown setting (known here: " + known_list + ")"});
        }
    }
    return Params(std::move(values));
}

json setting_from_env(const Setting& setting, const std::string& text) {
    switch (setting.type) {
        case SettingType::string:
        case SettingType::url:
        case SettingType::duration:
        case SettingType::status_codes:
            return text;
        case SettingType::string_map:
            return json();  // not from the environment
        case SettingType::boolean:
            if (text == "true" || text == "1" || text == "yes") return true;
            if (text == "false" || text == "0" || text == "no") return false;
            return json();
        case SettingType::integer:
        case SettingType::number: {
            json parsed = vitals::parse_json(text);
            return parsed.is_number() ? parsed : json();
        }
        case SettingType::integer_list: {
            json out = json::array();
            std::string item;
            std::istringstream in(text);
            while (std::getline(in, item, ',')) {
                json parsed = vitals::parse_json(item);
                if (!parsed.is_number_integer()) return json();
                out.push_back(parsed);
            }
            return out;
        }
        case SettingType::string_list: {
            json out = json::array();
            std::string item;
            std::istringstream in(text);
            while (std::getline(in, item, ',')) {
                const auto first = item.find_first_not_of(" \t");
                const auto last = item.find_last_not_of(" \t");
                if (first != std::string::npos) out.push_back(item.substr(first, last - first + 1));
            }
            return out;
        }
    }
    return json();
}

json describe_settings(const Params& params, const SettingsTable& table) {
    json out = json::object();
    for (const Setting& s : table) {
        if (!params.has(s)) continue;
        const json& v = params.values().at(s.key);
        if (s.is_secret) {
            out[s.key] = "****";
        } else if (s.type == SettingType::duration) {
            out[s.key] = format_duration(Millis(v.get<std::int64_t>()));
        } else if (s.type == SettingType::url) {
            out[s.key] = params.url(s).redacted();
        } else {
            out[s.key] = v;
        }
    }
    return out;
}

}  // namespace vitals
