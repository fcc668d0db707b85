#include "sidecar/config/expand.hpp"

#include <cctype>

namespace vitals {

namespace {

bool name_char(char c, bool first) {
    const auto b = static_cast<unsigned char>(c);
    return c == '_' || std::isalpha(b) != 0 || (!first && std::isdigit(b) != 0);
}

// One string expanded; false (with `missing` set) at the first unset variable.
bool expand_text(std::string& text, const Environment& env, std::set<std::string>& expanded,
                 std::string& missing) {
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        if (text.compare(i, 3, "$${") == 0) {
            out += "${";
            i += 3;
            continue;
        }
        if (text.compare(i, 2, "${") != 0) {
            out += text[i++];
            continue;
        }
        std::size_t end = i + 2;
        while (end < text.size() && name_char(text[end], end == i + 2))
            ++end;
        if (end == i + 2 || end >= text.size() || text[end] != '}') {
            out += text[i++];  // not a reference: kept as written
            continue;
        }
        const std::string name = text.substr(i + 2, end - i - 2);
        const auto it = env.find(name);
        if (it == env.end()) {
            missing = name;
            return false;
        }
        out += it->second;
        if (!it->second.empty()) expanded.insert(it->second);
        i = end + 1;
    }
    text = std::move(out);
    return true;
}

}  // namespace

void expand_environment(nlohmann::json& value, const Environment& env, const std::string& where,
                        const std::string& pointer, std::set<std::string>& expanded,
                        ConfigErrors& errors) {
    if (value.is_string()) {
        std::string text = value.get<std::string>();
        if (text.find("${") == std::string::npos) return;
        std::string missing;
        if (expand_text(text, env, expanded, missing)) {
            value = std::move(text);
        } else {
            errors.push_back({where, pointer.empty() ? "/" : pointer,
                              "${" + missing + "} is not set in the environment"});
        }
    } else if (value.is_object()) {
        for (auto& [key, item] : value.items())
            expand_environment(item, env, where, pointer + "/" + escape_pointer_token(key),
                               expanded, errors);
    } else if (value.is_array()) {
        for (std::size_t i = 0; i < value.size(); ++i)
            expand_environment(value[i], env, where, pointer + "/" + std::to_string(i), expanded,
                               errors);
    }
}

void mask_expanded(nlohmann::json& value, const std::set<std::string>& expanded) {
    if (value.is_string()) {
        std::string text = value.get<std::string>();
        for (const std::string& secret : expanded) {
            if (secret.size() < 3) continue;
            for (auto at = text.find(secret); at != std::string::npos;
                 at = text.find(secret, at + 4))
                text.replace(at, secret.size(), "****");
        }
        value = std::move(text);
    } else if (value.is_structured()) {
        for (auto& item : value)
            mask_expanded(item, expanded);
    }
}

}  // namespace vitals
