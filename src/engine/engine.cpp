#include "engine/engine.hpp"

#include <algorithm>
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
  runtime_.setNoteCallback(
      [this](std::int64_t run_id, const std::string& note) { onNote(run_id, note); });
  runtime_.setJobNoteCallback(
      [this](const std::string& tool, const std::string& job, const std::string& note) {
        onJobNote(tool, job, note);
      });
  runtime_.setRunObserver(
      [this](const runtime::ObservedRun& observed) { return onObservedRun(observed); });
  prober_ = options_.prober;
  if (!prober_) {
    own_prober_ = std::make_unique<runtime::LocalProber>(io_);
    prober_ = own_prober_.get();
  }
}

Engine::~Engine() {
  for (const auto& [run_id, slot] : probe_slots_) {
    if (slot.in_flight) prober_->cancel(*slot.in_flight);
  }
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
                                      .captured_output = run.captured_output,
                                      .external_id = run.external_id});
  }
  for (const auto id : runtime_.stopOrphans(known)) {
    std::fprintf(stderr, "tjfd: stopped orphaned run %lld (no record in the store)\n",
                 static_cast<long long>(id));
  }
  auto jobs = store_.allJobs();
  if (!jobs) return tl::unexpected(jobs.error());
  std::vector<std::pair<std::string, std::string>> placeable;
  for (const auto& job : *jobs) {
    job_ids.insert(job.id);
    if (runtime_.placesJobs(job.spec.type)) placeable.emplace_back(job.tool, job.spec.name);
  }
  // Placed jobs deleted while the daemon was away still exist in the runtime: remove them.
  runtime_.removeUnknownJobs(placeable);
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
    // Deleted: whatever still runs for it is stopped, and a placed definition removed.
    for (const auto& action : decideRemoval(*active).actions) apply(nullptr, action);
    unplace(job_id);
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

  if (runtime_.placesJobs(record.spec.type)) {
    return reconcilePlaced(record, resolved, current, stale);
  }
  unplace(job_id);  // e.g. replaced by a job of another type under the same id
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
      reconcileScheduled(record, resolved, current, stale);
      return;
    case model::JobType::kContinuous:
      reconcileContinuous(record, resolved, std::move(current), stale);
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
      // A continuous job restarts after its back-off; other jobs retry a failed attempt.
      const bool restart = job->spec.type == model::JobType::kContinuous;
      event(*inserted, restart ? "restart-scheduled" : "retry-scheduled",
            (restart ? "restart " + std::to_string(create->attempt - 1) + " starts at "
                     : "attempt " + std::to_string(create->attempt) + " starts at ") +
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
  // -- the tool's envvars (EngineOptions::tool_env) --
  if (options_.tool_env) {
    auto extra = options_.tool_env(job.tool);
    if (!extra) return tl::unexpected(extra.error());
    for (const auto& [name, value] : *extra) {
      const std::string prefix = name + "=";
      auto same = std::find_if(req.env.begin(), req.env.end(), [&](const std::string& kv) {
        return kv.compare(0, prefix.size(), prefix) == 0;
      });
      if (same == req.env.end()) {
        req.env.push_back(prefix + value);
      } else if (name == "PATH" || name == "LANG" || name == "SHELL") {
        *same = prefix + value;
      }  // anything else tjf set wins (service/envvars.cpp refuses those names anyway)
    }
  }
  if (resolved->filelog) {
    req.stdout_path = resolved->stdout_path;
    req.stderr_path = resolved->stderr_path;
  }
  req.timeout_seconds = resolved->timeout_seconds;
  req.memory_bytes = resolved->memory_bytes;
  req.cpu_millis = resolved->cpu_millis;
  req.mount = resolved->mount;
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
  if (!admitOrWait(job, *request, run)) return;
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

void Engine::onNote(std::int64_t run_id, const std::string& note) {
  auto found = store_.runById(run_id);
  if (!found || !*found || (*found)->state != RunState::kRunning) return;
  RunRecord run = **found;
  if (run.message == note) return;
  run.message = note;
  if (auto ok = store_.updateRun(run); !ok) return logError("record a note on a run", ok.error());
  if (!note.empty()) event(run, "waiting", note);
}

void Engine::onExit(const runtime::RunExit& exit) {
  auto found = store_.runById(exit.run_id);
  if (!found || !*found) return;
  RunRecord run = **found;
  forgetProbe(run.id);
  if (isFinal(run.state)) return;  // reported once already
  if (exit.never_started) {
    // Recorded as running, but the daemon stopped before its shim existed: it is still owed one
    // start, under the same id, and it is not a failed attempt.
    run.state = RunState::kPending;
    run.started_at.reset();
    run.shim_pid = 0;
    run.shim_start_ticks = 0;
    if (auto ok = store_.updateRun(run); !ok) logError("reset a run that never started", ok.error());
    event(run, "restarting", exit.message);
    nudge(run.job_id);
    return;
  }
  const RunReason reported = model::runReasonFromString(exit.reason).value_or(RunReason::kError);
  // A stop that tjf asked for with a reason of its own (a failed health check) keeps it: the
  // shim only knows it was told to stop.
  const bool own_reason =
      run.stop_requested && run.reason != RunReason::kNone && reported == RunReason::kStopped;
  if (!own_reason) run.reason = reported;
  run.state = stateFor(run.reason);
  if (exit.started_at) run.started_at = exit.started_at;
  run.finished_at = exit.finished_at;
  run.exit_code = exit.exit_code;
  run.signal = exit.signal;
  if (!own_reason) run.message = exit.message;
  if (auto ok = store_.updateRun(run); !ok) logError("record a run's exit", ok.error());
  event(run, run.state == RunState::kSucceeded ? "completed" : "failed", describeExit(run));
  nudge(run.job_id);
  // Room for the tool's runs that wait for quota.
  if (auto waiting = quota_waiting_.find(run.tool); waiting != quota_waiting_.end()) {
    for (const auto id : waiting->second) nudge(id);
    quota_waiting_.erase(waiting);
  }
}

// ---- Quota admission (admission.hpp) ---------------------------------------------------------

Result<RunningUsage> Engine::runningUsage(const std::string& tool) {
  auto active = store_.activeRuns();
  if (!active) return tl::unexpected(active.error());
  RunningUsage usage;
  std::map<std::int64_t, RunDemand> demand_of_job;
  for (const auto& run : *active) {
    if (run.tool != tool || run.state != RunState::kRunning) continue;
    auto known = demand_of_job.find(run.job_id);
    if (known == demand_of_job.end()) {
      RunDemand demand;  // a deleted job's run that is still stopping counts as a run only
      auto job = store_.jobById(run.job_id);
      auto owner = options_.tools->find(tool);
      const model::Image* image =
          job && *job ? options_.images->resolve((*job)->spec.imagename) : nullptr;
      if (job && *job && owner && image) {
        demand.type = (*job)->spec.type;
        if (auto r = model::resolveJob((*job)->spec, *owner, *image, options_.defaults)) {
          demand.cpu_millis = r->cpu_millis;
          demand.memory_bytes = r->memory_bytes;
        }
      }
      known = demand_of_job.emplace(run.job_id, demand).first;
    }
    usage.add(known->second);
  }
  return usage;
}

bool Engine::admitOrWait(const model::JobRecord& job, const runtime::RunRequest& request,
                         RunRecord& run) {
  if (!options_.quota) return true;
  auto usage = runningUsage(job.tool);
  if (!usage) {
    // Fail open: a store error must not keep every run of a tool from starting.
    logError("measure the quota use of tool '" + job.tool + "'", usage.error());
    return true;
  }
  const RunDemand demand{job.spec.type, request.cpu_millis, request.memory_bytes};
  const Admission admission = admit(options_.quota(job.tool), *usage, demand);
  if (admission.admitted) {
    if (isQuotaWait(run.message)) run.message.clear();
    return true;
  }
  quota_waiting_[job.tool].insert(job.id);
  const std::string why = admission.message();
  if (run.message != why) {
    // Stays pending; the reason is what `show` says about it until it starts.
    run.message = why;
    if (auto ok = store_.updateRun(run); !ok) logError("record a run waiting for quota", ok.error());
    event(run, "waiting-for-quota", why);
  }
  return false;
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

// ---- Continuous jobs (decide_continuous.hpp) -------------------------------------------------

void Engine::reconcileContinuous(const model::JobRecord& job,
                                 const Result<model::ResolvedJob>& resolved,
                                 std::vector<RunRecord> current,
                                 const std::vector<RunRecord>& stale) {
  const TimePoint now = clock_.now();
  if (!resolved) {
    // The job was valid when created, but its image or tool has gone since (a configuration
    // change): record one failed run that says so rather than crash-looping on it. A daemon
    // restarted with a configuration that knows the image again restarts the job.
    const bool active = std::any_of(current.begin(), current.end(),
                                    [](const RunRecord& r) { return !isFinal(r.state); });
    const bool said = !current.empty() && current.back().reason == RunReason::kStartError &&
                      current.back().message == resolved.error().message;
    if (!active && !said) {
      RunRecord run{.job_id = job.id, .tool = job.tool, .job_name = job.spec.name,
                    .generation = job.generation, .created_at = now};
      if (auto inserted = store_.insertRun(run)) {
        failRunWithoutStart(*inserted, RunReason::kStartError, resolved.error().message);
      }
    }
    return;
  }
  // The back-off needs the last few runs of every replica (reconcile reads 64 runs of any
  // generation): read more for many replicas.
  const int replicas = resolved->replicas;
  if (replicas > 6) {
    auto recent = store_.runsOfJob(job.id, replicas * 8 + 16);
    if (!recent) return logError("reconcile job '" + job.spec.name + "'", recent.error());
    current.clear();
    for (auto it = recent->rbegin(); it != recent->rend(); ++it) {
      if (it->generation == job.generation) current.push_back(*it);
    }
  }
  ContinuousInput input;
  input.replicas = replicas;
  input.probed = hasHealthProbe(job.spec);
  input.runs = std::move(current);
  input.superseded_active = std::any_of(stale.begin(), stale.end(), [](const RunRecord& r) {
    return r.state == RunState::kRunning;
  });
  input.probes = &probe_states_;
  const ContinuousDecision decision =
      decideContinuous(input, now, options_.supervision, options_.probes);
  // Runs on their way out are probed no more (a stopped run's probe state goes at its exit).
  for (const auto& run : stale) forgetProbe(run.id);
  for (const auto& run : input.runs) {
    if (run.stop_requested) forgetProbe(run.id);
  }
  for (const auto& action : decision.actions) apply(&job, action);
  for (const auto& stop : decision.health_stops) stopForHealthCheck(stop);
  for (const auto& probe : decision.probes) startProbe(job, probe);
  for (const auto& wake : decision.probe_wakes) {
    if (auto slot = probe_slots_.find(wake.run_id); slot != probe_slots_.end()) {
      slot->second.job_id = job.id;
    } else {
      probe_slots_[wake.run_id].job_id = job.id;
    }
    armProbeTimer(wake.run_id, wake.at);
  }
  if (decision.wake_at) wakeAt(job.id, *decision.wake_at);
}

void Engine::startProbe(const model::JobRecord& job, const ProbeRun& probe) {
  ProbeSlot& slot = probe_slots_[probe.run_id];
  slot.job_id = job.id;
  if (!slot.spec) {
    // Built once per run: the same environment, directory and identity as the run itself.
    auto run = store_.runById(probe.run_id);
    if (!run || !*run) return;
    auto request = buildRequest(job, **run);
    if (!request) return logError("health check of run " + std::to_string(probe.run_id),
                                  request.error());
    runtime::ProbeSpec p;
    const auto& check = job.spec.health_check;
    if (check && check->type == model::HealthCheckType::kScript) {
      p.kind = runtime::ProbeKind::kScript;
      p.script = check->value;
    } else {
      p.kind = check ? runtime::ProbeKind::kHttp : runtime::ProbeKind::kTcp;
      p.path = check ? check->value : "/";
      p.port = static_cast<std::uint16_t>(job.spec.port.value_or(0));
    }
    p.workdir = request->workdir;
    p.env = std::move(request->env);
    p.uid = request->uid;
    p.gid = request->gid;
    p.groups = request->groups;
    p.timeout = options_.probes.timeout;
    slot.spec = std::move(p);
  }
  launchProbe(probe.run_id, slot);
}

void Engine::launchProbe(std::int64_t run_id, ProbeSlot& slot) {
  if (slot.in_flight) return;
  recordProbeStart(probe_states_[run_id], clock_.now());
  slot.in_flight = prober_->start(
      *slot.spec, [this, run_id](const runtime::ProbeResult& result) { onProbeResult(run_id, result); });
}

// The rhythm of one run's probes, between reconciles of its job: the same decideProbe the
// reconcile uses, on what is in memory; a failed health check goes back through the reconcile,
// which reads the run and stops it.
void Engine::probeTick(std::int64_t run_id) {
  const auto slot = probe_slots_.find(run_id);
  if (slot == probe_slots_.end()) return;  // the run has ended
  const auto state = probe_states_.find(run_id);
  const ProbeVerdict v = decideProbe(state == probe_states_.end() ? nullptr : &state->second,
                                     clock_.now(), options_.probes);
  if (v.stop || (v.probe_now && !slot->second.spec)) {
    nudge(slot->second.job_id);
    return;
  }
  if (v.probe_now) launchProbe(run_id, slot->second);
  if (v.next) armProbeTimer(run_id, *v.next);
}

void Engine::armProbeTimer(std::int64_t run_id, TimePoint at) {
  ProbeSlot& slot = probe_slots_[run_id];
  if (!slot.timer) slot.timer = std::make_unique<asio::steady_timer>(io_);
  const auto delay = std::max(at - clock_.now(), TimePoint::duration::zero());
  slot.timer->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay));
  slot.timer->async_wait([this, run_id](const boost::system::error_code& ec) {
    if (!ec) probeTick(run_id);
  });
}

