#include "sidecar/config/declarations.hpp"

#include "sidecar/config/config.hpp"

namespace vitals {

const ServerSettings& own_settings() {
    static const ServerSettings settings;
    return settings;
}

const CommonCheckSettings& policy_settings() {
    static const CommonCheckSettings settings;
    return settings;
}

const SettingsTable& server_settings() {
    static const SettingsTable table = own_settings().table();
    return table;
}

std::string settings_reference(const Registry& registry) {
    std::string out =
        "## vitals\n\nThe configuration file's top level; each also from its "
        "environment variable.\n\n" +
        settings_markdown(server_settings()) +
        "\n## Every check\n\nUnder `checks.<name>`, whatever its kind.\n\n" +
        settings_markdown(common_check_settings());
    for (const auto& [name, kind] : registry.kinds())
        out += "\n## " + name + "\n\n" + kind.summary + "\n\n" + settings_markdown(kind.settings);
    return out;
}

const SettingsTable& common_check_settings() {
    static const SettingsTable table = policy_settings().table();
    return table;
}

}  // namespace vitals
