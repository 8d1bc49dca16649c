// Platform-mode test harness (docs/platform-mode.md): real Unix accounts for tools, a root tjfd in
// platform mode on a temporary state directory, the CLI and curl run as each tool's account
// (setpriv), and a test CA for the TLS listener (scripts/issue-tool-cert.sh). Needs root:
// PlatformDaemon::available() says why not otherwise, for GTEST_SKIP.
//
// Accounts are "<prefix>.<tool>" with a prefix of this process's own ("tjft<pid>"), so parallel
// test processes never share an account; each PlatformDaemon removes the accounts it created,
// its daemon (by pid) and its directories.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace tjf::testing {

struct ToolAccount {
  std::string tool;     // "alpha"
  std::string account;  // "tjft1234.alpha"
  uid_t uid = 0;
  gid_t gid = 0;
  std::filesystem::path home;
};

struct PlatformOptions {
  std::vector<std::string> tools = {"alpha", "beta"};
  std::string config_yaml;  // extra lines for the daemon's config file
  bool tls = false;         // also listen on 127.0.0.1 with TLS (a test CA, see certsDir)
};

struct HttpResult {
  long status = 0;
  std::string body;
  nlohmann::json json() const;
};

class PlatformDaemon {
 public:
  // An empty string when the tests can run here, else why not (for GTEST_SKIP).
  static std::string unavailable();

  explicit PlatformDaemon(PlatformOptions options = {});
  ~PlatformDaemon();
  PlatformDaemon(const PlatformDaemon&) = delete;
  PlatformDaemon& operator=(const PlatformDaemon&) = delete;

  const ToolAccount& tool(const std::string& name) const { return accounts_.at(name); }
  const std::string& prefix() const { return prefix_; }
  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path stateDir() const { return root_ / "state"; }
  std::filesystem::path socket() const { return root_ / "run" / "tjfd.sock"; }
  std::filesystem::path certsDir() const { return root_ / "certs"; }
  unsigned short tlsPort() const { return tls_port_; }
  pid_t pid() const { return pid_; }
  std::string log() const;

  // `toolforge <args...>` run as the tool's account, against this daemon (TJF_SOCKET).
  CommandResult cli(const std::string& tool, const std::vector<std::string>& args,
                    const std::string& stdin_text = "");
  CommandResult jobs(const std::string& tool, const std::vector<std::string>& args) {
    std::vector<std::string> all = {"jobs"};
    all.insert(all.end(), args.begin(), args.end());
    return cli(tool, all);
  }
  // Any program run as the tool's account (in its home, with a reset environment).
  CommandResult asTool(const std::string& tool, const std::vector<std::string>& argv,
                       const std::string& stdin_text = "",
                       const std::vector<std::string>& env = {});
  // Any program run as this uid and gid (no supplementary groups), in `cwd`.
  CommandResult asUid(uid_t uid, gid_t gid, const std::vector<std::string>& argv,
                      const std::filesystem::path& cwd = "/");
  HttpResult httpAsUid(uid_t uid, gid_t gid, const std::string& method, const std::string& path);
  // Raw HTTP over the Unix socket as the tool's account (curl), or as root (no tool).
  HttpResult http(const std::string& tool, const std::string& method, const std::string& path,
                  const std::string& body = "");
  HttpResult httpAsRoot(const std::string& method, const std::string& path,
                        const std::string& body = "");
  // HTTPS on the TLS port with this client certificate and key (empty: none), as root.
  HttpResult https(const std::string& cert, const std::string& key, const std::string& method,
                   const std::string& path, const std::string& body = "");

  // Files in a tool's home, owned by the tool.
  void writeHomeFile(const std::string& tool, const std::string& rel, const std::string& content,
                     bool executable = false, mode_t mode = 0644);
  std::string readHomeFile(const std::string& tool, const std::string& rel) const;

  void start();
  void stop(int sig = SIGTERM);

 private:
  void createAccount(const std::string& tool);
  void makeCertificates();

  PlatformOptions options_;
  std::string prefix_;
  std::filesystem::path root_;
  std::map<std::string, ToolAccount> accounts_;
  unsigned short tls_port_ = 0;
  pid_t pid_ = -1;
};

// The test CA's helpers (OpenSSL): a client certificate signed by `ca` that expired a day ago.
void writeExpiredCertificate(const std::filesystem::path& ca_cert,
                             const std::filesystem::path& ca_key, const std::string& common_name,
                             const std::filesystem::path& cert_out,
                             const std::filesystem::path& key_out);

}  // namespace tjf::testing
