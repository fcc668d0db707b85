// The ping grammars of the one write path: vitals' own /heartbeat/<name>[/start|/fail] and
// healthchecks.io's /ping/<name or uuid>[/start|/fail|/log|/<exit status>][?rid=], read into
// a ping on the heartbeat board. Part of sidecar/http.
#pragma once

#include <pistache/http.h>

#include <string>
#include <string_view>

#include "sidecar/clock.hpp"
#include "sidecar/http/render.hpp"

namespace vitals {

class HeartbeatBoard;

// {"status": "ok"}: what an accepted ping (and /vitalz) answers.
extern const Response kPingOk;

// GET (for curl in a cron line) or POST /heartbeat/<name>[/start|/fail]; `heartbeats` null:
// 404 for every name.
const Response& heartbeat_ping(HeartbeatBoard* heartbeats, const Pistache::Http::Request& request,
                               std::string name, const Clock& clock);
// healthchecks.io's ping API, for the clients that already speak it; `rest` is the path
// after /ping/.
const Response& healthchecks_ping(HeartbeatBoard* heartbeats,
                                  const Pistache::Http::Request& request, std::string_view rest,
                                  const Clock& clock);

}  // namespace vitals
