#include "api/http_parse.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

namespace tjf::api {

namespace http = boost::beast::http;

Request toRequest(const http::request<http::string_body>& in) {
  Request r;
  r.method = std::string(in.method_string());
  const std::string target(in.target());
  const auto q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = parseQuery(std::string_view(target).substr(q + 1));
  r.body = in.body();
  return r;
}

Result<Request> parseRequest(std::string_view bytes) {
  http::request_parser<http::string_body> parser;
  parser.body_limit(kBodyLimit);
  parser.eager(true);
  boost::system::error_code ec;
  std::size_t used = 0;
  while (!parser.is_done() && used < bytes.size()) {
    const auto n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (ec == http::error::need_more) break;
    if (ec) return invalidArgument("Malformed HTTP request: " + ec.message());
    if (n == 0) break;
    used += n;
  }
  if (!parser.is_done()) {
    // put_eof() must not be called before the parser has seen anything (a Beast precondition).
    if (!parser.got_some()) return invalidArgument("Malformed HTTP request: no request");
    parser.put_eof(ec);
    if (ec || !parser.is_done()) {
      return invalidArgument("Malformed HTTP request: " +
                             (ec ? ec.message() : std::string("incomplete")));
    }
  }
  return toRequest(parser.get());
}

}  // namespace tjf::api
