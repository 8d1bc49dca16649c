#include "service/job_service.hpp"

#include "model/names.hpp"
#include "runtime/command_check.hpp"

namespace tjf::service {
namespace {

Error jobDoesNotExist(const std::string& name) {
  return Error{ErrorCode::kNotFound, "Job '" + name + "' does not exist"};
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
  if (spec.type != model::JobType::kOneOff) {
    return makeError(ErrorCode::kFailedPrecondition,
                     std::string(model::toString(spec.type)) +
                         " jobs are not supported by this tjfd yet");
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

Result<ApplyResult> JobService::applyJob(const std::string& tool, model::JobSpec spec) {
  ApplyResult result;
  auto existing = store_.findJob(tool, spec.name);
  if (!existing) return tl::unexpected(existing.error());
  if (!*existing) {
    auto created = createJob(tool, std::move(spec), &result.messages);
    if (!created) return tl::unexpected(created.error());
    result.changed = true;
    result.messages.info.push_back("Job " + created->job.spec.name +
                                   " created in storage and runtime");
    return result;
  }
  const model::JobRecord& job = **existing;
  if (job.spec == spec) {
    result.messages.info.push_back("Job " + spec.name + " is already up to date");
    return result;
  }
  if (job.spec.type == model::JobType::kOneOff && spec.type == model::JobType::kOneOff) {
    result.messages.info.push_back("OneOffJobs can't be updated, delete and recreate it instead");
    return result;
  }
  if (auto ok = validate(tool, spec, &result.messages); !ok) return tl::unexpected(ok.error());
  if (auto ok = store_.updateJobSpec(job.id, spec, clock_.now(), true); !ok) {
    return tl::unexpected(ok.error());
  }
  engine_.nudge(job.id);
  result.changed = true;
  result.messages.info.push_back("Job " + spec.name + " was updated in storage and runtime");
  return result;
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
  auto recent = store_.runsOfJob(job.id, 16);
  if (!recent) return tl::unexpected(recent.error());
  std::vector<model::RunRecord> current;
  for (auto& run : *recent) {
    if (run.generation == job.generation) current.push_back(std::move(run));
  }
  const model::ResolvedJob fallback;
  v.status = oneOffStatus(v.resolved ? *v.resolved : fallback, current, clock_.now());
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
  auto job = store_.findJob(tool, name);
  if (!job) return tl::unexpected(job.error());
  if (!*job) return tl::unexpected(jobDoesNotExist(name));
  if (auto ok = store_.deleteJob((*job)->id); !ok) return tl::unexpected(ok.error());
  engine_.nudge((*job)->id);
  return (*job)->id;
}

Result<std::vector<std::int64_t>> JobService::flush(const std::string& tool) {
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
  auto job = store_.findJob(tool, name);
  if (!job) return tl::unexpected(job.error());
  if (!*job) return tl::unexpected(jobDoesNotExist(name));
  if ((*job)->spec.type == model::JobType::kOneOff) {
    return invalidArgument("Unable to restart a one-off job");
  }
  if (auto ok = store_.bumpGeneration((*job)->id, clock_.now()); !ok) return ok;
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
