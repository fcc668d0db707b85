// Text that came from outside, made safe where it enters: valid UTF-8 for JSON and the page,
// no control characters for a terminal.
#pragma once

#include <string>
#include <string_view>

namespace vitals {

// `text` with every byte that is not part of a well-formed UTF-8 sequence (overlong forms,
// surrogates and code points past U+10FFFF included) replaced by U+FFFD.
std::string valid_utf8(std::string_view text);

// At most `max_bytes` of `text`, cut at a character boundary.
std::string clip_utf8(std::string_view text, std::size_t max_bytes);

// `text` as valid UTF-8 with control characters (C0, DEL, C1; escape sequences among them)
// replaced by '?', except that tabs become spaces: safe to print to a terminal.
std::string printable(std::string_view text);

}  // namespace vitals
