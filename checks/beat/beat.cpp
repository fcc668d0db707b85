// beat: Celery Beat, with no code in the tasks. django-celery-beat keeps every periodic task,
// its schedule and its last_run_at in PostgreSQL; the check reads them over a new connection
// and fails when an enabled task's next run after its last one is more than grace past.
#include <pqxx/pqxx>

#include <map>

#include "checks/beat/schedule.hpp"
#include "checks/builtin.hpp"
#include "sidecar/clients/postgres.hpp"

namespace vitals::checks {

namespace {

// Enabled tasks with their schedules; times as Unix seconds, judged against the server's now.
const char* const kTasksQuery = R"(
SELECT t.name, extract(epoch FROM t.last_run_at), extract(epoch FROM t.date_changed),
       extract(epoch FROM t.start_time), extract(epoch FROM t.expires), t.one_off,
       t.total_run_count, i.every, i.period, c.minute, c.hour, c.day_of_week, c.day_of_month,
       c.month_of_year, c.timezone, t.solar_id IS NOT NULL, t.clocked_id IS NOT NULL,
       extract(epoch FROM now())
  FROM django_celery_beat_periodictask t
  LEFT JOIN django_celery_beat_intervalschedule i ON i.id = t.interval_id
  LEFT JOIN django_celery_beat_crontabschedule c ON c.id = t.crontab_id
 WHERE t.enabled
 ORDER BY t.name)";

std::optional<double> seconds_of_period(const std::string& period) {
    static const std::map<std::string, double> units = {
        {"days", 86'400}, {"hours", 3600}, {"minutes", 60}, {"seconds", 1}, {"microseconds", 1e-6}};
    const auto it = units.find(period);
    if (it == units.end()) return std::nullopt;
    return it->second;
}

template <typename Field>
std::optional<double> maybe(const Field& f) {
    if (f.is_null()) return std::nullopt;
    return f.template as<double>();
}

class BeatCheck final : public Check {
  public:
    BeatCheck(Url url, Millis grace, std::vector<std::string> ignore)
        : url_(std::move(url)), grace_(grace), ignore_(std::move(ignore)) {}

    CheckResult run(const Deadline& deadline) override {
        std::vector<PeriodicTask> tasks;
        double now = 0;
        try {
            pqxx::connection conn(postgres_conninfo(url_, deadline).text);
            pqxx::nontransaction tx(conn);
            for (const auto& row : tx.exec(kTasksQuery)) {
                now = row[17].as<double>();
                PeriodicTask t;
                t.name = row[0].as<std::string>();
                if (std::find(ignore_.begin(), ignore_.end(), t.name) != ignore_.end()) continue;
                t.last_run = maybe(row[1]);
                t.changed = row[2].is_null() ? 0 : row[2].as<double>();
                t.start_time = maybe(row[3]);
                t.expires = maybe(row[4]);
                t.one_off = row[5].as<bool>();
                t.run_count = row[6].as<long long>();
                if (!row[7].is_null()) {
                    const auto unit = seconds_of_period(row[8].as<std::string>());
                    if (unit)
                        t.every_seconds = row[7].as<double>() * *unit;
                    else
                        t.unjudged = "unknown interval period " + row[8].as<std::string>();
                } else if (!row[9].is_null()) {
                    std::string error;
                    t.crontab =
                        parse_celery_crontab(row[9].as<std::string>(), row[10].as<std::string>(),
                                             row[11].as<std::string>(), row[12].as<std::string>(),
                                             row[13].as<std::string>(), error);
                    if (t.crontab) {
                        const std::string zone =
                            row[14].is_null() ? "UTC" : row[14].as<std::string>();
                        auto z = zones_.find(zone);
                        if (z == zones_.end())
                            z = zones_.emplace(zone, TimeZone::load(zone, error)).first;
                        if (z->second)
                            t.zone = *z->second;
                        else
                            t.unjudged = error;
                    } else {
                        t.unjudged = "crontab: " + error;
                    }
                } else if (row[15].as<bool>()) {
                    t.unjudged = "solar schedules are not judged";
                } else if (row[16].as<bool>()) {
                    t.unjudged = "clocked (run once at a time) schedules are not judged";
                } else {
                    t.unjudged = "no schedule";
                }
                tasks.push_back(std::move(t));
            }
        } catch (const pqxx::undefined_table&) {
            return verdict(
                Status::fail,
                "django_celery_beat's tables are not in this database (is django_celery_beat in "
                "INSTALLED_APPS and migrated?)");
        } catch (const std::exception& e) {
            return verdict(Status::fail,
                           "cannot read django_celery_beat's tasks: " + first_line(e.what()));
        }
        if (tasks.empty()) {
            CheckResult r = verdict(Status::ok, "no enabled periodic tasks");
            r.observe("tasks_enabled", 0).observe("tasks_overdue", 0);
            return r;
        }
        return judge_beat(tasks, now, grace_);
    }

  private:
    Url url_;
    Millis grace_;
    std::vector<std::string> ignore_;
    std::map<std::string, std::optional<TimeZone>> zones_;  // loaded once per name
};

}  // namespace

// The beat kind's settings, each declared once: the table lists these members and the
// factory reads its values through them.
struct BeatSettings {
    Setting url = Setting::of("url", SettingType::url,
                              "postgres:// URL of the Django database; default DATABASE_URL");
    Setting grace =
        Setting::of("grace", SettingType::duration,
                    "how late a task may be; Beat writes last_run_at every 3 minutes by default")
            .defaults("5m")
            .range(0, 30LL * 86'400'000);
    Setting ignore =
        Setting::of("ignore", SettingType::string_list, "periodic task names not to judge")
            .defaults(nlohmann::json::array());
    SettingsTable table() const { return {url, grace, ignore}; }
};

CheckKind beat_kind() {
    static const BeatSettings s;
    CheckKind kind;
    kind.name = "beat";
    kind.summary =
        "Celery Beat via django-celery-beat's tables: fails when a periodic task is overdue";
    kind.about = About::shared;  // a shared dependency's state
    kind.default_groups = {};
    kind.settings = s.table();
    using O = ObservationSpec;
    using U = Unit;
    kind.observations = {
        O::gauge("tasks_enabled", U::none, "Enabled periodic tasks.").headline(),
        O::gauge("tasks_judged", U::none, "Enabled periodic tasks with a schedule vitals judges."),
        O::gauge("tasks_overdue", U::none, "Periodic tasks past their due time and grace.")
            .headline(),
        O::gauge("since_run_seconds", U::seconds, "Time since the task last ran.").by("task"),
        O::gauge("overdue_seconds", U::seconds, "How long past its due time the task is.")
            .by("task"),
    };
    kind.make = [](const CheckContext& ctx) -> std::unique_ptr<Check> {
        std::optional<Url> url;
        if (ctx.params.has(s.url)) {
            url = ctx.params.url(s.url);
        } else if (const auto it = ctx.env.find("DATABASE_URL"); it != ctx.env.end()) {
            if (auto parsed = parse_url(it->second)) url = *std::move(parsed);
        }
        if (!url) throw SettingError(s.url.key, "is required (or DATABASE_URL in the environment)");
        if (!is_postgres_scheme(url->scheme))
            throw SettingError(s.url.key, "must be a postgres:// or postgresql:// URL");
        return std::make_unique<BeatCheck>(std::move(*url), ctx.params.duration(s.grace),
                                           ctx.params.strings(s.ignore));
    };
    return kind;
}

}  // namespace vitals::checks
