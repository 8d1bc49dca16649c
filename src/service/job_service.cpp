#include "service/job_service.hpp"

#include <algorithm>
#include <filesystem>

#include "cron/schedule.hpp"
#include "engine/decide_continuous.hpp"
#include "model/names.hpp"
#include "runtime/command_check.hpp"

namespace tjf::service {
namespace {

Error jobDoesNotExist(const std::string& name) {
  return Error{ErrorCode::kNotFound, "Job '" + name + "' does not exist"};
}

// ---- Continuous jobs: creation-time checks ---------------------------------------------------

constexpr int kMaxReplicas = 1000;  // as the API schema (model/job.cpp)

// The bad input of a continuous job that the schema cannot see: a health-check script that names
// a file which is not executable, an HTTP check without a TCP port, a port another job on this
// machine already uses (any tool: they all share the host's ports), replicas out of range. (An
// HTTP check without any port is refused by resolveJob.) A script file that does not exist yet is
// a warning, as for the command (decisions, "Commands": a deploy may load its job files before
// the code is in place; real job files name scripts under /data/project/...).
Status validateContinuous(store::Store& store, const std::string& tool_name,
                          const model::Tool& tool, const model::JobSpec& spec,
                          const std::string& path_env, std::vector<std::string>* warnings) {
  const std::string job = "job '" + spec.name + "'";
  if (spec.replicas && (*spec.replicas < 0 || *spec.replicas > kMaxReplicas)) {
    return invalidArgument("The replicas of " + job + " must be between 0 and " +
                           std::to_string(kMaxReplicas) + ", not " +
                           std::to_string(*spec.replicas));
  }
  const auto protocol = spec.port_protocol.value_or(model::PortProtocol::kTcp);
  if (spec.health_check) {
    const model::HealthCheck& check = *spec.health_check;
    if (check.type == model::HealthCheckType::kScript) {
      if (check.value.find_first_not_of(" \t\n") == std::string::npos) {
        return invalidArgument("The health check script of " + job + " is empty");
      }
      // A script that starts with a path ("./check.sh", "/data/project/x/check.sh --quick") must
      // be there now: a health check that can never pass would restart the job forever.
      const auto word = runtime::plainCommandWord(check.value);
      if (word && word->find('/') != std::string::npos) {
        if (auto problem = runtime::commandProblem(*word, tool.home, path_env)) {
          std::error_code ec;
          const std::filesystem::path script = std::filesystem::path(*word).is_absolute()
                                                   ? std::filesystem::path(*word)
                                                   : tool.home / *word;
          if (std::filesystem::exists(script, ec)) {
            return invalidArgument("Invalid health check script of " + job + ": " + *problem);
          }
          if (warnings) {
            warnings->push_back(job + ": health check script: " + *problem +
                                "; its health checks fail until it exists");
          }
        }
      }
    } else if (spec.port && protocol != model::PortProtocol::kTcp) {
      return invalidArgument("HTTP health checks need a TCP port, but port " +
                             std::to_string(*spec.port) + " of " + job + " is " +
                             std::string(model::toString(protocol)));
    }
  }
  if (spec.port) {
    auto jobs = store.allJobs();
    if (!jobs) return tl::unexpected(jobs.error());
    for (const auto& other : *jobs) {
      const model::JobSpec& o = other.spec;
      if (o.type != model::JobType::kContinuous || o.port != spec.port ||
          o.port_protocol.value_or(model::PortProtocol::kTcp) != protocol) {
        continue;
      }
      if (other.tool == tool_name && o.name == spec.name) continue;  // itself, being updated
      const std::string port = std::to_string(*spec.port) + "/" +
                               std::string(model::toString(protocol));
      if (other.tool == tool_name) {
        return invalidArgument("Port " + port + " is already used by job '" + o.name + "'");
      }
      // Another tool's job names are not ours to show.
      return invalidArgument("Port " + port + " is already used by another tool's job on this "
                             "machine");
    }
  }
  return {};
}

// Whether two definitions differ in their replica count only: scaling keeps the running
// replicas (no new generation).
bool onlyReplicasDiffer(model::JobSpec a, const model::JobSpec& b) {
  if (a.replicas == b.replicas) return false;
  a.replicas = b.replicas;
  return a == b;
}

}  // namespace

JobService::JobService(store::Store& store, engine::Engine& engine, const Clock& clock,
                       ServiceOptions options)
    : store_(store), engine_(engine), clock_(clock), options_(std::move(options)) {}

Status JobService::validate(const std::string& tool_name, const model::JobSpec& spec,
                            Messages* messages) {
  if (auto ok = model::validateJobName(spec.name); !ok) return ok;
  if (spec.cmd.empty()) return invalidArgument("The command of job '" + spec.name + "' is empty");
  const model::Image* image = options_.images->resolve(spec.imagename);
  if (!image) return tl::unexpected(model::noSuchImage(spec.imagename));
  auto tool = options_.tools->find(tool_name);
  if (!tool) return tl::unexpected(tool.error());
  auto resolved = model::resolveJob(spec, *tool, *image, options_.defaults);
  if (!resolved) return tl::unexpected(resolved.error());
  if (options_.quotas) {  // per-job limits, definition counts, runnable image (quota.hpp)
    if (auto ok = options_.quotas->checkDefinition(tool_name, spec, *image, *resolved); !ok) {
      return ok;
    }
    if (messages && (spec.memory || spec.cpu) && !options_.quotas->limitsNote().empty()) {
      messages->warning.push_back(options_.quotas->limitsNote());
    }
  }
  if (spec.type == model::JobType::kScheduled) {
    // Upstream's cron messages; an unknown time zone is refused by name. The tool and job names
    // seed the spreading of @-macros, so the check is the very parse the engine will do.
    auto schedule =
        cron::parseSchedule(spec.schedule.value_or(""), tool_name, spec.name,
                            spec.time_zone.value_or(std::string(cron::kDefaultTimeZone)));
    if (!schedule) return tl::unexpected(schedule.error());
  }
  if (spec.type == model::JobType::kContinuous) {
    if (auto ok = validateContinuous(store_, tool_name, *tool, spec, options_.path_env,
                                     messages ? &messages->warning : nullptr);
        !ok) {
      return ok;
    }
  }
  if (messages) {
    if (auto problem = runtime::commandProblem(spec.cmd, tool->home, options_.path_env)) {
      messages->warning.push_back("job '" + spec.name + "': " + *problem +
                                  "; the job is created, and its runs will fail until it exists");
    }
  }
  return {};
}

Result<JobView> JobService::createJob(const std::string& tool, model::JobSpec spec,
                                      Messages* messages) {
  auto durable = store_.durableWrites();  // the client is told: survive power loss
  if (auto ok = validate(tool, spec, messages); !ok) return tl::unexpected(ok.error());
  auto existing = store_.findJob(tool, spec.name);
  if (!existing) return tl::unexpected(existing.error());
  std::optional<std::int64_t> replaced;
  if (*existing) {
    // A finished one-off job is replaced by a new one of the same name (its runs stay in the
    // history); anything else is a conflict.
    auto active = store_.activeRunsOfJob((*existing)->id);
    if (!active) return tl::unexpected(active.error());
    if ((*existing)->spec.type != model::JobType::kOneOff || !active->empty()) {
      return makeError(ErrorCode::kAlreadyExists,
                       "A job with the name " + spec.name + " already exists");
    }
    replaced = (*existing)->id;
  }
  auto created = store_.transaction([&]() -> Result<model::JobRecord> {
    if (replaced) {
      if (auto ok = store_.deleteJob(*replaced); !ok) return tl::unexpected(ok.error());
    }
    return store_.insertJob(tool, spec, clock_.now());
  });
  if (!created) return tl::unexpected(created.error());
  engine_.nudge(created->id);
  return view(*created);
}

// ---- Server-side apply (PATCH) ----------------------------------------------------------------

namespace {

// The user-set fields that differ between two definitions (no `before`: a new job, every field
// new), in a stable order (the order of the job's fields in the API), under their API names.
std::vector<FieldChange> specDiff(const model::JobSpec* before, const model::JobSpec& after) {
  static const std::vector<std::string> kOrder = {
      "name", "cmd", "imagename", "job_type", "schedule", "time_zone", "filelog",
      "filelog_stdout", "filelog_stderr", "emails", "mount", "memory", "cpu", "retry", "timeout",
      "concurrency_policy", "starting_deadline_seconds", "replicas", "port", "port_protocol",
      "health_check"};
  const nlohmann::json a = before ? model::jobSpecToJson(*before) : nlohmann::json::object();
  const nlohmann::json b = model::jobSpecToJson(after);
  std::vector<std::string> fields = kOrder;
  for (const nlohmann::json* side : {&a, &b}) {
    for (const auto& [key, value] : side->items()) {
      // `continuous` only repeats job_type.
      if (key != "continuous" && std::find(fields.begin(), fields.end(), key) == fields.end()) {
        fields.push_back(key);
      }
    }
  }
  std::vector<FieldChange> diff;
  for (const auto& field : fields) {
    const nlohmann::json old_value = a.value(field, nlohmann::json());
    const nlohmann::json new_value = b.value(field, nlohmann::json());
    if (old_value != new_value) diff.push_back({field, old_value, new_value});
  }
  return diff;
}

}  // namespace

std::string_view toString(ApplyAction action) {
  switch (action) {
    case ApplyAction::kCreate: return "create";
    case ApplyAction::kUpdate: return "update";
    case ApplyAction::kReplace: return "replace";
    case ApplyAction::kUnchanged: return "unchanged";
  }
  return "unchanged";
}

Result<ApplyResult> JobService::applyJob(const std::string& tool, model::JobSpec spec,
                                         ApplyOptions options) {
  auto durable = store_.durableWrites();  // the client is told: survive power loss
  ApplyResult result;
  auto existing = store_.findJob(tool, spec.name);
  if (!existing) return tl::unexpected(existing.error());
  if (!*existing) {
    result.action = ApplyAction::kCreate;
    result.diff = specDiff(nullptr, spec);
    if (options.dry_run) {
      if (auto ok = validate(tool, spec, &result.messages); !ok) return tl::unexpected(ok.error());
      result.messages.info.push_back("Job " + spec.name + " would be created");
      return result;
    }
    auto created = createJob(tool, std::move(spec), &result.messages);
    if (!created) return tl::unexpected(created.error());
    result.changed = true;
    result.messages.info.push_back("Job " + created->job.spec.name +
                                   " created in storage and runtime");
    return result;
  }
  const model::JobRecord& job = **existing;
  if (job.spec == spec) {
    // Untouched: no write, no new generation, so no run is restarted.
    result.messages.info.push_back("Job " + spec.name + " is already up to date");
    return result;
  }
  result.diff = specDiff(&job.spec, spec);
  if (job.spec.type == model::JobType::kOneOff && spec.type == model::JobType::kOneOff) {
    result.action = ApplyAction::kReplace;
    if (options.dry_run) {
      if (auto ok = validate(tool, spec, &result.messages); !ok) return tl::unexpected(ok.error());
      result.messages.info.push_back("Job " + spec.name +
                                     " would be replaced: a one-off job is deleted and created "
                                     "again");
      return result;
    }
    result.messages.info.push_back("OneOffJobs can't be updated, delete and recreate it instead");
    return result;
  }
  result.action = ApplyAction::kUpdate;
  if (auto ok = validate(tool, spec, &result.messages); !ok) return tl::unexpected(ok.error());
  if (options.dry_run) {
    result.messages.info.push_back("Job " + spec.name + " would be updated");
    return result;
  }
  const bool bump = !onlyReplicasDiffer(job.spec, spec);  // scaling keeps running replicas
  if (auto ok = store_.updateJobSpec(job.id, spec, clock_.now(), bump); !ok) {
    return tl::unexpected(ok.error());
  }
  engine_.nudge(job.id);
  result.changed = true;
  result.messages.info.push_back("Job " + spec.name + " was updated in storage and runtime");
  return result;
}

Result<Plan> JobService::planJobs(const std::string& tool,
                                  const std::vector<model::JobSpec>& specs) {
  auto durable = store_.durableWrites();  // the client is told: survive power loss
  Plan plan;
  bool planned = false;  // every definition was checked: the rollback below is the plan's own
  auto outcome = store_.transaction([&]() -> Status {
    for (std::size_t i = 0; i < specs.size(); ++i) {
      auto result = applyJob(tool, specs[i], {.dry_run = true});
      if (!result) {
        if (result.error().code == ErrorCode::kInternal) return tl::unexpected(result.error());
        plan.refused = Plan::Refusal{i, result.error()};
        break;
      }
      // In place, as the real apply will put it, for the checks of the definitions after it.
      auto existing = store_.findJob(tool, specs[i].name);
      if (!existing) return tl::unexpected(existing.error());
      if (*existing) {
        if (auto ok = store_.updateJobSpec((*existing)->id, specs[i], clock_.now(), false); !ok) {
          return ok;
        }
      } else if (auto inserted = store_.insertJob(tool, specs[i], clock_.now()); !inserted) {
        return tl::unexpected(inserted.error());
      }
      plan.results.push_back(std::move(*result));
    }
    planned = true;
    return makeError(ErrorCode::kInternal, "a plan is never committed");  // rolls back
  });
  if (!planned) return tl::unexpected(outcome.error());
  return plan;
}

Result<JobView> JobService::view(const model::JobRecord& job) {
  JobView v;
  v.job = job;
  v.image = options_.images->resolve(job.spec.imagename);
  auto tool = options_.tools->find(job.tool);
  if (!tool) return tl::unexpected(tool.error());
  v.tool = *tool;
  if (v.image) {
    auto resolved = model::resolveJob(job.spec, *tool, *v.image, options_.defaults);
    if (resolved) v.resolved = std::move(*resolved);
  }
  // Continuous jobs: the latest two runs of every replica at least.
  const int limit = job.spec.type == model::JobType::kContinuous
                        ? std::max(16, 3 * (v.resolved ? v.resolved->replicas : 1))
                        : 16;
  auto recent = store_.runsOfJob(job.id, limit);
  if (!recent) return tl::unexpected(recent.error());
  std::vector<model::RunRecord> current;
  for (auto& run : *recent) {
    if (run.generation == job.generation) current.push_back(std::move(run));
  }
  const model::ResolvedJob fallback;
  if (job.spec.type == model::JobType::kContinuous) {
    const bool probed = engine::hasHealthProbe(job.spec);
    v.status = continuousStatus(
        v.resolved ? *v.resolved : fallback, current,
        [&](std::int64_t run_id) { return !probed || engine_.healthCheckPassed(run_id); },
        job.updated_at, clock_.now());
  } else if (job.spec.type == model::JobType::kScheduled) {
    // The latest fire may belong to the definition before an update or restart: all generations.
    auto schedule =
        cron::parseSchedule(job.spec.schedule.value_or(""), job.tool, job.spec.name,
                            job.spec.time_zone.value_or(std::string(cron::kDefaultTimeZone)));
    if (schedule) v.schedule_effective = schedule->effective;
    auto all = store_.runsOfJob(job.id, limit);
    if (!all) return tl::unexpected(all.error());
    v.status = scheduledStatus(v.resolved ? *v.resolved : fallback, *all, job.generation,
                               schedule ? &*schedule : nullptr, job.created_at, clock_.now());
  } else {
    v.status = oneOffStatus(v.resolved ? *v.resolved : fallback, current, clock_.now());
  }
  // The runtime's word on a placed job as a whole (engine.hpp, jobNote): it replaces a status
  // that would only say "Not running" or "Waiting for scheduled time" without saying why.
  if (const std::string note = engine_.jobNote(job.id);
      !note.empty() && job.spec.type != model::JobType::kOneOff && v.status.state != "running") {
    v.status.status_short = note;
    v.status.messages.push_back(note);
  }
  // Say it where the user looks instead of pretending (quota.hpp, limitsNote).
  if (options_.quotas && !options_.quotas->limitsNote().empty()) {
    v.status.status_long += (v.status.status_long.empty() ? "" : " ") + options_.quotas->limitsNote();
  }
  return v;
}

Result<std::vector<JobView>> JobService::listJobs(const std::string& tool) {
  auto jobs = store_.jobsOfTool(tool);
  if (!jobs) return tl::unexpected(jobs.error());
  std::vector<JobView> out;
  for (const auto& job : *jobs) {
    auto v = view(job);
    if (!v) return tl::unexpected(v.error());
    out.push_back(std::move(*v));
  }
  return out;
}

Result<JobView> JobService::getJob(const std::string& tool, const std::string& name) {
  auto job = store_.findJob(tool, name);
  if (!job) return tl::unexpected(job.error());
  if (!*job) return tl::unexpected(jobDoesNotExist(name));
  return view(**job);
}

Result<std::int64_t> JobService::deleteJob(const std::string& tool, const std::string& name) {
  auto durable = store_.durableWrites();  // the client is told: survive power loss
  auto job = store_.findJob(tool, name);
  if (!job) return tl::unexpected(job.error());
  if (!*job) return tl::unexpected(jobDoesNotExist(name));
  if (auto ok = store_.deleteJob((*job)->id); !ok) return tl::unexpected(ok.error());
  engine_.nudge((*job)->id);
  return (*job)->id;
}

Result<std::vector<std::int64_t>> JobService::flush(const std::string& tool) {
  auto durable = store_.durableWrites();  // the client is told: survive power loss
  auto jobs = store_.jobsOfTool(tool);
  if (!jobs) return tl::unexpected(jobs.error());
  std::vector<std::int64_t> ids;
  auto done = store_.transaction([&]() -> Status {
    for (const auto& job : *jobs) {
      if (auto ok = store_.deleteJob(job.id); !ok) return ok;
      ids.push_back(job.id);
    }
    return {};
  });
  if (!done) return tl::unexpected(done.error());
  for (const auto id : ids) engine_.nudge(id);
  return ids;
}

Status JobService::restartJob(const std::string& tool, const std::string& name) {
  auto durable = store_.durableWrites();  // the client is told: survive power loss
  auto job = store_.findJob(tool, name);
  if (!job) return tl::unexpected(job.error());
  if (!*job) return tl::unexpected(jobDoesNotExist(name));
  if ((*job)->spec.type == model::JobType::kOneOff) {
    return invalidArgument("Unable to restart a one-off job");
  }
  auto restarted = store_.transaction([&]() -> Status {
    if (auto ok = store_.bumpGeneration((*job)->id, clock_.now()); !ok) return ok;
    if ((*job)->spec.type == model::JobType::kScheduled) {
      // Run it now without moving the schedule: the new generation stops what still runs (as
      // upstream deletes the CronJob's Jobs), and this pending run without a fire time is the
      // manual run, started by the engine once they have ended (decide_scheduled.hpp).
      const model::JobRecord& j = **job;
      auto manual = store_.insertRun(model::RunRecord{
          .job_id = j.id, .tool = j.tool, .job_name = j.spec.name,
          .generation = j.generation + 1, .created_at = clock_.now()});
      if (!manual) return tl::unexpected(manual.error());
      return store_.addEvent(store::EventRecord{
          .time = clock_.now(), .tool = tool, .job_name = name, .run_id = manual->id,
          .kind = "restarted",
          .message = "restart requested by the tool (toolforge jobs restart): runs now, the "
                     "schedule is unchanged"});
    }
    if ((*job)->spec.type != model::JobType::kContinuous) return {};
    // Recorded with why: the engine stops the current runs gracefully, then starts new ones.
    return store_.addEvent(store::EventRecord{
        .time = clock_.now(), .tool = tool, .job_name = name, .kind = "restarted",
        .message = "restart requested by the tool (toolforge jobs restart): the running "
                   "replicas are stopped gracefully and started again"});
  });
  if (!restarted) return restarted;
  engine_.nudge((*job)->id);
  return {};
}

Result<std::vector<model::RunRecord>> JobService::runs(const std::string& tool,
                                                       const std::string& name, int limit) {
  return store_.runsByName(tool, name, limit);
}

Result<bool> JobService::anyActive(const std::vector<std::int64_t>& job_ids) {
  for (const auto id : job_ids) {
    auto active = store_.activeRunsOfJob(id);
    if (!active) return tl::unexpected(active.error());
    if (!active->empty()) return true;
  }
  return false;
}

}  // namespace tjf::service
