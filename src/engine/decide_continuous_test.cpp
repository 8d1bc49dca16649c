#include <gtest/gtest.h>

#include <algorithm>

#include "base/time_format.hpp"
#include "engine/decide_continuous.hpp"

namespace tjf::engine {
namespace {

using model::RunReason;
using model::RunRecord;
using model::RunState;
using std::chrono::minutes;
using std::chrono::seconds;

// A tiny simulated world: applies the decisions to an in-memory list of runs the way the engine
// does, so tests can walk long timelines with a manual clock and no processes.
class World {
 public:
  ManualClock clock{fromUnixMillis(1'700'000'000'000)};
  std::vector<RunRecord> runs;  // every generation
  std::map<std::int64_t, ProbeState> probes;
  std::int64_t generation = 1;
  int replicas = 1;
  bool probed = false;
  SupervisionPolicy supervision;
  ProbePolicy probe_policy;
  std::vector<ProbeRun> launched;          // probes started by the latest step
  std::vector<HealthStop> health_stopped;  // health stops of the latest step

  ContinuousDecision step() {
    ContinuousInput in;
    in.replicas = replicas;
    in.probed = probed;
    in.probes = &probes;
    // As the engine: only the recent history (64 runs, newest first from the store) is read.
    for (auto it = runs.rbegin(); it != runs.rend() && in.runs.size() < 64; ++it) {
      if (it->generation == generation) {
        in.runs.push_back(*it);
      } else if (!model::isFinal(it->state)) {
        in.superseded_active = true;
      }
    }
    std::reverse(in.runs.begin(), in.runs.end());
    auto d = decideContinuous(in, clock.now(), supervision, probe_policy);
    apply(d);
    return d;
  }

  // What the engine does when the job is deleted or superseded (decide.hpp).
  void applyRemoval(const std::vector<RunRecord>& active) {
    ContinuousDecision d;
    d.actions = decideRemoval(active).actions;
    apply(d);
  }

  std::vector<RunRecord> active() const {
    std::vector<RunRecord> out;
    for (const auto& run : runs) {
      if (!model::isFinal(run.state)) out.push_back(run);
    }
    return out;
  }

  RunRecord& run(std::int64_t id) {
    if (id >= 1 && id <= static_cast<std::int64_t>(runs.size()) && runs[id - 1].id == id) {
      return runs[id - 1];
    }
    for (auto& r : runs) {
      if (r.id == id) return r;
    }
    ADD_FAILURE() << "no run " << id;
    return runs.front();
  }

  // The latest run of a replica in the current generation.
  RunRecord* latest(int replica = 0) {
    for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
      if (it->generation == generation && it->replica == replica) return &*it;
    }
    return nullptr;
  }

  void exit(std::int64_t id, RunReason reason, std::optional<int> code = 1) {
    RunRecord& r = run(id);
    ASSERT_EQ(r.state, RunState::kRunning);
    // As the engine's onExit: a stop it asked for keeps the reason it gave.
    if (!(r.stop_requested && r.reason != RunReason::kNone && reason == RunReason::kStopped)) {
      r.reason = reason;
    }
    r.state = r.reason == RunReason::kCompleted ? RunState::kSucceeded
              : r.reason == RunReason::kLost    ? RunState::kLost
                                                : RunState::kFailed;
    r.exit_code = code;
    r.finished_at = clock.now();
    probes.erase(id);
  }

  bool probeResult(std::int64_t id, bool healthy) {
    return recordProbeResult(probes[id], healthy, clock.now(), healthy ? "ok" : "exit code 1",
                             probe_policy);
  }

