#include "sidecar/cron.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

namespace vitals {

namespace {

constexpr std::int64_t kDay = 86'400;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

std::int64_t big_endian(const std::string& data, std::size_t at, std::size_t bytes) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < bytes; ++i)
        v = (v << 8) | static_cast<unsigned char>(data[at + i]);
    if (bytes == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    return static_cast<std::int64_t>(v);
}

bool valid_zone_name(const std::string& name) {
    if (name.empty() || name.size() > 100 || name.front() == '/' ||
        name.find("..") != std::string::npos)
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '/' || c == '_' ||
               c == '+' || c == '-';
    });
}

const std::vector<std::string> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                              "jul", "aug", "sep", "oct", "nov", "dec"};
const std::vector<std::string> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct FieldSpec {
    const char* what;
    int low, high;
    const std::vector<std::string>* names;  // names[i] is low + i
};

bool parse_value(const std::string& text, const FieldSpec& f, int& out) {
    if (text.empty()) return false;
    if (f.names != nullptr && std::isalpha(static_cast<unsigned char>(text[0])) != 0) {
        std::string lower;
        for (char c : text)
            lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower.size() > 3) lower.resize(3);  // "monday" as "mon"
        const auto it = std::find(f.names->begin(), f.names->end(), lower);
        if (it == f.names->end()) return false;
        out = f.low + static_cast<int>(it - f.names->begin());
        return true;
    }
    if (text.size() > 3 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    out = std::atoi(text.c_str());
    return out >= f.low && out <= f.high;
}

// Sets bits[v - offset] for each value the field names; false with `error` on bad syntax.
bool parse_field(const std::string& text, const FieldSpec& f, std::vector<bool>& bits,
                 std::string& error) {
    const auto bad = [&](const std::string& why) {
        error = std::string(f.what) + " field \"" + text + "\": " + why;
        return false;
    };
    if (text.empty()) return bad("is empty");
    std::istringstream items(text);
    std::string item;
    while (std::getline(items, item, ',')) {
        int step = 1;
        std::string range = item;
        if (const auto slash = item.find('/'); slash != std::string::npos) {
            range = item.substr(0, slash);
            const std::string s = item.substr(slash + 1);
            if (s.empty() || s.size() > 3 ||
                !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
                (step = std::atoi(s.c_str())) < 1)
                return bad("step \"" + s + "\" must be a positive number");
        }
        int first = f.low;
        int last = f.high;
        if (range != "*") {
            const auto dash = range.find('-');
            if (dash == std::string::npos) {
                if (!parse_value(range, f, first)) return bad("\"" + range + "\" is out of range");
                if (item.find('/') == std::string::npos) last = first;  // "5/15" runs to the end
            } else if (!parse_value(range.substr(0, dash), f, first) ||
                       !parse_value(range.substr(dash + 1), f, last)) {
                return bad("\"" + range + "\" is not a range within " + std::to_string(f.low) +
                           "-" + std::to_string(f.high));
            }
            if (first > last) return bad("\"" + range + "\" runs backwards");
        }
        for (int v = first; v <= last; v += step)
            bits[static_cast<std::size_t>(v)] = true;
    }
    return true;
}

template <std::size_t N>
void copy_bits(const std::vector<bool>& from, std::bitset<N>& to) {
    for (std::size_t i = 0; i < N && i < from.size(); ++i)
        to[i] = from[i];
}

std::optional<CronSchedule> parse_fields(const std::vector<std::string>& fields, bool either_day,
                                         std::string& error) {
    static const FieldSpec specs[5] = {{"minute", 0, 59, nullptr},
                                       {"hour", 0, 23, nullptr},
                                       {"day-of-month", 1, 31, nullptr},
                                       {"month", 1, 12, &kMonthNames},
                                       {"day-of-week", 0, 7, &kDayNames}};
    std::vector<bool> bits[5];
    for (int i = 0; i < 5; ++i) {
        bits[i].assign(64, false);
        if (!parse_field(fields[static_cast<std::size_t>(i)], specs[i], bits[i], error))
            return std::nullopt;
    }
    CronSchedule s;
    copy_bits(bits[0], s.minutes);
    copy_bits(bits[1], s.hours);
    copy_bits(bits[2], s.days);
    copy_bits(bits[3], s.months);
    if (bits[4][7]) bits[4][0] = true;  // 7 is Sunday too
    copy_bits(bits[4], s.weekdays);
    s.days_restricted = fields[2][0] != '*';
    s.weekdays_restricted = fields[4][0] != '*';
    s.either_day = either_day;
    return s;
}

}  // namespace