void Engine::onProbeResult(std::int64_t run_id, const runtime::ProbeResult& result) {
  const auto slot = probe_slots_.find(run_id);
  if (slot == probe_slots_.end()) return;  // the run ended meanwhile
  slot->second.in_flight.reset();
  recordProbeResult(probe_states_[run_id], result.healthy, clock_.now(), result.message,
                    options_.probes);
  probeTick(run_id);
}

void Engine::stopForHealthCheck(const HealthStop& stop) {
  auto found = store_.runById(stop.run_id);
  if (!found || !*found || (*found)->state != RunState::kRunning) return;
  RunRecord run = **found;
  if (!run.stop_requested) {
    // The reason is written before the stop, so a daemon restart during the grace period still
    // records the run as failed by its health check (see onExit).
    run.stop_requested = true;
    run.reason = RunReason::kHealthCheckFailed;
    run.message = stop.message;
    if (auto ok = store_.updateRun(run); !ok) logError("stop a run", ok.error());
    event(run, "health-check-failed", stop.message + "; stopping the run to restart it");
  }
  forgetProbe(run.id);
  if (auto ok = runtime_.stop(run.id); !ok) logError("stop a run", ok.error());
}

void Engine::forgetProbe(std::int64_t run_id) {
  if (const auto it = probe_slots_.find(run_id); it != probe_slots_.end()) {
    if (it->second.in_flight) prober_->cancel(*it->second.in_flight);
    probe_slots_.erase(it);  // the timer's wait ends with operation_aborted
  }
  probe_states_.erase(run_id);
}

