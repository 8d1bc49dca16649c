#include "api/tls.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

namespace tjf::api {
namespace {

// OpenSSL's queued errors as one line (and the queue emptied).
std::string opensslErrors() {
  std::string out;
  while (const unsigned long code = ::ERR_get_error()) {
    char buffer[256];
    ::ERR_error_string_n(code, buffer, sizeof buffer);
    out += (out.empty() ? "" : "; ") + std::string(buffer);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

tl::unexpected<Error> fileError(const std::string& what, const std::filesystem::path& path) {
  return invalidArgument("cannot use the " + what + " '" + path.string() + "': " +
                         opensslErrors());
}

}  // namespace

TlsContext::TlsContext() : context_(boost::asio::ssl::context::tls_server) {}

Result<std::unique_ptr<TlsContext>> TlsContext::create(const TlsOptions& options) {
  if (options.certificate.empty() || options.private_key.empty() || options.client_ca.empty()) {
    return invalidArgument(
        "TLS needs a server certificate, its key and the CA of the tools' certificates "
        "(tls_cert, tls_key, tls_client_ca)");
  }
  ::ERR_clear_error();
  std::unique_ptr<TlsContext> tls(new TlsContext());
  SSL_CTX* ctx = tls->context_.native_handle();
  ::SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  ::SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  // No resumption: every connection shows its certificate and has it checked now (a resumed
  // session would carry an old verdict on a certificate that may have expired since).
  ::SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  ::SSL_CTX_set_num_tickets(ctx, 0);
  if (::SSL_CTX_use_certificate_chain_file(ctx, options.certificate.c_str()) != 1) {
    return fileError("TLS certificate", options.certificate);
  }
  if (::SSL_CTX_use_PrivateKey_file(ctx, options.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fileError("TLS key", options.private_key);
  }
  if (::SSL_CTX_check_private_key(ctx) != 1) {
    return invalidArgument("the TLS key '" + options.private_key.string() +
                           "' does not belong to the certificate '" +
                           options.certificate.string() + "': " + opensslErrors());
  }
  if (::SSL_CTX_load_verify_locations(ctx, options.client_ca.c_str(), nullptr) != 1) {
    return fileError("client CA", options.client_ca);
  }
  // The CA names sent with the certificate request, so a client picks the right certificate.
  if (STACK_OF(X509_NAME)* names = ::SSL_load_client_CA_file(options.client_ca.c_str())) {
    ::SSL_CTX_set_client_CA_list(ctx, names);
  }
  // A client certificate must be fit for client authentication: a server certificate signed by
  // the same CA (extended key usage serverAuth only) is refused.
  ::SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
  if (!options.crl.empty()) {
    X509_STORE* store = ::SSL_CTX_get_cert_store(ctx);
    X509_LOOKUP* lookup = ::X509_STORE_add_lookup(store, ::X509_LOOKUP_file());
    if (!lookup || ::X509_load_crl_file(lookup, options.crl.c_str(), X509_FILETYPE_PEM) <= 0) {
      return fileError("certificate revocation list", options.crl);
    }
    ::X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  }
  // Asked for, checked, but not required by the handshake itself: each connection installs a
  // callback that records the verdict (http_server.cpp), given as a 403 with the reason.
  ::SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return tls;
}

ClientCertificate inspectClientCertificate(SSL* ssl, long first_error) {
  std::unique_ptr<X509, decltype(&::X509_free)> cert(::SSL_get1_peer_certificate(ssl),
                                                      &::X509_free);
  if (!cert) {
    return {std::nullopt,
            "no client certificate was presented (a tool's certificate and key are in "
            "~/.toolskube/client.crt and client.key)"};
  }
  // The callback's record first; the handshake's own result as well, in case a check failed
  // that the callback did not see.
  long error = first_error;
  if (error == X509_V_OK) error = ::SSL_get_verify_result(ssl);
  if (error != X509_V_OK) {
    return {std::nullopt,
            std::string("client certificate refused: ") + ::X509_verify_cert_error_string(error)};
  }
  X509_NAME* subject = ::X509_get_subject_name(cert.get());
  const int index = subject ? ::X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
  if (index < 0) return {std::nullopt, "client certificate refused: it has no common name (CN)"};
  if (::X509_NAME_get_index_by_NID(subject, NID_commonName, index) >= 0) {
    return {std::nullopt, "client certificate refused: it has more than one common name (CN)"};
  }
  ASN1_STRING* data = ::X509_NAME_ENTRY_get_data(::X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  const int length = data ? ::ASN1_STRING_to_UTF8(&utf8, data) : -1;
  if (length < 0) return {std::nullopt, "client certificate refused: unreadable common name"};
  std::string name(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
  ::OPENSSL_free(utf8);
  if (name.empty() || name.find('\0') != std::string::npos) {
    return {std::nullopt, "client certificate refused: invalid common name"};
  }
  return {name, {}};
}

}  // namespace tjf::api
