// Which broker a pod's Celery uses, read from the environment as Celery and
// cookiecutter-django set it, and what is said when it cannot be found.
#include <catch2/catch.hpp>

#include "checks/celery/environment.hpp"

using namespace vitals;
using namespace vitals::checks;

TEST_CASE("celery broker from CELERY_BROKER_URL, else REDIS_URL in a Celery pod", "[celery][env]") {
    const auto direct = celery_broker_from_env(
        {{"CELERY_BROKER_URL", "amqp://rabbit//"}, {"REDIS_URL", "redis://r/0"}});
    REQUIRE(direct.url);
    CHECK(*direct.url == "amqp://rabbit//");
    CHECK(direct.notes.empty());
    // cookiecutter-django: CELERY_BROKER_URL = REDIS_URL in settings, Flower's user in env.
    const auto cookiecutter = celery_broker_from_env(
        {{"REDIS_URL", "redis://redis:6379/0"}, {"CELERY_FLOWER_USER", "flower"}});
    REQUIRE(cookiecutter.url);
    CHECK(*cookiecutter.url == "redis://redis:6379/0");
    REQUIRE(cookiecutter.notes.size() == 1);
    CHECK_FALSE(cookiecutter.notes[0].warning);
    // A worker pod says so with VITALS_CELERY_DESTINATION.
    CHECK(celery_broker_from_env(
              {{"REDIS_URL", "redis://r/0"}, {"VITALS_CELERY_DESTINATION", "celery@w-1"}})
              .url);
    // A web pod with a Redis cache and no sign of Celery: no broker (its workers check would
    // fail a pod that runs no Celery at all).
    const auto cache_only = celery_broker_from_env({{"REDIS_URL", "redis://r/0"}});
    CHECK_FALSE(cache_only.url);
    CHECK(cache_only.notes.empty());
}

TEST_CASE("a worker pod whose broker is not found is a warning, other names are said",
          "[celery][env]") {
    const auto lost = celery_broker_from_env({{"VITALS_CELERY_DESTINATION", "celery@w-1"}});
    CHECK_FALSE(lost.url);
    REQUIRE(lost.notes.size() == 1);
    CHECK(lost.notes[0].warning);
    CHECK(lost.notes[0].text.find("NOT checked") != std::string::npos);
    const auto heroku = celery_broker_from_env({{"CLOUDAMQP_URL", "amqps://u:secret@host/vh"}});
    CHECK_FALSE(heroku.url);
    REQUIRE(heroku.notes.size() == 1);
    CHECK(heroku.notes[0].text.find("found CLOUDAMQP_URL") != std::string::npos);
    CHECK(heroku.notes[0].text.find("secret") == std::string::npos);
}
