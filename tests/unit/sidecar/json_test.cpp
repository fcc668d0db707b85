#include <catch2/catch.hpp>

#include <string>

#include "sidecar/json.hpp"

using namespace vitals;

TEST_CASE("json_depth counts nesting outside strings, and parse_json refuses what is too deep",
          "[json]") {
    CHECK(json_depth("1") == 0);
    CHECK(json_depth("[]") == 1);
    CHECK(json_depth(R"({"a": [1, {"b": []}]})") == 4);
    CHECK(json_depth(R"(["[[[[", "\"[[", {}])") == 2);  // brackets in strings, escapes
    CHECK(json_depth(R"("\\" [[)") == 2);               // an escaped backslash ends the escape
    // Stops counting past the limit: linear in what it reads, never more.
    CHECK(json_depth(std::string(1'000'000, '['), 10) == 11);

    CHECK(parse_json(R"({"a": [1, 2]})")["a"][1] == 2);
    CHECK(parse_json("not json").is_discarded());
    const std::string deep = std::string(400'000, '[') + std::string(400'000, ']');
    CHECK(parse_json(deep).is_discarded());
    const std::string at_limit = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
    CHECK_FALSE(parse_json(at_limit).is_discarded());
    CHECK(parse_json("[[]]", 1).is_discarded());
}
