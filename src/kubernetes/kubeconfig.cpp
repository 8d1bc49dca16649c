#include "kubernetes/kubeconfig.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace tjf::kubernetes {
namespace {

namespace fs = std::filesystem;

std::optional<YAML::Node> findNamed(const YAML::Node& list, const std::string& name,
                                    const char* inner) {
  if (!list || !list.IsSequence()) return std::nullopt;
  for (const auto& entry : list) {
    if (entry["name"] && entry["name"].as<std::string>() == name && entry[inner].IsMap()) {
      return entry[inner];
    }
  }
  return std::nullopt;
}

std::string str(const YAML::Node& node, const char* key) {
  return node && node[key] ? node[key].as<std::string>() : std::string();
}

std::string relativeTo(const fs::path& base, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (base / path).lexically_normal().string();
}

Result<std::string> readText(const fs::path& file, std::string_view what) {
  std::ifstream in(file);
  if (!in) return invalidArgument("Cannot read the " + std::string(what) + " '" + file.string() + "'");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

Result<std::string> base64Decode(std::string_view text, std::string_view what) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (const char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    const int v = base64Value(c);
    if (v < 0 || padding) return invalidArgument("Invalid base64 in " + std::string(what));
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

Result<ClusterAccess> loadKubeconfig(const fs::path& file, const std::string& context) {
  const std::string where = "kubeconfig '" + file.string() + "'";
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    return invalidArgument("Cannot read " + where + ": " + e.what());
  }
  try {
    const std::string context_name = context.empty() ? str(root, "current-context") : context;
    if (context_name.empty()) return invalidArgument(where + " has no current-context");
    const auto found_ctx = findNamed(root["contexts"], context_name, "context");
    if (!found_ctx) return invalidArgument(where + " has no context '" + context_name + "'");
    const YAML::Node& ctx = *found_ctx;
    const std::string cluster_name = str(ctx, "cluster");
    const std::string user_name = str(ctx, "user");
    const auto found_cluster = findNamed(root["clusters"], cluster_name, "cluster");
    if (!found_cluster) return invalidArgument(where + " has no cluster '" + cluster_name + "'");
    const YAML::Node& cluster = *found_cluster;
    const fs::path base = file.parent_path();

    ClusterAccess access;
    access.server = str(cluster, "server");
    if (access.server.empty()) return invalidArgument(where + ": cluster '" + cluster_name + "' has no server");
    access.default_namespace = str(ctx, "namespace");
    access.ca_file = relativeTo(base, str(cluster, "certificate-authority"));
    if (cluster["certificate-authority-data"]) {
      auto pem = base64Decode(str(cluster, "certificate-authority-data"),
                              "certificate-authority-data of cluster '" + cluster_name + "'");
      if (!pem) return tl::unexpected(pem.error());
      access.ca_pem = std::move(*pem);
    }
    access.insecure_skip_tls_verify =
        cluster["insecure-skip-tls-verify"] && cluster["insecure-skip-tls-verify"].as<bool>();

    if (!user_name.empty()) {
      const auto found_user = findNamed(root["users"], user_name, "user");
      if (!found_user) return invalidArgument(where + " has no user '" + user_name + "'");
      const YAML::Node& user = *found_user;
      if (user["exec"] || user["auth-provider"]) {
        return invalidArgument(where + ": user '" + user_name +
                               "' uses an exec or auth-provider plugin, which tjfd does not run; "
                               "use a client certificate or a token");
      }
      access.client_cert_file = relativeTo(base, str(user, "client-certificate"));
      access.client_key_file = relativeTo(base, str(user, "client-key"));
      for (const auto& [key, target] : {std::pair{"client-certificate-data", &access.client_cert_pem},
                                        std::pair{"client-key-data", &access.client_key_pem}}) {
        if (!user[key]) continue;
        auto pem = base64Decode(str(user, key), std::string(key) + " of user '" + user_name + "'");
        if (!pem) return tl::unexpected(pem.error());
        *target = std::move(*pem);
      }
      access.token = str(user, "token");
      access.token_file = relativeTo(base, str(user, "tokenFile"));
    }
    return access;
  } catch (const YAML::Exception& e) {
    return invalidArgument("Cannot read " + where + ": " + e.what());
  }
}

Result<ClusterAccess> inClusterAccess(
    const fs::path& service_account_dir,
    const std::function<std::optional<std::string>(const std::string&)>& getenv) {
  auto env = [&](const std::string& name) -> std::string {
    if (getenv) return getenv(name).value_or("");
    const char* v = std::getenv(name.c_str());
    return v ? v : "";
  };
  const std::string host = env("KUBERNETES_SERVICE_HOST");
  const std::string port = env("KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty()) {
    return invalidArgument(
        "Not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
        "are not set");
  }
  ClusterAccess access;
  // An IPv6 service address needs brackets in a URL.
  access.server = "https://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) +
                  ":" + port;
  access.token_file = (service_account_dir / "token").string();
  access.ca_file = (service_account_dir / "ca.crt").string();
  std::error_code ec;
  if (!fs::exists(access.token_file, ec)) {
    return invalidArgument("Cannot read the service account token '" + access.token_file + "'");
  }
  if (!fs::exists(access.ca_file, ec)) {
    return invalidArgument("Cannot read the service account CA '" + access.ca_file + "'");
  }
  if (auto ns = readText(service_account_dir / "namespace", "service account namespace")) {
    access.default_namespace = std::string(ns->substr(0, ns->find_last_not_of(" \n\r\t") + 1));
  }
  return access;
}

}  // namespace tjf::kubernetes
