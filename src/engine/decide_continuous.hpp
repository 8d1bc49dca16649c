// The pure supervision and probe policy of continuous jobs: from the job's replica count, its runs
// of the current generation, what the engine remembers about their health checks and the time,
// what to do next. No I/O and no clock reads (see decide.hpp), so long timelines (crash loops,
// flapping probes, slow starters, restarts and deletes during back-off) are tested with a
// ManualClock.
//
// The policy, as Kubernetes runs a Deployment's pods:
//  - each replica r in [0, replicas) has at most one active run; every run of it carries
//    `replica = r` and `attempt` = 1 + the number of restarts of that replica in this generation;
//  - a run that ends for any reason (exit 0 included) is replaced after a back-off: 10 s for the
//    first exit of a streak, doubling per further exit, capped at 5 min; a run that had been
//    running for 10 min or more starts a new streak. A run that was lost (the machine rebooted)
//    or stopped from outside tjf is replaced at once and does not count;
//  - new runs wait until every run of an older generation (restart, update) has ended: the
//    "Recreate" strategy, so a new run never fights an old one for a port;
//  - replicas at or above `replicas` are stopped (scale down); missing ones are created;
//  - with a health check: startup probes every 1 s until the first success, at most 120 failures;
//    then liveness probes every 10 s, 3 consecutive failures stop the run (and it is replaced
//    with back-off, reason HealthCheckFailed).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "engine/decide.hpp"
#include "model/job.hpp"
#include "model/records.hpp"

namespace tjf::engine {

struct SupervisionPolicy {
  Millis restart_base{10'000};   // first restart of a streak; 0 disables the back-off
  Millis restart_cap{300'000};   // 5 min
  Millis healthy_reset{600'000};  // a run that lived this long starts a new streak
};

struct ProbePolicy {
  Millis startup_period{1'000};
  int startup_failure_threshold = 120;
  Millis liveness_period{10'000};
  int liveness_failure_threshold = 3;
  Millis timeout{5'000};  // per probe; enforced by the prober, a timeout is a failure
};

enum class ProbePhase { kStartup, kLiveness };

// What the engine remembers about one running run's health checks. Kept in memory only: a
// restarted daemon starts the startup phase again for the runs it re-adopts (a healthy run passes
// its first startup probe, so this costs one probe).
struct ProbeState {
  bool startup_done = false;
  int startup_failures = 0;
  int consecutive_failures = 0;  // liveness failures since the last success
  bool in_flight = false;
  std::optional<TimePoint> last_started;  // when the latest probe began
  std::optional<TimePoint> last_finished;
  std::optional<bool> last_healthy;
  std::string last_message;  // what the latest probe said ("exit code 1: ...", "HTTP 503")
};

// Run one probe of this run now.
struct ProbeRun {
  std::int64_t run_id = 0;
  ProbePhase phase = ProbePhase::kStartup;
};

// Stop this run because its health check failed; `message` says how, for the run's record.
struct HealthStop {
  std::int64_t run_id = 0;
  std::string message;
};

// Look at this run's probes again at this time (decideProbe).
struct ProbeWake {
  std::int64_t run_id = 0;
  TimePoint at{};
};

struct ContinuousDecision {
  std::vector<Action> actions;  // CreateRun (with replica), StartRun, StopRun, CancelRun
  std::vector<HealthStop> health_stops;
  std::vector<ProbeRun> probes;
  // Probe rhythm of running runs: the engine keeps it per run with decideProbe, without a
  // reconcile of the job (which reads the store) on every probe.
  std::vector<ProbeWake> probe_wakes;
  // Reconcile the job again then: a back-off ends, or a run just started gets its first probe.
  std::optional<TimePoint> wake_at;
};

// The probe policy of one running run that is not being stopped: probe now, stop it (its health
// check failed), or wait. `state` null: no probe yet (a new run, or one adopted after a daemon
// restart), so the startup phase begins now.
struct ProbeVerdict {
  std::optional<ProbePhase> probe_now;
  std::optional<std::string> stop;  // why, for the run's record
  // Look again then. Unset while a probe runs and the next one is not yet due... or overdue:
  // then the probe's result decides.
  std::optional<TimePoint> next;
};
ProbeVerdict decideProbe(const ProbeState* state, TimePoint now, const ProbePolicy& policy);

struct ContinuousInput {
  int replicas = 1;
  bool probed = false;  // the job has a health check (script, HTTP, or the implicit TCP one)
  // The job's runs of its current generation, oldest first (by id). Only the latest few runs
  // of each replica matter (enough to reach the back-off cap).
  std::vector<model::RunRecord> runs;
  // Whether a run of an older generation is still active: new runs wait for it to end.
  bool superseded_active = false;
  // Probe state by run id; a running run without an entry is at the start of its startup phase.
  const std::map<std::int64_t, ProbeState>* probes = nullptr;
};

ContinuousDecision decideContinuous(const ContinuousInput& input, TimePoint now,
                                    const SupervisionPolicy& supervision,
                                    const ProbePolicy& probes);

// The delay before the next start of a replica whose latest run has ended; `replica_runs` are that
// replica's runs, oldest first, the latest last (and final).
Millis restartDelay(const std::vector<model::RunRecord>& replica_runs,
                    const SupervisionPolicy& policy);

// The delay for the n-th exit of a streak (n >= 1): base, 2 base, 4 base, ... capped.
Millis restartBackoff(int streak, const SupervisionPolicy& policy);

// Whether a run's end was the job's own doing (counts towards the back-off and makes the status
// "Specified command fails to run"), as opposed to lost with the machine or stopped by tjf.
bool endedByItself(const model::RunRecord& run);

// Marks a probe as started at `at`.
void recordProbeStart(ProbeState& state, TimePoint at);

// Records a probe's result. Returns whether something must happen now rather than at the wake-up
// armed when the probe started: the run reached a failure threshold, passed its startup check, or
// the probe was so slow that the next one is already due.
bool recordProbeResult(ProbeState& state, bool healthy, TimePoint at, std::string message,
                       const ProbePolicy& policy);

// Whether a job is health-checked: a script or HTTP check, or a TCP port (implicit TCP check).
// A UDP port without a check has no probe, as upstream.
bool hasHealthProbe(const model::JobSpec& spec);

}  // namespace tjf::engine
