#include "checks/postgres/environment.hpp"

#include "sidecar/clients/postgres.hpp"
#include "sidecar/url.hpp"

namespace vitals::checks {

namespace {

std::string value_of(const Environment& env, const char* name) {
    const auto it = env.find(name);
    return it == env.end() ? "" : it->second;
}

// postgres://user:password@host:port/db from five variables, each percent-encoded (the
// entrypoint that does this in cookiecutter-django does not encode, so a password with an
// '@' breaks there and not here). Empty parts are left out for libpq's defaults.
std::string url_from_parts(const std::string& host, const std::string& port, const std::string& db,
                           const std::string& user, const std::string& password) {
    std::string url = "postgres://";
    if (!user.empty() || !password.empty()) {
        url += percent_encode(user);
        if (!password.empty()) url += ":" + percent_encode(password);
        url += "@";
    }
    // A socket directory is a host that is a path: percent-encoded, as libpq's URLs write it.
    url += host.find(':') != std::string::npos ? "[" + host + "]"
           : host.rfind('/', 0) == 0           ? percent_encode(host)
                                               : host;
    if (!port.empty()) url += ":" + port;
    if (!db.empty()) url += "/" + percent_encode(db);
    return url;
}

}  // namespace

PostgresFromEnv postgres_from_env(const Environment& env) {
    PostgresFromEnv out;
    const std::string database_url = value_of(env, "DATABASE_URL");
    if (!database_url.empty()) {
        const auto parsed = parse_url(database_url);
        if (parsed && is_postgres_wire_scheme(parsed->scheme)) {
            out.notes.push_back(
                {"DATABASE_URL is a " + parsed->scheme +
                 ":// URL: PostgreSQL's protocol without its statistics views, not checked (add "
                 "a tcp check on its host and port)"});
            return out;
        }
        if (parsed && !is_postgres_scheme(parsed->scheme)) return out;  // sqlite://, mysql://
        out.url = database_url;
        return out;
    }
    const std::string host = value_of(env, "POSTGRES_HOST");
    if (!host.empty()) {
        out.url =
            url_from_parts(host, value_of(env, "POSTGRES_PORT"), value_of(env, "POSTGRES_DB"),
                           value_of(env, "POSTGRES_USER"), value_of(env, "POSTGRES_PASSWORD"));
        out.notes.push_back(
            {"no DATABASE_URL: read POSTGRES_HOST, POSTGRES_PORT, POSTGRES_DB, POSTGRES_USER and "
             "POSTGRES_PASSWORD, which cookiecutter-django's entrypoint builds it from"});
        return out;
    }
    const std::string pghost = value_of(env, "PGHOST");
    if (!pghost.empty() || !value_of(env, "PGDATABASE").empty()) {
        // libpq reads these itself, and the app's driver with it; vitals writes them into the
        // URL so that --check-config and /health say what is checked.
        out.url = url_from_parts(pghost, value_of(env, "PGPORT"), value_of(env, "PGDATABASE"),
                                 value_of(env, "PGUSER"), value_of(env, "PGPASSWORD"));
        out.notes.push_back(
            {"no DATABASE_URL: read libpq's PGHOST, PGPORT, PGDATABASE, PGUSER "
             "and PGPASSWORD"});
    }
    return out;
}

}  // namespace vitals::checks
