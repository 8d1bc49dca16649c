#include "engine/decide_scheduled.hpp"

#include <algorithm>
#include <map>
#include <string_view>

#include "base/time_format.hpp"
#include "engine/admission.hpp"

namespace tjf::engine {
namespace {

using model::ConcurrencyPolicy;
using model::RunReason;
using model::RunRecord;
using model::RunState;

// Counting the fire times missed during a long downtime stops here ("1000 or more"): enough to
// tell a person what happened, and bounded work (a `* * * * *` job down for a year would
// otherwise count half a million minutes).
constexpr int kMaxCountedMisses = 1000;

std::int64_t wholeSeconds(TimePoint::duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

std::string describeFire(const RunRecord& run) {
  return run.scheduled_for ? "the run of " + formatIsoUtc(*run.scheduled_for)
                           : std::string("the manual run");
}

// What an active run is doing, for the Forbid message.
std::string activity(const RunRecord& run, TimePoint now) {
  if (run.state == RunState::kRunning) return "running";
  if (run.state == RunState::kPending && (!run.not_before || *run.not_before <= now)) {
    return "waiting to start";
  }
  return "waiting to be retried";
}

// "1 fire time", "179 fire times", "1000 or more fire times".
std::string fireTimes(int n, std::string_view between = "") {
  std::string text = n >= kMaxCountedMisses ? std::to_string(kMaxCountedMisses) + " or more"
                                            : std::to_string(n);
  text += " ";
  text += between;
  text += n == 1 ? "fire time" : "fire times";
  return text;
}

}  // namespace

bool isSkippedFire(const RunRecord& run) {
  return run.scheduled_for && run.state == RunState::kSkipped &&
         (run.reason == RunReason::kConcurrencyForbid || run.reason == RunReason::kMissedDeadline);
}

int countFiresBetween(const cron::Schedule& schedule, TimePoint after, TimePoint before, int cap) {
  int n = 0;
  TimePoint t = after;
  while (n < cap) {
    const auto next = cron::nextFireAfter(schedule, t);
    if (!next || *next >= before) break;
    ++n;
    t = *next;
  }
  return n;
}

ScheduledDecision decideScheduled(const model::ResolvedJob& job, const cron::Schedule& schedule,
                                  const ScheduledInput& input, TimePoint now,
                                  const RetryPolicy& retry) {
  ScheduledDecision d;
  const bool has_deadline = job.starting_deadline_seconds > 0;
  const auto deadline = std::chrono::seconds(job.starting_deadline_seconds);
  const auto late = [&](TimePoint fire) { return has_deadline && now - fire > deadline; };

  // Fire times up to `handled` are done: fired, skipped, or older than this generation.
  TimePoint handled = input.generation_start;
  // The latest run of each fire (nullopt: the manual run), by id order.
  std::map<std::optional<TimePoint>, const RunRecord*> chains;
  for (const auto& run : input.runs) {
    if (run.scheduled_for && *run.scheduled_for > handled) handled = *run.scheduled_for;
    chains[run.scheduled_for] = &run;
  }

  // What the existing runs need, before looking at the clock's fire time.
  std::vector<Action> chain_actions;
  std::vector<std::int64_t> running, pending;
  const RunRecord* blocking = nullptr;  // the newest active run, named when Forbid skips
  for (const auto& [fire, last] : chains) {
    const bool manual = !fire.has_value();
    switch (last->state) {
      case RunState::kPending:
        if (!manual && last->attempt == 1 && !last->not_before && late(*fire) &&
            !isQuotaWait(last->message)) {
          // Created for its fire but never started (the daemon stopped in between): too late now.
          // A run waiting for quota is not late: the deadline is for creating the run (as for a
          // CronJob's Job), and it starts when the tool has room.
          d.actions.push_back(CancelRun{last->id, RunReason::kMissedDeadline});
          break;
        }
        pending.push_back(last->id);
        if (!blocking || last->id > blocking->id) blocking = last;
        if (manual && input.superseded_active) break;  // starts when the old runs have ended
        if (!last->not_before || *last->not_before <= now) {
          chain_actions.push_back(StartRun{last->id});
        } else if (!d.wake_at || *last->not_before < *d.wake_at) {
          d.wake_at = last->not_before;
        }
        break;
      case RunState::kRunning:
        running.push_back(last->id);
        if (!blocking || last->id > blocking->id) blocking = last;
        break;
      case RunState::kFailed:
      case RunState::kLost: {
        // As decideOneOff: a run stopped on purpose is not retried; anything else is, up to
        // --retry times, after the back-off.
        if (last->reason == RunReason::kStopped) break;
        if (last->attempt - 1 >= job.retry) break;
        const TimePoint retry_at =
            last->finished_at.value_or(now) + retryBackoff(last->attempt, retry);
        chain_actions.push_back(
            CreateRun{.attempt = last->attempt + 1, .not_before = retry_at, .scheduled_for = fire});
        if (!blocking || last->id > blocking->id) blocking = last;
        break;
      }
      case RunState::kSucceeded:
      case RunState::kSkipped:
        break;
    }
  }
  const bool active = input.superseded_active || blocking != nullptr;

  std::optional<CreateRun> fire_run;
  bool replace = false;
  const auto fire = cron::lastFireAtOrBefore(schedule, now);
  if (fire && *fire > handled) {
    // Fire times between `handled` and this one were missed (the daemon was not running, or the
    // loop fell behind). They are not replayed; one skipped run records how many there were.
    int earlier = 0;
    std::optional<TimePoint> first_missed;
    std::optional<TimePoint> last_missed;
    if (const auto first = cron::nextFireAfter(schedule, handled); first && *first < *fire) {
      first_missed = first;
      earlier = countFiresBetween(schedule, handled, *fire, kMaxCountedMisses);
      last_missed = cron::lastFireAtOrBefore(schedule, *fire - std::chrono::seconds(1));
    }
    if (late(*fire)) {
      std::string why = "the fire time " + formatIsoUtc(*fire) + " was reached " +
                        formatDuration(wholeSeconds(now - *fire)) +
                        " late, past the starting deadline of " +
                        formatDuration(job.starting_deadline_seconds) +
                        " (the daemon was not running or fell behind)";
      if (earlier > 0) {
        why += "; " + fireTimes(earlier, "earlier ") + " since " + formatIsoUtc(*first_missed) +
               (earlier == 1 ? " was" : " were") + " missed too";
      }
      d.skips.push_back(SkipFire{*fire, RunReason::kMissedDeadline, std::move(why)});
    } else {
      if (earlier > 0 && last_missed) {
        d.skips.push_back(SkipFire{
            *last_missed, RunReason::kMissedDeadline,
            (earlier == 1 ? "the fire time " + formatIsoUtc(*first_missed) + " was"
                          : fireTimes(earlier) + " from " + formatIsoUtc(*first_missed) + " to " +
                                formatIsoUtc(*last_missed) + " were") +
                " missed (the daemon was not running or fell behind); only the latest, " +
                formatIsoUtc(*fire) + ", was still inside the starting deadline and runs"});
      }
      switch (job.concurrency_policy) {
        case ConcurrencyPolicy::kForbid:
          if (active) {
            d.skips.push_back(SkipFire{
                *fire, RunReason::kConcurrencyForbid,
                blocking ? describeFire(*blocking) + " (run " + std::to_string(blocking->id) +
                               ") was still " + activity(*blocking, now)
                         : "a run of the job's previous definition was still stopping"});
          } else {
            fire_run = CreateRun{.scheduled_for = *fire};
          }
          break;
        case ConcurrencyPolicy::kAllow:
          fire_run = CreateRun{.scheduled_for = *fire};
          break;
        case ConcurrencyPolicy::kReplace:
          replace = true;
          fire_run = CreateRun{.scheduled_for = *fire};
          break;
      }
    }
  }

  if (replace) {
    // The new fire replaces everything of this generation that is active or about to be.
    for (const auto id : running) d.actions.push_back(StopRun{id, RunReason::kStopped});
    for (const auto id : pending) d.actions.push_back(CancelRun{id, RunReason::kStopped});
    d.wake_at.reset();
  } else {
    d.actions.insert(d.actions.end(), chain_actions.begin(), chain_actions.end());
  }
  if (fire_run) d.actions.push_back(*fire_run);
  d.next_fire = cron::nextFireAfter(schedule, now);
  return d;
}

}  // namespace tjf::engine
