// Errors as values. Every expected failure travels as an Error; exceptions are caught at the
// adapters of third-party code that throws (SQLite wrapper, JSON, YAML) and turned into one.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace tjf {

// What kind of failure: the API maps each code to an HTTP status in exactly one place
// (api/http_status.cpp), the CLI maps statuses to exit codes.
enum class ErrorCode {
  kInvalidArgument,     // the request is wrong: 400
  kNotFound,            // 404
  kAlreadyExists,       // 409
  kForbidden,           // 403
  kFailedPrecondition,  // the request is fine but the state forbids it: 400
  kUnprocessable,       // the body does not fit the schema (types, ranges, unknown fields): 422
  kUnavailable,         // a dependency is down: 503
  kInternal,            // a bug or an OS failure: 500
};

std::string_view toString(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // for a person; user strings in single quotes
};

template <typename T>
using Result = tl::expected<T, Error>;
using Status = tl::expected<void, Error>;

inline tl::unexpected<Error> makeError(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}
inline tl::unexpected<Error> invalidArgument(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, std::move(message));
}
inline tl::unexpected<Error> notFound(std::string message) {
  return makeError(ErrorCode::kNotFound, std::move(message));
}
inline tl::unexpected<Error> internalError(std::string message) {
  return makeError(ErrorCode::kInternal, std::move(message));
}

// The error from errno after a failed syscall: "<what>: <strerror>".
tl::unexpected<Error> systemError(std::string_view what, int err);

}  // namespace tjf