bool Engine::healthCheckPassed(std::int64_t run_id) const {
  // Placed continuous jobs carry their probes to the runtime, which restarts what fails them;
  // a run it reports as running is taken as healthy.
  if (runtime_.placesJobs(model::JobType::kContinuous)) return true;
  const auto it = probe_states_.find(run_id);
  return it != probe_states_.end() && it->second.startup_done;
}

// ---- Scheduled jobs (decide_scheduled.hpp) ---------------------------------------------------

namespace {

// The fire timer never sleeps longer than this: the fire times are wall-clock times but the timer
// runs on the monotonic clock, so a wall clock that is stepped or slewed meanwhile is caught up
// with within this much (at the cost of a handful of idle wake-ups a minute).
constexpr auto kMaxFireSleep = std::chrono::seconds(10);
// A scheduled job whose reconcile failed (a store error) is tried again after this.
constexpr auto kFireRetryAfterError = std::chrono::seconds(10);

}  // namespace

void Engine::reconcileScheduled(const model::JobRecord& job,
                                const Result<model::ResolvedJob>& resolved,
                                const std::vector<RunRecord>& current,
                                const std::vector<RunRecord>& stale) {
  const TimePoint now = clock_.now();
  // Parsed on every reconcile (a few microseconds) rather than cached: nothing to invalidate,
  // and 100,000 cached schedules would cost memory for a saving nobody would notice.
  auto schedule =
      cron::parseSchedule(job.spec.schedule.value_or(""), job.tool, job.spec.name,
                          job.spec.time_zone.value_or(std::string(cron::kDefaultTimeZone)));
  if (!schedule) {
    // Valid when it was created, refused now (say, its zone left the time zone database): it
    // cannot fire until it is updated, which nudges it again.
    fire_queue_.disarm(job.id);
    armFireTimer();
    return logError("schedule of job '" + job.spec.name + "' of tool '" + job.tool + "'",
                    schedule.error());
  }
  // Without its image or tool the job still fires on time: each run then fails to start with the
  // reason (buildRequest), so the history says why instead of the job going quiet.
  model::ResolvedJob policy;
  if (resolved) {
    policy = *resolved;
  } else {
    policy.retry = job.spec.retry.value_or(0);
    policy.concurrency_policy =
        job.spec.concurrency_policy.value_or(options_.defaults.concurrency_policy);
    policy.starting_deadline_seconds =
        job.spec.starting_deadline_seconds.value_or(options_.defaults.starting_deadline_seconds);
  }
  ScheduledInput input;
  input.runs = current;
  input.generation_start = job.updated_at;
  input.superseded_active = std::any_of(stale.begin(), stale.end(), [](const RunRecord& r) {
    return !isFinal(r.state);
  });
  const ScheduledDecision decision =
      decideScheduled(policy, *schedule, input, now, options_.retry);
  for (const auto& skip : decision.skips) recordSkip(job, skip);
  for (const auto& action : decision.actions) {
    if (fire_batch_ && deferStart(job, action)) continue;
    apply(&job, action);
  }
  if (decision.wake_at) wakeAt(job.id, *decision.wake_at);
  if (decision.next_fire) {
    fire_queue_.arm(job.id, *decision.next_fire);
  } else {
    fire_queue_.disarm(job.id);
  }
  armFireTimer();
}

