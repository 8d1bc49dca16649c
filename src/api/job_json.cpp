#include "api/job_json.hpp"

#include "base/time_format.hpp"
#include "service/status.hpp"

namespace tjf::api {
namespace {

using nlohmann::ordered_json;
using model::JobType;

ordered_json optional(const auto& value) {
  return value ? ordered_json(*value) : ordered_json(nullptr);
}

ordered_json timeOrNull(const std::optional<TimePoint>& t) {
  return t ? ordered_json(formatIsoUtc(*t)) : ordered_json(nullptr);
}

ordered_json healthCheckJson(const std::optional<model::HealthCheck>& hc) {
  if (!hc) return nullptr;
  ordered_json j;
  j[hc->type == model::HealthCheckType::kHttp ? "path" : "script"] = hc->value;
  j["type"] = model::toString(hc->type);
  return j;
}

}  // namespace

ordered_json messagesToJson(const service::Messages& messages) {
  return ordered_json{{"info", messages.info}, {"warning", messages.warning},
                      {"error", ordered_json::array()}};
}

ordered_json jobToJson(const service::JobView& v, bool include_unset) {
  const model::JobSpec& spec = v.job.spec;
  const std::string image_state =
      v.image ? std::string(model::toString(v.image->state)) : std::string("unknown");
  ordered_json j;
  if (!include_unset) {
    // The user's own fields, in the order of the full form.
    const auto set = model::jobSpecToJson(spec);
    j["name"] = spec.name;
    j["cmd"] = spec.cmd;
    j["imagename"] = spec.imagename;
    for (const char* key : {"filelog", "filelog_stdout", "filelog_stderr", "emails", "mount",
                            "memory", "cpu"}) {
      if (set.contains(key)) j[key] = set.at(key);
    }
    j["image"] = spec.imagename;
    j["job_type"] = model::toString(spec.type);
    for (const char* key : {"continuous", "timeout", "retry", "schedule", "time_zone",
                            "concurrency_policy", "starting_deadline_seconds", "replicas", "port",
                            "port_protocol", "health_check"}) {
      if (set.contains(key)) j[key] = set.at(key);
    }
    return j;
  }

  const model::ResolvedJob r = v.resolved.value_or(model::ResolvedJob{});
  j["name"] = spec.name;
  j["cmd"] = spec.cmd;
  j["imagename"] = spec.imagename;
  j["filelog"] = r.filelog;
  j["filelog_stdout"] = r.filelog ? ordered_json(r.stdout_path.string()) : ordered_json(nullptr);
  j["filelog_stderr"] = r.filelog ? ordered_json(r.stderr_path.string()) : ordered_json(nullptr);
  j["emails"] = model::toString(r.emails);
  j["mount"] = model::toString(r.mount);
  j["memory"] = r.memory;
  j["cpu"] = r.cpu;
  j["image"] = spec.imagename;
  j["image_state"] = image_state;
  j["status_short"] = v.status.status_short;
  j["status_long"] = v.status.status_long;
  j["job_type"] = model::toString(spec.type);
  switch (spec.type) {
    case JobType::kOneOff:
      j["retry"] = r.retry;
      j["timeout"] = r.timeout_seconds;
      break;
    case JobType::kScheduled:
      j["timeout"] = r.timeout_seconds;
      j["retry"] = r.retry;
      j["schedule"] = spec.schedule.value_or("");
      j["schedule_actual"] = v.schedule_effective.value_or(spec.schedule.value_or(""));
      j["time_zone"] = r.time_zone;
      j["concurrency_policy"] = model::toString(r.concurrency_policy);
      j["starting_deadline_seconds"] = r.starting_deadline_seconds;
      break;
    case JobType::kContinuous:
      j["continuous"] = true;
      j["replicas"] = r.replicas;
      j["port"] = optional(spec.port);
      j["port_protocol"] = model::toString(spec.port_protocol.value_or(model::PortProtocol::kTcp));
      j["health_check"] = healthCheckJson(spec.health_check);
      break;
  }
  ordered_json status;
  status["short"] = v.status.state;
  status["duration"] = optional(v.status.duration);
  status["up_to_date"] = true;
  status["messages"] = v.status.messages;
  if (spec.type == JobType::kScheduled) {
    status["previous_schedule"] = timeOrNull(v.status.previous_schedule);
    status["next_schedule"] = timeOrNull(v.status.next_schedule);
  }
  j["status"] = status;
  return j;
}

ordered_json runToJson(const model::RunRecord& run) {
  ordered_json j;
  j["id"] = run.id;
  j["job_name"] = run.job_name;
  j["attempt"] = run.attempt;
  j["replica"] = run.replica;
  j["state"] = model::toString(run.state);
  j["reason"] = model::toString(run.reason);
  j["message"] = run.message;
  j["description"] = service::endDescription(run);
  j["created_at"] = formatIsoUtc(run.created_at);
  j["scheduled_for"] = timeOrNull(run.scheduled_for);
  j["started_at"] = timeOrNull(run.started_at);
  j["finished_at"] = timeOrNull(run.finished_at);
  j["exit_code"] = optional(run.exit_code);
  j["signal"] = optional(run.signal);
  return j;
}

}  // namespace tjf::api
