#include "sidecar/heartbeats.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace vitals {

namespace {

std::string ago(std::int64_t ms) {
    const std::int64_t s = ms / 1000;
    if (s < 120) return std::to_string(s) + "s";
    if (s < 7200) return std::to_string(s / 60) + "m";
    return std::to_string(s / 3600) + "h" +
           (s % 3600 >= 60 ? std::to_string((s % 3600) / 60) + "m" : "");
}

nlohmann::json to_json(const HeartbeatState& s) {
    nlohmann::json j = nlohmann::json::object();
    if (s.last_success_ms) j["last_success_ms"] = *s.last_success_ms;
    if (s.last_start_ms) j["last_start_ms"] = *s.last_start_ms;
    if (s.last_fail_ms) j["last_fail_ms"] = *s.last_fail_ms;
    if (!s.fail_message.empty()) j["fail_message"] = s.fail_message;
    if (s.last_duration_seconds) j["last_duration_seconds"] = *s.last_duration_seconds;
    return j;
}

HeartbeatState from_json(const nlohmann::json& j) {
    HeartbeatState s;
    if (j.contains("last_success_ms")) s.last_success_ms = j["last_success_ms"].get<std::int64_t>();
    if (j.contains("last_start_ms")) s.last_start_ms = j["last_start_ms"].get<std::int64_t>();
    if (j.contains("last_fail_ms")) s.last_fail_ms = j["last_fail_ms"].get<std::int64_t>();
    s.fail_message = j.value("fail_message", "");
    if (j.contains("last_duration_seconds"))
        s.last_duration_seconds = j["last_duration_seconds"].get<double>();
    return s;
}

}  // namespace

CheckResult judge_heartbeat(const HeartbeatState& s, const HeartbeatRule& rule, std::int64_t now_ms,
                            std::int64_t watching_since_ms) {
    const std::int64_t allowance = (rule.period + rule.grace).count();
    CheckResult r;
    if (s.last_success_ms) {
        r.observe("last_success_timestamp_seconds", static_cast<double>(*s.last_success_ms) / 1000)
            .observe("seconds_since_success",
                     static_cast<double>(now_ms - *s.last_success_ms) / 1000);
    }
    if (s.last_duration_seconds) r.observe("last_duration_seconds", *s.last_duration_seconds);
    const std::int64_t due =
        (s.last_success_ms ? *s.last_success_ms : watching_since_ms) + allowance;
    const std::int64_t overdue = std::max<std::int64_t>(0, now_ms - due);
    r.observe("overdue_seconds", static_cast<double>(overdue) / 1000);

    const bool failed_last =
        s.last_fail_ms && (!s.last_success_ms || *s.last_fail_ms >= *s.last_success_ms);
    if (failed_last) {
        r.status = Status::fail;
        r.message = "the task reported a failure " + ago(now_ms - *s.last_fail_ms) + " ago" +
                    (s.fail_message.empty() ? "" : ": " + s.fail_message);
    } else if (overdue > 0) {
        r.status = Status::fail;
        r.message = s.last_success_ms
                        ? "last success " + ago(now_ms - *s.last_success_ms) + " ago, overdue by " +
                              ago(overdue)
                        : "no ping since vitals began watching " + ago(now_ms - watching_since_ms) +
                              " ago, overdue by " + ago(overdue);
    } else if (rule.expected_duration && s.last_start_ms &&
               (!s.last_success_ms || *s.last_start_ms > *s.last_success_ms) &&
               now_ms - *s.last_start_ms > rule.expected_duration->count()) {
        r.status = Status::warn;
        r.message = "running for " + ago(now_ms - *s.last_start_ms) +
                    ", longer than the expected " + format_duration(*rule.expected_duration);
    } else {
        r.status = Status::ok;
        r.message = s.last_success_ms
                        ? "last success " + ago(now_ms - *s.last_success_ms) + " ago"
                        : "waiting for the first ping (due within " + ago(due - now_ms) + ")";
    }
    return r;
}

void HeartbeatBoard::open(const std::string& state_file) {
    std::lock_guard<std::mutex> lock(mutex_);
    file_ = state_file;
    std::ifstream in(file_);
    if (!in) return;  // first start
    std::stringstream text;
    text << in.rdbuf();
    const auto j = nlohmann::json::parse(text.str(), nullptr, false);
    if (!j.is_object()) {
        persist_error_ = "state file " + file_ + " is not valid JSON; starting empty";
        return;
    }
    for (const auto& item : j.items()) {
        if (item.value().is_object()) states_[item.key()] = from_json(item.value());
    }
}

void HeartbeatBoard::declare(const std::string& name, const std::string& token) {
    std::lock_guard<std::mutex> lock(mutex_);
    tokens_[name] = token;
    states_.try_emplace(name);
}

bool HeartbeatBoard::known(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return tokens_.count(name) != 0;
}

bool HeartbeatBoard::authorized(const std::string& name, const std::string& presented) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = tokens_.find(name);
    if (it == tokens_.end()) return false;
    const std::string& want = it->second;
    if (want.empty()) return true;
    // Constant time in the token's content: every byte is compared whatever differs first.
    unsigned char diff = want.size() == presented.size() ? 0 : 1;
    for (std::size_t i = 0; i < want.size(); ++i) {
        diff |= static_cast<unsigned char>(want[i] ^ (i < presented.size() ? presented[i] : 0));
    }
    return diff == 0;
}

bool HeartbeatBoard::record(const std::string& name, Ping ping, std::int64_t now_ms,
                            const std::string& message) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (tokens_.count(name) == 0) return false;
    HeartbeatState& s = states_[name];
    switch (ping) {
        case Ping::success:
            if (s.last_start_ms && (!s.last_success_ms || *s.last_start_ms > *s.last_success_ms)) {
                s.last_duration_seconds = static_cast<double>(now_ms - *s.last_start_ms) / 1000;
            }
            s.last_success_ms = now_ms;
            break;
        case Ping::start:
            s.last_start_ms = now_ms;
            break;
        case Ping::fail:
            s.last_fail_ms = now_ms;
            s.fail_message = message;
            break;
    }
    persist_locked();
    return true;
}

HeartbeatState HeartbeatBoard::state(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = states_.find(name);
    return it == states_.end() ? HeartbeatState{} : it->second;
}

std::string HeartbeatBoard::persist_error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return persist_error_;
}

void HeartbeatBoard::persist_locked() {
    if (file_.empty()) return;
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [name, s] : states_)
        j[name] = to_json(s);
    const std::string tmp = file_ + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << j.dump() << "\n";
        out.flush();
        if (!out) {
            persist_error_ = "cannot write " + tmp;
            return;
        }
    }
    if (std::rename(tmp.c_str(), file_.c_str()) != 0) {
        persist_error_ = "cannot replace " + file_;
        return;
    }
    persist_error_.clear();
}

}  // namespace vitals
