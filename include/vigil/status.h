// Errors as values. Every fallible call at a module boundary returns Result<T> (a value or an
// Error) or Status (nothing or an Error). An Error carries a canonical code, so callers can react
// (an HTTP layer maps codes to statuses), and a message meant for a person: it names the input and
// says what was wrong with it. No exceptions cross the public API.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace vigil {

// Canonical error codes, each used for one kind of failure.
enum class ErrorCode {
  kInvalidArgument,    // the caller passed something malformed (bad hex, bad option value)
  kNotFound,           // a named file or object does not exist
  kUnsupported,        // well-formed but of a kind we do not handle (format, sub-format)
  kTooLarge,           // over a configured limit (bytes, pixels, dimensions, scans)
  kTruncated,          // the input ends before its own structure says it should
  kCorrupt,            // the input's structure is invalid
  kIoError,            // the operating system failed a read or write
  kResourceExhausted,  // memory or another resource ran out
  kAlreadyExists,      // a create met an object of the same name or key
  kUnavailable,        // a dependency (database server) cannot be reached now; retrying may help
  kPermissionDenied,   // the caller may not do this (a reviewer deciding an appeal of their own decision)
  kDeadlineExceeded,   // the work took longer than its time limit (a decode's wall clock or CPU budget)
  kInternal,           // a bug: an invariant did not hold
};

// A stable lower-case name for a code ("too_large"), for JSON output and logs.
std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;

  // "too_large: photo.jpg: 40000x40000 pixels exceeds the limit of 100000000 pixels"
  std::string ToString() const;
};

template <typename T>
using Result = tl::expected<T, Error>;
using Status = tl::expected<void, Error>;

// Builds the unexpected side: `return Fail(ErrorCode::kCorrupt, "bad header");`
inline tl::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

// Prefixes context (usually a file name) onto an error's message, keeping its code.
inline Error WithContext(Error error, std::string_view context) {
  error.message = std::string(context) + ": " + error.message;
  return error;
}

}  // namespace vigil

// Returns early with the error of a Result or Status expression: `VIGIL_TRY(file.Read());`
#define VIGIL_TRY(expr)                                     \
  do {                                                      \
    if (auto vigil_try_ = (expr); !vigil_try_) {            \
      return tl::unexpected(std::move(vigil_try_).error()); \
    }                                                       \
  } while (false)

// Evaluates a Result expression; returns early with its error, or declares (or assigns) `lhs` from
// its value: `VIGIL_ASSIGN_OR_RETURN(auto bank, store.GetBank(name));` (Abseil's shape). `lhs` must
// not contain a comma (no structured bindings); the expression may.
#define VIGIL_ASSIGN_OR_RETURN(lhs, ...) \
  VIGIL_ASSIGN_OR_RETURN_IMPL_(VIGIL_CONCAT_(vigil_result_, __LINE__), lhs, __VA_ARGS__)
#define VIGIL_CONCAT_INNER_(a, b) a##b
#define VIGIL_CONCAT_(a, b) VIGIL_CONCAT_INNER_(a, b)
#define VIGIL_ASSIGN_OR_RETURN_IMPL_(result, lhs, ...)          \
  auto result = (__VA_ARGS__);                                  \
  if (!result) return tl::unexpected(std::move(result).error()); \
  lhs = std::move(*result)
