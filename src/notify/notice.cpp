#include "notify/notice.hpp"

#include <array>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/time_format.hpp"
#include "service/status.hpp"

namespace tjf::notify {
namespace {

using model::RunReason;
using model::RunState;

constexpr std::array<std::pair<NoticeKind, std::string_view>, 6> kKinds{{
    {NoticeKind::kStarted, "started"}, {NoticeKind::kRestarted, "restarted"},
    {NoticeKind::kSucceeded, "succeeded"}, {NoticeKind::kFailed, "failed"},
    {NoticeKind::kCouldNotStart, "could-not-start"}, {NoticeKind::kSkipped, "skipped"}}};

std::optional<NoticeKind> endKind(const model::RunRecord& run) {
  switch (run.reason) {
    case RunReason::kCompleted: return NoticeKind::kSucceeded;
    case RunReason::kStartError: return NoticeKind::kCouldNotStart;
    case RunReason::kStopped: return std::nullopt;  // tjf stopped it because the user asked
    case RunReason::kConcurrencyForbid:
    case RunReason::kMissedDeadline: return NoticeKind::kSkipped;
    case RunReason::kNone:
      // An end event always comes with a reason; without one, trust the state.
      if (run.state == RunState::kSucceeded) return NoticeKind::kSucceeded;
      return isFinal(run.state) ? std::optional<NoticeKind>(NoticeKind::kFailed) : std::nullopt;
    default: return NoticeKind::kFailed;
  }
}

std::optional<std::int64_t> millisOf(const std::optional<TimePoint>& t) {
  return t ? std::optional<std::int64_t>(toUnixMillis(*t)) : std::nullopt;
}

template <typename T>
void putOptional(nlohmann::json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

}  // namespace

std::string_view toString(NoticeKind v) {
  for (const auto& [value, name] : kKinds) {
    if (value == v) return name;
  }
  return "unknown";
}

std::optional<NoticeKind> noticeKindFromString(std::string_view s) {
  for (const auto& [value, name] : kKinds) {
    if (name == s) return value;
  }
  return std::nullopt;
}

std::optional<NoticeKind> classify(std::string_view event_kind, const model::RunRecord& run) {
  if (event_kind == "started") {
    return run.attempt > 1 ? NoticeKind::kRestarted : NoticeKind::kStarted;
  }
  if (event_kind == "completed" || event_kind == "failed") return endKind(run);
  if (event_kind == "cancelled" || event_kind == "skipped") {
    // Pending runs cancelled by a delete or a restart say nothing; skipped cron fires do.
    if (run.state != RunState::kSkipped) return std::nullopt;
    const auto kind = endKind(run);
    return kind == NoticeKind::kSkipped ? kind : std::nullopt;
  }
  return std::nullopt;
}

bool keeps(model::EmailPolicy policy, NoticeKind kind) {
  switch (policy) {
    case model::EmailPolicy::kNone: return false;
    case model::EmailPolicy::kAll: return true;
    case model::EmailPolicy::kOnFinish:
      return kind == NoticeKind::kSucceeded || kind == NoticeKind::kFailed ||
             kind == NoticeKind::kCouldNotStart;
    case model::EmailPolicy::kOnFailure:
      return kind == NoticeKind::kFailed || kind == NoticeKind::kCouldNotStart;
  }
  return false;
}

Notice makeNotice(const std::string& tool, const model::JobSpec& job, std::int64_t event_id,
                  TimePoint event_time, NoticeKind kind, const model::RunRecord& run) {
  Notice n;
  n.event_id = event_id;
  n.time = event_time;
  n.tool = tool;
  n.job_name = job.name;
  n.job_type = job.type;
  n.emails = job.emails.value_or(model::EmailPolicy::kNone);
  n.kind = kind;
  n.run_id = run.id;
  n.attempt = run.attempt;
  n.replica = run.replica;
  n.started_at = run.started_at;
  if (kind == NoticeKind::kStarted || kind == NoticeKind::kRestarted) {
    // The run may have ended by the time its start is read; the start notice is about the start.
    return n;
  }
  n.reason = run.reason;
  n.exit_code = run.exit_code;
  n.signal = run.signal;
  n.finished_at = run.finished_at;
  n.description = service::endDescription(run);
  return n;
}

nlohmann::json noticeToJson(const Notice& n) {
  nlohmann::json j = {
      {"event_id", n.event_id},
      {"time", toUnixMillis(n.time)},
      {"tool", n.tool},
      {"job", n.job_name},
      {"job_type", model::toString(n.job_type)},
      {"emails", model::toString(n.emails)},
      {"kind", toString(n.kind)},
      {"run_id", n.run_id},
      {"attempt", n.attempt},
      {"replica", n.replica},
      {"reason", model::toString(n.reason)},
      {"description", n.description},
      {"stderr_source", n.stderr_source},
      {"stderr_merged", n.stderr_merged},
      {"stderr_tail", n.stderr_tail},
  };
  putOptional(j, "exit_code", n.exit_code);
  putOptional(j, "signal", n.signal);
  putOptional(j, "started_at", millisOf(n.started_at));
  putOptional(j, "finished_at", millisOf(n.finished_at));
  return j;
}

Result<Notice> noticeFromJson(const nlohmann::json& j) {
  try {
    Notice n;
    n.event_id = j.at("event_id").get<std::int64_t>();
    n.time = fromUnixMillis(j.at("time").get<std::int64_t>());
    n.tool = j.at("tool").get<std::string>();
    n.job_name = j.at("job").get<std::string>();
    const auto type = model::jobTypeFromString(j.at("job_type").get<std::string>());
    const auto emails = model::emailPolicyFromString(j.at("emails").get<std::string>());
    const auto kind = noticeKindFromString(j.at("kind").get<std::string>());
    const auto reason = model::runReasonFromString(j.at("reason").get<std::string>());
    if (!type || !emails || !kind || !reason) {
      return internalError("notify: notice of event " + std::to_string(n.event_id) +
                           " has an unknown job type, emails setting, kind or reason");
    }
    n.job_type = *type;
    n.emails = *emails;
    n.kind = *kind;
    n.reason = *reason;
    n.run_id = j.at("run_id").get<std::int64_t>();
    n.attempt = j.at("attempt").get<int>();
    n.replica = j.at("replica").get<int>();
    n.description = j.at("description").get<std::string>();
    n.stderr_source = j.at("stderr_source").get<std::string>();
    n.stderr_merged = j.at("stderr_merged").get<bool>();
    n.stderr_tail = j.at("stderr_tail").get<std::vector<std::string>>();
    if (j.contains("exit_code")) n.exit_code = j["exit_code"].get<int>();
    if (j.contains("signal")) n.signal = j["signal"].get<int>();
    if (j.contains("started_at")) n.started_at = fromUnixMillis(j["started_at"].get<std::int64_t>());
    if (j.contains("finished_at")) {
      n.finished_at = fromUnixMillis(j["finished_at"].get<std::int64_t>());
    }
    return n;
  } catch (const nlohmann::json::exception& e) {
    return internalError(std::string("notify: unreadable notice: ") + e.what());
  }
}

}  // namespace tjf::notify
