// What `vitals status` and `vitals wait` share: asking a vitals (with the detail token), and
// writing what came back for a terminal (ages as kubectl writes them, colour by status,
// nothing unprintable).
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sidecar/deadline.hpp"
#include "sidecar/expected.hpp"

namespace vitals::cli {

// A usage text with its one %s replaced by the default URL.
void print_usage(const char* format, const std::string& url, std::ostream& out);

struct Fetched {
    int status = 0;
    nlohmann::json body;  // null unless the body is JSON
};

// GET base + path, with the detail token when there is one; a failure when vitals did not
// answer by `deadline`.
Expected<Fetched> fetch(const std::string& base, const std::string& path, const std::string& token,
                        const Deadline& deadline = Deadline::in(std::chrono::seconds(3)));

// A string member, printable (everything printed came over the network: a message could
// carry escape sequences that retitle or clear an operator's terminal), or `otherwise`.
std::string text_of(const nlohmann::json& j, const char* key, const std::string& otherwise = "");

// kubectl's AGE: "45s", "3m12s", "17m", "5h3m", "2d4h", "40d".
std::string age_text(double seconds);
// The age of the RFC 3339 stamp at `key` ("-" when there is none).
std::string age_of(const nlohmann::json& check, const char* key);
// The last run's duration, "1.2ms"; "-" when none.
std::string millis(const nlohmann::json& check);
// "live,ready" (and ",critical" when asked and it is); "-" when none.
std::string groups_of(const nlohmann::json& check, bool with_critical);

class Painter {
  public:
    explicit Painter(bool on) : on_(on) {}
    // `text` padded to `width` (+2 spaces), coloured by status when on.
    std::string status(const std::string& text, std::size_t width) const {
        std::string padded = pad(text, width);
        if (!on_) return padded;
        const char* code = text.rfind("fail", 0) == 0   ? "\033[1;31m"
                           : text.rfind("warn", 0) == 0 ? "\033[33m"
                           : text.rfind("ok", 0) == 0   ? "\033[32m"
                                                        : "\033[2m";
        return code + text + "\033[0m" + padded.substr(text.size());
    }
    std::string bold(const std::string& text) const {
        return on_ ? "\033[1m" + text + "\033[0m" : text;
    }
    static std::string pad(std::string text, std::size_t width) {
        if (text.size() > width) text = text.substr(0, width - 1) + "~";
        return text + std::string(width - text.size() + 2, ' ');
    }

  private:
    bool on_;
};

// The value of an option given as "--name value" or "--name=value"; false when missing.
bool take_value(const std::vector<std::string>& args, std::size_t& i, std::string& value);

}  // namespace vitals::cli