 private:
  void apply(const ContinuousDecision& d) {
    launched = d.probes;
    health_stopped = d.health_stops;
    for (const auto& action : d.actions) {
      if (const auto* create = std::get_if<CreateRun>(&action)) {
        RunRecord r;
        r.id = static_cast<std::int64_t>(runs.size()) + 1;
        r.generation = generation;
        r.attempt = create->attempt;
        r.replica = create->replica;
        r.created_at = clock.now();
        r.not_before = create->not_before;
        if (create->not_before && *create->not_before > clock.now()) {
          r.state = RunState::kPending;
        } else {
          r.state = RunState::kRunning;
          r.started_at = clock.now();
        }
        runs.push_back(r);
      } else if (const auto* start = std::get_if<StartRun>(&action)) {
        RunRecord& r = run(start->run_id);
        EXPECT_EQ(r.state, RunState::kPending);
        r.state = RunState::kRunning;
        r.started_at = clock.now();
      } else if (const auto* stop = std::get_if<StopRun>(&action)) {
        RunRecord& r = run(stop->run_id);
        if (!r.stop_requested) r.reason = stop->reason;
        r.stop_requested = true;
      } else if (const auto* cancel = std::get_if<CancelRun>(&action)) {
        RunRecord& r = run(cancel->run_id);
        r.state = RunState::kSkipped;
        r.reason = cancel->reason;
        r.finished_at = clock.now();
      }
    }
    for (const auto& stop : d.health_stops) {
      RunRecord& r = run(stop.run_id);
      r.stop_requested = true;
      r.reason = RunReason::kHealthCheckFailed;
      r.message = stop.message;
    }
    for (const auto& probe : d.probes) recordProbeStart(probes[probe.run_id], clock.now());
  }
};

std::optional<TimePoint> probeWake(const ContinuousDecision& d, std::int64_t run_id) {
  for (const auto& wake : d.probe_wakes) {
    if (wake.run_id == run_id) return wake.at;
  }
  return std::nullopt;
}

std::int64_t secondsOf(TimePoint::duration d) {
  return std::chrono::duration_cast<seconds>(d).count();
}

TEST(DecideContinuous, FirstPassStartsOneRunPerReplica) {
  World w;
  w.replicas = 3;
  const auto d = w.step();
  ASSERT_EQ(d.actions.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const auto& create = std::get<CreateRun>(d.actions[i]);
    EXPECT_EQ(create.replica, i);
    EXPECT_EQ(create.attempt, 1);
    EXPECT_FALSE(create.not_before);
  }
  EXPECT_FALSE(d.wake_at) << "nothing is timed for an unprobed job that runs";
  EXPECT_TRUE(w.step().actions.empty()) << "a running replica needs nothing";
}

TEST(DecideContinuous, CrashLoopBacksOffDoublingUpToFiveMinutes) {
  World w;
  w.step();
  std::vector<std::int64_t> delays;
  for (int crash = 0; crash < 10; ++crash) {
    RunRecord* r = w.latest();
    ASSERT_EQ(r->state, RunState::kRunning);
    EXPECT_EQ(r->attempt, crash + 1);
    w.clock.advance(seconds(2));
    w.exit(r->id, RunReason::kError);
    const auto d = w.step();
    ASSERT_EQ(d.actions.size(), 1u);
    const auto& create = std::get<CreateRun>(d.actions[0]);
    ASSERT_TRUE(create.not_before);
    EXPECT_EQ(d.wake_at, create.not_before);
    delays.push_back(secondsOf(*create.not_before - w.clock.now()));
    // Nothing happens before the back-off ends...
    w.clock.set(*create.not_before - seconds(1));
    EXPECT_TRUE(w.step().actions.empty());
    // ...and the run starts when it does.
    w.clock.set(*create.not_before);
    const auto start = w.step();
    ASSERT_EQ(start.actions.size(), 1u);
    EXPECT_TRUE(std::holds_alternative<StartRun>(start.actions[0]));
  }
  EXPECT_EQ(delays, (std::vector<std::int64_t>{10, 20, 40, 80, 160, 300, 300, 300, 300, 300}));
}

TEST(DecideContinuous, TenMinutesOfRunningResetsTheBackOff) {
  World w;
  w.step();
  auto crashAfter = [&](TimePoint::duration ran) {
    RunRecord* r = w.latest();
    w.clock.advance(ran);
    w.exit(r->id, RunReason::kError);
    const auto d = w.step();
    const auto& create = std::get<CreateRun>(d.actions.at(0));
    const auto delay = create.not_before ? secondsOf(*create.not_before - w.clock.now()) : 0;
    if (create.not_before) {
      w.clock.set(*create.not_before);
      w.step();
    }
    return delay;
  };
  EXPECT_EQ(crashAfter(seconds(1)), 10);
  EXPECT_EQ(crashAfter(seconds(1)), 20);
  EXPECT_EQ(crashAfter(seconds(1)), 40);
  EXPECT_EQ(crashAfter(minutes(9) + seconds(59)), 80) << "just under 10 min is not healthy";
  EXPECT_EQ(crashAfter(minutes(10)), 10) << "10 min of running starts a new streak";
  EXPECT_EQ(crashAfter(seconds(5)), 20);
  EXPECT_EQ(crashAfter(std::chrono::hours(30)), 10);
}

TEST(DecideContinuous, ExitZeroIsRestartedLikeAnyExit) {
  World w;
  w.step();
  w.clock.advance(seconds(1));
  w.exit(w.latest()->id, RunReason::kCompleted, 0);
  const auto d = w.step();
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(std::get<CreateRun>(d.actions[0]).not_before, w.clock.now() + seconds(10));
}

TEST(DecideContinuous, LostOrExternallyStoppedRunsAreReplacedAtOnceAndDoNotCount) {
  World w;
  w.step();
  for (int i = 0; i < 3; ++i) {  // a streak of 3 crashes: the next delay would be 80 s
    w.clock.advance(seconds(1));
    w.exit(w.latest()->id, RunReason::kError);
    w.step();
    w.clock.set(*w.latest()->not_before);
    w.step();
  }
  w.clock.advance(seconds(1));
  w.exit(w.latest()->id, RunReason::kLost, std::nullopt);  // the machine rebooted
  auto d = w.step();
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_FALSE(std::get<CreateRun>(d.actions[0]).not_before) << "lost: restart at once";
  w.clock.advance(seconds(1));
  w.exit(w.latest()->id, RunReason::kStopped, 143);  // someone sent the shim SIGTERM
  d = w.step();
  EXPECT_FALSE(std::get<CreateRun>(d.actions.at(0)).not_before);
  w.clock.advance(seconds(1));
  w.exit(w.latest()->id, RunReason::kSignal, 137);
  d = w.step();
  EXPECT_EQ(std::get<CreateRun>(d.actions.at(0)).not_before, w.clock.now() + seconds(80))
      << "the streak goes on across lost and stopped runs";
}

TEST(DecideContinuous, BackOffCanBeDisabledForBenchmarks) {
  World w;
  w.supervision.restart_base = Millis(0);
  w.step();
  for (int i = 0; i < 8; ++i) {
    w.exit(w.latest()->id, RunReason::kError);
    const auto d = w.step();
    ASSERT_EQ(d.actions.size(), 1u);
    EXPECT_FALSE(std::get<CreateRun>(d.actions[0]).not_before);
    EXPECT_EQ(w.latest()->state, RunState::kRunning);
  }
}

TEST(DecideContinuous, AWeekOfCrashLoopingStaysAtTheCap) {
  World w;
  w.step();
  const TimePoint begin = w.clock.now();
  int starts = 1;
  std::int64_t longest = 0;
  while (w.clock.now() - begin < std::chrono::hours(24 * 7)) {
    w.clock.advance(seconds(3));
    w.exit(w.latest()->id, RunReason::kError);
    const auto d = w.step();
    const auto& create = std::get<CreateRun>(d.actions.at(0));
    ASSERT_TRUE(create.not_before);
    longest = std::max(longest, secondsOf(*create.not_before - w.clock.now()));
    w.clock.set(*create.not_before);
    w.step();
    ++starts;
  }
  EXPECT_EQ(longest, 300);
  // 7 days at one start per 303 s, after the first 310 s of shorter delays.
  EXPECT_NEAR(starts, 7 * 24 * 3600 / 303, 10);
  EXPECT_EQ(w.latest()->attempt, starts);
}

TEST(DecideContinuous, StartupProbesEverySecondAndASlowStarterSucceedingAtProbe119Survives) {
  World w;
  w.probed = true;
  auto d = w.step();
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(d.wake_at, w.clock.now() + seconds(1)) << "the first probe is a second in";
  const std::int64_t id = w.latest()->id;
  int probes = 0;
  while (true) {
    w.clock.advance(seconds(1));
    d = w.step();
    ASSERT_EQ(w.launched.size(), 1u) << "probe " << probes + 1;
    EXPECT_EQ(w.launched[0].phase, ProbePhase::kStartup);
    EXPECT_EQ(probeWake(d, id), w.clock.now() + seconds(1));
    EXPECT_FALSE(d.wake_at) << "the probe rhythm needs no reconcile of the job";
    ++probes;
    w.clock.advance(Millis(200));
    const bool healthy = probes == 119;
    EXPECT_EQ(w.probeResult(id, healthy), healthy) << "only the success needs a decision now";
    if (healthy) break;
    EXPECT_TRUE(w.step().health_stops.empty());
  }
  EXPECT_TRUE(w.probes[id].startup_done);
  // Liveness from now on: every 10 s from the start of the successful probe.
  const TimePoint passed = *w.probes[id].last_started;
  d = w.step();
  EXPECT_TRUE(w.launched.empty());
  EXPECT_EQ(probeWake(d, id), passed + seconds(10));
  w.clock.set(passed + seconds(10));
  d = w.step();
  ASSERT_EQ(w.launched.size(), 1u);
  EXPECT_EQ(w.launched[0].phase, ProbePhase::kLiveness);
  EXPECT_TRUE(d.health_stops.empty());
}

TEST(DecideContinuous, StartupGivesUpAfter120FailuresAndTheReplacementBacksOff) {
  World w;
  w.probed = true;
  w.step();
  const std::int64_t id = w.latest()->id;
  for (int i = 1; i <= 120; ++i) {
    w.clock.advance(seconds(1));
    w.step();
    ASSERT_EQ(w.launched.size(), 1u) << i;
    ASSERT_TRUE(w.health_stopped.empty()) << i;
    EXPECT_EQ(w.probeResult(id, false), i == 120);
  }
  w.step();
  ASSERT_EQ(w.health_stopped.size(), 1u);
  EXPECT_EQ(w.health_stopped[0].run_id, id);
  EXPECT_NE(w.health_stopped[0].message.find("120 times"), std::string::npos)
      << w.health_stopped[0].message;
  EXPECT_TRUE(w.step().probes.empty()) << "a run being stopped is not probed";
  w.clock.advance(seconds(15));  // the grace period
  w.exit(id, RunReason::kStopped, 143);
  EXPECT_EQ(w.run(id).reason, RunReason::kHealthCheckFailed);
  const auto d = w.step();
  EXPECT_EQ(std::get<CreateRun>(d.actions.at(0)).not_before, w.clock.now() + seconds(10));
}

TEST(DecideContinuous, FlappingLivenessRestartsOnlyAfterThreeFailuresInARow) {
  World w;
  w.probed = true;
  w.step();
  const std::int64_t id = w.latest()->id;
  w.clock.advance(seconds(1));
  w.step();
  w.probeResult(id, true);
  // Two hours of "fail, fail, pass": never three in a row.
  const bool pattern[] = {false, false, true};
  for (int i = 0; i < 720; ++i) {
    w.clock.advance(seconds(10));
    const auto d = w.step();
    ASSERT_EQ(w.launched.size(), 1u) << i;
    ASSERT_TRUE(d.health_stops.empty()) << i;
    w.clock.advance(Millis(50));
    w.probeResult(id, pattern[i % 3]);
  }
  EXPECT_TRUE(w.step().health_stops.empty());
  for (int i = 0; i < 3; ++i) {
    w.clock.advance(seconds(10));
    w.step();
    ASSERT_EQ(w.launched.size(), 1u);
    w.probeResult(id, false);
  }
  const auto d = w.step();
  ASSERT_EQ(d.health_stops.size(), 1u);
  EXPECT_NE(d.health_stops[0].message.find("3 times in a row (last: exit code 1)"),
            std::string::npos)
      << d.health_stops[0].message;
}

TEST(DecideContinuous, AHungProbeIsNotDoubledAndItsLateResultAsksForADecision) {
  World w;
  w.probed = true;
  w.step();
  const std::int64_t id = w.latest()->id;
  w.clock.advance(seconds(1));
  w.step();
  ASSERT_EQ(w.launched.size(), 1u);
  w.clock.advance(seconds(3));  // past the 1 s period, before the 5 s timeout
  const auto d = w.step();
  EXPECT_TRUE(w.launched.empty());
  EXPECT_FALSE(d.wake_at);
  EXPECT_TRUE(d.probe_wakes.empty()) << "no busy loop while a late probe runs: its result decides";
  w.clock.advance(seconds(2));
  EXPECT_TRUE(w.probeResult(id, false)) << "timed out, and the next probe is overdue";
  w.step();
  EXPECT_EQ(w.launched.size(), 1u);
}

TEST(DecideContinuous, RestartDuringBackOffStartsTheNewGenerationAtOnce) {
  World w;
  w.step();
  for (int i = 0; i < 4; ++i) {
    w.clock.advance(seconds(1));
    w.exit(w.latest()->id, RunReason::kError);
    w.step();
    if (i < 3) {
      w.clock.set(*w.latest()->not_before);
      w.step();
    }
  }
  ASSERT_EQ(w.latest()->state, RunState::kPending);  // waiting 80 s
  // `toolforge jobs restart`: the generation is bumped; the engine removes what is superseded.
  ++w.generation;
  w.applyRemoval(w.active());
  EXPECT_TRUE(w.active().empty()) << "the pending run was cancelled";
  const auto d = w.step();
  ASSERT_EQ(d.actions.size(), 1u);
  const auto& create = std::get<CreateRun>(d.actions[0]);
  EXPECT_EQ(create.attempt, 1);
  EXPECT_FALSE(create.not_before) << "a restart starts a new streak";
}

TEST(DecideContinuous, RestartOfARunningJobWaitsForTheOldRunToEnd) {
  World w;
  w.probed = true;
  w.step();
  const std::int64_t old_id = w.latest()->id;
  ++w.generation;
  w.applyRemoval(w.active());
  EXPECT_TRUE(w.run(old_id).stop_requested);
  auto d = w.step();
  EXPECT_TRUE(d.actions.empty()) << "Recreate: no new run while the old one holds its port";
  EXPECT_FALSE(d.wake_at) << "the old run's exit nudges the job";
  w.clock.advance(seconds(15));
  w.exit(old_id, RunReason::kStopped, 143);
  d = w.step();
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(std::get<CreateRun>(d.actions[0]).attempt, 1);
}

TEST(DecideContinuous, DeleteDuringBackOffCancelsTheWaitingRun) {
  World w;
  w.step();
  w.clock.advance(seconds(1));
  w.exit(w.latest()->id, RunReason::kError);
  w.step();
  ASSERT_EQ(w.latest()->state, RunState::kPending);
  const auto removal = decideRemoval(w.active());
  ASSERT_EQ(removal.actions.size(), 1u);
  EXPECT_EQ(std::get<CancelRun>(removal.actions[0]).run_id, w.latest()->id);
}

TEST(DecideContinuous, ScalesUpAndDown) {
  World w;
  w.step();
  w.replicas = 3;
  auto d = w.step();
  ASSERT_EQ(d.actions.size(), 2u);
  EXPECT_EQ(std::get<CreateRun>(d.actions[0]).replica, 1);
  EXPECT_EQ(std::get<CreateRun>(d.actions[1]).replica, 2);
  EXPECT_EQ(w.active().size(), 3u);

  // Replica 2 crashes and waits in back-off; then the job is scaled down to 1.
  w.exit(w.latest(2)->id, RunReason::kError);
  w.step();
  ASSERT_EQ(w.latest(2)->state, RunState::kPending);
  w.replicas = 1;
  d = w.step();
  ASSERT_EQ(d.actions.size(), 2u);
  EXPECT_EQ(std::get<StopRun>(d.actions[0]).run_id, w.latest(1)->id);
  EXPECT_EQ(std::get<CancelRun>(d.actions[1]).run_id, w.latest(2)->id);
  w.exit(w.latest(1)->id, RunReason::kStopped, 143);
  EXPECT_TRUE(w.step().actions.empty());
  EXPECT_EQ(w.active().size(), 1u);

  // Scaled to zero: nothing runs.
  w.replicas = 0;
  d = w.step();
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<StopRun>(d.actions[0]));

