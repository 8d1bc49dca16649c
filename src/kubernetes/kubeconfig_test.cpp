#include "kubernetes/kubeconfig.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <map>

namespace tjf::kubernetes {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tjf-kubeconfig-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return path_ / name;
  }

 private:
  fs::path path_;
};

constexpr const char* kConfig = R"(apiVersion: v1
kind: Config
current-context: toolforge
clusters:
- name: k8s
  cluster:
    server: https://k8s.example.org:6443
    certificate-authority-data: LS0tQ0EtLS0K
- name: other
  cluster:
    server: https://other.example.org
    certificate-authority: certs/ca.crt
    insecure-skip-tls-verify: true
users:
- name: tf-test
  user:
    client-certificate: certs/client.crt
    client-key: /abs/client.key
- name: robot
  user:
    token: abc.def
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
- name: plugin
  user:
    exec:
      command: get-token
contexts:
- name: toolforge
  context: {cluster: k8s, user: tf-test, namespace: tool-tf-test}
- name: robot
  context: {cluster: other, user: robot}
- name: plugin
  context: {cluster: k8s, user: plugin}
- name: broken
  context: {cluster: missing, user: tf-test}
)";

TEST(Kubeconfig, CurrentContextWithClientCertificateFiles) {
  TempDir dir;
  const auto file = dir.write("config", kConfig);
  auto access = loadKubeconfig(file);
  ASSERT_TRUE(access) << access.error().message;
  EXPECT_EQ(access->server, "https://k8s.example.org:6443");
  EXPECT_EQ(access->ca_pem, "---CA---\n");
  EXPECT_EQ(access->client_cert_file, (dir.path() / "certs/client.crt").string());  // relative to the file
  EXPECT_EQ(access->client_key_file, "/abs/client.key");
  EXPECT_EQ(access->default_namespace, "tool-tf-test");
  EXPECT_TRUE(access->token.empty());
}

TEST(Kubeconfig, NamedContextWithTokenAndInlineCertificate) {
  TempDir dir;
  auto access = loadKubeconfig(dir.write("config", kConfig), "robot");
  ASSERT_TRUE(access) << access.error().message;
  EXPECT_EQ(access->server, "https://other.example.org");
  EXPECT_EQ(access->ca_file, (dir.path() / "certs/ca.crt").string());
  EXPECT_TRUE(access->insecure_skip_tls_verify);
  EXPECT_EQ(access->token, "abc.def");
  EXPECT_EQ(access->client_cert_pem, "CERT");
  EXPECT_EQ(access->client_key_pem, "KEY");
}

TEST(Kubeconfig, ErrorsNameWhatIsMissing) {
  TempDir dir;
  const auto file = dir.write("config", kConfig);
  auto plugin = loadKubeconfig(file, "plugin");
  ASSERT_FALSE(plugin);
  EXPECT_NE(plugin.error().message.find("user 'plugin' uses an exec or auth-provider plugin"), std::string::npos);
  auto broken = loadKubeconfig(file, "broken");
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().message, "kubeconfig '" + file.string() + "' has no cluster 'missing'");
  auto nocontext = loadKubeconfig(file, "nope");
  ASSERT_FALSE(nocontext);
  EXPECT_EQ(nocontext.error().message, "kubeconfig '" + file.string() + "' has no context 'nope'");
  auto missing = loadKubeconfig(dir.path() / "absent");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("Cannot read kubeconfig"), std::string::npos);
}

TEST(Kubeconfig, InClusterServiceAccount) {
  TempDir dir;
  dir.write("token", "tok\n");
  dir.write("ca.crt", "CA");
  dir.write("namespace", "tool-tf-test\n");
  std::map<std::string, std::string> env = {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                            {"KUBERNETES_SERVICE_PORT", "443"}};
  auto getenv = [&](const std::string& k) -> std::optional<std::string> {
    if (!env.count(k)) return std::nullopt;
    return env[k];
  };
  auto access = inClusterAccess(dir.path(), getenv);
  ASSERT_TRUE(access) << access.error().message;
  EXPECT_EQ(access->server, "https://10.96.0.1:443");
  EXPECT_EQ(access->token_file, (dir.path() / "token").string());
  EXPECT_EQ(access->ca_file, (dir.path() / "ca.crt").string());
  EXPECT_EQ(access->default_namespace, "tool-tf-test");

  env["KUBERNETES_SERVICE_HOST"] = "fd00::1";
  EXPECT_EQ(inClusterAccess(dir.path(), getenv)->server, "https://[fd00::1]:443");
  env.erase("KUBERNETES_SERVICE_HOST");
  auto outside = inClusterAccess(dir.path(), getenv);
  ASSERT_FALSE(outside);
  EXPECT_NE(outside.error().message.find("Not running in a Kubernetes pod"), std::string::npos);
}

TEST(Base64, DecodesWithAndWithoutPadding) {
  EXPECT_EQ(*base64Decode("aGVsbG8=", "x"), "hello");
  EXPECT_EQ(*base64Decode("aGVsbG8", "x"), "hello");
  EXPECT_EQ(*base64Decode("aGVs\nbG8h", "x"), "hello!");
  auto bad = base64Decode("a$b", "client-key-data of user 'u'");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "Invalid base64 in client-key-data of user 'u'");
}

}  // namespace
}  // namespace tjf::kubernetes
