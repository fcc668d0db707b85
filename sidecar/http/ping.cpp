#include "sidecar/http/ping.hpp"

#include <algorithm>
#include <cctype>

#include "sidecar/heartbeat/board.hpp"
#include "sidecar/http/respond.hpp"

namespace vitals {

using namespace Pistache;

const Response kPingOk{200, "{\n  \"status\": \"ok\"\n}\n"};

namespace {

const Response kNoSuchHeartbeat{404, "{\n  \"error\": \"no such heartbeat\"\n}\n"};
const Response kBadToken{401, "{\n  \"error\": \"missing or wrong token\"\n}\n"};
const Response kTooLarge{413,
                         "{\n  \"error\": \"a failure message may hold at most 1024 bytes\"\n}\n"};

// healthchecks.io's answers, as its clients expect them (some check the body is "OK").
const Response kHcOk{200, "OK"};
const Response kHcNotFound{404, "not found"};
const Response kHcBadToken{401, "missing or wrong token"};
const Response kHcBadRunId{400, "invalid run ID"};

}  // namespace

// The only write path: GET (for curl in a cron line) or POST /heartbeat/<name>[/start|/fail].
const Response& heartbeat_ping(HeartbeatBoard* heartbeats, const Http::Request& request,
                               std::string name, const Clock& clock) {
    if (heartbeats == nullptr) return kNoSuchHeartbeat;
    Ping ping = Ping::success;
    // One suffix at most: /x/fail/start is no ping of x.
    for (const auto& [suffix, kind] :
         {std::pair<std::string_view, Ping>{"/start", Ping::start}, {"/fail", Ping::fail}}) {
        if (name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            name.resize(name.size() - suffix.size());
            ping = kind;
            break;
        }
    }
    HeartbeatBoard& board = *heartbeats;
    if (!board.known(name)) return kNoSuchHeartbeat;
    if (!board.authorized(name, request_token(request))) return kBadToken;
    if (ping == Ping::fail && request.body().size() > 1024) return kTooLarge;
    const auto now =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock.wall().time_since_epoch())
            .count();
    board.record(name, ping, now, ping == Ping::fail ? request.body() : "");
    return kPingOk;
}

// healthchecks.io's ping API, for the clients that already speak it:
// /ping/<name or uuid>[/start|/fail|/log|/<exit status 0-255>][?rid=<run id>].
const Response& healthchecks_ping(HeartbeatBoard* heartbeats, const Http::Request& request,
                                  std::string_view rest, const Clock& clock) {
    if (heartbeats == nullptr) return kHcNotFound;
    HeartbeatBoard& board = *heartbeats;
    const auto slash = rest.find('/');
    const std::string_view target = rest.substr(0, slash);
    const std::string_view action =
        slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    PingReport report;
    if (action.empty()) {
        report.kind = Ping::success;
    } else if (action == "start") {
        report.kind = Ping::start;
    } else if (action == "fail") {
        report.kind = Ping::fail;
    } else if (action == "log") {
        report.kind = Ping::log;
    } else if (action.size() <= 3 &&
               std::all_of(action.begin(), action.end(),
                           [](char c) { return c >= '0' && c <= '9'; }) &&
               std::stoi(std::string(action)) <= 255) {
        report.exit_status = std::stoi(std::string(action));
        report.kind = *report.exit_status == 0 ? Ping::success : Ping::fail;
    } else {
        return kHcNotFound;
    }
    const auto name = board.resolve(std::string(target));
    if (!name) return kHcNotFound;
    if (!board.authorized(*name, request_token(request))) return kHcBadToken;
    if (const auto rid = request.query().get("rid")) {
        const bool valid =
            !rid->empty() && rid->size() <= 64 && std::all_of(rid->begin(), rid->end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
            });
        if (!valid) return kHcBadRunId;
        report.run_id = *rid;
    }
    report.body = request.body();
    if (report.kind == Ping::fail) {
        // The check's message: the exit status, then the output's first line.
        const std::string first = report.body.substr(0, report.body.find('\n'));
        report.message = report.exit_status ? "exit status " + std::to_string(*report.exit_status) +
                                                  (first.empty() ? "" : ": " + first)
                                            : first;
    }
    const auto now =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock.wall().time_since_epoch())
            .count();
    board.record(*name, report, now);
    return kHcOk;
}

}  // namespace vitals