  // And up again: replica 1 was stopped by tjf, so it comes back without back-off.
  w.exit(w.latest(0)->id, RunReason::kStopped, 143);
  w.replicas = 2;
  d = w.step();
  ASSERT_EQ(d.actions.size(), 2u);
  for (const auto& action : d.actions) EXPECT_FALSE(std::get<CreateRun>(action).not_before);
}

TEST(DecideContinuous, AnOlderActiveRunOfTheSameReplicaIsStopped) {
  World w;
  w.step();
  RunRecord extra = *w.latest();
  extra.id = 99;
  w.runs.push_back(extra);
  const auto d = w.step();
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(std::get<StopRun>(d.actions[0]).run_id, 1);
}

TEST(DecideContinuous, AdoptedRunsStartTheirStartupPhaseAgain) {
  World w;
  w.probed = true;
  w.step();
  w.clock.advance(minutes(30));
  // A restarted daemon has no probe state: the first pass probes at once, in startup mode.
  w.step();
  ASSERT_EQ(w.launched.size(), 1u);
  EXPECT_EQ(w.launched[0].phase, ProbePhase::kStartup);
}

TEST(DecideProbe, FollowsTheRhythmAndTheThresholds) {
  const ProbePolicy policy;
  const TimePoint t0 = fromUnixMillis(1'700'000'000'000);
  auto v = decideProbe(nullptr, t0, policy);
  EXPECT_EQ(v.probe_now, ProbePhase::kStartup) << "no state yet: probe now";
  EXPECT_EQ(v.next, t0 + seconds(1));

  ProbeState s;
  recordProbeStart(s, t0);
  v = decideProbe(&s, t0 + Millis(500), policy);
  EXPECT_FALSE(v.probe_now);
  EXPECT_EQ(v.next, t0 + seconds(1)) << "in flight, next one not due yet";
  EXPECT_TRUE(recordProbeResult(s, true, t0 + Millis(600), "exit code 0", policy))
      << "passing the startup check is news";
  v = decideProbe(&s, t0 + Millis(600), policy);
  EXPECT_FALSE(v.probe_now);
  EXPECT_EQ(v.next, t0 + seconds(10)) << "liveness, 10 s after the last probe began";

  for (int i = 0; i < 3; ++i) {
    recordProbeStart(s, t0 + seconds(10 * (i + 1)));
    recordProbeResult(s, false, t0 + seconds(10 * (i + 1)), "HTTP 503", policy);
  }
  v = decideProbe(&s, t0 + seconds(31), policy);
  ASSERT_TRUE(v.stop);
  EXPECT_EQ(*v.stop, "the health check failed 3 times in a row (last: HTTP 503)");
  EXPECT_FALSE(v.probe_now);
  EXPECT_FALSE(v.next);
}

