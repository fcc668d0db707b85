#include "sidecar/core/registry.hpp"

#include <algorithm>

namespace vitals {

const Clock& Services::clock_or_system() const {
    static const SystemClock system;
    return clock != nullptr ? *clock : system;
}

void CheckContext::refuse(const std::string& key, const std::string& message) const {
    if (problems == nullptr) throw SettingError(key, message);
    problems->add(key, message);
}

std::string CheckContext::pod_name() const {
    const auto host = env.find("HOSTNAME");
    return host != env.end() && !host->second.empty() ? host->second : "vitals";
}

std::optional<std::string> probe_group_problem(About about,
                                               const std::vector<std::string>& default_groups) {
    const auto has = [&](const char* group) {
        return std::find(default_groups.begin(), default_groups.end(), group) !=
               default_groups.end();
    };
    if (has("live") && about != About::app)
        return "joins live by default, but a restart of the container cannot fix what it "
               "watches (only a kind about the app itself may)";
    if (has("ready") && about == About::shared)
        return "joins ready by default, but watches a shared dependency's state: one fact would "
               "take every pod out of the Service at once";
    return std::nullopt;
}

void Registry::add(CheckKind kind) {
    const std::string name = kind.name;
    if (const auto problem = probe_group_problem(kind.about, kind.default_groups))
        throw std::logic_error("check kind " + name + " " + *problem);
    if (const auto problems = naming_problems(name, kind.observations); !problems.empty()) {
        std::string text = "check kind " + name + " declares observations against the rules:";
        for (const auto& p : problems)
            text += "\n  " + p;
        throw std::logic_error(text);
    }
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

}  // namespace vitals
