// Transport-neutral request and response: the HTTP server turns Beast messages into these, so the
// API's routing and JSON can be tested without sockets.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace tjf::api {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query
  std::map<std::string, std::string> query;
  std::string body;
};

// A streamed body: each call yields the next chunk, or nullopt at the end. Used by `logs -f`.
using ChunkSource = std::function<boost::asio::awaitable<std::optional<std::string>>()>;

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
  ChunkSource stream;  // when set, `body` is sent first and the chunks follow
};

// Who is calling: set by the server from the connection (peer credentials, client certificate).
struct Identity {
  std::string tool;  // empty: anonymous (only unauthenticated endpoints)
  // Anonymous: why the connection is no tool (platform mode: "the account 'bob' is not a tool
  // account", "client certificate refused: certificate has expired"), for the 403.
  std::string refusal;
};

// Splits "a=1&b=x%20y" into a map, decoding %XX and '+'.
std::map<std::string, std::string> parseQuery(std::string_view query);

}  // namespace tjf::api
