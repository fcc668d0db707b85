// libFuzzer target: connection URL parsing and redaction. Beyond not crashing: a parsed
// URL's printable forms never hold its password.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sidecar/url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const vitals::Expected<vitals::Url> parsed = vitals::parse_url(text);
    (void)vitals::redact_secrets(text);
    if (!parsed) return 0;
    const vitals::Url& url = *parsed;
    // The authority of the redacted form (from "://" to the path or query) must not hold the
    // password; the path and query may legitimately contain the same letters.
    const std::string redacted = url.redacted();
    const auto from = redacted.find("://");
    const auto to = redacted.find_first_of("/?#", from == std::string::npos ? 0 : from + 3);
    const std::string authority = redacted.substr(0, to);
    if (url.has_password && url.password.size() >= 3 &&
        url.password.find_first_not_of('*') != std::string::npos &&
        authority.find(":" + url.password + "@") != std::string::npos)
        std::abort();  // the password survived redaction
    (void)url.authority(1);
    return 0;
}
