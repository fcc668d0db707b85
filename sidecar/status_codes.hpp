// HTTP status codes that count as healthy, as a setting writes them: single codes and
// ranges ("200", "200-399", "200-299,304").
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vitals {

class StatusCodes {
  public:
    StatusCodes() = default;
    explicit StatusCodes(int code) : ranges_{{code, code}} {}
    // nullopt when `text` is not a comma-separated list of codes (100-599) and ranges;
    // `error` says why.
    static std::optional<StatusCodes> parse(const std::string& text, std::string& error);
    bool contains(int code) const;
    std::string text() const;  // "200", "200-399,404"

  private:
    std::vector<std::pair<int, int>> ranges_;
};

}  // namespace vitals
