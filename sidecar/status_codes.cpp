#include "sidecar/status_codes.hpp"

#include <algorithm>
#include <cctype>

namespace vitals {

namespace {

std::string trim(const std::string& s) {
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string::npos) return "";
    return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

}  // namespace

std::optional<StatusCodes> StatusCodes::parse(const std::string& text, std::string& error) {
    StatusCodes out;
    const auto code = [&](const std::string& part) -> std::optional<int> {
        const std::string t = trim(part);
        if (t.size() != 3 || !std::all_of(t.begin(), t.end(), [](char c) {
                return std::isdigit(static_cast<unsigned char>(c));
            })) {
            error = "\"" + t + "\" is not a status code";
            return std::nullopt;
        }
        const int n = std::stoi(t);
        if (n < 100 || n > 599) {
            error = t + " is not a status code (100-599)";
            return std::nullopt;
        }
        return n;
    };
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        const std::string item = text.substr(start, comma - start);
        const auto dash = item.find('-');
        const auto low = code(item.substr(0, dash));
        if (!low) return std::nullopt;
        auto high = low;
        if (dash != std::string::npos) {
            high = code(item.substr(dash + 1));
            if (!high) return std::nullopt;
            if (*high < *low) {
                error = "\"" + trim(item) + "\" is an empty range";
                return std::nullopt;
            }
        }
        out.ranges_.emplace_back(*low, *high);
        start = comma + 1;
    }
    return out;
}

bool StatusCodes::contains(int code) const {
    return std::any_of(ranges_.begin(), ranges_.end(),
                       [&](const auto& r) { return code >= r.first && code <= r.second; });
}

std::string StatusCodes::text() const {
    std::string out;
    for (const auto& [low, high] : ranges_) {
        out += (out.empty() ? "" : ",") + std::to_string(low);
        if (high != low) out += "-" + std::to_string(high);
    }
    return out;
}

}  // namespace vitals
