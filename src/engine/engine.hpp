// The engine: one control loop that makes the runtime match the store. Every change (API write,
// run exit, timer) nudges a job; reconcile(job) reads the desired state from the store and the
// observed runs, asks the pure decide step what to do, and carries it out. Runs only on the
// loop thread; nothing here blocks on a process.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "base/clock.hpp"
#include "engine/decide.hpp"
#include "model/images.hpp"
#include "model/resolve.hpp"
#include "model/tool.hpp"
#include "runtime/runtime.hpp"
#include "store/store.hpp"

namespace tjf::engine {

struct EngineOptions {
  const model::ImageCatalogue* images = nullptr;
  const model::ToolDirectory* tools = nullptr;
  model::JobDefaults defaults;
  RetryPolicy retry;
  std::string path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  bool drop_privileges = false;  // platform mode: runs take the tool's uid and gid
};

class Engine {
 public:
  Engine(boost::asio::io_context& io, store::Store& store, runtime::Runtime& runtime,
         const Clock& clock, EngineOptions options);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Start-up: re-adopts running runs, stops orphans, and reconciles every job. Recovery is the
  // normal start path, not a special case.
  Status recover();
  // Asks for a reconcile of this job soon (coalesced); safe to call from the loop thread only.
  void nudge(std::int64_t job_id);
  // Reconciles all jobs now (tests, and after configuration changes).
  void nudgeAll();

  const EngineOptions& options() const { return options_; }

 private:
  void reconcile(std::int64_t job_id);
  void apply(const model::JobRecord* job, const Action& action);
  void startRun(const model::JobRecord& job, model::RunRecord run);
  void failRunWithoutStart(model::RunRecord run, model::RunReason reason, const std::string& why);
  void onExit(const runtime::RunExit& exit);
  void wakeAt(std::int64_t job_id, TimePoint when);
  void event(const model::RunRecord& run, const std::string& kind, const std::string& message);
  void logError(const std::string& what, const Error& error);
  Result<runtime::RunRequest> buildRequest(const model::JobRecord& job,
                                           const model::RunRecord& run);

  boost::asio::io_context& io_;
  store::Store& store_;
  runtime::Runtime& runtime_;
  const Clock& clock_;
  EngineOptions options_;
  std::set<std::int64_t> nudged_;
  std::map<std::int64_t, std::unique_ptr<boost::asio::steady_timer>> timers_;
};

}  // namespace tjf::engine
