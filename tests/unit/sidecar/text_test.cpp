#include <catch2/catch.hpp>

#include "sidecar/text.hpp"

using namespace vitals;

TEST_CASE("valid_utf8 keeps well-formed text and replaces every malformed byte", "[text]") {
    CHECK(valid_utf8("plain ascii") == "plain ascii");
    CHECK(valid_utf8("Gr\xC3\xBC\xC3\x9F"
                     "e \xE2\x82\xAC \xF0\x9F\x98\x80") ==
          "Gr\xC3\xBC\xC3\x9F"
          "e \xE2\x82\xAC \xF0\x9F\x98\x80");
    const std::string fffd = "\xEF\xBF\xBD";
    CHECK(valid_utf8("\xFF") == fffd);
    CHECK(valid_utf8("a\xC0\xAF"
                     "b") == "a" + fffd + fffd + "b");                   // overlong '/'
    CHECK(valid_utf8("\xED\xA0\x80") == fffd + fffd + fffd);             // a surrogate
    CHECK(valid_utf8("\xF4\x90\x80\x80") == fffd + fffd + fffd + fffd);  // past U+10FFFF
    CHECK(valid_utf8("cut \xE2\x82") == "cut " + fffd + fffd);           // truncated sequence
}

TEST_CASE("clip_utf8 never cuts a character in two", "[text]") {
    CHECK(clip_utf8("abc", 10) == "abc");
    CHECK(clip_utf8("ab\xE2\x82\xAC", 4) == "ab");
    CHECK(clip_utf8("ab\xE2\x82\xAC", 5) == "ab\xE2\x82\xAC");
}

TEST_CASE("printable removes what a terminal would act on", "[text]") {
    CHECK(printable("ok\tfine") == "ok fine");
    CHECK(printable("\x1B]0;owned\x07\x1B[2J") == "?]0;owned??[2J");
    CHECK(printable("c1 \xC2\x9B"
                    "2J") == "c1 ?2J");
    CHECK(printable("caf\xC3\xA9 \xFF") == "caf\xC3\xA9 \xEF\xBF\xBD");
}
