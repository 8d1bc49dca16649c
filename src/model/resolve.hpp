// Defaults resolution: the effective values of a job (upstream's "resolved job"), and the
// creation-time checks that need the image and the tool.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "base/result.hpp"
#include "model/images.hpp"
#include "model/job.hpp"
#include "model/tool.hpp"

namespace tjf::model {

struct JobDefaults {
  std::string memory = "512Mi";
  std::string cpu = "0.5";
  std::int64_t starting_deadline_seconds = 30;
  ConcurrencyPolicy concurrency_policy = ConcurrencyPolicy::kForbid;
};

struct ResolvedJob {
  bool filelog = true;
  std::filesystem::path stdout_path;  // absolute; empty without file logs
  std::filesystem::path stderr_path;
  MountPolicy mount = MountPolicy::kAll;
  EmailPolicy emails = EmailPolicy::kNone;
  std::string memory;  // as typed, or the default
  std::string cpu;
  std::int64_t memory_bytes = 0;
  std::int64_t cpu_millis = 0;
  int retry = 0;
  std::int64_t timeout_seconds = 0;  // 0: none
  int replicas = 1;
  ConcurrencyPolicy concurrency_policy = ConcurrencyPolicy::kForbid;
  std::int64_t starting_deadline_seconds = 30;
  std::string time_zone = "UTC";
};

// Checks the job against the image and fills in defaults. Errors are the ones upstream gives at
// creation (mount/filelog combinations, HTTP check without port, bad quantities).
Result<ResolvedJob> resolveJob(const JobSpec& spec, const Tool& tool, const Image& image,
                               const JobDefaults& defaults);

// A log path as the user gave it, made absolute under the tool home.
std::filesystem::path resolveLogPath(const std::string& path, const Tool& tool);
// A path shown relative to the tool home when it is inside it ("myjob.out", "logs/x.log").
std::string displayPath(const std::filesystem::path& path, const Tool& tool);

}  // namespace tjf::model
