// tjfd's configuration: flags win over environment variables, variables over the config file,
// the file over defaults (decisions.md, "Configuration and discovery").
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "model/resolve.hpp"

namespace tjf::daemon {

enum class Mode { kPersonal, kPlatform };

struct Config {
  Mode mode = Mode::kPersonal;
  std::filesystem::path state_dir;
  std::filesystem::path socket;
  std::string tool;                     // personal mode
  std::filesystem::path tool_home;      // personal mode
  std::optional<std::string> listen;    // "127.0.0.1:8080" for TCP (optional)
  std::filesystem::path images_file;    // operator catalogue; empty: the default catalogue
  model::JobDefaults defaults;
  std::int64_t retry_backoff_ms = 10'000;
  std::int64_t stop_grace_seconds = 15;
};

// Values given on the command line or in the environment (unset: not given).
struct ConfigOverrides {
  std::optional<std::string> config_file;
  std::optional<std::string> state_dir;
  std::optional<std::string> socket;
  std::optional<std::string> tool;
  std::optional<std::string> tool_home;
  std::optional<std::string> listen;
  std::optional<std::string> images;
};

// Reads the YAML config file (if any) and applies the environment and then the flags on top.
Result<Config> loadConfig(const ConfigOverrides& flags);

}  // namespace tjf::daemon
