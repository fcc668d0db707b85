#include "checks/domain/rdap.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>

#include "sidecar/text.hpp"

namespace vitals {

namespace {

using nlohmann::json;

// Text from the registry, made safe for JSON and the page, and kept short.
std::string clean(const std::string& text) {
    return clip_utf8(printable(text), 200);
}

std::string lower(std::string text) {
    for (char& c : text)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
long long days_from_civil(long long y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const long long era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<long long>(doe) - 719468;
}

// Reads `count` digits at `pos` into `out`.
bool digits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
    if (pos + count > text.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
        out = out * 10 + (text[i] - '0');
    }
    return true;
}

// The vCard "fn" (formatted name) of an entity: ["vcard", [["fn", {}, "text", "Name"], ...]].
std::string vcard_name(const json& entity) {
    const auto card = entity.find("vcardArray");
    if (card == entity.end() || !card->is_array() || card->size() < 2 || !(*card)[1].is_array())
        return "";
    for (const json& property : (*card)[1]) {
        if (property.is_array() && property.size() >= 4 && property[0] == "fn" &&
            property[3].is_string())
            return property[3].get<std::string>();
    }
    return "";
}

bool has_role(const json& entity, const char* role) {
    const auto roles = entity.find("roles");
    if (roles == entity.end() || !roles->is_array()) return false;
    return std::any_of(roles->begin(), roles->end(), [&](const json& r) {
        return r.is_string() && r.get<std::string>() == role;
    });
}

std::string registrar_of(const json& answer) {
    const auto entities = answer.find("entities");
    if (entities == answer.end() || !entities->is_array()) return "";
    for (const json& entity : *entities) {
        if (!entity.is_object() || !has_role(entity, "registrar")) continue;
        std::string name = vcard_name(entity);
        if (const auto ids = entity.find("publicIds"); ids != entity.end() && ids->is_array()) {
            for (const json& id : *ids) {
                const auto type = id.is_object() ? id.find("type") : id.end();
                if (type == id.end() || *type != "IANA Registrar ID" || !id.contains("identifier"))
                    continue;
                // An identifier is a string or a number (RFC 9083 section 4.8); anything
                // else is not shown.
                const json& value = id["identifier"];
                if (value.is_string() || value.is_number_integer()) {
                    const std::string text =
                        value.is_string() ? clip_utf8(value.get<std::string>(), 64) : value.dump();
                    name += (name.empty() ? "IANA " : " (IANA ") + text + (name.empty() ? "" : ")");
                    break;
                }
            }
        }
        if (name.empty() && entity.contains("handle") && entity["handle"].is_string())
            name = entity["handle"].get<std::string>();
        return clean(name);
    }
    return "";
}

std::string text_of(const json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

double number_of(const json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : 0;
}

std::vector<std::string> strings_of(const json& j, const char* key) {
    std::vector<std::string> out;
    const auto it = j.find(key);
    if (it == j.end() || !it->is_array()) return out;
    for (const json& item : *it)
        if (item.is_string()) out.push_back(item.get<std::string>());
    return out;
}

}  // namespace

std::optional<double> parse_rfc3339(std::string_view text) {
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!digits(text, 0, 4, year) || text.size() < 19 || text[4] != '-' ||
        !digits(text, 5, 2, month) || text[7] != '-' || !digits(text, 8, 2, day) ||
        (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !digits(text, 11, 2, hour) ||
        text[13] != ':' || !digits(text, 14, 2, minute) || text[16] != ':' ||
        !digits(text, 17, 2, second))
        return std::nullopt;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        return std::nullopt;
    std::size_t pos = 19;
    double fraction = 0;
    if (pos < text.size() && text[pos] == '.') {
        double scale = 0.1;
        ++pos;
        const std::size_t start = pos;
        while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
            fraction += (text[pos] - '0') * scale;
            scale /= 10;
            ++pos;
        }
        if (pos == start) return std::nullopt;
    }
    int offset_minutes = 0;
    if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
        ++pos;
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
        const int sign = text[pos] == '-' ? -1 : 1;
        int oh = 0, om = 0;
        // "+02:00", and "+0200" as some registries write it.
        if (digits(text, pos + 1, 2, oh) && pos + 3 < text.size() && text[pos + 3] == ':' &&
            digits(text, pos + 4, 2, om)) {
            pos += 6;
        } else if (digits(text, pos + 1, 2, oh) && digits(text, pos + 3, 2, om)) {
            pos += 5;
        } else {
            return std::nullopt;
        }
        if (oh > 23 || om > 59) return std::nullopt;
        offset_minutes = sign * (oh * 60 + om);
    } else if (pos != text.size()) {
        return std::nullopt;
    }
    if (pos != text.size()) return std::nullopt;
    const long long days =
        days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    return static_cast<double>(days * 86400 + hour * 3600 + minute * 60 + second -
                               offset_minutes * 60) +
           fraction;
}

std::string utc_date(double unix_seconds) {
    const auto t = static_cast<std::time_t>(std::floor(unix_seconds));
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char date[32];
    std::strftime(date, sizeof(date), "%Y-%m-%d", &tm);
    return date;
}

