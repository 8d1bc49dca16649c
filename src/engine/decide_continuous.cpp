#include "engine/decide_continuous.hpp"

#include <algorithm>

namespace tjf::engine {
namespace {

using model::RunReason;
using model::RunRecord;
using model::RunState;

void wakeNoLaterThan(ContinuousDecision& d, TimePoint at) {
  if (!d.wake_at || at < *d.wake_at) d.wake_at = at;
}

Millis ranFor(const RunRecord& run) {
  if (!run.started_at || !run.finished_at) return Millis(0);
  return std::chrono::duration_cast<Millis>(*run.finished_at - *run.started_at);
}

// Level-triggered: a running run that must go is asked again on every pass (the runtime's stop
// is idempotent), so a stop lost in a daemon crash is sent again.
void stopOrCancel(ContinuousDecision& d, const RunRecord& run) {
  if (run.state == RunState::kRunning) {
    d.actions.push_back(StopRun{run.id, RunReason::kStopped});
  } else if (run.state == RunState::kPending) {
    d.actions.push_back(CancelRun{run.id, RunReason::kStopped});
  }
}

}  // namespace

ProbeVerdict decideProbe(const ProbeState* state, TimePoint now, const ProbePolicy& policy) {
  ProbeVerdict v;
  const ProbeState fresh;
  const ProbeState& s = state ? *state : fresh;
  const bool startup = !s.startup_done;
  const Millis period = startup ? policy.startup_period : policy.liveness_period;
  const TimePoint due = s.last_started ? *s.last_started + period : now;
  if (s.in_flight) {
    // A probe still running at its due time is not doubled: its result decides.
    if (due > now) v.next = due;
    return v;
  }
  const std::string last = s.last_message.empty() ? "" : " (last: " + s.last_message + ")";
  if (startup && s.startup_failures >= policy.startup_failure_threshold) {
    v.stop = "the startup health check failed " + std::to_string(s.startup_failures) +
             " times without a success" + last;
    return v;
  }
  if (!startup && s.consecutive_failures >= policy.liveness_failure_threshold) {
    v.stop = "the health check failed " + std::to_string(s.consecutive_failures) +
             " times in a row" + last;
    return v;
  }
  if (due <= now) {
    v.probe_now = startup ? ProbePhase::kStartup : ProbePhase::kLiveness;
    v.next = now + period;
  } else {
    v.next = due;
  }
  return v;
}

bool endedByItself(const RunRecord& run) {
  if (!model::isFinal(run.state) || run.state == RunState::kSkipped) return false;
  return run.reason != RunReason::kLost && run.reason != RunReason::kStopped;
}

Millis restartBackoff(int streak, const SupervisionPolicy& policy) {
  if (streak <= 0 || policy.restart_base <= Millis(0)) return Millis(0);
  Millis delay = policy.restart_base;
  for (int i = 1; i < streak && delay < policy.restart_cap; ++i) delay *= 2;
  return std::min(delay, std::max(policy.restart_cap, policy.restart_base));
}

Millis restartDelay(const std::vector<RunRecord>& replica_runs, const SupervisionPolicy& policy) {
  if (replica_runs.empty() || !endedByItself(replica_runs.back())) return Millis(0);
  // The streak: exits of the job's own doing, newest first, back to (and including) the first
  // exit after a run that had been healthy for `healthy_reset`.
  int streak = 0;
  for (auto it = replica_runs.rbegin(); it != replica_runs.rend(); ++it) {
    if (!endedByItself(*it)) continue;
    ++streak;
    if (ranFor(*it) >= policy.healthy_reset) break;
  }
  return restartBackoff(streak, policy);
}

ContinuousDecision decideContinuous(const ContinuousInput& input, TimePoint now,
                                    const SupervisionPolicy& supervision,
                                    const ProbePolicy& probes) {
  ContinuousDecision d;
  std::map<int, std::vector<RunRecord>> by_replica;  // each oldest first
  for (const auto& run : input.runs) by_replica[run.replica].push_back(run);

  for (const auto& [replica, runs] : by_replica) {
    if (replica < 0 || replica >= input.replicas) {
      // Scaled down: the replica goes away.
      for (const auto& run : runs) stopOrCancel(d, run);
      continue;
    }
    // At most one active run per replica: an older active one (left by a crash between two
    // writes) is stopped in favour of the newest.
    for (std::size_t i = 0; i + 1 < runs.size(); ++i) stopOrCancel(d, runs[i]);
  }

  for (int replica = 0; replica < input.replicas; ++replica) {
    const auto found = by_replica.find(replica);
    if (found == by_replica.end()) {
      if (input.superseded_active) continue;  // an exit of the old run nudges us
      d.actions.push_back(CreateRun{.attempt = 1, .replica = replica});
      if (input.probed) wakeNoLaterThan(d, now + probes.startup_period);
      continue;
    }
    const std::vector<RunRecord>& runs = found->second;
    const RunRecord& latest = runs.back();
    switch (latest.state) {
      case RunState::kPending: {
        const TimePoint due = latest.not_before.value_or(now);
        if (due > now) {
          wakeNoLaterThan(d, due);
        } else if (!input.superseded_active) {
          d.actions.push_back(StartRun{latest.id});
          if (input.probed) wakeNoLaterThan(d, now + probes.startup_period);
        }
        break;
      }
      case RunState::kRunning: {
        if (!input.probed || latest.stop_requested) break;  // on its way out: no more probes
        const ProbeState* state = nullptr;
        if (input.probes) {
          const auto it = input.probes->find(latest.id);
          if (it != input.probes->end()) state = &it->second;
        }
        const ProbeVerdict v = decideProbe(state, now, probes);
        if (v.stop) d.health_stops.push_back(HealthStop{latest.id, *v.stop});
        if (v.probe_now) d.probes.push_back(ProbeRun{latest.id, *v.probe_now});
        if (v.next) d.probe_wakes.push_back(ProbeWake{latest.id, *v.next});
        break;
      }
      case RunState::kSucceeded:
      case RunState::kFailed:
      case RunState::kLost:
      case RunState::kSkipped: {
        if (input.superseded_active) break;
        const TimePoint at = latest.finished_at.value_or(now) + restartDelay(runs, supervision);
        CreateRun create{.attempt = latest.attempt + 1, .replica = replica};
        if (at > now) {
          create.not_before = at;
          wakeNoLaterThan(d, at);
        } else if (input.probed) {
          wakeNoLaterThan(d, now + probes.startup_period);
        }
        d.actions.push_back(create);
        break;
      }
    }
  }
  return d;
}

void recordProbeStart(ProbeState& state, TimePoint at) {
  state.in_flight = true;
  state.last_started = at;
}

bool recordProbeResult(ProbeState& state, bool healthy, TimePoint at, std::string message,
                       const ProbePolicy& policy) {
  const bool was_startup = !state.startup_done;
  state.in_flight = false;
  state.last_finished = at;
  state.last_healthy = healthy;
  state.last_message = std::move(message);
  if (healthy) {
    state.consecutive_failures = 0;
    if (was_startup) {
      state.startup_done = true;
      return true;  // ready now: liveness probing starts, and the status changes
    }
  } else if (was_startup) {
    if (++state.startup_failures >= policy.startup_failure_threshold) return true;
  } else if (++state.consecutive_failures >= policy.liveness_failure_threshold) {
    return true;
  }
  const Millis period = state.startup_done ? policy.liveness_period : policy.startup_period;
  return !state.last_started || at >= *state.last_started + period;
}

bool hasHealthProbe(const model::JobSpec& spec) {
  if (spec.type != model::JobType::kContinuous) return false;
  const bool tcp_port = spec.port && spec.port_protocol.value_or(model::PortProtocol::kTcp) ==
                                         model::PortProtocol::kTcp;
  if (spec.health_check) {
    return spec.health_check->type == model::HealthCheckType::kScript || tcp_port;
  }
  return tcp_port;
}

}  // namespace tjf::engine
