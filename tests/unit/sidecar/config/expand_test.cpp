// ${VAR} in the configuration file: taken from the environment, an unset one named, and
// every value put in masked where the configuration is printed.
#include <catch2/catch.hpp>

#include "checks/builtin.hpp"
#include "sidecar/config/config.hpp"
#include "sidecar/config/expand.hpp"
#include "support/temp_file.hpp"

using namespace vitals;
using namespace vitals::testing;
using nlohmann::json;

TEST_CASE("${VAR} takes the environment's value, and $${ stays literal", "[config][expand]") {
    json value = {{"url", "postgres://app:${DB_PASSWORD}@db/shop"},
                  {"list", {"${HOST}", "plain", "$${NOT_A_VAR}", "${ not a ref", "$HOME"}}};
    std::set<std::string> expanded;
    ConfigErrors errors;
    expand_environment(value, {{"DB_PASSWORD", "s3cret!"}, {"HOST", "cache"}}, "f.json", "",
                       expanded, errors);
    CHECK(errors.empty());
    CHECK(value["url"] == "postgres://app:s3cret!@db/shop");
    CHECK(value["list"] ==
          json::array({"cache", "plain", "${NOT_A_VAR}", "${ not a ref", "$HOME"}));
    CHECK(expanded == std::set<std::string>{"s3cret!", "cache"});
}

TEST_CASE("an unset ${VAR} is a configuration error naming it and where", "[config][expand]") {
    TempFile file(
        R"({"checks": {"db": {"kind": "postgres", "url": "postgres://app:${DB_PASSWORD}@db/shop"},
                                  "cache": {"kind": "redis", "url": "${CACHE}"}}})");
    const ConfigLoad load = load_config({}, file.path(), builtin_registry());
    REQUIRE_FALSE(load.config);
    std::string all;
    for (const ConfigError& e : load.errors)
        all += e.text() + "\n";
    INFO(all);
    CHECK(all.find("/checks/db/url: ${DB_PASSWORD} is not set in the environment") !=
          std::string::npos);
    CHECK(all.find("/checks/cache/url: ${CACHE} is not set in the environment") !=
          std::string::npos);
}

TEST_CASE("what ${VAR} put in is masked in --check-config", "[config][expand]") {
    TempFile file(R"({"checks": {"site": {"kind": "http", "url": "https://shop.example/",
                                          "host": "${SITE_KEY}.shop.example"}}})");
    const ConfigLoad load =
        load_config({{"SITE_KEY", "tok-8f2e91"}}, file.path(), builtin_registry());
    REQUIRE(load.config);
    const json shown = load.config->describe();
    CHECK(shown.dump().find("tok-8f2e91") == std::string::npos);
    CHECK(shown["checks"]["site"]["host"] == "****.shop.example");
}