std::optional<std::string> domain_name_problem(std::string_view domain) {
    if (domain.empty()) return "must be a domain name";
    if (domain.size() > 253) return "is longer than 253 characters";
    std::size_t labels = 0;
    std::size_t start = 0;
    while (start <= domain.size()) {
        const std::size_t end = std::min(domain.find('.', start), domain.size());
        const std::string_view label = domain.substr(start, end - start);
        if (label.empty() || label.size() > 63)
            return "must be dot-separated labels of 1 to 63 characters (example.com)";
        for (const char c : label) {
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-')
                return "must be an ASCII name: letters, digits and hyphens (an IDN as its "
                       "xn-- A-label)";
        }
        if (label.front() == '-' || label.back() == '-')
            return "has a label that starts or ends with a hyphen";
        ++labels;
        start = end + 1;
    }
    if (labels < 2) return "must be a registered name with its suffix (example.com), not a TLD";
    return std::nullopt;
}

std::vector<std::string> rdap_bases(const json& bootstrap, const std::string& domain) {
    const auto services = bootstrap.find("services");
    if (!bootstrap.is_object() || services == bootstrap.end() || !services->is_array()) return {};
    const std::string name = lower(domain);
    std::size_t best_length = 0;
    std::vector<std::string> best;
    for (const json& service : *services) {
        if (!service.is_array() || service.size() < 2 || !service[0].is_array() ||
            !service[1].is_array())
            continue;
        for (const json& entry : service[0]) {
            if (!entry.is_string()) continue;
            const std::string suffix = lower(entry.get<std::string>());
            const bool covers = !suffix.empty() &&
                                (name == suffix || (name.size() > suffix.size() &&
                                                    name.compare(name.size() - suffix.size(),
                                                                 suffix.size(), suffix) == 0 &&
                                                    name[name.size() - suffix.size() - 1] == '.'));
            if (!covers || suffix.size() <= best_length) continue;
            best_length = suffix.size();
            best.clear();
            for (const json& url : service[1]) {
                if (!url.is_string()) continue;
                std::string base = url.get<std::string>();
                if (base.rfind("https://", 0) != 0 && base.rfind("http://", 0) != 0) continue;
                if (base.back() != '/') base += '/';
                best.push_back(std::move(base));
            }
            std::stable_sort(best.begin(), best.end(),
                             [](const std::string& a, const std::string& b) {
                                 return a.rfind("https://", 0) == 0 && b.rfind("https://", 0) != 0;
                             });
        }
    }
    return best;
}

std::optional<DomainRecord> parse_domain_record(const json& answer, std::string& error) {
    if (!answer.is_object()) {
        error = "the answer is not a JSON object";
        return std::nullopt;
    }
    const std::string object_class = text_of(answer, "objectClassName");
    if (object_class != "domain") {
        error = object_class.empty()
                    ? "the answer is not an RDAP domain object"
                    : "the answer is an RDAP " + clean(object_class) + " object, not a domain";
        return std::nullopt;
    }
    DomainRecord record;
    if (const auto events = answer.find("events"); events != answer.end() && events->is_array()) {
        for (const json& event : *events) {
            if (!event.is_object() || text_of(event, "eventAction") != "expiration") continue;
            record.expires = parse_rfc3339(text_of(event, "eventDate"));
            break;
        }
    }
    record.registrar = registrar_of(answer);
    if (const auto ns = answer.find("nameservers"); ns != answer.end() && ns->is_array()) {
        for (const json& server : *ns) {
            if (!server.is_object()) continue;
            std::string host = lower(text_of(server, "ldhName"));
            while (!host.empty() && host.back() == '.')
                host.pop_back();
            if (!host.empty()) record.nameservers.push_back(clean(host));
        }
    }
    std::sort(record.nameservers.begin(), record.nameservers.end());
    record.nameservers.erase(std::unique(record.nameservers.begin(), record.nameservers.end()),
                             record.nameservers.end());
    for (const std::string& status : strings_of(answer, "status"))
        record.status.push_back(clean(status));
    std::sort(record.status.begin(), record.status.end());
    return record;
}

json to_json(const DomainState& state) {
    json j = {{"domain", state.domain},
              {"rdap_base", state.rdap_base},
              {"base_at", state.base_at},
              {"fetched_at", state.fetched_at},
              {"rdap_url", state.rdap_url}};
    if (state.record) {
        const DomainRecord& r = *state.record;
        j["record"] = {
            {"registrar", r.registrar}, {"nameservers", r.nameservers}, {"status", r.status}};
        if (r.expires) j["record"]["expires"] = *r.expires;
    }
    json changes = json::array();
    for (const DomainChange& c : state.changes)
        changes.push_back(
            {{"what", c.what}, {"before", c.before}, {"after", c.after}, {"seen_at", c.seen_at}});
    j["changes"] = changes;
    return j;
}

DomainState domain_state_from_json(const json& j, const std::string& domain) {
    DomainState state;
    state.domain = domain;
    if (!j.is_object() || text_of(j, "domain") != domain) return state;
    state.rdap_base = text_of(j, "rdap_base");
    state.base_at = number_of(j, "base_at");
    state.fetched_at = number_of(j, "fetched_at");
    state.rdap_url = text_of(j, "rdap_url");
    if (const auto r = j.find("record"); r != j.end() && r->is_object()) {
        DomainRecord record;
        if (const auto e = r->find("expires"); e != r->end() && e->is_number())
            record.expires = e->get<double>();
        record.registrar = text_of(*r, "registrar");
        record.nameservers = strings_of(*r, "nameservers");
        record.status = strings_of(*r, "status");
        state.record = std::move(record);
    }
    if (const auto c = j.find("changes"); c != j.end() && c->is_array()) {
        for (const json& item : *c) {
            if (!item.is_object()) continue;
            state.changes.push_back({text_of(item, "what"), text_of(item, "before"),
                                     text_of(item, "after"), number_of(item, "seen_at")});
        }
    }
    return state;
}

}  // namespace vitals
