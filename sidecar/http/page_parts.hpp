// The status page's parts (page.cpp assembles them): a check's numbers for people, its
// chart and run bars (page_numbers.cpp), the fleet panel, the pod line and the recent changes
// (page_sections.cpp). Internal to sidecar/http.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sidecar/core/identity.hpp"
#include "sidecar/core/snapshot.hpp"

namespace vitals::page {

std::string printed(const char* format, double v);
// A string member of a JSON object, or "" (details come from checks; never thrown on).
std::string text_in(const nlohmann::json& j, const char* key);
double unix_seconds(WallTime t);
// The sparkline's bar colours; the badges' colours are the style sheet's.
const char* status_color(Status s);
std::string status_badge(Status st, std::string_view text);

// "connections used 62 %": an observation as people read it.
std::string display(const ObservationSpec& spec, const Observation& o, double now);

// What a row shows of a result: the headline numbers, the rest, and the charted one's label.
struct Shown {
    std::string headline;  // "connections used 62 % · query 2.2 ms"
    std::vector<std::string> more;
};

// The headline numbers and the rest; a heartbeat's last pings for trusted callers.
Shown shown(const CheckState& c, double now, bool trusted);

constexpr int kChartWidth = 120, kChartHeight = 28;
// The trend as an SVG polyline's points, and its label ("connections used over the last
// hour: 12 % to 62 %"). The x axis spans the last hour, or the time since the first point when
// vitals has watched for less: a young chart is drawn across, not as a line at its right edge.
struct Chart {
    std::string points;
    std::string label;
};

Chart chart(const CheckState& c, WallTime published);
// One bar per recent run: height its duration relative to the slowest, colour its status.
std::string sparkline(const CheckState& c);

// The pods some check sees (a check whose details carry `pods`: the fleet view, trusted
// callers only), as table rows: pod, fleet, ready, live, app version, failing checks.
struct FleetRows {
    std::string from;  // the check that sees them
    std::vector<std::array<std::string, 6>> rows;
    std::string note;  // "app versions differ: ..."
};
std::optional<FleetRows> fleet_rows(const Snapshot& s, bool trusted);
std::string fleet_html(const Snapshot& s, bool trusted);
// "pod web-7d9f-x2 · namespace shop · node pool-1-a · app 1.4.2": who answered.
std::string identity_html(const PodIdentity& id);
// The last transitions, each with what every check showed at that moment.
std::string incidents_html(const Snapshot& s, bool trusted);

}  // namespace vitals::page
