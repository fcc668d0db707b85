#include "checks/fleet/judge.hpp"

#include <map>

namespace vitals::checks {

nlohmann::json summary_json(const PodSummary& p) {
    return {{"pod", p.pod},
            {"fleet", p.fleet},
            {"ready", p.ready},
            {"live", p.live},
            {"failing", p.failing},
            {"vitals_version", p.vitals_version},
            {"app_version", p.app_version},
            {"at_ms", p.at_ms}};
}

std::optional<PodSummary> summary_of(const nlohmann::json& j) {
    if (!j.is_object()) return std::nullopt;
    PodSummary p;
    try {
        p.pod = j.at("pod").get<std::string>();
        p.fleet = j.at("fleet").get<std::string>();
        p.ready = j.at("ready").get<bool>();
        p.live = j.at("live").get<bool>();
        for (const auto& name : j.at("failing")) {
            if (p.failing.size() >= 64) break;
            p.failing.push_back(name.get<std::string>());
        }
        p.vitals_version = j.at("vitals_version").get<std::string>();
        p.app_version = j.at("app_version").get<std::string>();
        p.at_ms = j.at("at_ms").get<std::int64_t>();
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
    if (p.pod.empty() || p.pod.size() > 253 || p.app_version.size() > 128) return std::nullopt;
    return p;
}

std::string version_skew(const std::vector<PodSummary>& pods) {
    // version -> fleet -> pods
    std::map<std::string, std::map<std::string, int>> seen;
    for (const PodSummary& p : pods)
        if (!p.app_version.empty()) ++seen[p.app_version][p.fleet];
    if (seen.size() < 2) return "";
    std::string out;
    for (const auto& [version, fleets] : seen) {
        out += out.empty() ? "" : "; ";
        out += version + " (";
        bool first = true;
        for (const auto& [fleet, count] : fleets) {
            out += (first ? "" : ", ") + fleet + ": " + std::to_string(count);
            first = false;
        }
        out += ")";
    }
    return out;
}

CheckResult judge_fleet(const std::vector<PodSummary>& pods, Millis skewed_for, Millis limit) {
    int unready = 0;
    for (const PodSummary& p : pods)
        unready += p.ready ? 0 : 1;
    Findings findings;
    const std::string skew = version_skew(pods);
    if (!skew.empty() && skewed_for > limit)
        findings.add(Status::warn,
                     "the app's versions have differed for " + format_duration(skewed_for) +
                         ", longer than a rollout takes (" + format_duration(limit) + "): " + skew +
                         ". Old workers may be consuming tasks the new code sends",
                     Cause::elsewhere);
    CheckResult result;
    findings.conclude(result, std::to_string(pods.size()) + " pod(s) in view, " +
                                  std::to_string(unready) + " not ready");
    result.observe("pods", static_cast<double>(pods.size()))
        .observe("pods_unready", unready)
        .observe("version_skew_seconds",
                 skew.empty() ? 0 : std::chrono::duration<double>(skewed_for).count());
    return result;
}

}  // namespace vitals::checks
