// Which failing check explains another's failure: the workers check fails because the broker
// it pings through is down, `beat` because the database it reads is. Derived from what the
// checks connect to (the endpoints of their settings) and what they are about, or named in
// configuration; the root is said in /health (`blocked_by`), on the status page and in the
// metrics (vitals_check_root), so that one outage pages once.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace vitals {

struct CheckState;

// Where a check connects, from its settings: "host:port" (default ports by scheme) or a
// socket path, for every URL among them (every host of a host list or failover list) and for
// a host with a port. Lower-cased; never a password.
std::vector<std::string> endpoints_of(const nlohmann::json& settings);

// For each failing check a failing root explains: its name. A root is a failing check named
// as the check's `depends_on`, or one that shares an endpoint with it and is about something
// more basic (this pod's app before what it reaches, what it reaches before a shared state);
// followed to the end of the chain.
std::map<std::string, std::string> blocked_by(const std::vector<CheckState>& checks);

}  // namespace vitals
