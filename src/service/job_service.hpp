// JobService: what the API can ask for. Validates, writes the store in one transaction, and
// nudges the engine; it never waits on a process. Runs on the loop thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "engine/engine.hpp"
#include "model/images.hpp"
#include "model/resolve.hpp"
#include "model/tool.hpp"
#include "service/status.hpp"
#include "store/store.hpp"

namespace tjf::service {

struct Messages {
  std::vector<std::string> info;
  std::vector<std::string> warning;
};

// A job with everything the API shows about it.
struct JobView {
  model::JobRecord job;
  const model::Image* image = nullptr;  // null when the catalogue no longer knows it
  std::optional<model::ResolvedJob> resolved;
  model::Tool tool;
  JobStatus status;
};

struct ApplyResult {
  bool changed = false;
  Messages messages;
};

struct ServiceOptions {
  const model::ImageCatalogue* images = nullptr;
  const model::ToolDirectory* tools = nullptr;
  model::JobDefaults defaults;
  std::string path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
};

class JobService {
 public:
  JobService(store::Store& store, engine::Engine& engine, const Clock& clock,
             ServiceOptions options);

  Result<JobView> createJob(const std::string& tool, model::JobSpec spec, Messages* messages);
  // Server-side apply (PATCH): create, update, or leave alone.
  Result<ApplyResult> applyJob(const std::string& tool, model::JobSpec spec);
  Result<std::vector<JobView>> listJobs(const std::string& tool);
  Result<JobView> getJob(const std::string& tool, const std::string& name);
  // Deletes the definition; the engine stops its runs. Returns the job id to wait on.
  Result<std::int64_t> deleteJob(const std::string& tool, const std::string& name);
  Result<std::vector<std::int64_t>> flush(const std::string& tool);
  Status restartJob(const std::string& tool, const std::string& name);
  Result<std::vector<model::RunRecord>> runs(const std::string& tool, const std::string& name,
                                             int limit);
  // Whether any run of these jobs is still pending or running.
  Result<bool> anyActive(const std::vector<std::int64_t>& job_ids);

  const ServiceOptions& options() const { return options_; }

 private:
  // Checks a definition against the image, the tool and the schedule; fills `messages` with
  // warnings (a command that cannot be found yet).
  Status validate(const std::string& tool, const model::JobSpec& spec, Messages* messages);
  Result<JobView> view(const model::JobRecord& job);

  store::Store& store_;
  engine::Engine& engine_;
  const Clock& clock_;
  ServiceOptions options_;
};

}  // namespace tjf::service
