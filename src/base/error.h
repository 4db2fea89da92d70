// Errors as values: every fallible function in imagegate returns Result<T>.
//
// An Error carries a small, stable ErrorCode (what kind of failure, which decides what a caller
// does about it) and a message that names the structure, the place and the bad value
// ("qcow2 header: cluster_bits 31 not in [9, 21]"). Context is added by prefixing while the
// error propagates (Error::with_context). Result is tl::expected with a class-level
// [[nodiscard]], so a dropped error is a compiler warning (and -Werror makes it an error).
//
// IG_TRY(expr) evaluates a Result; on error it returns the Error from the enclosing function,
// otherwise it yields the value (or nothing for Result<void>). It is a GNU statement
// expression, which g++ and clang both accept under -Wpedantic when marked __extension__.
//
// Thread safety: plain values; no shared state.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>

namespace ig {

enum class ErrorCode {
  kInvalidArgument,   // the caller's request is malformed (usage, options)
  kNotFound,          // a named thing does not exist
  kOutOfRange,        // a read past the end of a source
  kCorrupt,           // on-disk data violates its format
  kTruncated,         // the file ends before a table or data its own metadata places in it (a cut upload)
  kUnsupported,       // valid, but not something imagegate reads or accepts (refused by policy)
  kLimitExceeded,     // one of our safety limits (Limits) was hit
  kIo,                // local I/O failure (errno)
  kUnavailable,       // transient failure of a network peer or database
  kPermissionDenied,  //
  kCancelled,         //
  kAlreadyExists,     // a create that names something that exists (an image name, a subscription)
  kLeaseLost,         // the caller no longer holds the task or delivery it tries to finish
  kInternal,          // a bug
};

// Stable lower-case name of a code, used in JSON output and logs ("corrupt", "unsupported").
std::string_view error_code_name(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;

  static Error invalid_argument(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
  static Error not_found(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
  static Error out_of_range(std::string m) { return {ErrorCode::kOutOfRange, std::move(m)}; }
  static Error corrupt(std::string m) { return {ErrorCode::kCorrupt, std::move(m)}; }
  static Error truncated(std::string m) { return {ErrorCode::kTruncated, std::move(m)}; }
  static Error unsupported(std::string m) { return {ErrorCode::kUnsupported, std::move(m)}; }
  static Error limit_exceeded(std::string m) { return {ErrorCode::kLimitExceeded, std::move(m)}; }
  static Error io(std::string m) { return {ErrorCode::kIo, std::move(m)}; }
  static Error unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
  static Error internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }
  static Error already_exists(std::string m) { return {ErrorCode::kAlreadyExists, std::move(m)}; }
  static Error lease_lost(std::string m) { return {ErrorCode::kLeaseLost, std::move(m)}; }

  // errno-based I/O error: "<what>: <strerror(err)>".
  static Error from_errno(std::string_view what, int err);

  // Returns a copy whose message is "<context>: <message>".
  [[nodiscard]] Error with_context(std::string_view context) const {
    return {code, fmt::format("{}: {}", context, message)};
  }
};

template <class T = void>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using Base = tl::expected<T, Error>;
  using Base::Base;
  Result(Error e)
      : Base(tl::unexpect, std::move(e)) {}  // NOLINT(google-explicit-constructor): `return Error::x(...)` is the point
  Result(Base b) : Base(std::move(b)) {}  // NOLINT(google-explicit-constructor): lets and_then/map chains convert back
};

// Result<void> success value, to `return ok();` from a Result<void> function.
inline Result<void> ok() {
  return {};
}

namespace detail {
template <class T>
T take_value(Result<T>&& r) {
  return std::move(*r);
}
inline void take_value(Result<void>&& /*r*/) {}
}  // namespace detail

}  // namespace ig

#define IG_CONCAT_INNER_(a, b) a##b
#define IG_CONCAT_(a, b) IG_CONCAT_INNER_(a, b)

// The result variable gets a unique name per expansion so that nested IG_TRYs do not shadow.
#define IG_TRY(expr) IG_TRY_IMPL_(expr, IG_CONCAT_(ig_try_result_, __COUNTER__))
#define IG_TRY_IMPL_(expr, var)                           \
  __extension__({                                         \
    auto var = (expr);                                    \
    if (!var) return ::ig::Error(std::move(var.error())); \
    ::ig::detail::take_value(std::move(var));             \
  })

// IG_TRY_CTX(expr, context...) is IG_TRY that prefixes the error message with a fmt-formatted
// context on the way out.
#define IG_TRY_CTX(expr, ...) IG_TRY_CTX_IMPL_(expr, IG_CONCAT_(ig_try_result_, __COUNTER__), __VA_ARGS__)
#define IG_TRY_CTX_IMPL_(expr, var, ...)                                 \
  __extension__({                                                        \
    auto var = (expr);                                                   \
    if (!var) return var.error().with_context(fmt::format(__VA_ARGS__)); \
    ::ig::detail::take_value(std::move(var));                            \
  })
