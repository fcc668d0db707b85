// Every built-in check kind, one entry each. checks/<kind>/ defines
// `CheckKind vitals::checks::<kind>_kind()`; adding a kind is that folder plus its entry here.
#pragma once

#include "sidecar/core/registry.hpp"

#define VITALS_CHECK_KINDS(X) \
    X(tcp)                    \
    X(dns)                    \
    X(http)                   \
    X(postgres)               \
    X(pgbouncer)              \
    X(redis)                  \
    X(memcached)              \
    X(gunicorn)               \
    X(static)                 \
    X(storage)                \
    X(celery_broker)          \
    X(celery_workers)         \
    X(celery_tasks)           \
    X(tls)                    \
    X(domain)                 \
    X(heartbeat)              \
    X(beat)                   \
    X(fleet)

namespace vitals::checks {
#define VITALS_DECLARE_KIND(kind) CheckKind kind##_kind();
VITALS_CHECK_KINDS(VITALS_DECLARE_KIND)
#undef VITALS_DECLARE_KIND
}  // namespace vitals::checks

namespace vitals {

// A registry holding every kind listed above; main() hands it to the configuration.
Registry builtin_registry();

}  // namespace vitals
