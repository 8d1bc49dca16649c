#include "service/status.hpp"

#include <cstring>

#include "base/time_format.hpp"

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
      } else {
        s.status_short = "Pending";
      }
      return s;
    }
    case RunState::kRunning:
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
      s.state = "failed";
      s.status_short = "Failed";
      s.duration = formatDuration(secondsBetween(last.finished_at.value_or(now), now));
      if (last.exit_code) s.messages.push_back("exitcode " + std::to_string(*last.exit_code));
      s.messages.push_back(endDescription(last));
      return s;
  }
  return s;
}

}  // namespace tjf::service
