#include "engine/engine.hpp"

#include <boost/asio/post.hpp>
#include <cstdio>

#include "base/time_format.hpp"

namespace tjf::engine {
namespace {

namespace asio = boost::asio;
using model::RunReason;
using model::RunRecord;
using model::RunState;

RunState stateFor(RunReason reason) {
  switch (reason) {
    case RunReason::kCompleted: return RunState::kSucceeded;
    case RunReason::kLost: return RunState::kLost;
    case RunReason::kConcurrencyForbid:
    case RunReason::kMissedDeadline: return RunState::kSkipped;
    default: return RunState::kFailed;
  }
}

std::string describeExit(const RunRecord& run) {
  std::string text = std::string(model::toString(run.reason));
  if (run.signal) {
    text += " (signal " + std::to_string(*run.signal) + ")";
  } else if (run.exit_code) {
    text += " (exit code " + std::to_string(*run.exit_code) + ")";
  }
  if (!run.message.empty()) text += ": " + run.message;
  return text;
}

}  // namespace

Engine::Engine(asio::io_context& io, store::Store& store, runtime::Runtime& runtime,
               const Clock& clock, EngineOptions options)
    : io_(io), store_(store), runtime_(runtime), clock_(clock), options_(std::move(options)) {
  runtime_.setExitCallback([this](const runtime::RunExit& exit) { onExit(exit); });
}

Status Engine::recover() {
  auto active = store_.activeRuns();
  if (!active) return tl::unexpected(active.error());
  std::vector<std::int64_t> known;
  std::set<std::int64_t> job_ids;
  for (const auto& run : *active) {
    job_ids.insert(run.job_id);
    if (run.state != RunState::kRunning) continue;
    known.push_back(run.id);
    runtime_.adopt(runtime::RunHandle{.run_id = run.id,
                                      .pid = run.shim_pid,
                                      .start_ticks = run.shim_start_ticks,
                                      .started_at = run.started_at.value_or(run.created_at),
                                      .captured_output = run.captured_output});
  }
  for (const auto id : runtime_.stopOrphans(known)) {
    std::fprintf(stderr, "tjfd: stopped orphaned run %lld (no record in the store)\n",
                 static_cast<long long>(id));
  }
  auto jobs = store_.allJobs();
  if (!jobs) return tl::unexpected(jobs.error());
  for (const auto& job : *jobs) job_ids.insert(job.id);
  for (const auto id : job_ids) nudge(id);
  return {};
}

void Engine::nudge(std::int64_t job_id) {
  if (!nudged_.insert(job_id).second) return;
  asio::post(io_, [this, job_id] {
    nudged_.erase(job_id);
    reconcile(job_id);
  });
}

void Engine::nudgeAll() {
  if (auto jobs = store_.allJobs()) {
    for (const auto& job : *jobs) nudge(job.id);
  }
}

void Engine::logError(const std::string& what, const Error& error) {
  std::fprintf(stderr, "tjfd: %s: %s\n", what.c_str(), error.message.c_str());
}

void Engine::reconcile(std::int64_t job_id) {
  auto job = store_.jobById(job_id);
  if (!job) return logError("reconcile job " + std::to_string(job_id), job.error());
  auto active = store_.activeRunsOfJob(job_id);
  if (!active) return logError("reconcile job " + std::to_string(job_id), active.error());
  if (!*job) {
    // Deleted: whatever still runs for it is stopped.
    for (const auto& action : decideRemoval(*active).actions) apply(nullptr, action);
    return;
  }
  const model::JobRecord& record = **job;
  // Runs of an older generation (the job was updated or restarted) are superseded.
  std::vector<RunRecord> stale;
  for (const auto& run : *active) {
    if (run.generation != record.generation) stale.push_back(run);
  }
  for (const auto& action : decideRemoval(stale).actions) apply(&record, action);

  auto recent = store_.runsOfJob(job_id, 64);
  if (!recent) return logError("reconcile job " + std::to_string(job_id), recent.error());
  std::vector<RunRecord> current;
  for (auto it = recent->rbegin(); it != recent->rend(); ++it) {
    if (it->generation == record.generation) current.push_back(*it);
  }

  auto tool = options_.tools->find(record.tool);
  const model::Image* image = options_.images->resolve(record.spec.imagename);
  Result<model::ResolvedJob> resolved = tool && image
      ? model::resolveJob(record.spec, *tool, *image, options_.defaults)
      : Result<model::ResolvedJob>(tl::unexpected(
            tool ? model::noSuchImage(record.spec.imagename) : tool.error()));

  Decision decision;
  switch (record.spec.type) {
    case model::JobType::kOneOff:
      if (!resolved) {
        // The job was valid when created, but its image or tool has gone since (configuration
        // change): record one failed run that says so instead of retrying forever.
        if (current.empty()) {
          RunRecord run{.job_id = record.id, .tool = record.tool, .job_name = record.spec.name,
                        .generation = record.generation, .created_at = clock_.now()};
          if (auto inserted = store_.insertRun(run)) {
            failRunWithoutStart(*inserted, RunReason::kStartError, resolved.error().message);
          }
        }
        return;
      }
      decision = decideOneOff(*resolved, current, clock_.now(), options_.retry);
      break;
    case model::JobType::kScheduled:
    case model::JobType::kContinuous:
      // Implemented by the scheduled and continuous decide steps.
      return;
  }
  for (const auto& action : decision.actions) apply(&record, action);
  if (decision.wake_at) wakeAt(job_id, *decision.wake_at);
}

void Engine::apply(const model::JobRecord* job, const Action& action) {
  const TimePoint now = clock_.now();
  if (const auto* create = std::get_if<CreateRun>(&action)) {
    RunRecord run{.job_id = job->id, .tool = job->tool, .job_name = job->spec.name,
                  .generation = job->generation, .attempt = create->attempt,
                  .replica = create->replica, .created_at = now,
                  .not_before = create->not_before, .scheduled_for = create->scheduled_for};
    auto inserted = store_.insertRun(run);
    if (!inserted) return logError("create a run of '" + job->spec.name + "'", inserted.error());
    if (create->not_before && *create->not_before > now) {
      event(*inserted, "retry-scheduled",
            "attempt " + std::to_string(create->attempt) + " starts at " +
                formatIsoUtc(*create->not_before));
      wakeAt(job->id, *create->not_before);
      return;
    }
    startRun(*job, std::move(*inserted));
  } else if (const auto* start = std::get_if<StartRun>(&action)) {
    auto run = store_.runById(start->run_id);
    if (run && *run) startRun(*job, std::move(**run));
  } else if (const auto* stop = std::get_if<StopRun>(&action)) {
    auto run = store_.runById(stop->run_id);
    if (!run || !*run || (*run)->state != RunState::kRunning) return;
    if (!(*run)->stop_requested) {
      (*run)->stop_requested = true;
      if (auto ok = store_.updateRun(**run); !ok) logError("stop a run", ok.error());
      event(**run, "stopping", "stop requested");
    }
    if (auto ok = runtime_.stop(stop->run_id); !ok) logError("stop a run", ok.error());
  } else if (const auto* cancel = std::get_if<CancelRun>(&action)) {
    auto run = store_.runById(cancel->run_id);
    if (!run || !*run || (*run)->state != RunState::kPending) return;
    RunRecord r = **run;
    r.state = RunState::kSkipped;
    r.reason = cancel->reason;
    r.finished_at = now;
    if (auto ok = store_.updateRun(r); !ok) logError("cancel a run", ok.error());
    event(r, "cancelled", "never started: " + std::string(model::toString(cancel->reason)));
  }
}

Result<runtime::RunRequest> Engine::buildRequest(const model::JobRecord& job, const RunRecord& run) {
  auto tool = options_.tools->find(job.tool);
  if (!tool) return tl::unexpected(tool.error());
  const model::Image* image = options_.images->resolve(job.spec.imagename);
  if (!image) return tl::unexpected(model::noSuchImage(job.spec.imagename));
  auto resolved = model::resolveJob(job.spec, *tool, *image, options_.defaults);
  if (!resolved) return tl::unexpected(resolved.error());

  runtime::RunRequest req;
  req.run_id = run.id;
  req.tool = job.tool;
  req.job_name = job.spec.name;
  req.command = job.spec.cmd;
  req.image = image;
  req.workdir = tool->home;
  // A clean, documented environment (ARCHITECTURE.md, "The run environment").
  req.env = {"HOME=" + tool->home.string(),
             "TOOL_DATA_DIR=" + tool->home.string(),
             "TOOL_NAME=" + job.tool,
             "PATH=" + options_.path_env,
             "LANG=C.UTF-8",
             "SHELL=/bin/sh",
             "JOB_NAME=" + job.spec.name,
             "TJF_RUN_ID=" + std::to_string(run.id),
             "TJF_ATTEMPT=" + std::to_string(run.attempt)};
  if (job.spec.port) req.env.push_back("PORT=" + std::to_string(*job.spec.port));
  if (resolved->filelog) {
    req.stdout_path = resolved->stdout_path;
    req.stderr_path = resolved->stderr_path;
  }
  req.timeout_seconds = resolved->timeout_seconds;
  req.memory_bytes = resolved->memory_bytes;
  req.cpu_millis = resolved->cpu_millis;
  if (options_.drop_privileges) {
    req.uid = tool->uid;
    req.gid = tool->gid;
    req.groups = tool->groups;
  }
  return req;
}

void Engine::startRun(const model::JobRecord& job, RunRecord run) {
  auto request = buildRequest(job, run);
  if (!request) return failRunWithoutStart(std::move(run), RunReason::kStartError,
                                           request.error().message);
  // Marked running before the shim exists: if this process restarts between here and the
  // update below, recovery finds a running run without a pid and looks for its shim by run id,
  // so the run is adopted or recorded as lost, never started twice.
  run.state = RunState::kRunning;
  run.started_at = clock_.now();
  run.not_before.reset();
  if (auto ok = store_.updateRun(run); !ok) return logError("start a run", ok.error());
  auto handle = runtime_.start(*request);
  if (!handle) {
    return failRunWithoutStart(std::move(run), RunReason::kStartError, handle.error().message);
  }
  run.shim_pid = handle->pid;
  run.shim_start_ticks = handle->start_ticks;
  run.captured_output = handle->captured_output;
  if (auto ok = store_.updateRun(run); !ok) logError("record a started run", ok.error());
  event(run, "started", "attempt " + std::to_string(run.attempt));
}

void Engine::failRunWithoutStart(RunRecord run, RunReason reason, const std::string& why) {
  run.state = stateFor(reason);
  run.reason = reason;
  run.message = why;
  run.finished_at = clock_.now();
  if (!run.started_at) run.started_at = run.finished_at;
  if (auto ok = store_.updateRun(run); !ok) logError("record a failed start", ok.error());
  event(run, "failed", describeExit(run));
  nudge(run.job_id);
}

void Engine::onExit(const runtime::RunExit& exit) {
  auto found = store_.runById(exit.run_id);
  if (!found || !*found) return;
  RunRecord run = **found;
  if (isFinal(run.state)) return;  // reported once already
  run.reason = model::runReasonFromString(exit.reason).value_or(RunReason::kError);
  run.state = stateFor(run.reason);
  if (exit.started_at) run.started_at = exit.started_at;
  run.finished_at = exit.finished_at;
  run.exit_code = exit.exit_code;
  run.signal = exit.signal;
  run.message = exit.message;
  if (auto ok = store_.updateRun(run); !ok) logError("record a run's exit", ok.error());
  event(run, run.state == RunState::kSucceeded ? "completed" : "failed", describeExit(run));
  nudge(run.job_id);
}

void Engine::wakeAt(std::int64_t job_id, TimePoint when) {
  auto& timer = timers_[job_id];
  if (!timer) timer = std::make_unique<asio::steady_timer>(io_);
  const auto delay = std::max(when - clock_.now(), TimePoint::duration::zero());
  const auto due = std::chrono::steady_clock::now() +
                   std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay);
  // Keep the earliest wake-up if one is already armed.
  if (timer->expiry() > std::chrono::steady_clock::now() && timer->expiry() <= due) return;
  timer->expires_at(due);
  timer->async_wait([this, job_id](const boost::system::error_code& ec) {
    if (!ec) nudge(job_id);
  });
}

void Engine::event(const RunRecord& run, const std::string& kind, const std::string& message) {
  store::EventRecord e{.time = clock_.now(), .tool = run.tool, .job_name = run.job_name,
                       .run_id = run.id, .kind = kind, .message = message};
  if (auto ok = store_.addEvent(e); !ok) logError("record an event", ok.error());
}

}  // namespace tjf::engine
