// The HTTP/1.1 server (Boost.Beast, C++20 coroutines) on a Unix socket and, optionally, on TCP,
// plain or TLS (tls.hpp). One coroutine per connection, all on the loop thread; a request that
// fails to parse gets the single error shape and the connection is closed. TLS connections, the
// only ones that may come from another machine, have timeouts: 10 s for the handshake, 120 s
// idle between requests, 60 s for each write.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/api.hpp"
#include "api/tls.hpp"
#include "base/result.hpp"

namespace tjf::api {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// What the transport knows of the other end of a connection.
struct Peer {
  std::optional<PeerCredentials> credentials;    // Unix socket: SO_PEERCRED
  std::optional<ClientCertificate> certificate;  // TLS: the verdict on its client certificate
};

// Decides who a connection is, once, when it is accepted (plain TCP: an empty Peer).
using Authenticator = std::function<Identity(const Peer& peer)>;

struct UnixSocketOptions {
  mode_t mode = 0600;  // platform mode: 0666, or 0660 with `group` (peer credentials decide who)
  std::optional<gid_t> group;
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, Api& api, Authenticator authenticate);
  ~HttpServer();

  // Binds the socket (replacing a stale socket file; mode and group from `options`) and starts
  // accepting.
  Status listenUnix(const std::filesystem::path& path, UnixSocketOptions options = {});
  // Binds host:port (port 0 picks one) and starts accepting. Returns the bound port.
  Result<unsigned short> listenTcp(const std::string& host, unsigned short port);
  // The same for HTTPS: each connection is TLS, and the authenticator gets the verdict on its
  // client certificate. `tls` is shared by every connection and must outlive them.
  Result<unsigned short> listenTls(const std::string& host, unsigned short port,
                                   std::shared_ptr<TlsContext> tls);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tjf::api
