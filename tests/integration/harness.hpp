// Integration test harness: starts a real tjfd on a temporary state directory and tool home,
// and drives it with the real `toolforge` binary (or raw HTTP over its socket). Each TestDaemon
// stops only what it started: its daemon by pid, and its jobs through `flush`.
#pragma once

#include <sys/types.h>

#include <csignal>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tjf::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

struct DaemonOptions {
  std::string config_yaml;  // extra lines for the daemon's config file
  std::string tool = "tf-test";
};

class TestDaemon {
 public:
  explicit TestDaemon(DaemonOptions options = {});
  ~TestDaemon();
  TestDaemon(const TestDaemon&) = delete;
  TestDaemon& operator=(const TestDaemon&) = delete;

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path home() const { return root_ / "home"; }
  std::filesystem::path stateDir() const { return root_ / "state"; }
  std::filesystem::path socket() const { return stateDir() / "tjfd.sock"; }
  const std::string& tool() const { return options_.tool; }
  pid_t pid() const { return pid_; }

  // Runs `toolforge jobs <args...>` against this daemon.
  CommandResult jobs(const std::vector<std::string>& args, const std::string& stdin_text = "");
  // Any program with this daemon's environment.
  CommandResult exec(const std::vector<std::string>& argv, const std::string& stdin_text = "");
  // Raw HTTP over the socket; returns status and body.
  std::pair<long, std::string> http(const std::string& method, const std::string& path,
                                    const std::string& body = "");
  nlohmann::json showJson(const std::string& name);

  // Writes a file in the tool home (mode 0755 when executable).
  void writeHomeFile(const std::string& rel, const std::string& content, bool executable = false);
  std::string readHomeFile(const std::string& rel) const;

  void start();
  void stop(int sig = SIGTERM);  // and wait for the daemon to exit
  void restart() {
    stop();
    start();
  }

 private:
  DaemonOptions options_;
  std::filesystem::path root_;
  pid_t pid_ = -1;
};

std::filesystem::path binDir();

// Starts `tjfd --config <config>` with stdin /dev/null and stdout/stderr appended to `log`
// (created with `log_mode`). Throws when it cannot be started.
pid_t spawnTjfd(const std::filesystem::path& config, const std::filesystem::path& log,
                mode_t log_mode);

// Everything readable from a descriptor until its end; a whole file ("" when it is missing).
std::string readFd(int fd);
std::string readFile(const std::filesystem::path& path);

// The FAKE Kubernetes API server of the test suite (`tjf-fake-kube-apiserver`: it plays the
// controllers and runs pods as local processes; tests/kubernetes/fake_cluster.hpp). Started on
// 127.0.0.1 with a bearer token, stopped by pid (with every pod process it started).
class FakeKubeApiServer {
 public:
  explicit FakeKubeApiServer(const std::filesystem::path& dir);
  ~FakeKubeApiServer();
  FakeKubeApiServer(const FakeKubeApiServer&) = delete;
  FakeKubeApiServer& operator=(const FakeKubeApiServer&) = delete;

  const std::string& url() const { return url_; }
  // A kubeconfig with this server and token.
  void writeKubeconfig(const std::filesystem::path& path) const;
  static constexpr const char* kToken = "fake-cluster-token";

 private:
  pid_t pid_ = -1;
  std::string url_;
};

// The lines of tjfd's config that select the Kubernetes runtime on the cluster a kubeconfig
// names, with pods running as uid/gid (never root).
std::string kubernetesRuntimeConfig(const std::filesystem::path& kubeconfig, const std::string& uid,
                                    const std::string& gid);

// Polls `condition` until it holds or `timeout` passes (no fixed sleeps: it checks often).
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(20));

}  // namespace tjf::testing
