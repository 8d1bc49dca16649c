// JobService: what the API can ask for. Validates, writes the store in one transaction, and
// nudges the engine; it never waits on a process. Runs on the loop thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.hpp"
#include "engine/engine.hpp"
#include "model/images.hpp"
#include "model/resolve.hpp"
#include "model/tool.hpp"
#include "service/quota.hpp"
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
  // Scheduled jobs: the five fields actually used (@-macros spread), for `schedule_actual`.
  std::optional<std::string> schedule_effective;
};

// What a PATCH (server-side apply) does, or would do on a dry run.
enum class ApplyAction {
  kCreate,     // no job of that name: created
  kUpdate,     // the definition differs: stored, new runs replace the old ones
  kReplace,    // a one-off job whose definition differs: not updated in place (upstream); the
               // client deletes it and creates it again (the CLI's `load` does)
  kUnchanged,  // the same definition: nothing is touched, no run restarted
};
std::string_view toString(ApplyAction action);

// One user-set field that differs, under its API name; null when unset on that side.
struct FieldChange {
  std::string field;
  nlohmann::json old_value;
  nlohmann::json new_value;
};

struct ApplyOptions {
  bool dry_run = false;  // validate and compare, write nothing
};

struct ApplyResult {
  bool changed = false;
  ApplyAction action = ApplyAction::kUnchanged;
  std::vector<FieldChange> diff;
  Messages messages;
};

// A dry run of several definitions applied in order (a job file): what each would do, or the
// first one that would be refused.
struct Plan {
  struct Refusal {
    std::size_t index = 0;  // into the definitions given
    Error error;
  };
  std::vector<ApplyResult> results;  // one per definition before the refused one
  std::optional<Refusal> refused;
};

struct ServiceOptions {
  const model::ImageCatalogue* images = nullptr;
  const model::ToolDirectory* tools = nullptr;
  model::JobDefaults defaults;
  std::string path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  // Quotas, limits and images (quota.hpp); null: no quota checks.
  QuotaService* quotas = nullptr;
};

class JobService {
 public:
  JobService(store::Store& store, engine::Engine& engine, const Clock& clock,
             ServiceOptions options);

  Result<JobView> createJob(const std::string& tool, model::JobSpec spec, Messages* messages);
  // Server-side apply (PATCH): create, update, or leave alone. A dry run validates the
  // definition exactly as a real apply would and reports the action and the diff, writing nothing.
  Result<ApplyResult> applyJob(const std::string& tool, model::JobSpec spec,
                               ApplyOptions options = {});
  // A dry run of a whole job file: each definition is checked exactly as applyJob would check
  // it, with the definitions before it already in place, so limits that span jobs (definition
  // quotas, ports) count the whole file. Nothing is kept: the definitions are written inside a
  // store transaction that is rolled back, and the engine is not nudged. Stops at the first
  // refused definition; an Error is returned only for a failure of the store itself.
  Result<Plan> planJobs(const std::string& tool, const std::vector<model::JobSpec>& specs);
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
