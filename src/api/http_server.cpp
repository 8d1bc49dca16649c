#include "api/http_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <vector>

#include "api/http_parse.hpp"
#include "api/http_status.hpp"

namespace tjf::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::use_awaitable;


// -- TLS connections (tls.hpp): timeouts, since their peers may be anywhere -----------------------
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr auto kIdleTimeout = std::chrono::seconds(120);
constexpr auto kWriteTimeout = std::chrono::seconds(60);

// Unix sockets and plain TCP (loopback in practice) keep no timers.
template <typename Stream>
void expireIn(Stream&, std::chrono::seconds) {}
void expireIn(TlsStream& stream, std::chrono::seconds timeout) {
  beast::get_lowest_layer(stream).expires_after(timeout);
}
template <typename Stream>
void expireNever(Stream&) {}
void expireNever(TlsStream& stream) { beast::get_lowest_layer(stream).expires_never(); }

template <typename Socket>
asio::awaitable<void> closeStream(Socket& socket) {
  boost::system::error_code ignored;
  socket.shutdown(Socket::shutdown_send, ignored);
  co_return;
}
asio::awaitable<void> closeStream(TlsStream& stream) {
  expireIn(stream, std::chrono::seconds(5));
  boost::system::error_code ignored;
  co_await stream.async_shutdown(asio::redirect_error(use_awaitable, ignored));
  beast::get_lowest_layer(stream).close();
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
  expireIn(stream, kWriteTimeout);
  co_await http::async_write(stream, out, use_awaitable);
  expireNever(stream);
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
  expireIn(stream, kWriteTimeout);
  co_await http::async_write_header(stream, sr, use_awaitable);
  if (!res.body.empty()) {
    co_await asio::async_write(stream, http::make_chunk(asio::buffer(res.body)), use_awaitable);
  }
  // No timer while waiting for the next chunk (a quiet `logs -f`); one for each write.
  expireNever(stream);
  while (auto chunk = co_await res.stream()) {
    expireIn(stream, kWriteTimeout);
    co_await asio::async_write(stream, http::make_chunk(asio::buffer(*chunk)), use_awaitable);
    expireNever(stream);
  }
  expireIn(stream, kWriteTimeout);
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
      expireIn(socket, kIdleTimeout);
      co_await http::async_read(socket, buffer, parser,
                                asio::redirect_error(use_awaitable, ec));
      expireNever(socket);
      if (ec == http::error::end_of_stream || ec == asio::error::eof ||
          ec == asio::error::connection_reset || ec == beast::error::timeout ||
          ec == asio::ssl::error::stream_truncated) {
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
  co_await closeStream(socket);
}

// A TLS connection: the handshake, the verdict on the client certificate, then the same session.
asio::awaitable<void> tlsSession(asio::ip::tcp::socket socket, Api& api,
                                 const Authenticator& authenticate,
                                 std::shared_ptr<TlsContext> tls) {
  TlsStream stream(beast::tcp_stream(std::move(socket)), tls->context());
  // The handshake accepts any client certificate; the first verification error is kept and
  // given as the reason of a 403 (tls.hpp).
  auto first_error = std::make_shared<long>(X509_V_OK);
  stream.set_verify_mode(asio::ssl::verify_peer);
  stream.set_verify_callback([first_error](bool preverified, asio::ssl::verify_context& ctx) {
    if (!preverified && *first_error == X509_V_OK) {
      *first_error = ::X509_STORE_CTX_get_error(ctx.native_handle());
      if (*first_error == X509_V_OK) *first_error = X509_V_ERR_UNSPECIFIED;
    }
    return true;
  });
  expireIn(stream, kHandshakeTimeout);
  boost::system::error_code ec;
  co_await stream.async_handshake(asio::ssl::stream_base::server,
                                  asio::redirect_error(use_awaitable, ec));
  if (ec) co_return;  // not TLS, too slow, or gone: there is nobody to answer
  expireNever(stream);
  Peer peer;
  peer.certificate = inspectClientCertificate(stream.native_handle(), *first_error);
  co_await session(std::move(stream), api, authenticate(peer));
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
      Peer peer;
      ucred cred{};
      socklen_t len = sizeof cred;
      if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
        peer.credentials = PeerCredentials{cred.pid, cred.uid, cred.gid};
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
      asio::co_spawn(io, session(std::move(socket), api, authenticate(Peer{})), asio::detached);
    }
  }

  asio::awaitable<void> acceptTls(asio::ip::tcp::acceptor& acceptor,
                                  std::shared_ptr<TlsContext> tls) {
    while (acceptor.is_open()) {
      boost::system::error_code ec;
      auto socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;
      socket.set_option(asio::ip::tcp::no_delay(true), ec);
      asio::co_spawn(io, tlsSession(std::move(socket), api, authenticate, tls), asio::detached);
    }
  }

  Result<unsigned short> bindTcp(const std::string& host, unsigned short port,
                                 std::shared_ptr<TlsContext> tls) {
    try {
      const auto address = asio::ip::make_address(host);
      auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(
          io, asio::ip::tcp::endpoint(address, port));
      const auto bound = acceptor->local_endpoint().port();
      if (tls) {
        asio::co_spawn(io, acceptTls(*acceptor, std::move(tls)), asio::detached);
      } else {
        asio::co_spawn(io, acceptTcp(*acceptor), asio::detached);
      }
      tcp_acceptors.push_back(std::move(acceptor));
      return bound;
    } catch (const boost::system::system_error& e) {
      return internalError("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                           e.code().message());
    }
  }
};

HttpServer::HttpServer(asio::io_context& io, Api& api, Authenticator authenticate)
    : impl_(new Impl{io, api, std::move(authenticate), {}, {}, {}}) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::listenUnix(const std::filesystem::path& path, UnixSocketOptions options) {
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
    // Group first, then the mode: the socket is never open wider than asked for.
    if (options.group && ::chown(path.c_str(), static_cast<uid_t>(-1), *options.group) != 0) {
      return systemError("cannot give the socket '" + path.string() + "' to group " +
                             std::to_string(*options.group),
                         errno);
    }
    if (::chmod(path.c_str(), options.mode) != 0) {
      return systemError("cannot set the mode of the socket '" + path.string() + "'", errno);
    }
    impl_->unix_path = path;
    asio::co_spawn(impl_->io, impl_->acceptUnix(*acceptor), asio::detached);
    impl_->unix_acceptors.push_back(std::move(acceptor));
  } catch (const boost::system::system_error& e) {
    return internalError("cannot listen on '" + path.string() + "': " + e.code().message());
  }
  return {};
}

Result<unsigned short> HttpServer::listenTcp(const std::string& host, unsigned short port) {
  return impl_->bindTcp(host, port, nullptr);
}

Result<unsigned short> HttpServer::listenTls(const std::string& host, unsigned short port,
                                             std::shared_ptr<TlsContext> tls) {
  if (!tls) return internalError("listenTls needs a TLS context");
  return impl_->bindTcp(host, port, std::move(tls));
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
