#include "api/http_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <vector>

#include "api/http_status.hpp"

namespace tjf::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::use_awaitable;

constexpr std::size_t kBodyLimit = 8 * 1024 * 1024;

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

template <typename Stream>
asio::awaitable<void> writeResponse(Stream& stream, const Response& res, unsigned version,
                                    bool keep_alive) {
  http::response<http::string_body> out{static_cast<http::status>(res.status), version};
  out.set(http::field::server, "tjfd");
  out.set(http::field::content_type, res.content_type);
  for (const auto& [k, v] : res.headers) out.set(k, v);
  out.keep_alive(keep_alive);
  out.body() = res.body;
  out.prepare_payload();
  co_await http::async_write(stream, out, use_awaitable);
}

// A streamed response: chunked encoding, until the source ends or the client goes away.
template <typename Stream>
asio::awaitable<void> writeStream(Stream& stream, const Response& res, unsigned version) {
  http::response<http::empty_body> head{static_cast<http::status>(res.status), version};
  head.set(http::field::server, "tjfd");
  head.set(http::field::content_type, res.content_type);
  for (const auto& [k, v] : res.headers) head.set(k, v);
  head.chunked(true);
  http::response_serializer<http::empty_body> sr{head};
  co_await http::async_write_header(stream, sr, use_awaitable);
  if (!res.body.empty()) {
    co_await asio::async_write(stream, http::make_chunk(asio::buffer(res.body)), use_awaitable);
  }
  while (auto chunk = co_await res.stream()) {
    co_await asio::async_write(stream, http::make_chunk(asio::buffer(*chunk)), use_awaitable);
  }
  co_await asio::async_write(stream, http::make_chunk_last(), use_awaitable);
}

template <typename Socket>
asio::awaitable<void> session(Socket socket, Api& api, Identity identity) {
  beast::flat_buffer buffer;
  try {
    while (true) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(kBodyLimit);
      boost::system::error_code ec;
      co_await http::async_read(socket, buffer, parser,
                                asio::redirect_error(use_awaitable, ec));
      if (ec == http::error::end_of_stream || ec == asio::error::eof ||
          ec == asio::error::connection_reset) {
        break;
      }
      if (ec) {
        const int status = ec == http::error::body_limit ? 413 : 400;
        co_await writeResponse(socket, errorResponse(status, "Malformed HTTP request: " + ec.message()),
                               11, false);
        break;
      }
      auto request = parser.release();
      const bool keep_alive = request.keep_alive();
      Response response = co_await api.handle(toRequest(request), identity);
      if (response.stream) {
        co_await writeStream(socket, response, request.version());
        break;
      }
      co_await writeResponse(socket, response, request.version(), keep_alive);
      if (!keep_alive) break;
    }
  } catch (const std::exception&) {
    // The client went away mid-response: nothing to tell anyone.
  }
  boost::system::error_code ignored;
  socket.shutdown(Socket::shutdown_send, ignored);
}

}  // namespace

struct HttpServer::Impl {
  asio::io_context& io;
  Api& api;
  Authenticator authenticate;
  std::vector<std::unique_ptr<asio::local::stream_protocol::acceptor>> unix_acceptors;
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> tcp_acceptors;
  std::filesystem::path unix_path;

  asio::awaitable<void> acceptUnix(asio::local::stream_protocol::acceptor& acceptor) {
    while (acceptor.is_open()) {
      boost::system::error_code ec;
      auto socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;  // EMFILE and friends: keep serving the others
      std::optional<PeerCredentials> peer;
      ucred cred{};
      socklen_t len = sizeof cred;
      if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
        peer = PeerCredentials{cred.pid, cred.uid, cred.gid};
      }
      asio::co_spawn(io, session(std::move(socket), api, authenticate(peer)), asio::detached);
    }
  }

  asio::awaitable<void> acceptTcp(asio::ip::tcp::acceptor& acceptor) {
    while (acceptor.is_open()) {
      boost::system::error_code ec;
      auto socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;
      socket.set_option(asio::ip::tcp::no_delay(true), ec);
      asio::co_spawn(io, session(std::move(socket), api, authenticate(std::nullopt)),
                     asio::detached);
    }
  }
};

HttpServer::HttpServer(asio::io_context& io, Api& api, Authenticator authenticate)
    : impl_(new Impl{io, api, std::move(authenticate), {}, {}, {}}) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::listenUnix(const std::filesystem::path& path) {
  std::error_code fs_ec;
  std::filesystem::create_directories(path.parent_path(), fs_ec);
  // A socket file left by a daemon that died is replaced; a live daemon is not.
  if (std::filesystem::exists(path, fs_ec)) {
    asio::local::stream_protocol::socket probe(impl_->io);
    boost::system::error_code ec;
    probe.connect(asio::local::stream_protocol::endpoint(path.string()), ec);
    if (!ec) {
      return makeError(ErrorCode::kFailedPrecondition,
                       "another tjfd is already listening on '" + path.string() + "'");
    }
    std::filesystem::remove(path, fs_ec);
  }
  try {
    const mode_t old_mask = ::umask(0177);  // the socket is created 0600
    auto acceptor = std::make_unique<asio::local::stream_protocol::acceptor>(
        impl_->io, asio::local::stream_protocol::endpoint(path.string()));
    ::umask(old_mask);
    ::chmod(path.c_str(), 0600);
    impl_->unix_path = path;
    asio::co_spawn(impl_->io, impl_->acceptUnix(*acceptor), asio::detached);
    impl_->unix_acceptors.push_back(std::move(acceptor));
  } catch (const boost::system::system_error& e) {
    return internalError("cannot listen on '" + path.string() + "': " + e.code().message());
  }
  return {};
}

Result<unsigned short> HttpServer::listenTcp(const std::string& host, unsigned short port) {
  try {
    const auto address = asio::ip::make_address(host);
    auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(
        impl_->io, asio::ip::tcp::endpoint(address, port));
    const auto bound = acceptor->local_endpoint().port();
    asio::co_spawn(impl_->io, impl_->acceptTcp(*acceptor), asio::detached);
    impl_->tcp_acceptors.push_back(std::move(acceptor));
    return bound;
  } catch (const boost::system::system_error& e) {
    return internalError("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                         e.code().message());
  }
}

void HttpServer::stop() {
  boost::system::error_code ec;
  for (auto& a : impl_->unix_acceptors) a->close(ec);
  for (auto& a : impl_->tcp_acceptors) a->close(ec);
  impl_->unix_acceptors.clear();
  impl_->tcp_acceptors.clear();
  if (!impl_->unix_path.empty()) {
    std::error_code fs_ec;
    std::filesystem::remove(impl_->unix_path, fs_ec);
    impl_->unix_path.clear();
  }
}

}  // namespace tjf::api
