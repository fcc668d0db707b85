// The libpq connection string for a postgres:// URL with a run's deadline pushed into every
// timeout libpq has (connect, statement, TCP keepalives and user timeout), shared by the
// postgres and beat checks. The password is inside: never log the result.
#pragma once

#include <string>

#include "sidecar/deadline.hpp"
#include "sidecar/url.hpp"

namespace vitals {

std::string postgres_conninfo(const Url& url, const Deadline& deadline);

// The first line of a libpq/libpqxx error, trailing blanks trimmed (the rest is context).
std::string first_line(const std::string& text);

}  // namespace vitals
