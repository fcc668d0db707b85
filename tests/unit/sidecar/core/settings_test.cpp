#include <catch2/catch.hpp>

#include "sidecar/core/settings.hpp"

using namespace vitals;

TEST_CASE("values are read through their declaration, as the type it declares", "[settings]") {
    const Setting window =
        Setting::of("window", SettingType::duration, "how long").defaults("1s").range(50, 60'000);
    const Setting workers =
        Setting::of("min_workers", SettingType::integer, "how many").defaults(1).range(1, 10);
    const Setting names = Setting::of("expected", SettingType::string_list, "who");
    ConfigErrors errors;
    const Params params = read_settings(nlohmann::json{{"window", "250ms"}},
                                        {window, workers, names}, "test", "", errors);
    REQUIRE(errors.empty());
    CHECK(params.duration(window) == Millis(250));
    CHECK(params.integer(workers) == 1);  // its default
    CHECK_FALSE(params.has(names));
    // Read as another type than declared: a programming error, said at once.
    CHECK_THROWS_WITH(params.integer(window),
                      Catch::Contains("window is declared duration but read as integer"));
    CHECK_THROWS_AS(params.str(workers), std::logic_error);
}
