#include "base/result.hpp"

#include <cstring>

namespace tjf {

std::string_view toString(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid-argument";
    case ErrorCode::kNotFound: return "not-found";
    case ErrorCode::kAlreadyExists: return "already-exists";
    case ErrorCode::kForbidden: return "forbidden";
    case ErrorCode::kFailedPrecondition: return "failed-precondition";
    case ErrorCode::kUnprocessable: return "unprocessable";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

tl::unexpected<Error> systemError(std::string_view what, int err) {
  return internalError(std::string(what) + ": " + std::strerror(err));
}

}  // namespace tjf
