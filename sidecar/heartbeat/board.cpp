#include "sidecar/heartbeat/board.hpp"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "sidecar/heartbeat/codec.hpp"
#include "sidecar/json.hpp"

namespace vitals {

namespace {

std::string lower(std::string text) {
    for (char& c : text)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

const Clock& system_clock() {
    static const SystemClock clock;
    return clock;
}

}  // namespace

HeartbeatBoard::HeartbeatBoard() : HeartbeatBoard(system_clock()) {}

std::int64_t HeartbeatBoard::now_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.wall().time_since_epoch())
        .count();
}

HeartbeatBoard::~HeartbeatBoard() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (writer_.joinable()) writer_.join();
}

void HeartbeatBoard::open(const std::string& state_file) {
    std::lock_guard<std::mutex> lock(mutex_);
    file_ = state_file;
    std::ifstream in(file_);
    if (!in) return;  // first start
    std::stringstream text;
    text << in.rdbuf();
    const auto j = vitals::parse_json(text.str());
    if (!j.is_object()) {
        // Set aside, never a crash loop: the next write replaces the file, and the bad one is
        // kept for a person to look at.
        const std::string aside = file_ + ".bad";
        std::rename(file_.c_str(), aside.c_str());
        persist_error_ = "state file " + file_ + " was not valid JSON; set aside as " + aside +
                         ", starting empty";
        return;
    }
    const std::int64_t now = now_ms();
    for (const auto& item : j.items()) {
        if (item.value().is_object())
            merge_heartbeat(states_[item.key()], sanitized(state_from_json(item.value()), now));
    }
}

void HeartbeatBoard::share(const Url& redis, const std::string& prefix) {
    std::lock_guard<std::mutex> lock(mutex_);
    shared_ = std::make_shared<const SharedHeartbeats>(redis, prefix);
}

bool HeartbeatBoard::shared() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return shared_ != nullptr;
}

std::optional<std::string> HeartbeatBoard::refresh(const std::string& name,
                                                   const Deadline& deadline) {
    std::shared_ptr<const SharedHeartbeats> shared;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!shared_) return std::nullopt;
        shared = shared_;
    }
    HeartbeatState remote;
    try {
        // What another replica (or anyone with access to Redis) wrote is checked here.
        remote = sanitized(shared->read(name, deadline), now_ms());
    } catch (const std::exception& e) {
        return std::string("shared state unreadable, judging by this replica's pings: ") + e.what();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    merge_heartbeat(states_[name], remote);
    return std::nullopt;
}

void HeartbeatBoard::on_ping(std::function<void(const std::string&)> listener) {
    std::lock_guard<std::mutex> lock(mutex_);
    listener_ = std::move(listener);
}

bool HeartbeatBoard::flush(std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!writer_.joinable()) return true;
    const std::uint64_t target = pings_;
    return wake_.wait_for(lock, limit, [&] { return written_ >= target; });
}
void HeartbeatBoard::declare(const std::string& name, const std::string& token,
                             const std::string& uuid) {
    std::lock_guard<std::mutex> lock(mutex_);
    tokens_[name] = token;
    if (!uuid.empty()) uuids_[lower(uuid)] = name;
    states_.try_emplace(name);
}

std::optional<std::string> HeartbeatBoard::resolve(const std::string& name_or_uuid) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (tokens_.count(name_or_uuid) != 0) return name_or_uuid;
    const auto it = uuids_.find(lower(name_or_uuid));
    if (it != uuids_.end()) return it->second;
    return std::nullopt;
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
    PingReport report;
    report.kind = ping;
    if (ping == Ping::fail) report.message = report.body = message;
    return record(name, report, now_ms);
}

bool HeartbeatBoard::record(const std::string& name, const PingReport& report,
                            std::int64_t now_ms) {
    // The body (up to the request limit) is made valid and cut before the lock, as before
    // the state moved out of the board: other pings and the checks wait for none of it.
    PingReport clipped = report;
    if (!clipped.body.empty()) clipped.body = clip_body(clipped.body);
    std::lock_guard<std::mutex> lock(mutex_);
    if (tokens_.count(name) == 0) return false;
    apply_ping(states_[name], clipped, now_ms);
    ++pings_;
    unwritten_.insert(name);
    unheard_.insert(name);
    start_writer_locked();
    wake_.notify_all();
    return true;
}

HeartbeatState HeartbeatBoard::state(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = states_.find(name);
    return it == states_.end() ? HeartbeatState{} : it->second;
}

std::optional<std::string> HeartbeatBoard::persist_error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return persist_error_;
}

void HeartbeatBoard::start_writer_locked() {
    if (!writer_.joinable()) writer_ = std::thread([this] { writer_loop(); });
}

void HeartbeatBoard::writer_loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        wake_.wait(lock, [&] { return stopping_ || written_ != pings_; });
        if (written_ == pings_) return;  // stopping with nothing left to write
        const std::uint64_t target = pings_;
        // First the listener (a re-run of the check), so a slow Redis cannot delay it.
        std::set<std::string> heard;
        heard.swap(unheard_);
        if (listener_)
            for (const std::string& name : heard)
                listener_(name);
        const auto states = states_;
        std::set<std::string> names;
        names.swap(unwritten_);
        const bool to_file = !file_.empty();
        const std::shared_ptr<const SharedHeartbeats> shared = shared_;
        lock.unlock();
        // Never the end of the writer (or of vitals): a file that cannot be written is
        // reported and given up on; Redis is tried again a second later.
        std::optional<std::string> file_error, shared_error;
        try {
            if (to_file) write_file(states);
        } catch (const std::exception& e) {
            file_error = std::string("heartbeat state not written: ") + e.what();
        }
        try {
            if (shared) shared->write(states, names, Deadline::in(std::chrono::seconds(2)));
        } catch (const std::exception& e) {
            shared_error = std::string("shared state not written (retrying): ") + e.what();
        }
        lock.lock();
        persist_error_ = file_error ? file_error : shared_error;
        if (!shared_error || stopping_) {
            written_ = target;  // written, or given up on at shutdown
            wake_.notify_all();
        } else {
            unwritten_.insert(names.begin(), names.end());
            wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
        }
    }
}

void HeartbeatBoard::write_file(const std::map<std::string, HeartbeatState>& states) const {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [name, s] : states)
        j[name] = to_json(s);
    const std::string tmp = file_ + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        out.flush();
        if (!out) throw std::runtime_error("cannot write " + tmp);
    }
    if (std::rename(tmp.c_str(), file_.c_str()) != 0)
        throw std::runtime_error("cannot replace " + file_);
}

}  // namespace vitals
