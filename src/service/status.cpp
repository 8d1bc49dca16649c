#include "service/status.hpp"

#include <algorithm>
#include <cstring>
#include <map>

#include "base/time_format.hpp"
#include "engine/admission.hpp"
#include "engine/decide_continuous.hpp"
#include "engine/decide_scheduled.hpp"

namespace tjf::service {
namespace {

using model::RunReason;
using model::RunRecord;
using model::RunState;

std::int64_t secondsBetween(TimePoint from, TimePoint to) {
  return std::chrono::duration_cast<std::chrono::seconds>(to - from).count();
}

std::string phaseOf(const RunRecord& run) {
  switch (run.state) {
    case RunState::kPending: return "Pending";
    case RunState::kRunning: return "Running";
    case RunState::kSucceeded: return "Succeeded";
    case RunState::kFailed:
    case RunState::kLost:
    case RunState::kSkipped: return "Failed";
  }
  return "unknown";
}

std::string signalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

}  // namespace

std::string endDescription(const RunRecord& run) {
  std::string text;
  switch (run.reason) {
    case RunReason::kOomKilled: text = "killed for exceeding its memory limit (OOMKilled)"; break;
    case RunReason::kTimeout: text = "stopped at its timeout"; break;
    case RunReason::kHealthCheckFailed: text = "restarted after failing its health check"; break;
    case RunReason::kStartError: text = "could not start"; break;
    case RunReason::kLost: text = "lost"; break;
    case RunReason::kStopped: text = "stopped"; break;
    case RunReason::kConcurrencyForbid: text = "skipped: the previous run was still running"; break;
    case RunReason::kMissedDeadline: text = "skipped: missed its starting deadline"; break;
    default:
      if (run.signal) {
        text = "killed by signal " + std::to_string(*run.signal) + " (" + signalName(*run.signal) +
               ")";
      } else if (run.exit_code) {
        text = "exit code " + std::to_string(*run.exit_code);
      }
  }
  if (!run.message.empty()) text += (text.empty() ? "" : ": ") + run.message;
  return text;
}

std::string runHints(const RunRecord& run, int restarts) {
  std::string h;
  if (run.started_at) {
    h = "Last run at " + formatIsoUtc(*run.started_at) + ".";
  } else {
    h = "Run not attempted yet.";
  }
  h += " Run in '" + phaseOf(run) + "' phase.";
  if (restarts > 0) h += " Run has been restarted " + std::to_string(restarts) + " times.";
  const std::string state = run.state == RunState::kRunning   ? "running"
                            : run.state == RunState::kPending ? "waiting"
                                                              : "terminated";
  h += " State '" + state + "'.";
  if (run.reason != RunReason::kNone) {
    h += " Reason '" + std::string(model::toString(run.reason)) + "'.";
  } else if (state != "running") {
    h += " Reason 'unknown'.";
  }
  if (run.started_at) h += " Started at '" + formatIsoUtc(*run.started_at) + "'.";
  if (run.finished_at) h += " Finished at '" + formatIsoUtc(*run.finished_at) + "'.";
  if (run.exit_code) h += " Exit code '" + std::to_string(*run.exit_code) + "'.";
  const std::string why = endDescription(run);
  if (isFinal(run.state) && !why.empty() && run.reason != RunReason::kCompleted) {
    h += " Additional message:'" + why + "'.";
  }
  // Why a run waits to start (quota: engine/admission.hpp).
  if (run.state == RunState::kPending && !run.message.empty()) {
    h += " Additional message:'" + run.message + "'.";
  }
  return h;
}

JobStatus oneOffStatus(const model::ResolvedJob& job, const std::vector<RunRecord>& runs,
                       TimePoint now) {
  JobStatus s;
  if (runs.empty()) {
    s.status_short = "Pending";
    s.status_long = "No runs were created for this job yet.";
    s.state = "pending";
    return s;
  }
  const RunRecord& last = runs.front();
  const int attempts = job.retry + 1;
  auto hintsFor = [&](const RunRecord& run) {
    std::string h = runHints(run, 0);
    if (attempts > 1) {
      h += " Attempt " + std::to_string(run.attempt) + " of " + std::to_string(attempts) + ".";
    }
    return h;
  };
  s.status_long = hintsFor(last);
  switch (last.state) {
    case RunState::kPending: {
      s.state = "pending";
      if (last.not_before && *last.not_before > now) {
        const auto wait = secondsBetween(now, *last.not_before) + 1;
        s.status_short = "Retrying in " + formatDuration(wait) + " (attempt " +
                         std::to_string(last.attempt) + " of " + std::to_string(attempts) + ")";
        if (runs.size() > 1) s.status_long = hintsFor(runs[1]);
        s.messages.push_back("retrying");
      } else if (engine::isQuotaWait(last.message)) {
        s.status_short = last.message;  // "Unable to start, out of quota for cpu"
        s.messages.push_back(last.message);
      } else {
        s.status_short = "Pending";
      }
      return s;
    }
    case RunState::kRunning:
      if (engine::isQuotaWait(last.message)) {
        // Started, but the cluster holds its pods back (runtime.hpp, NoteCallback).
        s.state = "pending";
        s.status_short = last.message;  // "Unable to start, out of quota for pods"
        s.messages.push_back(last.message);
        return s;
      }
      s.state = "running";
      s.duration = formatDuration(secondsBetween(last.started_at.value_or(now), now));
      s.status_short = "Running for " + *s.duration;
      return s;
    case RunState::kSucceeded:
      s.state = "succeeded";
      s.status_short = "Completed";
      s.duration = formatDuration(secondsBetween(last.finished_at.value_or(now), now));
      return s;
    case RunState::kFailed:
    case RunState::kLost:
    case RunState::kSkipped:
      if (last.state != RunState::kSkipped && last.reason != RunReason::kStopped &&
          last.attempt - 1 < job.retry) {
        // The engine is about to schedule the next attempt (the decide step runs right after
        // the exit is recorded): the job has not failed yet.
        s.state = "pending";
        s.status_short = "Retrying (attempt " + std::to_string(last.attempt + 1) + " of " +
                         std::to_string(attempts) + ")";
        s.messages.push_back("retrying");
        return s;
      }
      s.state = "failed";
      s.status_short = "Failed";
      s.duration = formatDuration(secondsBetween(last.finished_at.value_or(now), now));
      if (last.exit_code) s.messages.push_back("exitcode " + std::to_string(*last.exit_code));
      s.messages.push_back(endDescription(last));
      return s;
  }
  return s;
}

// ---- Continuous jobs --------------------------------------------------------------------------

JobStatus continuousStatus(const model::ResolvedJob& job, const std::vector<RunRecord>& runs,
                           const std::function<bool(std::int64_t)>& health_check_passed,
                           TimePoint since, TimePoint now) {
  JobStatus s;
  const int wanted = job.replicas;
  if (wanted <= 0) {
    s.status_short = "Not running";
    s.status_long = "The job is scaled to 0 replicas.";
    s.state = "unknown";
    s.messages.push_back("scaled to 0 replicas");
    return s;
  }
  // Per wanted replica: its newest run, and its newest run that has ended.
  struct Replica {
    const RunRecord* latest = nullptr;
    const RunRecord* ended = nullptr;
  };
  std::map<int, Replica> replicas;
  for (const auto& run : runs) {
    if (run.replica < 0 || run.replica >= wanted) continue;
    Replica& r = replicas[run.replica];
    if (!r.latest) r.latest = &run;
    if (!r.ended && isFinal(run.state) && run.state != RunState::kSkipped) r.ended = &run;
  }
  if (replicas.empty()) {
    s.status_short = "Not running";
    s.status_long = "No runs were created for this job yet.";
    s.state = "pending";
    return s;
  }
  int ready = 0;
  int failing = 0;
  int shown = -1;  // the replica the hints describe
  for (int i = 0; i < wanted; ++i) {
    const auto it = replicas.find(i);
    const Replica r = it == replicas.end() ? Replica{} : it->second;
    const bool running = r.latest && r.latest->state == RunState::kRunning &&
                         !r.latest->stop_requested;
    if (running && health_check_passed(r.latest->id)) {
      ++ready;
      continue;
    }
    if (!running && r.ended && engine::endedByItself(*r.ended)) ++failing;
    if (shown < 0 && r.latest) shown = i;
  }
  if (shown < 0) shown = replicas.begin()->first;
  const Replica& r = replicas.at(shown);
  const RunRecord& latest = *r.latest;
  // Restarts done so far: every started run after the first (a pending run has not started).
  const int restarts = std::max(0, latest.attempt - (latest.state == RunState::kPending ? 2 : 1));
  const bool running = latest.state == RunState::kRunning;
  const bool waiting = latest.state == RunState::kPending && r.ended;

  if (waiting) {
    // Between two runs: describe the one that ended, as Kubernetes shows a container waiting in
    // CrashLoopBackOff with its last termination.
    s.status_long = runHints(*r.ended, restarts);
    if (latest.not_before && *latest.not_before > now) {
      s.status_long += " Restarting in " +
                       formatDuration(secondsBetween(now, *latest.not_before) + 1) +
                       " (back-off).";
    }
  } else {
    s.status_long = runHints(latest, restarts);
    if (running && !latest.stop_requested && !health_check_passed(latest.id)) {
      s.status_long += " Waiting for the health check to pass.";
    }
    if (running && r.ended) {
      s.status_long += " Previous run ended";
      if (r.ended->finished_at) s.status_long += " at '" + formatIsoUtc(*r.ended->finished_at) + "'";
      s.status_long += " with reason '" + std::string(model::toString(r.ended->reason)) + "'";
      const std::string why = endDescription(*r.ended);
      if (!why.empty()) s.status_long += ": " + why;
      s.status_long += ".";
    }
  }
  if (wanted > 1) {
    s.status_long += " " + std::to_string(ready) + " of " + std::to_string(wanted) +
                     " replicas running.";
  }

  if (ready == wanted) {
    s.status_short = "Running";
    s.state = "running";
    s.duration = formatDuration(secondsBetween(latest.started_at.value_or(now), now));
    return s;
  }
  s.status_short = failing > 0 ? "Specified command fails to run" : "Not running";
  if ((latest.state == RunState::kPending || running) && engine::isQuotaWait(latest.message)) {
    s.status_short = latest.message;  // as upstream's ReplicaFailure quota condition
    s.messages.push_back(latest.message);
  }
  // As upstream: not every replica available 600 s after creation or the last restart is failed.
  s.state = now - since > std::chrono::seconds(600) ? "failed" : "pending";
  if (restarts > 0) s.messages.push_back("restarted (" + std::to_string(restarts) + ")");
  if (!running && r.ended) {
    if (r.ended->exit_code) s.messages.push_back("exitcode " + std::to_string(*r.ended->exit_code));
    // "exit code 1" would only repeat the exit code; other ends say more (signal, OOM, check).
    const std::string why = endDescription(*r.ended);
    if (!why.empty() && (r.ended->reason != RunReason::kError || !r.ended->message.empty())) {
      s.messages.push_back(why);
    }
    if (r.ended->finished_at) {
      s.duration = formatDuration(secondsBetween(*r.ended->finished_at, now));
    }
  } else if (running && !health_check_passed(latest.id)) {
    s.messages.push_back("waiting for the health check");
    s.duration = formatDuration(secondsBetween(latest.started_at.value_or(now), now));
  }
  return s;
}

// ---- Scheduled jobs ---------------------------------------------------------------------------

JobStatus scheduledStatus(const model::ResolvedJob& job, const std::vector<RunRecord>& runs,
                          std::int64_t generation, const cron::Schedule* schedule,
                          TimePoint created, TimePoint now) {
  JobStatus s;
  const RunRecord* latest = nullptr;   // the newest run that is not a skipped fire
  const RunRecord* fired = nullptr;    // the newest run of a fire (not a manual run)
  const RunRecord* skipped = nullptr;  // the newest skipped fire
  const RunRecord* running = nullptr;  // the newest running run of the current definition
  const RunRecord* waiting = nullptr;  // the newest pending run of the current definition
  for (const auto& run : runs) {
    if (engine::isSkippedFire(run)) {
      if (!skipped) skipped = &run;
      continue;
    }
    if (!latest) latest = &run;
    if (!fired && run.scheduled_for) fired = &run;
    if (run.generation != generation) continue;
    if (run.state == RunState::kRunning && !running) running = &run;
    if (run.state == RunState::kPending && !waiting) waiting = &run;
  }
  if (latest) s.previous_schedule = latest->scheduled_for.value_or(latest->created_at);
  if (schedule) s.next_schedule = cron::nextFireAfter(*schedule, now);
  const int attempts = job.retry + 1;

  // Hints: the latest run, then the newest skipped fire if it came after it.
  if (latest) {
    s.status_long = runHints(*latest, 0);
    if (!latest->scheduled_for) {
      s.status_long += " Started manually (toolforge jobs restart).";
    }
    if (attempts > 1) {
      s.status_long += " Attempt " + std::to_string(latest->attempt) + " of " +
                       std::to_string(attempts) + ".";
    }
  } else {
    s.status_long = "No runs were created for this job yet.";
  }
  if (skipped && (!latest || skipped->id > latest->id)) {
    // The skip's message says why in full ("... was still running", "... late, past the
    // starting deadline ..."); endDescription is the fallback for a record without one.
    s.status_long += " The run of " + formatIsoUtc(*skipped->scheduled_for) + " was skipped: " +
                     (skipped->message.empty() ? endDescription(*skipped) : skipped->message) +
                     ".";
  }

  if (running) {
    s.state = "running";
    s.duration = formatDuration(secondsBetween(running->started_at.value_or(now), now));
    s.status_short = "Running for " + *s.duration;
    return s;
  }
  if (waiting && waiting->not_before && *waiting->not_before > now) {
    s.state = "pending";
    s.status_short = "Retrying in " + formatDuration(secondsBetween(now, *waiting->not_before) + 1) +
                     " (attempt " + std::to_string(waiting->attempt) + " of " +
                     std::to_string(attempts) + ")";
    s.messages.push_back("retrying");
    return s;
  }
  // As upstream's CronJob lastScheduleTime: set by fires only, not by manual runs.
  s.status_short = fired ? "Last schedule time: " + formatIsoUtc(*fired->scheduled_for)
                         : "Waiting for scheduled time";
  if (!latest || waiting) {
    // As upstream: no run yet is pending since the job was created.
    s.state = "pending";
    s.duration = formatDuration(secondsBetween(latest ? latest->created_at : created, now));
    return s;
  }
  s.duration = formatDuration(secondsBetween(latest->finished_at.value_or(now), now));
  switch (latest->state) {
    case RunState::kSucceeded:
      s.state = "succeeded";
      break;
    case RunState::kPending:
    case RunState::kRunning:  // of an older definition, being stopped
      s.state = "pending";
      break;
    case RunState::kFailed:
    case RunState::kLost:
    case RunState::kSkipped:
      s.state = "failed";
      if (latest->exit_code) s.messages.push_back("exitcode " + std::to_string(*latest->exit_code));
      if (const std::string why = endDescription(*latest); !why.empty()) s.messages.push_back(why);
      break;
  }
  return s;
}

}  // namespace tjf::service
