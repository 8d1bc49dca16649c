#include "kubernetes/kubernetes_runtime.hpp"

#include <boost/asio/post.hpp>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>

#include "base/time_format.hpp"
#include "model/records.hpp"

namespace tjf::kubernetes {
namespace {

namespace asio = boost::asio;

TimePoint wallNow() { return std::chrono::system_clock::now(); }

const std::string kRunSelector =
    std::string(kLabelRunId) + "," + std::string(kLabelManagedBy) + "=" + std::string(kManagedByValue);

std::string nameOf(const json& object) { return object.value("/metadata/name"_json_pointer, std::string()); }
std::string namespaceOf(const json& object) {
  return object.value("/metadata/namespace"_json_pointer, std::string());
}

// The last record's timestamp in a captured-output file, so a resumed stream skips what is there.
std::int64_t lastRecordMicros(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  const auto space = last.find(' ');
  if (space == std::string::npos) return 0;
  try {
    return std::stoll(last.substr(0, space));
  } catch (...) {
    return 0;
  }
}

void logWarning(const std::string& what) { std::fprintf(stderr, "tjfd: kubernetes: %s\n", what.c_str()); }

}  // namespace

// One thread that runs blocking API calls in order. Tasks still queued at destruction are dropped:
// the daemon is stopping, and the cluster keeps (or the next start re-reads) the truth.
class KubernetesRuntime::Worker {
 public:
  Worker() : thread_([this] { loop(); }) {}
  ~Worker() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void post(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    wake_.notify_all();
  }

 private:
  void loop() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (stopping_) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members it uses exist
};

// Follows one pod's log into the run's captured-output file until the container ends.
class KubernetesRuntime::LogCollector {
 public:
  LogCollector(Client& client, std::string ns, std::string pod, std::filesystem::path file,
               std::function<void()> on_done)
      : client_(client), ns_(std::move(ns)), pod_(std::move(pod)), file_(std::move(file)),
        on_done_(std::move(on_done)), thread_([this] { run(); }) {}
  ~LogCollector() {
    cancel_ = true;
    thread_.join();
  }

 private:
  void run() {
    const std::int64_t resume_after = lastRecordMicros(file_);
    std::ofstream out(file_, std::ios::app);
    LogOptions options{.follow = true, .timestamps = true};
    if (resume_after > 0) {
      // sinceTime has whole seconds; the records already written are skipped below.
      options.since_time = formatIsoUtc(TimePoint{} + std::chrono::microseconds(resume_after));
    }
    auto streamed = client_.streamLog(ns_, pod_, options, [&](std::string_view line) {
      const auto record = capturedRecord(line);
      if (!record) return true;
      if (resume_after > 0 && std::stoll(record->substr(0, record->find(' '))) <= resume_after) return true;
      out << *record << '\n';
      out.flush();
      return true;
    }, &cancel_);
    if (!streamed) logWarning("cannot follow the log of pod '" + pod_ + "': " + streamed.error().message);
    if (!cancel_) on_done_();
  }

