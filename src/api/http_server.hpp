// The HTTP/1.1 server (Boost.Beast, C++20 coroutines) on a Unix socket and, optionally, on TCP.
// One coroutine per connection, all on the loop thread; a request that fails to parse gets the
// single error shape and the connection is closed.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/api.hpp"
#include "base/result.hpp"

namespace tjf::api {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Decides who a connection is. Unix socket: from the peer's credentials; TCP: no credentials.
using Authenticator = std::function<Identity(const std::optional<PeerCredentials>& peer)>;

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, Api& api, Authenticator authenticate);
  ~HttpServer();

  // Binds the socket (mode 0600, replacing a stale socket file) and starts accepting.
  Status listenUnix(const std::filesystem::path& path);
  // Binds host:port (port 0 picks one) and starts accepting. Returns the bound port.
  Result<unsigned short> listenTcp(const std::string& host, unsigned short port);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tjf::api