std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
    year -= month <= 2 ? 1 : 0;
    const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
    const auto year_of_era = static_cast<unsigned>(year - era * 400);
    const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    const unsigned day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146'097 + static_cast<std::int64_t>(day_of_era) - 719'468;
}

void civil_from_days(std::int64_t days, std::int64_t& year, unsigned& month, unsigned& day) {
    days += 719'468;
    const std::int64_t era = (days >= 0 ? days : days - 146'096) / 146'097;
    const auto day_of_era = static_cast<unsigned>(days - era * 146'097);
    const unsigned year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36'524 - day_of_era / 146'096) / 365;
    const unsigned day_of_year =
        day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    const unsigned mp = (5 * day_of_year + 2) / 153;
    day = day_of_year - (153 * mp + 2) / 5 + 1;
    month = mp < 10 ? mp + 3 : mp - 9;
    year = static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0);
}

TimeZone TimeZone::utc() {
    return TimeZone();
}

std::optional<TimeZone> TimeZone::load(const std::string& name, std::string& error) {
    if (name == "UTC" || name == "Etc/UTC") return utc();
    if (!valid_zone_name(name)) {
        error = "\"" + name + "\" is not a time zone name (like Europe/Berlin)";
        return std::nullopt;
    }
    const char* dir = std::getenv("TZDIR");
    const std::string path = std::string(dir != nullptr ? dir : "/usr/share/zoneinfo") + "/" + name;
    std::ifstream in(path, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto unknown = [&](const std::string& why) {
        error = "unknown time zone \"" + name + "\" (" + why + ")";
        return std::nullopt;
    };
    if (!in.good() && data.empty()) return unknown("no " + path + "; is tzdata installed?");
    if (data.size() < 44 || data.compare(0, 4, "TZif") != 0) return unknown("not a TZif file");

    // RFC 8536: a version 1 block with 32-bit times, then (version 2+) the same with 64-bit.
    std::size_t at = 0;
    std::size_t time_size = 4;
    for (int block = 0; block < 2; ++block) {
        if (data.size() < at + 44) return unknown("truncated");
        const auto count = [&](int i) {
            return static_cast<std::size_t>(
                big_endian(data, at + 20 + static_cast<std::size_t>(i) * 4, 4));
        };
        const std::size_t isut = count(0), isstd = count(1), leaps = count(2), times = count(3),
                          types = count(4), chars = count(5);
        const std::size_t body =
            times * time_size + times + types * 6 + chars + leaps * (time_size + 4) + isstd + isut;
        if (block == 0 && data[4] >= '2') {
            at += 44 + body;
            time_size = 8;
            continue;
        }
        if (types == 0 || data.size() < at + 44 + body) return unknown("truncated");
        const std::size_t t0 = at + 44;
        const std::size_t idx0 = t0 + times * time_size;
        const std::size_t type0 = idx0 + times;
        TimeZone zone;
        zone.name_ = name;
        zone.initial_offset_ = static_cast<std::int32_t>(big_endian(data, type0, 4));
        for (std::size_t i = 0; i < times; ++i) {
            const auto type = static_cast<unsigned char>(data[idx0 + i]);
            if (type >= types) return unknown("bad transition type");
            zone.transitions_.push_back(big_endian(data, t0 + i * time_size, time_size));
            zone.offsets_.push_back(
                static_cast<std::int32_t>(big_endian(data, type0 + type * 6, 4)));
        }
        return zone;
    }
    return unknown("unreadable");
}

std::int64_t TimeZone::offset_at(std::int64_t unix_seconds) const {
    const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), unix_seconds);
    if (it == transitions_.begin()) return initial_offset_;
    return offsets_[static_cast<std::size_t>(it - transitions_.begin() - 1)];
}

