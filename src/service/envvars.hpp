// EnvvarService: a tool's environment variables (`toolforge envvars`), as the API asks for them.
// Checks names and values, writes the store durably, and hands the engine what a run gets. A
// variable reaches the runs that start after it was written: running jobs keep the environment
// they started with (restart them to pick a change up). Runs on the loop thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "store/envvars.hpp"
#include "store/store.hpp"

namespace tjf::service {

struct EnvvarLimits {
  std::size_t max_per_tool = 128;
  std::size_t max_value_bytes = 64 * 1024;
};

inline constexpr std::size_t kMaxEnvvarNameLength = 128;

// Names: upper-case letters, digits and '_', not starting with a digit, at most 128 characters;
// not one of the variables tjf sets for every run (HOME, TOOL_NAME, TOOL_DATA_DIR, JOB_NAME, PORT)
// and not starting with "TJF_". PATH, LANG and SHELL may be overridden.
Status validateEnvvarName(std::string_view name);
// Values: any bytes but NUL (an environment cannot hold it), at most `max_bytes`.
Status validateEnvvarValue(std::string_view value, std::size_t max_bytes);

class EnvvarService {
 public:
  EnvvarService(store::Store& store, const Clock& clock, EnvvarLimits limits = {});

  Result<std::vector<store::EnvvarRecord>> list(const std::string& tool);
  // kNotFound: "Environment variable 'NAME' does not exist".
  Result<store::EnvvarRecord> get(const std::string& tool, const std::string& name);
  // Creates or replaces. kInvalidArgument for a bad name or value, or a tool over its count.
  Result<store::EnvvarRecord> create(const std::string& tool, const std::string& name,
                                     const std::string& value);
  // Returns what was deleted; kNotFound when there was nothing.
  Result<store::EnvvarRecord> remove(const std::string& tool, const std::string& name);
  // What a run of the tool gets, sorted by name (the engine's hook: EngineOptions::tool_env).
  Result<std::vector<std::pair<std::string, std::string>>> environment(const std::string& tool);

  const EnvvarLimits& limits() const { return limits_; }

 private:
  store::Store& store_;
  store::EnvvarStore envvars_;
  const Clock& clock_;
  EnvvarLimits limits_;
};

}  // namespace tjf::service
