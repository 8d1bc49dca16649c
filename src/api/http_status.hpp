// The one place that maps error codes to HTTP statuses and builds the single error body.
#pragma once

#include "api/http_types.hpp"
#include "base/result.hpp"

namespace tjf::api {

int httpStatus(ErrorCode code);
// {"error": ["<message>"]}
Response errorResponse(const Error& error);
Response errorResponse(int status, const std::string& message);

}  // namespace tjf::api