void Engine::recordSkip(const model::JobRecord& job, const SkipFire& skip) {
  const TimePoint now = clock_.now();
  RunRecord run{.job_id = job.id, .tool = job.tool, .job_name = job.spec.name,
                .generation = job.generation, .state = RunState::kSkipped, .reason = skip.reason,
                .message = skip.message, .created_at = now, .finished_at = now,
                .scheduled_for = skip.scheduled_for};
  // The store's unique index on (job, scheduled_for, replica, attempt) refuses a second record of
  // the same fire: a repeat is an error logged here, never a second row.
  auto inserted = store_.insertRun(run);
  if (!inserted) {
    return logError("record a skipped run of '" + job.spec.name + "'", inserted.error());
  }
  event(*inserted, "skipped",
        "fire time " + formatIsoUtc(skip.scheduled_for) + " skipped (" +
            std::string(model::toString(skip.reason)) + "): " + skip.message);
}

void Engine::armFireTimer() {
  const auto next = fire_queue_.nextDue();
  if (!next) return;  // an armed wait finds nothing due and stops there
  const auto delay = std::clamp<TimePoint::duration>(
      *next - clock_.now(), TimePoint::duration::zero(), kMaxFireSleep);
  const auto due = std::chrono::steady_clock::now() +
                   std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay);
  // Re-arming cancels the armed wait (a wasted wake-up): keep it when it is not later.
  if (fire_wait_pending_ && fire_timer_expiry_ <= due) return;
  if (!fire_timer_) fire_timer_ = std::make_unique<asio::steady_timer>(io_);
  fire_timer_->expires_at(due);
  fire_timer_expiry_ = due;
  fire_wait_pending_ = true;
  fire_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed for an earlier time, or the engine is going away
    fire_wait_pending_ = false;
    onFireTimer();
  });
}