std::int64_t TimeZone::to_unix(std::int64_t local_seconds) const {
    // The offsets around this wall time (14 h covers every zone); a consistent candidate is a
    // wall time that exists, the earlier of two is the first pass through an overlap.
    const std::int64_t before = offset_at(local_seconds - 50'400);
    const std::int64_t after = offset_at(local_seconds + 50'400);
    std::optional<std::int64_t> best;
    for (const std::int64_t o : {before, after}) {
        const std::int64_t u = local_seconds - o;
        if (offset_at(u) == o && (!best || u < *best)) best = u;
    }
    if (best) return *best;
    // A gap: the wall time was skipped; run at the transition that skipped it.
    const std::int64_t lo = std::min(local_seconds - before, local_seconds - after);
    const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), lo);
    return it == transitions_.end() ? local_seconds - after : *it;
}

bool CronSchedule::runs_on(int month, int day, int weekday) const {
    if (!months[static_cast<std::size_t>(month)]) return false;
    const bool d = days[static_cast<std::size_t>(day)];
    const bool w = weekdays[static_cast<std::size_t>(weekday)];
    if (either_day && days_restricted && weekdays_restricted) return d || w;
    return d && w;
}

std::optional<CronSchedule> parse_cron(const std::string& text, std::string& error) {
    static const std::vector<std::pair<std::string, std::string>> macros = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"}};
    std::string expanded = text;
    for (const auto& [macro, fields] : macros) {
        if (text == macro) expanded = fields;
    }
    std::istringstream in(expanded);
    std::vector<std::string> fields{std::istream_iterator<std::string>(in),
                                    std::istream_iterator<std::string>()};
    if (fields.size() != 5) {
        error = "\"" + text +
                "\" must have five fields (minute hour day-of-month month day-of-week) or be "
                "@hourly, @daily, @weekly, @monthly or @yearly";
        return std::nullopt;
    }
    auto s = parse_fields(fields, true, error);
    if (s) s->text = text;
    return s;
}

std::optional<CronSchedule> parse_celery_crontab(const std::string& minute, const std::string& hour,
                                                 const std::string& day_of_week,
                                                 const std::string& day_of_month,
                                                 const std::string& month_of_year,
                                                 std::string& error) {
    std::vector<std::string> fields = {minute, hour, day_of_month, month_of_year, day_of_week};
    for (std::string& f : fields)
        f.erase(std::remove(f.begin(), f.end(), ' '), f.end());
    auto s = parse_fields(fields, false, error);
    if (s)
        s->text = fields[0] + " " + fields[1] + " " + fields[2] + " " + fields[3] + " " + fields[4];
    return s;
}

std::optional<std::int64_t> next_run(const CronSchedule& s, const TimeZone& zone,
                                     std::int64_t after_unix) {
    const std::int64_t local_after = after_unix + zone.offset_at(after_unix);
    const std::int64_t first_day = floor_div(local_after, kDay) - 1;  // a DST day may straddle
    for (std::int64_t d = first_day; d <= first_day + 5 * 366 + 2; ++d) {
        std::int64_t year = 0;
        unsigned month = 0, day = 0;
        civil_from_days(d, year, month, day);
        const int weekday = static_cast<int>(((d % 7) + 7 + 4) % 7);  // 1970-01-01: Thursday
        if (!s.runs_on(static_cast<int>(month), static_cast<int>(day), weekday)) continue;
        for (int h = 0; h < 24; ++h) {
            if (!s.hours[static_cast<std::size_t>(h)]) continue;
            for (int m = 0; m < 60; ++m) {
                if (!s.minutes[static_cast<std::size_t>(m)]) continue;
                const std::int64_t u = zone.to_unix(d * kDay + h * 3600 + m * 60);
                if (u > after_unix) return u;
            }
        }
    }
    return std::nullopt;
}

}  // namespace vitals
