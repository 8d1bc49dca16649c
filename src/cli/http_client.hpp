// The CLI's HTTP client (libcurl): over the daemon's Unix socket, or to a URL.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "base/result.hpp"

namespace tjf::cli {

struct Endpoint {
  std::string socket_path;  // used when url is empty
  std::string url;          // "http://127.0.0.1:8080" (TJF_URL)
  // -- https:// URLs (platform mode, docs/platform-mode.md): the tool's certificate --
  std::string client_cert;  // TJF_CLIENT_CERT, else ~/.toolskube/client.crt when it exists
  std::string client_key;   // TJF_CLIENT_KEY, else ~/.toolskube/client.key when it exists
  std::string ca_file;      // TJF_CA_FILE: the daemon's CA; empty: the system's
};

// The daemon's address: --socket, then TJF_SOCKET, then --url/TJF_URL, then the default socket
// of this user (the same rule tjfd uses) when it exists, else platform mode's socket when that
// exists (docs/platform-mode.md), else the default socket.
Endpoint discoverEndpoint(const std::optional<std::string>& socket_flag,
                          const std::optional<std::string>& url_flag);

struct HttpReply {
  long status = 0;
  std::string body;
};

class HttpClient {
 public:
  explicit HttpClient(Endpoint endpoint);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // A failure to connect is kUnavailable with a message that says how to start the daemon.
  Result<HttpReply> request(const std::string& method, const std::string& path,
                            const std::string& body = "");
  // Streams the response body to `on_data` as it arrives (for `logs -f`). Returns the status.
  Result<long> stream(const std::string& path, const std::function<void(std::string_view)>& on_data);

  const Endpoint& endpoint() const { return endpoint_; }

 private:
  Endpoint endpoint_;
  void* curl_;  // CURL*, reused so the connection is kept alive between requests
};

// Percent-encodes a path segment.
std::string urlEncode(const std::string& s);

}  // namespace tjf::cli