void Engine::onFireTimer() {
  const TimePoint now = clock_.now();
  const std::vector<FireQueue::Key> due = fire_queue_.popDue(now);
  if (due.empty()) return armFireTimer();
  // Every decision of the burst, and the marking of its runs as running, in one transaction: one
  // commit for a thousand fires instead of a thousand. Nothing is started inside it, so a crash
  // before the commit leaves no process behind and the fires are simply decided again (they are
  // not in the store); the shims start only once their runs are durably marked running.
  std::vector<DeferredStart> batch;
  fire_batch_ = &batch;
  auto decided = store_.transaction([&]() -> Status {
    for (const auto job_id : due) {
      auto job = store_.jobById(job_id);
      if (!job) {
        logError("fire job " + std::to_string(job_id), job.error());
        fire_queue_.arm(job_id, now + kFireRetryAfterError);
        continue;
      }
      if (!*job || (*job)->spec.type != model::JobType::kScheduled) continue;  // deleted, changed
      // Replaced by the next fire time when the reconcile gets that far; kept if it fails.
      fire_queue_.arm(job_id, now + kFireRetryAfterError);
      reconcile(job_id);
    }
    fire_batch_ = nullptr;
    markStarting(batch);
    return {};
  });
  fire_batch_ = nullptr;
  if (!decided) {
    // Rolled back: nothing of the burst happened. Decide it again shortly (each fire stays due
    // until its starting deadline).
    logError("record a burst of " + std::to_string(due.size()) + " fires", decided.error());
    for (const auto job_id : due) fire_queue_.arm(job_id, now + std::chrono::seconds(1));
    return armFireTimer();
  }
  spawnStarting(batch);
  armFireTimer();
}

