// How tjfd reaches a Kubernetes API server: a kubeconfig file (client certificates, bearer token,
// CA) or the in-cluster service account. Pure parsing; nothing here opens a connection.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "base/result.hpp"

namespace tjf::kubernetes {

// Everything the client needs to authenticate one connection. For each credential either the
// file or the PEM text is set (kubeconfig's `*-data` fields arrive base64-decoded here).
struct ClusterAccess {
  std::string server;  // "https://host:6443"; "http://127.0.0.1:port" only for test fakes
  std::string ca_file;
  std::string ca_pem;
  bool insecure_skip_tls_verify = false;
  std::string client_cert_file;
  std::string client_cert_pem;
  std::string client_key_file;
  std::string client_key_pem;
  std::string token;
  // Re-read before every request: service-account tokens are rotated by the kubelet.
  std::string token_file;
  std::string default_namespace;  // the context's namespace, or the service account's
};

// Reads a kubeconfig (YAML). `context` empty: the file's current-context. Relative file paths in
// it are relative to the file's directory, as kubectl does. Unsupported auth (exec plugins,
// auth-provider) is an error that names the user entry.
Result<ClusterAccess> loadKubeconfig(const std::filesystem::path& file, const std::string& context = {});

// The in-cluster service account: KUBERNETES_SERVICE_HOST/_PORT from `getenv`, and token, ca.crt
// and namespace from `service_account_dir`. Errors name what is missing.
Result<ClusterAccess> inClusterAccess(
    const std::filesystem::path& service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount",
    const std::function<std::optional<std::string>(const std::string&)>& getenv = {});

// Standard base64 (padding optional, whitespace ignored). Errors name `what`.
Result<std::string> base64Decode(std::string_view text, std::string_view what);

}  // namespace tjf::kubernetes
