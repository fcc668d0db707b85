#include "sidecar/heartbeat/shared.hpp"

#include "sidecar/clients/redis_client.hpp"
#include "sidecar/heartbeat/codec.hpp"
#include "sidecar/json.hpp"

namespace vitals {

namespace {

// Keeps the later value of each event in the shared hash: replicas write in any order.
// ARGV[13] and ARGV[14] are kHeartbeatHistory and kHeartbeatOpenRuns, so the hash keeps what
// a replica keeps.
const char* const kMergeScript = R"(
local key = KEYS[1]
local function later(field, value)
  if value == '' then return false end
  local old = redis.call('HGET', key, field)
  return (not old) or tonumber(value) > tonumber(old)
end
if later('success', ARGV[1]) then redis.call('HSET', key, 'success', ARGV[1], 'duration', ARGV[2]) end
if later('start', ARGV[3]) then redis.call('HSET', key, 'start', ARGV[3]) end
if later('fail', ARGV[4]) then redis.call('HSET', key, 'fail', ARGV[4], 'message', ARGV[5]) end
if later('body_at', ARGV[6]) then redis.call('HSET', key, 'body_at', ARGV[6], 'body', ARGV[7], 'exit', ARGV[8]) end
if later('log', ARGV[9]) then redis.call('HSET', key, 'log', ARGV[9]) end
-- The ping history: every replica's entries, once each, newest first, the last ARGV[13].
if ARGV[10] ~= '' then
  local all, seen = {}, {}
  local function add(text)
    local ok, list = pcall(cjson.decode, text)
    if not ok or type(list) ~= 'table' then return end
    for _, e in ipairs(list) do
      if type(e) == 'table' and type(e['at']) == 'number' and type(e['kind']) == 'string' then
        local id = string.format('%.0f', e['at']) .. ' ' .. e['kind'] .. ' ' .. tostring(e['rid'] or '')
        if not seen[id] then seen[id] = true; table.insert(all, e) end
      end
    end
  end
  add(ARGV[10])
  local old = redis.call('HGET', key, 'history')
  if old then add(old) end
  table.sort(all, function(a, b) return a['at'] > b['at'] end)
  while #all > tonumber(ARGV[13]) do table.remove(all) end
  redis.call('HSET', key, 'history', cjson.encode(all))
end
-- Open and finished run ids: the later time of each, a run closed by a finish at or after
-- its start, the newest ARGV[14] of each kept.
if ARGV[11] ~= '' then
  local function decode(text)
    if not text or text == '' then return {} end
    local ok, map = pcall(cjson.decode, text)
    if ok and type(map) == 'table' then return map end
    return {}
  end
  local function merge(into, text)
    for id, at in pairs(decode(text)) do
      if type(id) == 'string' and type(at) == 'number' and
         (type(into[id]) ~= 'number' or at > into[id]) then into[id] = at end
    end
  end
  local function newest(map)
    local list = {}
    for id, at in pairs(map) do
      if type(at) == 'number' then table.insert(list, {id, at}) end
    end
    table.sort(list, function(a, b) return a[2] > b[2] end)
    local out = {}
    for i = 1, math.min(#list, tonumber(ARGV[14])) do out[list[i][1]] = list[i][2] end
    return out
  end
  local runs, ended = {}, {}
  merge(runs, redis.call('HGET', key, 'runs'))
  merge(runs, ARGV[11])
  merge(ended, redis.call('HGET', key, 'ended'))
  merge(ended, ARGV[12])
  for id, at in pairs(runs) do
    if type(ended[id]) == 'number' and ended[id] >= at then runs[id] = nil end
  end
  redis.call('HSET', key, 'runs', cjson.encode(newest(runs)), 'ended', cjson.encode(newest(ended)))
end
return 1
)";

std::string text_of(const std::optional<std::int64_t>& v) {
    return v ? std::to_string(*v) : "";
}

std::optional<std::int64_t> number_of(const std::string& text) {
    if (text.empty()) return std::nullopt;
    try {
        return std::stoll(text);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::optional<double> real_of(const std::string& text) {
    if (text.empty()) return std::nullopt;
    try {
        return std::stod(text);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

}  // namespace

HeartbeatState shared_state_from_fields(std::map<std::string, std::string> fields) {
    HeartbeatState remote;
    remote.last_success_ms = number_of(fields["success"]);
    remote.last_start_ms = number_of(fields["start"]);
    remote.last_fail_ms = number_of(fields["fail"]);
    remote.fail_message = fields["message"];
    remote.last_duration_seconds = real_of(fields["duration"]);
    remote.last_body_ms = number_of(fields["body_at"]);
    remote.last_body = fields["body"];
    if (const auto exit = number_of(fields["exit"]))
        remote.last_exit_status = static_cast<int>(*exit);
    remote.last_log_ms = number_of(fields["log"]);
    remote.runs = runs_from_json(vitals::parse_json(fields["runs"]));
    remote.ended = runs_from_json(vitals::parse_json(fields["ended"]));
    if (!fields["history"].empty())
        remote.history = history_from_json(vitals::parse_json(fields["history"]));
    return remote;
}

SharedHeartbeats::SharedHeartbeats(Url redis, std::string prefix)
    : redis_(std::move(redis)), prefix_(std::move(prefix)) {}

SharedHeartbeats::~SharedHeartbeats() = default;

HeartbeatState SharedHeartbeats::read(const std::string& name, const Deadline& deadline) const {
    std::map<std::string, std::string> fields;
    redis_.exchange(deadline, [&](RedisClient& client) {
        fields = RedisClient::pairs(*client.command({"HGETALL", prefix_ + name}, "HGETALL"));
    });
    return shared_state_from_fields(std::move(fields));
}

void SharedHeartbeats::write(const std::map<std::string, HeartbeatState>& states,
                             const std::set<std::string>& names, const Deadline& deadline) const {
    redis_.exchange(deadline, [&](RedisClient& client) { write_on(client, states, names); });
}

void SharedHeartbeats::write_on(RedisClient& client,
                                const std::map<std::string, HeartbeatState>& states,
                                const std::set<std::string>& names) const {
    for (const std::string& name : names) {
        const auto it = states.find(name);
        if (it == states.end()) continue;
        const HeartbeatState& s = it->second;
        const bool runs = !s.runs.empty() || !s.ended.empty();
        client.command(
            {"EVAL", kMergeScript, "1", prefix_ + name, text_of(s.last_success_ms),
             s.last_duration_seconds ? std::to_string(*s.last_duration_seconds) : "",
             text_of(s.last_start_ms), text_of(s.last_fail_ms), s.fail_message,
             text_of(s.last_body_ms), s.last_body,
             s.last_exit_status ? std::to_string(*s.last_exit_status) : "", text_of(s.last_log_ms),
             s.history.empty() ? "" : history_json(s.history).dump(),
             runs ? nlohmann::json(s.runs).dump() : "", runs ? nlohmann::json(s.ended).dump() : "",
             std::to_string(kHeartbeatHistory), std::to_string(kHeartbeatOpenRuns)},
            "EVAL");
    }
}

}  // namespace vitals