bool Engine::deferStart(const model::JobRecord& job, const Action& action) {
  const TimePoint now = clock_.now();
  if (const auto* create = std::get_if<CreateRun>(&action)) {
    if (create->not_before && *create->not_before > now) return false;  // a retry: apply() waits
    RunRecord run{.job_id = job.id, .tool = job.tool, .job_name = job.spec.name,
                  .generation = job.generation, .attempt = create->attempt,
                  .replica = create->replica, .created_at = now,
                  .not_before = create->not_before, .scheduled_for = create->scheduled_for};
    auto inserted = store_.insertRun(run);
    if (!inserted) {
      logError("create a run of '" + job.spec.name + "'", inserted.error());
      return true;
    }
    fire_batch_->push_back(DeferredStart{.job = job, .run = std::move(*inserted)});
    return true;
  }
  if (const auto* start = std::get_if<StartRun>(&action)) {
    auto run = store_.runById(start->run_id);
    if (run && *run && (*run)->state == RunState::kPending) {
      fire_batch_->push_back(DeferredStart{.job = job, .run = std::move(**run)});
    }
    return true;
  }
  return false;
}

// The first half of startRun for a burst, inside its transaction.
void Engine::markStarting(std::vector<DeferredStart>& batch) {
  for (auto& s : batch) {
    auto request = buildRequest(s.job, s.run);
    if (!request) {
      failRunWithoutStart(s.run, RunReason::kStartError, request.error().message);
      continue;
    }
    if (!admitOrWait(s.job, *request, s.run)) continue;  // stays pending, waiting for quota
    s.run.state = RunState::kRunning;
    s.run.started_at = clock_.now();
    s.run.not_before.reset();
    if (auto ok = store_.updateRun(s.run); !ok) {
      logError("start a run", ok.error());
      continue;
    }
    s.request = std::move(*request);
    s.ready = true;
  }
}

