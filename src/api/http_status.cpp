#include "api/http_status.hpp"

#include <cctype>

#include <nlohmann/json.hpp>

namespace tjf::api {

int httpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kFailedPrecondition: return 400;
    case ErrorCode::kUnprocessable: return 422;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists: return 409;
    case ErrorCode::kForbidden: return 403;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

Response errorResponse(int status, const std::string& message) {
  Response r;
  r.status = status;
  r.body = nlohmann::json{{"error", {message}}}.dump();
  return r;
}

Response errorResponse(const Error& error) {
  return errorResponse(httpStatus(error.code), error.message);
}

std::map<std::string, std::string> parseQuery(std::string_view query) {
  auto decode = [](std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out += ' ';
      } else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  };
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start <= query.size()) {
    auto end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const auto part = query.substr(start, end - start);
    if (!part.empty()) {
      const auto eq = part.find('=');
      out[decode(part.substr(0, eq))] =
          eq == std::string_view::npos ? "" : decode(part.substr(eq + 1));
    }
    start = end + 1;
  }
  return out;
}

}  // namespace tjf::api
