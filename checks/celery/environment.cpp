#include "checks/celery/environment.hpp"

namespace vitals::checks {

namespace {

std::string value_of(const Environment& env, const char* name) {
    const auto it = env.find(name);
    return it == env.end() ? "" : it->second;
}

}  // namespace

CeleryBrokerFromEnv celery_broker_from_env(const Environment& env) {
    CeleryBrokerFromEnv out;
    if (const std::string url = value_of(env, "CELERY_BROKER_URL"); !url.empty()) {
        out.url = url;
        return out;
    }
    const bool worker_pod = !value_of(env, "VITALS_CELERY_DESTINATION").empty();
    const bool celery_pod = worker_pod || !value_of(env, "VITALS_CELERY_EVENTS").empty() ||
                            !value_of(env, "CELERY_FLOWER_USER").empty();
    if (const std::string redis = value_of(env, "REDIS_URL"); !redis.empty() && celery_pod) {
        out.url = redis;
        out.notes.push_back(
            {"no CELERY_BROKER_URL: the broker is REDIS_URL, as in cookiecutter-django's settings "
             "(CELERY_BROKER_URL = REDIS_URL); set CELERY_BROKER_URL if the app's is another"});
        return out;
    }
    for (const char* other : {"CLOUDAMQP_URL", "BROKER_URL", "RABBITMQ_URL", "AMQP_URL"}) {
        if (!value_of(env, other).empty())
            out.notes.push_back({std::string("found ") + other +
                                     "; Celery reads CELERY_BROKER_URL: set it to the same value "
                                     "(CELERY_BROKER_URL=$(" +
                                     other + ")) for vitals to check the broker and workers",
                                 worker_pod});
    }
    if (worker_pod && out.notes.empty())
        out.notes.push_back(
            {"VITALS_CELERY_DESTINATION is set but no broker was found "
             "(CELERY_BROKER_URL, or REDIS_URL in a cookiecutter-django pod): "
             "this worker is NOT checked",
             true});
    return out;
}

}  // namespace vitals::checks