TEST(RestartBackoff, DoublesAndCaps) {
  const SupervisionPolicy policy;
  EXPECT_EQ(restartBackoff(0, policy), Millis(0));
  EXPECT_EQ(restartBackoff(1, policy), Millis(10'000));
  EXPECT_EQ(restartBackoff(5, policy), Millis(160'000));
  EXPECT_EQ(restartBackoff(6, policy), Millis(300'000));
  EXPECT_EQ(restartBackoff(1000, policy), Millis(300'000));
  SupervisionPolicy slow{.restart_base = Millis(400'000)};
  EXPECT_EQ(restartBackoff(3, slow), Millis(400'000)) << "a base above the cap is the cap";
}

TEST(EndedByItself, OnlyTheJobsOwnEndsCount) {
  RunRecord r;
  r.state = RunState::kFailed;
  for (const auto reason : {RunReason::kError, RunReason::kSignal, RunReason::kOomKilled,
                            RunReason::kHealthCheckFailed, RunReason::kStartError}) {
    r.reason = reason;
    EXPECT_TRUE(endedByItself(r)) << model::toString(reason);
  }
  r.reason = RunReason::kStopped;
  EXPECT_FALSE(endedByItself(r));
  r.state = RunState::kLost;
  r.reason = RunReason::kLost;
  EXPECT_FALSE(endedByItself(r));
  r.state = RunState::kSucceeded;
  r.reason = RunReason::kCompleted;
  EXPECT_TRUE(endedByItself(r));
  r.state = RunState::kRunning;
  r.reason = RunReason::kNone;
  EXPECT_FALSE(endedByItself(r));
}

TEST(HasHealthProbe, ScriptHttpAndImplicitTcp) {
  model::JobSpec spec;
  spec.type = model::JobType::kContinuous;
  EXPECT_FALSE(hasHealthProbe(spec));
  spec.port = 8000;
  EXPECT_TRUE(hasHealthProbe(spec)) << "a TCP port gets an implicit TCP check";
  spec.port_protocol = model::PortProtocol::kUdp;
  EXPECT_FALSE(hasHealthProbe(spec)) << "no check for UDP";
  spec.health_check = model::HealthCheck{model::HealthCheckType::kScript, "true"};
  EXPECT_TRUE(hasHealthProbe(spec));
  spec.health_check = model::HealthCheck{model::HealthCheckType::kHttp, "/healthz"};
  EXPECT_FALSE(hasHealthProbe(spec)) << "HTTP over a UDP port: no probe, as upstream";
  spec.port_protocol.reset();
  EXPECT_TRUE(hasHealthProbe(spec));
  spec.type = model::JobType::kScheduled;
  EXPECT_FALSE(hasHealthProbe(spec));
}

}  // namespace
}  // namespace tjf::engine
