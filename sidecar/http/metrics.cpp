// Prometheus text exposition format 0.0.4. Labels are check names and kinds (bounded by the
// configuration), fixed enumerations and, for shared checks, the pod that ran them; never
// error text.
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <tuple>

#include "sidecar/core/probes.hpp"
#include "sidecar/http/render.hpp"

namespace vitals {

namespace {

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.10g", v);
    return buf;
}

std::string label_value(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string metric_name_part(std::string_view v) {
    std::string out;
    for (char c : v)
        out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    return out;
}

class Exposition {
  public:
    void family(const std::string& name, const char* type, std::string_view help) {
        out_ += "# HELP " + name + " ";
        for (char c : help) {
            if (c == '\\') {
                out_ += "\\\\";
            } else if (c == '\n') {
                out_ += "\\n";
            } else {
                out_ += c;
            }
        }
        out_ += "\n# TYPE " + name + " " + type + "\n";
    }
    void sample(const std::string& name, const std::string& labels, double value) {
        out_ += name;
        if (!labels.empty()) out_ += "{" + labels + "}";
        out_ += " " + number(value) + "\n";
    }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
};

std::string check_label(const CheckState& c) {
    return "check=\"" + label_value(c.name) + "\"";
}

double unix_seconds(WallTime t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// The process_* families every Prometheus client exports, from /proc/self: what an operator
// compares against the container's limits. Read when the bodies are rendered, off the probe
// path. A value that cannot be read is left out.
void process_families(Exposition& m, WallTime started) {
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    std::ifstream stat("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the command name, which may hold spaces and ends at the last ')'.
    const auto close = text.rfind(')');
    if (close != std::string::npos && ticks > 0) {
        std::istringstream rest(text.substr(close + 2));
        std::vector<std::string> f((std::istream_iterator<std::string>(rest)),
                                   std::istream_iterator<std::string>());
        // f[0] is field 3 (state): utime is field 14, stime 15, vsize 23, rss 24.
        if (f.size() > 22) {
            m.family("process_cpu_seconds_total", "counter",
                     "User and system CPU time spent, in seconds.");
            m.sample("process_cpu_seconds_total", "",
                     (std::strtod(f[11].c_str(), nullptr) + std::strtod(f[12].c_str(), nullptr)) /
                         ticks);
            m.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
            m.sample("process_virtual_memory_bytes", "", std::strtod(f[20].c_str(), nullptr));
            m.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
            m.sample("process_resident_memory_bytes", "",
                     std::strtod(f[21].c_str(), nullptr) * page);
        }
    }
    std::size_t fds = 0;
    if (DIR* dir = ::opendir("/proc/self/fd")) {
        while (const dirent* e = ::readdir(dir))
            fds += e->d_name[0] != '.';
        ::closedir(dir);
        m.family("process_open_fds", "gauge", "Number of open file descriptors.");
        m.sample("process_open_fds", "", static_cast<double>(fds) - 1);  // the one reading
    }
    if (rlimit limit{};
        ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
        m.family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
        m.sample("process_max_fds", "", static_cast<double>(limit.rlim_cur));
    }
    m.family("process_start_time_seconds", "gauge",
             "Start time of the process since unix epoch in seconds.");
    m.sample("process_start_time_seconds", "", unix_seconds(started));
}

}  // namespace

std::string describe_metrics(const Registry& registry) {
    std::string out = "| metric | type | labels | meaning |\n| --- | --- | --- | --- |\n";
    for (const auto& [name, kind] : registry.kinds()) {
        for (const ObservationSpec& spec : kind.observations) {
            std::string labels = "`check`";
            if (!spec.label.empty()) labels += ", `" + spec.label + "`";
            if (spec.type == MetricType::histogram) labels += ", `le`";
            out += "| `vitals_";
            out += name;
            out += "_";
            out += spec.name;
            out += "` | ";
            out += metric_type_name(spec.type);
            out += " | ";
            out += labels;
            out += " | ";
            out += spec.help;
            out += " |\n";
        }
    }
    return out;
}

std::string render_metrics(const Snapshot& s) {
    Exposition m;
    m.family("vitals_build_info", "gauge", "vitals build; the value is always 1.");
    m.sample("vitals_build_info", "version=\"" VITALS_VERSION "\"", 1);
    m.family("vitals_start_time_seconds", "gauge",
             "When vitals started, seconds since the Unix epoch.");
    m.sample("vitals_start_time_seconds", "", unix_seconds(s.started));

    m.family("vitals_probe_up", "gauge", "1 when the probe passes, 0 when it fails.");
    const std::pair<const char*, Probe> probes[] = {
        {"live", Probe::live}, {"ready", Probe::ready}, {"startup", Probe::startup}};
    for (const auto& [name, probe] : probes) {
        m.sample("vitals_probe_up", std::string("probe=\"") + name + "\"",
                 evaluate(probe, s.checks).pass ? 1 : 0);
    }
    m.family("vitals_health_status", "gauge", "Overall /health status; 1 for the current one.");
    const Status overall = overall_health(s.checks);
    for (Status st : {Status::ok, Status::warn, Status::fail}) {
        m.sample("vitals_health_status", "status=\"" + std::string(status_name(st)) + "\"",
                 overall == st ? 1 : 0);
    }
    process_families(m, s.started);
    if (s.checks.empty()) return m.take();

    m.family("vitals_check_status", "gauge",
             "Status of each check after thresholds and staleness; 1 for the current one.");
    for (const CheckState& c : s.checks) {
        for (Status st : {Status::ok, Status::warn, Status::fail, Status::unknown}) {
            m.sample("vitals_check_status",
                     check_label(c) + ",kind=\"" + label_value(c.kind) + "\",status=\"" +
                         std::string(status_name(st)) + "\"",
                     c.effective() == st ? 1 : 0);
        }
    }
    m.family("vitals_check_root", "gauge",
             "1, labelled with the check whose failure explains this one's (root), itself when "
             "none does, and blocked=\"true\" when that is another: alerts carry both, and "
             "Alertmanager inhibits a blocked check's alert while its root's fires.");
    for (const CheckState& c : s.checks) {
        const std::string& root = c.blocked_by.empty() ? c.name : c.blocked_by;
        m.sample("vitals_check_root",
                 check_label(c) + ",root=\"" + label_value(root) + "\",blocked=\"" +
                     (c.blocked_by.empty() ? "false" : "true") + "\"",
                 1);
    }
    m.family("vitals_check_up", "gauge", "1 when the check is ok or warn, else 0.");
    for (const CheckState& c : s.checks)
        m.sample("vitals_check_up", check_label(c), check_passes(c) ? 1 : 0);
    m.family("vitals_check_stale", "gauge",
             "1 when the last result is older than two check periods.");
    for (const CheckState& c : s.checks)
        m.sample("vitals_check_stale", check_label(c), c.stale ? 1 : 0);
    m.family("vitals_check_duration_seconds", "gauge", "Duration of the last run.");
    for (const CheckState& c : s.checks) {
        if (c.has_run())
            m.sample("vitals_check_duration_seconds", check_label(c), c.last_duration_seconds);
    }
    m.family("vitals_check_runs_total", "counter", "Runs by outcome (ok, warn, fail, timeout).");
    for (const CheckState& c : s.checks) {
        for (std::size_t i = 0; i < kRunOutcomes; ++i) {
            m.sample("vitals_check_runs_total",
                     check_label(c) + ",result=\"" +
                         std::string(outcome_name(static_cast<RunOutcome>(i))) + "\"",
                     static_cast<double>(c.runs[i]));
        }
    }
    // A shared check's result is one pod's run, served by every pod (docs/fleets.md): which
    // pod's, and how old it was when served.
    if (std::any_of(s.checks.begin(), s.checks.end(),
                    [](const CheckState& c) { return c.policy.shared; })) {
        m.family("vitals_check_checked_by", "gauge",
                 "1, labelled with the pod whose run the last result of a shared check is.");
        m.family("vitals_check_result_age_seconds", "gauge",
                 "Age of a shared check's last result when served: 0 when this pod ran it.");
        for (const CheckState& c : s.checks) {
            if (!c.policy.shared || !c.has_run() || !c.last->details.is_object()) continue;
            const auto by = c.last->details.find("checked_by");
            const auto age = c.last->details.find("checked_age_seconds");
            if (by != c.last->details.end() && by->is_string())
                m.sample("vitals_check_checked_by",
                         check_label(c) + ",pod=\"" + label_value(by->get<std::string>()) + "\"",
                         1);
            if (age != c.last->details.end() && age->is_number())
                m.sample("vitals_check_result_age_seconds", check_label(c), age->get<double>());
        }
    }
    m.family("vitals_check_consecutive_failures", "gauge", "Failed runs in a row.");
    for (const CheckState& c : s.checks)
        m.sample("vitals_check_consecutive_failures", check_label(c), c.consecutive_failures);
    m.family("vitals_check_last_success_timestamp_seconds", "gauge",
             "When the check last ran ok or warn.");
    for (const CheckState& c : s.checks) {
        if (c.last_success)
            m.sample("vitals_check_last_success_timestamp_seconds", check_label(c),
                     unix_seconds(*c.last_success));
    }

    // Observations, as their kinds declare them: vitals_<kind>_<name>{check=...}, one family
    // per declaration. What a kind does not declare is not exported.
    struct Family {
        const ObservationSpec* spec = nullptr;
        std::vector<std::tuple<std::string, std::string, double>> samples;  // name, labels, value
    };
    std::map<std::string, Family> families;
    for (const CheckState& c : s.checks) {
        if (!c.has_run() || !c.observations) continue;
        const std::string prefix = "vitals_" + metric_name_part(c.kind) + "_";
        for (const Observation& o : c.last->observations) {
            const ObservationSpec* spec = find_spec(*c.observations, o);
            if (spec == nullptr) continue;
            std::string labels = check_label(c);
            if (!o.label.empty())
                labels += "," + o.label + "=\"" + label_value(o.label_value) + "\"";
            Family& family = families[prefix + spec->name];
            family.spec = spec;
            family.samples.emplace_back(prefix + o.name, std::move(labels), o.value);
        }
    }
    for (const auto& [name, family] : families) {
        m.family(name, metric_type_name(family.spec->type).data(), family.spec->help);
        for (const auto& [sample, labels, value] : family.samples)
            m.sample(sample, labels, value);
    }
    return m.take();
}

}  // namespace vitals
