// From Beast's parsed HTTP message to the API's Request: the part of the server that sees raw
// bytes from a client, kept apart so the fuzzer (fuzz/) drives exactly what a connection runs.
#pragma once

#include <cstddef>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "api/http_types.hpp"
#include "base/result.hpp"

namespace tjf::api {

// The largest request body a connection accepts (413 beyond).
inline constexpr std::size_t kBodyLimit = 8 * 1024 * 1024;

// Method, path (without the query), decoded query and body.
Request toRequest(const boost::beast::http::request<boost::beast::http::string_body>& in);

// Parses one HTTP/1.1 request from `bytes` with a connection's parser and limits, then
// toRequest. kInvalidArgument for what a connection answers 400 (or 413).
Result<Request> parseRequest(std::string_view bytes);

}  // namespace tjf::api