  Client& client_;
  std::string ns_;
  std::string pod_;
  std::filesystem::path file_;
  std::function<void()> on_done_;
  std::atomic<bool> cancel_{false};
  std::thread thread_;
};

struct KubernetesRuntime::Run {
  std::string ns;
  std::string name;  // the Job's
  bool adopted = false;  // waiting for the first lists to say what became of it
  bool seen = false;     // its Job has been observed at least once
  bool stop_requested = false;
  bool captured = false;
  std::optional<runtime::RunExit> exit;  // decided
  bool delivered = false;
  std::unique_ptr<LogCollector> collector;
  bool collector_done = false;
  std::unique_ptr<asio::steady_timer> drain_timer;
};

struct KubernetesRuntime::Scope {
  std::string ns;  // empty: cluster-wide
  bool listed = false;
  std::unique_ptr<Reflector> jobs;
  std::unique_ptr<Reflector> pods;
  std::thread jobs_thread;
  std::thread pods_thread;
};

template <typename F>
void KubernetesRuntime::toLoop(F&& f) {
  asio::post(io_, [alive = alive_weak_, f = std::forward<F>(f)]() mutable {
    if (alive.lock()) f();
  });
}

KubernetesRuntime::KubernetesRuntime(asio::io_context& io, Client& client, KubernetesRuntimeOptions options)
    : io_(io), client_(client), options_(std::move(options)), worker_(std::make_unique<Worker>()) {}

KubernetesRuntime::~KubernetesRuntime() {
  alive_.reset();  // handlers already posted become no-ops
  for (auto& scope : scopes_) {
    scope->jobs->stop();
    scope->pods->stop();
  }
  for (auto& scope : scopes_) {
    scope->jobs_thread.join();
    scope->pods_thread.join();
  }
  worker_.reset();
  runs_.clear();  // joins the log collectors
}

std::string KubernetesRuntime::scopeOf(const std::string& ns) const {
  for (const auto& scope : scopes_) {
    if (scope->ns.empty() || scope->ns == ns) return scope->ns;
  }
  return ns;
}

void KubernetesRuntime::startWatching() {
  std::vector<std::string> namespaces = options_.namespaces;
  if (namespaces.empty()) namespaces.push_back("");
  for (std::size_t i = 0; i < namespaces.size(); ++i) {
    auto scope = std::make_unique<Scope>();
    scope->ns = namespaces[i];
    const ReflectorOptions reflector_options{.label_selector = kRunSelector,
                                             .watch_timeout_seconds = options_.watch_timeout_seconds,
                                             .error_backoff = options_.error_backoff};
    // Runs on the reflector's thread: the pods of a finished Job, read now, so its exit can name
    // the container's exit code even if the pods are garbage-collected soon after.
    auto podsOf = [this](const json& job) {
      std::vector<json> pods;
      const auto id = runIdOf(job);
      if (!id) return pods;
      auto listed = client_.list(resourcePath("v1", "pods", namespaceOf(job)),
                                 {.label_selector = std::string(kLabelRunId) + "=" + std::to_string(*id)});
      if (listed && listed->contains("items")) {
        for (auto& p : (*listed)["items"]) pods.push_back(std::move(p));
      }
      return pods;
    };
    scope->jobs = std::make_unique<Reflector>(
        client_, resourcePath("batch/v1", "jobs", scope->ns), reflector_options,
        ReflectorHandler{
            .on_list = [this, i, podsOf](const std::vector<json>& items, const std::string&) {
              std::map<std::int64_t, std::vector<json>> pods;
              for (const auto& job : items) {
                if (const auto id = runIdOf(job); id && jobFinished(job)) pods[*id] = podsOf(job);
              }
              toLoop([this, i, items, pods] { onListed(i, items, pods); });
            },
            .on_event = [this, podsOf](const WatchEvent& e) {
              std::vector<json> pods = jobFinished(e.object) ? podsOf(e.object) : std::vector<json>{};
              toLoop([this, e, pods] { onJob(e.type, e.object, pods); });
            },
            .on_error = [](const ApiError& error) { logWarning("watching jobs: " + error.message); }});
    scope->pods = std::make_unique<Reflector>(
        client_, resourcePath("v1", "pods", scope->ns), reflector_options,
        ReflectorHandler{
            .on_list = [this](const std::vector<json>& items, const std::string&) {
              toLoop([this, items] {
                for (const auto& pod : items) onPod("MODIFIED", pod);
              });
            },
            .on_event = [this](const WatchEvent& e) { toLoop([this, e] { onPod(e.type, e.object); }); },
            .on_error = [](const ApiError& error) { logWarning("watching pods: " + error.message); }});
    Scope* s = scope.get();
    scope->jobs_thread = std::thread([s] { s->jobs->run(); });
    scope->pods_thread = std::thread([s] { s->pods->run(); });
    scopes_.push_back(std::move(scope));
  }
}

Result<runtime::RunHandle> KubernetesRuntime::start(const runtime::RunRequest& request) {
  auto manifest = runJobManifest(request, options_.manifests, options_.runs);
  if (!manifest) return tl::unexpected(manifest.error());
  Run& run = runs_[request.run_id];
  run.ns = namespaceOf(*manifest);
  run.name = nameOf(*manifest);
  run.captured = !request.stdout_path || !request.stderr_path;
  const std::int64_t id = request.run_id;
  worker_->post([this, id, ns = run.ns, manifest = std::move(*manifest)] {
    auto created = client_.create(resourcePath("batch/v1", "jobs", ns), manifest);
    // AlreadyExists: a retried start of the same run (the name is the run's), so it runs once.
    if (created || created.error().isAlreadyExists()) return;
    const std::string why = created.error().message;
    toLoop([this, id, why] {
      runtime::RunExit exit{.run_id = id, .finished_at = wallNow(),
                            .reason = std::string(model::toString(model::RunReason::kStartError)),
                            .message = why};
      report(id, std::move(exit));
    });
  });
  return runtime::RunHandle{.run_id = id, .started_at = wallNow(), .captured_output = run.captured};
}

Status KubernetesRuntime::stop(std::int64_t run_id) {
  auto it = runs_.find(run_id);
  if (it == runs_.end() || it->second.exit) return {};  // gone or decided: its exit is reported
  Run& run = it->second;
  run.stop_requested = true;
  if (run.ns.empty()) return {};  // adopted, not resolved yet: resolved after the first lists
  // Foreground: the Job stays (with a deletionTimestamp) until its pods are gone, so the exit is
  // reported when the process has really ended, after the pod's termination grace period.
  worker_->post([this, run_id, path = resourcePath("batch/v1", "jobs", run.ns, run.name)] {
    auto removed = client_.remove(path, Propagation::kForeground);
    if (removed) return;
    if (removed.error().isNotFound()) {
      toLoop([this, run_id] {
        auto found = observed_.find(run_id);
        report(run_id, exitOfDeletedJob(run_id, found == observed_.end() ? std::nullopt : std::optional(found->second),
                                        {}, true, wallNow()));
      });
    } else {
      logWarning("cannot stop run " + std::to_string(run_id) + ": " + removed.error().message);
    }
  });
  return {};
}

void KubernetesRuntime::adopt(const runtime::RunHandle& handle) {
  Run& run = runs_[handle.run_id];
  run.adopted = true;
  run.captured = handle.captured_output;
  if (synced_) toLoop([this, id = handle.run_id] { resolveAdopted(id); });
}

void KubernetesRuntime::resolveAdopted(std::int64_t run_id) {
  auto it = runs_.find(run_id);
  if (it == runs_.end() || !it->second.adopted) return;
  Run& run = it->second;
  run.adopted = false;
  auto found = observed_.find(run_id);
  if (found == observed_.end()) {
    report(run_id, exitOfDeletedJob(run_id, std::nullopt, {}, run.stop_requested, wallNow()));
    return;
  }
  run.ns = namespaceOf(found->second);
  run.name = nameOf(found->second);
  run.seen = true;
  if (run.stop_requested) {
    run.stop_requested = false;
    (void)stop(run_id);
  }
  const auto pods = observed_pods_[run_id];
  for (const auto& [name, pod] : pods) examinePod(run_id, pod);
  consider(run_id);
}

void KubernetesRuntime::onListed(std::size_t scope_index, const std::vector<json>& jobs,
                                 const std::map<std::int64_t, std::vector<json>>& pods) {
  Scope& scope = *scopes_[scope_index];
  std::map<std::int64_t, json> listed;
  for (const auto& job : jobs) {
    if (const auto id = runIdOf(job)) listed[*id] = job;
  }
  // Forget Jobs of this scope that are gone, and end the runs whose Job vanished unseen.
  for (auto it = observed_.begin(); it != observed_.end();) {
    const bool in_scope = scope.ns.empty() || namespaceOf(it->second) == scope.ns;
    if (in_scope && !listed.count(it->first)) {
      const auto id = it->first;
      const json last = it->second;
      it = observed_.erase(it);
      observed_pods_.erase(id);
      auto run = runs_.find(id);
      if (run != runs_.end() && run->second.seen && !run->second.exit) {
        report(id, exitOfDeletedJob(id, last, {}, run->second.stop_requested, wallNow()));
      }
    } else {
      ++it;
    }
  }
  for (const auto& [id, job] : listed) {
    observed_[id] = job;
    if (auto p = pods.find(id); p != pods.end()) {
      for (const auto& pod : p->second) onPod("MODIFIED", pod);
    }
    if (auto run = runs_.find(id); run != runs_.end() && !run->second.adopted) {
      run->second.seen = true;
      consider(id);
    }
  }
  if (!scope.listed) {
    scope.listed = true;
    if (++listed_scopes_ == scopes_.size()) {
      synced_ = true;
      std::vector<std::int64_t> adopted;
      for (const auto& [id, run] : runs_) {
        if (run.adopted) adopted.push_back(id);
      }
      for (const auto id : adopted) resolveAdopted(id);
    }
  }
}

void KubernetesRuntime::onJob(const std::string& type, const json& job, const std::vector<json>& pods) {
  const auto id = runIdOf(job);
  if (!id) return;
  for (const auto& pod : pods) onPod("MODIFIED", pod);
  auto run = runs_.find(*id);
  if (type == "DELETED") {
    observed_.erase(*id);
    if (run != runs_.end() && !run->second.adopted && !run->second.exit) {
      std::vector<json> known = pods;
      if (known.empty()) {
        for (const auto& [name, pod] : observed_pods_[*id]) known.push_back(pod);
      }
      report(*id, exitOfDeletedJob(*id, job, known, run->second.stop_requested, wallNow()));
    }
    observed_pods_.erase(*id);
    return;
  }
  observed_[*id] = job;
  if (run == runs_.end() || run->second.adopted) return;
  run->second.seen = true;
  consider(*id);
}

void KubernetesRuntime::onPod(const std::string& type, const json& pod) {
  const auto id = runIdOf(pod);
  if (!id) return;
  // A deleted pod keeps its last state here: a finished run's exit may still need it.
  if (type != "DELETED") observed_pods_[*id][nameOf(pod)] = pod;
  examinePod(*id, pod);
}

void KubernetesRuntime::examinePod(std::int64_t run_id, const json& pod) {
  auto run = runs_.find(run_id);
  if (run == runs_.end() || run->second.adopted || run->second.exit) return;
  // Only the pod's own state matters here: a start failure, or a container to follow.
  if (auto failure = startFailure(run_id, {pod}, wallNow())) {
    report(run_id, std::move(*failure));
    return;
  }
  const std::string phase = pod.value("/status/phase"_json_pointer, std::string());
  if (!run->second.captured || run->second.collector ||
      !(phase == "Running" || phase == "Succeeded" || phase == "Failed")) {
    return;
  }
  const auto dir = options_.layout.runDir(run_id);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  run->second.collector = std::make_unique<LogCollector>(
      client_, namespaceOf(pod), nameOf(pod), model::StateLayout::output(dir), [this, run_id] {
        toLoop([this, run_id] {
          auto r = runs_.find(run_id);
          if (r == runs_.end()) return;
          r->second.collector_done = true;
          if (r->second.exit) deliver(run_id);
        });
      });
}

void KubernetesRuntime::consider(std::int64_t run_id) {
  auto run = runs_.find(run_id);
  auto job = observed_.find(run_id);
  if (run == runs_.end() || job == observed_.end() || run->second.exit) return;
  if (!jobFinished(job->second)) return;
  std::vector<json> pods;
  for (const auto& [name, pod] : observed_pods_[run_id]) pods.push_back(pod);
  if (auto exit = exitOfFinishedJob(run_id, job->second, pods)) report(run_id, std::move(*exit));
}

void KubernetesRuntime::report(std::int64_t run_id, runtime::RunExit exit) {
  auto it = runs_.find(run_id);
  if (it == runs_.end() || it->second.exit) return;
  Run& run = it->second;
  run.exit = std::move(exit);
  if (run.collector && !run.collector_done) {
    // Let the log stream drain first, so `logs` has the run's last lines once it shows as ended.
    run.drain_timer = std::make_unique<asio::steady_timer>(io_, options_.log_drain_timeout);
    run.drain_timer->async_wait([this, run_id, alive = alive_weak_](const boost::system::error_code& ec) {
      if (!ec && alive.lock()) deliver(run_id);
    });
    return;
  }
  deliver(run_id);
}

void KubernetesRuntime::deliver(std::int64_t run_id) {
  auto it = runs_.find(run_id);
  if (it == runs_.end() || !it->second.exit || it->second.delivered) return;
  it->second.delivered = true;
  if (it->second.drain_timer) it->second.drain_timer->cancel();
  const runtime::RunExit exit = *it->second.exit;
  if (on_exit_) on_exit_(exit);
  cleanup(run_id);
}

void KubernetesRuntime::cleanup(std::int64_t run_id) {
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return;
  const std::string ns = it->second.ns;
  const std::string name = it->second.name;
  if (!ns.empty() && !name.empty()) {
    // The result is in the store now; the Job and its pods can go (Background: nobody waits).
    worker_->post([this, path = resourcePath("batch/v1", "jobs", ns, name)] {
      auto removed = client_.remove(path, Propagation::kBackground);
      if (!removed && !removed.error().isNotFound()) {
        logWarning("cannot delete the finished Job '" + path + "': " + removed.error().message);
      }
    });
  }
  runs_.erase(it);
}

std::optional<std::filesystem::path> KubernetesRuntime::capturedOutput(std::int64_t run_id) const {
  auto path = model::StateLayout::output(options_.layout.runDir(run_id));
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  return path;
}

std::vector<std::int64_t> KubernetesRuntime::stopOrphans(const std::vector<std::int64_t>& known) {
  std::vector<std::int64_t> orphans;
  std::vector<std::string> namespaces = options_.namespaces;
  if (namespaces.empty()) namespaces.push_back("");
  for (const auto& ns : namespaces) {
    auto listed = client_.list(resourcePath("batch/v1", "jobs", ns), {.label_selector = kRunSelector});
    if (!listed) {
      logWarning("cannot look for orphaned runs: " + listed.error().message);
      continue;
    }
    for (const auto& job : (*listed)["items"]) {
      const auto id = runIdOf(job);
      if (!id || std::find(known.begin(), known.end(), *id) != known.end()) continue;
      auto removed = client_.remove(resourcePath("batch/v1", "jobs", namespaceOf(job), nameOf(job)),
                                    Propagation::kBackground);
      if (removed || removed.error().isNotFound()) orphans.push_back(*id);
    }
  }
  return orphans;
}

}  // namespace tjf::kubernetes
