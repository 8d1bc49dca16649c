// TLS for the API's TCP listener (Boost.Asio SSL over OpenSSL). Every client shows a certificate
// signed by the operator's CA, and its common name is the tool it acts for, as on Toolforge
// (decisions.md, "Product"). The handshake accepts any certificate, or none, and the verdict is
// given afterwards as an HTTP 403 that says why (as nginx's `ssl_verify_client optional` does):
// a person sees "certificate has expired" rather than a bare handshake failure. An unverified
// connection is anonymous and reaches only the unauthenticated endpoints (/v1/healthz, ...).
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "base/result.hpp"

namespace tjf::api {

struct TlsOptions {
  std::filesystem::path certificate;  // the server's certificate (chain), PEM
  std::filesystem::path private_key;  // its key, PEM
  std::filesystem::path client_ca;    // the operator CA(s) that sign tools' certificates, PEM
  std::filesystem::path crl;          // optional: revoked client certificates, PEM
};

// The server side of the TLS configuration: protocol TLS 1.2 or later, no session resumption (a
// resumed session would skip the certificate check), client certificates checked for the
// clientAuth purpose against `client_ca` (and `crl`). Created once at start-up; read-only after.
class TlsContext {
 public:
  // Errors name the file that could not be used and OpenSSL's reason.
  static Result<std::unique_ptr<TlsContext>> create(const TlsOptions& options);

  boost::asio::ssl::context& context() { return context_; }

 private:
  TlsContext();
  boost::asio::ssl::context context_;
};

// What a finished handshake says about the client.
struct ClientCertificate {
  std::optional<std::string> common_name;  // set only when a certificate passed every check
  std::string refusal;                     // otherwise why, for a person
};

// Reads the verdict from a connection after its handshake. `first_error` is the first X509
// verification error the verify callback saw (X509_V_OK: none); the certificate must also carry
// exactly one common name, with no NUL byte in it.
ClientCertificate inspectClientCertificate(SSL* ssl, long first_error);

}  // namespace tjf::api
