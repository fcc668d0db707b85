// libFuzzer target: the heartbeat state file holding any bytes at all (it is read at every
// start: a crash here is a crash loop), then a failure ping carrying the same bytes as its
// message and as a healthchecks.io ping's body, written back through the board's writer.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "sidecar/heartbeat/board.hpp"
#include "sidecar/text.hpp"

namespace {

std::string read_all(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void check_state(const vitals::HeartbeatState& s, std::int64_t now_ms) {
    if (vitals::valid_utf8(s.fail_message) != s.fail_message) std::abort();
    if (s.fail_message.size() > vitals::kHeartbeatMessageLimit) std::abort();
    if (s.last_duration_seconds && !std::isfinite(*s.last_duration_seconds)) std::abort();
    const std::int64_t latest =
        now_ms +
        std::chrono::duration_cast<std::chrono::milliseconds>(vitals::kHeartbeatClockSkew).count();
    for (const auto& stamp :
         {s.last_success_ms, s.last_start_ms, s.last_fail_ms, s.last_body_ms, s.last_log_ms})
        if (stamp && (*stamp <= 0 || *stamp > latest)) std::abort();
    if (vitals::valid_utf8(s.last_body) != s.last_body) std::abort();
    if (s.last_body.size() > vitals::kHeartbeatBodyLimit + vitals::kTruncatedMarker.size())
        std::abort();
    if (s.last_exit_status && (*s.last_exit_status < 0 || *s.last_exit_status > 255)) std::abort();
    if (s.history.size() > vitals::kHeartbeatHistory || s.runs.size() > vitals::kHeartbeatOpenRuns)
        std::abort();
    for (const vitals::PingRecord& p : s.history)
        if (p.at_ms <= 0 || p.at_ms > latest || vitals::valid_utf8(p.first_line) != p.first_line ||
            p.first_line.size() > vitals::kHeartbeatHistoryLine)
            std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string dir = "/tmp/vitals-heartbeat-fuzz-" + std::to_string(::getpid());
    static const bool made = (::mkdir(dir.c_str(), 0700), true);
    (void)made;
    const std::string file = dir + "/heartbeats.json";
    const std::string input(reinterpret_cast<const char*>(data), size);
    std::ofstream(file, std::ios::trunc) << input;
    const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
    vitals::HeartbeatBoard board;
    board.declare("nightly", "");
    board.open(file);  // must not throw, whatever the file holds
    check_state(board.state("nightly"), now_ms);
    board.record("nightly", vitals::Ping::fail, now_ms, input);
    check_state(board.state("nightly"), now_ms);
    // The same bytes as a healthchecks.io ping's body, with an exit status.
    vitals::PingReport report;
    report.kind = vitals::Ping::fail;
    report.body = input;
    report.message = input.substr(0, input.find('\n'));
    report.exit_status = static_cast<int>(size % 256);
    board.record("nightly", report, now_ms);
    check_state(board.state("nightly"), now_ms);
    if (!board.flush(std::chrono::seconds(5))) std::abort();
    // What the writer left is JSON the next start reads back.
    const auto written = nlohmann::json::parse(read_all(file), nullptr, false);
    if (!written.is_object() || !written.contains("nightly")) std::abort();
    return 0;
}
