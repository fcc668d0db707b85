// The libpq connection string for a postgres:// URL with a run's deadline pushed into every
// timeout libpq has (connect, TCP keepalives and user timeout), shared by the postgres and
// beat checks. Nothing in it is sent to the server as a session setting, so it works
// through pgBouncer in any pooling mode. The password is inside: never log the result.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "sidecar/deadline.hpp"
#include "sidecar/url.hpp"

namespace vitals {

struct PostgresConninfo {
    std::string text;                  // holds the password: never log it
    std::vector<std::string> dropped;  // URL options libpq does not know (Django's own)
};

PostgresConninfo postgres_conninfo(const Url& url, const Deadline& deadline);

// The keywords this libpq accepts in a connection string (PQconndefaults).
const std::set<std::string>& libpq_keywords();

// postgres, postgresql, pgsql, psql, postgis, timescale, timescalegis: the schemes Django
// projects write for PostgreSQL.
bool is_postgres_scheme(const std::string& scheme);
// cockroach, redshift: PostgreSQL's protocol without its statistics views (not checked).
bool is_postgres_wire_scheme(const std::string& scheme);

// The first line of a libpq/libpqxx error, trailing blanks trimmed (the rest is context).
std::string first_line(const std::string& text);

}  // namespace vitals