// The second half of startRun for a burst, after the commit: the shims, then one transaction for
// their pids. If this process stops in between, recovery finds running runs without a pid and
// looks for their shims by run id, as after a crash inside startRun.
void Engine::spawnStarting(std::vector<DeferredStart>& batch) {
  std::vector<RunRecord> started;
  for (auto& s : batch) {
    if (!s.ready) continue;
    auto handle = runtime_.start(s.request);
    if (!handle) {
      failRunWithoutStart(std::move(s.run), RunReason::kStartError, handle.error().message);
      continue;
    }
    s.run.shim_pid = handle->pid;
    s.run.shim_start_ticks = handle->start_ticks;
    s.run.captured_output = handle->captured_output;
    started.push_back(s.run);
  }
  if (started.empty()) return;
  auto recorded = store_.transaction([&]() -> Status {
    for (const auto& run : started) {
      if (auto ok = store_.updateRun(run); !ok) logError("record a started run", ok.error());
      event(run, "started", "attempt " + std::to_string(run.attempt));
    }
    return {};
  });
  if (!recorded) logError("record " + std::to_string(started.size()) + " started runs",
                          recorded.error());
}

// ---- Placed jobs (runtime.hpp, "the job-level seam") -----------------------------------------

Result<runtime::JobPlacement> Engine::buildPlacement(const model::JobRecord& job,
                                                     const model::ResolvedJob& resolved) {
  auto tool = options_.tools->find(job.tool);
  if (!tool) return tl::unexpected(tool.error());
  runtime::JobPlacement placement{.tool = *tool,
                                  .spec = job.spec,
                                  .resolved = resolved,
                                  .image = options_.images->resolve(job.spec.imagename),
                                  .generation = job.generation};
  if (!placement.image) return tl::unexpected(model::noSuchImage(job.spec.imagename));
  if (job.spec.type == model::JobType::kScheduled) {
    auto schedule = cron::parseSchedule(
        job.spec.schedule.value_or(""), job.tool, job.spec.name,
        job.spec.time_zone.value_or(std::string(cron::kDefaultTimeZone)));
    if (!schedule) return tl::unexpected(schedule.error());
    placement.effective_schedule = schedule->effective;
  }
  // The environment and identity of every run, as a run of this job started here would get them.
  auto request = buildRequest(job, RunRecord{.job_id = job.id, .generation = job.generation});
  if (!request) return tl::unexpected(request.error());
  placement.env = std::move(request->env);
  placement.uid = request->uid;
  placement.gid = request->gid;
  return placement;
}

void Engine::reconcilePlaced(const model::JobRecord& job,
                             const Result<model::ResolvedJob>& resolved,
                             const std::vector<RunRecord>& current,
                             const std::vector<RunRecord>& stale) {
  auto placed = placed_.find(job.id);
  if (placed == placed_.end() || placed->second.generation != job.generation) {
    auto placement = resolved ? buildPlacement(job, *resolved)
                              : Result<runtime::JobPlacement>(tl::unexpected(resolved.error()));
    if (!placement) {
      // Valid when it was created, not placeable now (its image or tool has gone): the previous
      // generation, if any, stays placed until the configuration knows them again.
      onJobNote(job.tool, job.spec.name, "Unable to start: " + placement.error().message);
      return logError("place job '" + job.spec.name + "' of tool '" + job.tool + "'",
                      placement.error());
    }
    if (auto ok = runtime_.placeJob(*placement); !ok) {
      return logError("place job '" + job.spec.name + "' of tool '" + job.tool + "'", ok.error());
    }
    placed_[job.id] = Placed{job.tool, job.spec.name, job.generation};
  }
  // A manual run (`restart` of a scheduled job) is a pending run without a fire time: it starts
  // once the runs it supersedes have ended (their exits nudge this job again).
  const bool superseded_active = std::any_of(stale.begin(), stale.end(), [](const RunRecord& r) {
    return r.state == RunState::kRunning;
  });
  if (superseded_active) return;
  for (const auto& run : current) {
    if (run.state == RunState::kPending && run.external_id.empty()) startRun(job, run);
  }
}

