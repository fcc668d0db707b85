// A shared check's result as one pod publishes it for the rest of its fleet, and as the
// others read it back: input from outside like any other, so decoding validates everything
// (size, JSON, status, stamps) and refuses what it cannot vouch for.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sidecar/core/check.hpp"
#include "sidecar/duration.hpp"
#include "sidecar/expected.hpp"

namespace vitals {

struct Published {
    CheckResult result;
    std::string pod;         // which pod ran it
    std::int64_t at_ms = 0;  // when it finished, Unix milliseconds
};

// The most a published result may weigh; a larger one is refused, never parsed.
constexpr std::size_t kMaxPublishedBytes = std::size_t{256} * 1024;

std::string encode_published(const CheckResult& result, const std::string& pod, std::int64_t at_ms);

// Refuses text over kMaxPublishedBytes, malformed JSON, an unknown status, a stamp more than
// 5 s ahead of `now_ms` (a clock too far off to trust) or older than `max_age`.
Expected<Published> decode_published(std::string_view text, std::int64_t now_ms, Millis max_age);

}  // namespace vitals
