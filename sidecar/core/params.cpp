// Params: a check's validated values, read through the settings that declare them.
#include "sidecar/core/settings.hpp"

#include <stdexcept>

namespace vitals {

namespace {

const nlohmann::json& typed(const nlohmann::json& values, const Setting& s, SettingType as) {
    if (s.type != as) {
        throw std::logic_error("setting " + s.key + " is declared " +
                               std::string(setting_type_name(s.type)) + " but read as " +
                               std::string(setting_type_name(as)));
    }
    return values.at(s.key);
}

}  // namespace

bool Params::has(const Setting& s) const {
    return values_.contains(s.key);
}
std::string Params::str(const Setting& s) const {
    return typed(values_, s, SettingType::string).get<std::string>();
}
std::int64_t Params::integer(const Setting& s) const {
    return typed(values_, s, SettingType::integer).get<std::int64_t>();
}
double Params::number(const Setting& s) const {
    return typed(values_, s, SettingType::number).get<double>();
}
bool Params::boolean(const Setting& s) const {
    return typed(values_, s, SettingType::boolean).get<bool>();
}
Millis Params::duration(const Setting& s) const {
    return Millis(typed(values_, s, SettingType::duration).get<std::int64_t>());
}
std::vector<std::int64_t> Params::integers(const Setting& s) const {
    return typed(values_, s, SettingType::integer_list).get<std::vector<std::int64_t>>();
}
std::vector<std::string> Params::strings(const Setting& s) const {
    return typed(values_, s, SettingType::string_list).get<std::vector<std::string>>();
}
StatusCodes Params::status_codes(const Setting& s) const {
    std::string error;  // validated when read in
    return *StatusCodes::parse(typed(values_, s, SettingType::status_codes).get<std::string>(),
                               error);
}
std::map<std::string, std::string> Params::string_map(const Setting& s) const {
    return typed(values_, s, SettingType::string_map).get<std::map<std::string, std::string>>();
}
Url Params::url(const Setting& s) const {
    return *parse_url(typed(values_, s, SettingType::url).get<std::string>());
}

}  // namespace vitals
