// What the KubernetesRuntime tests share: a temporary state directory, a client for a fake API
// server, the runtime options every test starts from, and running the loop until a condition
// holds (no sleeps: the loop runs in 10 ms slices while the condition is checked).
#pragma once

#include <stdlib.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kubernetes/client.hpp"
#include "kubernetes/kubernetes_runtime.hpp"

namespace tjf::kubernetes::testing {

class TempStateDir {
 public:
  explicit TempStateDir(const std::string& tag) {
    std::string tmpl = "/tmp/tjf-k8s-" + tag + "-XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempStateDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempStateDir(const TempStateDir&) = delete;
  TempStateDir& operator=(const TempStateDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A client of the fake at `url`, with the token the fakes accept.
inline std::unique_ptr<Client> testClient(const std::string& url) {
  return std::move(*Client::create(ClusterAccess{.server = url, .token = "t"}));
}

// Options for a runtime on `state` watching `namespaces`, retrying quickly after errors.
inline KubernetesRuntimeOptions testRuntimeOptions(const std::filesystem::path& state,
                                                   std::vector<std::string> namespaces) {
  KubernetesRuntimeOptions options;
  options.layout = model::StateLayout(state);
  options.namespaces = std::move(namespaces);
  options.error_backoff = std::chrono::milliseconds(20);
  return options;
}

// A condition of a Job's or Deployment's status that holds, as the controllers write it.
inline nlohmann::json conditionTrue(const std::string& type, const std::string& reason = "") {
  nlohmann::json c = {{"type", type}, {"status", "True"}, {"lastTransitionTime", "2026-01-01T00:00:10Z"}};
  if (!reason.empty()) c["reason"] = reason;
  return c;
}

// Runs the loop until `done` holds; false after `timeout`.
inline bool runLoopUntil(boost::asio::io_context& io, const std::function<bool()>& done,
                         std::chrono::seconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.run_for(std::chrono::milliseconds(10));
  }
  return true;
}

// What a runtime captured for a run: the whole file at capturedOutput(run_id), or nullopt when
// the runtime keeps none.
inline std::optional<std::string> capturedText(const runtime::Runtime& runtime, std::int64_t run_id) {
  const auto path = runtime.capturedOutput(run_id);
  if (!path) return std::nullopt;
  std::ifstream in(*path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace tjf::kubernetes::testing
