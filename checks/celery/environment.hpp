// Which broker a pod's Celery uses, read from its environment as Celery and the common
// templates set it: CELERY_BROKER_URL; else REDIS_URL where cookiecutter-django's settings
// make it the broker (CELERY_BROKER_URL = REDIS_URL, and its pods carry CELERY_FLOWER_USER),
// or where vitals is told this is a Celery pod. Names it found and does not read (Heroku's
// CLOUDAMQP_URL, Celery 3's BROKER_URL) are said, not ignored.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sidecar/core/registry.hpp"

namespace vitals::checks {

struct CeleryBrokerFromEnv {
    std::optional<std::string> url;  // holds the password
    std::vector<EnvNote> notes;
};

CeleryBrokerFromEnv celery_broker_from_env(const Environment& env);

}  // namespace vitals::checks
