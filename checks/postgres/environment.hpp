// How the postgres kind reads a Django pod's environment: DATABASE_URL as dj-database-url
// and django-environ read it, else the variables cookiecutter-django's entrypoint builds it
// from (POSTGRES_HOST, ...), else libpq's own (PGHOST, ...), as Railway sets them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sidecar/core/registry.hpp"

namespace vitals::checks {

struct PostgresFromEnv {
    std::optional<std::string> url;  // the URL to check; holds the password
    std::vector<EnvNote> notes;      // how it was found, or why none was
};

PostgresFromEnv postgres_from_env(const Environment& env);

}  // namespace vitals::checks
