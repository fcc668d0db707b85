// The one result type at vitals' edges (a connection, a fetch, a URL parsed): either the
// value or a Failure that says why, in words fit for a log or a check's message. Inside a
// check's run, code throws (the executor turns an exception into a failed result);
// configuration collects every problem (SettingProblems). See CONTRIBUTING.md, "Errors".
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace vitals {

struct Failure {
    std::string message;     // names host:port or the input's part at fault; never a password
    bool timed_out = false;  // the deadline passed first
};

template <class T>
class Expected {
  public:
    Expected(T value) : v_(std::move(value)) {}            // NOLINT(google-explicit-constructor)
    Expected(Failure failure) : v_(std::move(failure)) {}  // NOLINT(google-explicit-constructor)

    bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    // Only when has_value().
    T& operator*() { return std::get<0>(v_); }
    const T& operator*() const { return std::get<0>(v_); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }

    // Only when !has_value().
    const Failure& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Failure> v_;
};

}  // namespace vitals
