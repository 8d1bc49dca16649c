// KubernetesRuntime: runtime::Runtime on a Kubernetes cluster. Each engine run becomes one
// batch/v1 Job (run_mapping.hpp); watches of those Jobs and their pods turn into the same exit
// reports the local runtime gives, so the engine cannot tell the two apart.
//
// Threads. The interface methods, the exit callback and all bookkeeping run on the loop thread
// (the io_context's). Blocking API calls never do: creates and deletes go to one worker thread;
// each watched scope (a namespace, or the whole cluster) has a Jobs reflector and a Pods reflector
// on threads of their own; each run whose output is captured has a log-collector thread. They
// all hand results back with asio::post.
//
// Restart. Runs live in the cluster, not in tjfd, so a restarted daemon adopts them: adopt() is
// answered once the first list of every scope has arrived (finished -> its exit; missing -> Lost;
// running -> watched on). The exit of a run is reported once; its Job is deleted afterwards, and
// its ttlSecondsAfterFinished keeps the result for a daemon that is away meanwhile.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kubernetes/client.hpp"
#include "kubernetes/manifests.hpp"
#include "kubernetes/reflector.hpp"
#include "kubernetes/run_mapping.hpp"
#include "model/state_paths.hpp"
#include "runtime/runtime.hpp"

namespace tjf::kubernetes {

struct KubernetesRuntimeOptions {
  ManifestOptions manifests;
  RunJobOptions runs;
  model::StateLayout layout{"/nonexistent"};  // captured output goes to runs/<id>/output.log
  // The namespaces to watch ("tool-<tool>" of each tool); empty: all namespaces, which needs
  // cluster-wide list/watch rights on jobs and pods.
  std::vector<std::string> namespaces;
  int watch_timeout_seconds = 300;
  std::chrono::milliseconds error_backoff{1000};
  // How long an exit report waits for the run's log stream to drain.
  std::chrono::milliseconds log_drain_timeout{10'000};
};

class KubernetesRuntime final : public runtime::Runtime {
 public:
  KubernetesRuntime(boost::asio::io_context& io, Client& client, KubernetesRuntimeOptions options);
  ~KubernetesRuntime() override;
  KubernetesRuntime(const KubernetesRuntime&) = delete;
  KubernetesRuntime& operator=(const KubernetesRuntime&) = delete;

  // Starts the watches. Call once on the loop thread after setExitCallback (i.e. after the
  // engine exists) and before the engine's recover().
  void startWatching();
  // Loop thread: whether every scope has been listed once (adoptions are answered after that).
  bool synced() const { return synced_; }

  void setExitCallback(ExitCallback callback) override { on_exit_ = std::move(callback); }
  Result<runtime::RunHandle> start(const runtime::RunRequest& request) override;
  Status stop(std::int64_t run_id) override;
  void adopt(const runtime::RunHandle& handle) override;
  std::optional<std::filesystem::path> capturedOutput(std::int64_t run_id) const override;
  std::vector<std::int64_t> stopOrphans(const std::vector<std::int64_t>& known) override;

 private:
  struct Run;
  struct Scope;
  class Worker;
  class LogCollector;

  // All on the loop thread.
  void onListed(std::size_t scope, const std::vector<json>& jobs, const std::map<std::int64_t, std::vector<json>>& pods);
  void onJob(const std::string& type, const json& job, const std::vector<json>& pods);
  void onPod(const std::string& type, const json& pod);
  void resolveAdopted(std::int64_t run_id);
  void consider(std::int64_t run_id);
  void report(std::int64_t run_id, runtime::RunExit exit);
  void deliver(std::int64_t run_id);
  void examinePod(std::int64_t run_id, const json& pod);
  void cleanup(std::int64_t run_id);
  std::string scopeOf(const std::string& ns) const;
  template <typename F>
  void toLoop(F&& f);

  boost::asio::io_context& io_;
  Client& client_;
  KubernetesRuntimeOptions options_;
  ExitCallback on_exit_;
  // Posted handlers check `alive_weak_`; the destructor resets `alive_`. Other threads only copy
  // the never-modified weak_ptr, so they do not race with the reset.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  const std::weak_ptr<int> alive_weak_ = alive_;
  std::unique_ptr<Worker> worker_;
  std::vector<std::unique_ptr<Scope>> scopes_;
  std::map<std::int64_t, Run> runs_;
  std::map<std::int64_t, json> observed_;  // every run Job seen in the watched scopes
  std::map<std::int64_t, std::map<std::string, json>> observed_pods_;  // their pods, by name
  std::size_t listed_scopes_ = 0;
  bool synced_ = false;
};

}  // namespace tjf::kubernetes