void Engine::unplace(std::int64_t job_id) {
  job_notes_.erase(job_id);
  auto placed = placed_.find(job_id);
  if (placed == placed_.end()) return;
  if (auto ok = runtime_.removeJob(placed->second.tool, placed->second.job_name); !ok) {
    logError("remove job '" + placed->second.job_name + "'", ok.error());
  }
  placed_.erase(placed);
}

std::string Engine::jobNote(std::int64_t job_id) const {
  auto it = job_notes_.find(job_id);
  return it == job_notes_.end() ? std::string() : it->second;
}

void Engine::onJobNote(const std::string& tool, const std::string& job_name,
                       const std::string& note) {
  auto job = store_.findJob(tool, job_name);
  if (!job || !*job) return;
  const std::int64_t id = (*job)->id;
  if (jobNote(id) == note) return;
  if (note.empty()) {
    job_notes_.erase(id);
    return;
  }
  job_notes_[id] = note;
  // Also in the job's history, where `show` and the email notices look.
  if (auto ok = store_.addEvent(store::EventRecord{.time = clock_.now(), .tool = tool,
                                                   .job_name = job_name, .kind = "waiting",
                                                   .message = note});
      !ok) {
    logError("record a note on job '" + job_name + "'", ok.error());
  }
}

std::optional<std::int64_t> Engine::onObservedRun(const runtime::ObservedRun& observed) {
  auto job = store_.findJob(observed.tool, observed.job_name);
  if (!job) {
    logError("record a run of '" + observed.job_name + "'", job.error());
    return std::nullopt;
  }
  if (!*job || !runtime_.placesJobs((*job)->spec.type)) return std::nullopt;
  const model::JobRecord& record = **job;
  auto known = store_.runByExternalId(record.id, observed.external_id);
  if (!known) {
    logError("record a run of '" + observed.job_name + "'", known.error());
    return std::nullopt;
  }
  if (*known) {
    // Seen again (a relist, a daemon restart): the same run, unless it has been recorded ended.
    if (isFinal((*known)->state)) return std::nullopt;
    return (*known)->id;
  }
  const TimePoint now = clock_.now();
  RunRecord run{.job_id = record.id, .tool = record.tool, .job_name = record.spec.name,
                .generation = observed.generation > 0
                                  ? std::min(observed.generation, record.generation)
                                  : record.generation,
                .attempt = std::max(1, observed.attempt),
                .state = RunState::kRunning,
                .created_at = now,
                .started_at = observed.started_at.value_or(now),
                .scheduled_for = observed.scheduled_for};
  run.captured_output = observed.captured_output;
  run.external_id = observed.external_id;
  // Replicas are slots, as for runs the engine starts: the lowest one no live run holds.
  if (auto active = store_.activeRunsOfJob(record.id)) {
    std::set<int> taken;
    for (const auto& other : *active) {
      if (other.generation == run.generation) taken.insert(other.replica);
    }
    while (taken.count(run.replica)) ++run.replica;
  }
  auto inserted = store_.insertRun(run);
  if (!inserted) {
    logError("record a run of '" + observed.job_name + "'", inserted.error());
    return std::nullopt;
  }
  event(*inserted, "started", "started by the runtime as '" + observed.external_id + "'");
  // A run of a superseded generation is stopped like any other (reconcile).
  if (inserted->generation != record.generation) nudge(record.id);
  return inserted->id;
}

}  // namespace tjf::engine
