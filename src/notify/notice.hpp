// What a job's `--emails` setting mails about. Upstream's emailer watches pod events and keeps,
// per setting: `all` every event, `onfinish` the container-terminated ones, `onfailure` the
// terminated ones with a non-zero exit code (upstream-behaviour.md section 9). tjf has runs
// instead of pods, so the engine's run events are sorted into NoticeKinds first, and the setting
// keeps kinds. Pure code: no I/O, no clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "model/job.hpp"
#include "model/records.hpp"

namespace tjf::notify {

enum class NoticeKind {
  kStarted,        // a run started (first attempt)
  kRestarted,      // a run started as a retry (one-off, scheduled) or restart (continuous)
  kSucceeded,      // a run ended with exit code 0
  kFailed,         // a run ended badly: exit code, signal, OOMKilled, timeout, health check, lost
  kCouldNotStart,  // a run could not start (log path, command, image)
  kSkipped,        // a run never started: the previous run was still running, missed deadline
};

std::string_view toString(NoticeKind v);
std::optional<NoticeKind> noticeKindFromString(std::string_view s);

// Sorts one engine event (`events.kind`, see Engine::event) about `run` into a kind, or nullopt
// for events that are never mailed: runs stopped by tjf at the user's request (delete, flush,
// restart, update: upstream drops pods that are being deleted), pending runs cancelled for the
// same reasons, and bookkeeping events ("stopping", "retry-scheduled", "restart-scheduled",
// "waiting", "health-check-failed": the run's end says the same with its reason). `run` is the run as it is now; only fields that
// do not change after the event are used (attempt, and the end fields for end events).
std::optional<NoticeKind> classify(std::string_view event_kind, const model::RunRecord& run);

// Whether a job with this setting is mailed about this kind:
//   none      nothing
//   all       everything, starts and restarts included
//   onfinish  every end: succeeded, failed, could not start
//   onfailure failed and could not start
bool keeps(model::EmailPolicy policy, NoticeKind kind);

// Everything a mail says about one event, captured when the event is read (the stderr tail too,
// before later runs append to the same log file). Stored as JSON while it waits for its batch.
struct Notice {
  std::int64_t event_id = 0;
  TimePoint time{};  // when the event happened
  std::string tool;
  std::string job_name;
  model::JobType job_type = model::JobType::kOneOff;
  model::EmailPolicy emails = model::EmailPolicy::kNone;
  NoticeKind kind = NoticeKind::kFailed;
  std::int64_t run_id = 0;
  int attempt = 1;
  int replica = 0;
  model::RunReason reason = model::RunReason::kNone;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::string description;  // why the run ended, for a person (service::endDescription)
  std::optional<TimePoint> started_at;
  std::optional<TimePoint> finished_at;
  // The end of the run's stderr: where it was read ("myjob.err", "captured output"; empty when
  // there was nothing to read), and whether stdout is in the same file.
  std::string stderr_source;
  bool stderr_merged = false;
  std::vector<std::string> stderr_tail;

  bool operator==(const Notice&) const = default;
};

// Builds the notice for an event that `classify` sorted into `kind` (without the stderr tail).
Notice makeNotice(const std::string& tool, const model::JobSpec& job, std::int64_t event_id,
                  TimePoint event_time, NoticeKind kind, const model::RunRecord& run);

nlohmann::json noticeToJson(const Notice& notice);
Result<Notice> noticeFromJson(const nlohmann::json& j);

}  // namespace tjf::notify
