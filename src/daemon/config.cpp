#include "daemon/config.hpp"

#include <cstdlib>

#include <yaml-cpp/yaml.h>

#include "model/quantity.hpp"
#include "model/state_paths.hpp"

namespace tjf::daemon {
namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

template <typename T>
void take(T& target, const std::optional<std::string>& value) {
  if (value) target = *value;
}

}  // namespace

Result<Config> loadConfig(const ConfigOverrides& flags) {
  ConfigOverrides merged;
  merged.config_file = flags.config_file ? flags.config_file : env("TJF_CONFIG");
  merged.state_dir = flags.state_dir ? flags.state_dir : env("TJF_STATE_DIR");
  merged.socket = flags.socket ? flags.socket : env("TJF_SOCKET");
  merged.tool = flags.tool ? flags.tool : env("TJF_TOOL");
  merged.tool_home = flags.tool_home ? flags.tool_home : env("TJF_TOOL_HOME");
  merged.listen = flags.listen ? flags.listen : env("TJF_LISTEN");
  merged.images = flags.images ? flags.images : env("TJF_IMAGES");

  Config c;
  c.state_dir = model::defaultStateDir();
  bool socket_set = false;
  if (merged.config_file) {
    const std::string where = "config file '" + *merged.config_file + "'";
    try {
      const YAML::Node root = YAML::LoadFile(*merged.config_file);
      if (root && !root.IsMap()) return invalidArgument(where + ": expected a mapping");
      for (const auto& entry : root) {
        const auto key = entry.first.as<std::string>();
        const YAML::Node& v = entry.second;
        if (key == "mode") {
          const auto mode = v.as<std::string>();
          if (mode != "personal" && mode != "platform") {
            return invalidArgument(where + ": mode must be 'personal' or 'platform', not '" +
                                   mode + "'");
          }
          c.mode = mode == "personal" ? Mode::kPersonal : Mode::kPlatform;
        } else if (key == "state_dir") {
          c.state_dir = v.as<std::string>();
        } else if (key == "socket") {
          c.socket = v.as<std::string>();
          socket_set = true;
        } else if (key == "tool") {
          c.tool = v.as<std::string>();
        } else if (key == "tool_home") {
          c.tool_home = v.as<std::string>();
        } else if (key == "listen") {
          c.listen = v.as<std::string>();
        } else if (key == "images") {
          c.images_file = v.as<std::string>();
        } else if (key == "default_memory") {
          c.defaults.memory = v.as<std::string>();
        } else if (key == "default_cpu") {
          c.defaults.cpu = v.as<std::string>();
        } else if (key == "retry_backoff_ms") {
          c.retry_backoff_ms = v.as<std::int64_t>();
        } else if (key == "stop_grace_seconds") {
          c.stop_grace_seconds = v.as<std::int64_t>();
        } else {
          return invalidArgument(where + ": unknown key '" + key + "'");
        }
      }
    } catch (const YAML::Exception& e) {
      return invalidArgument("Unable to read " + where + ": " + e.what());
    }
  }
  take(c.state_dir, merged.state_dir);
  if (merged.socket) {
    c.socket = *merged.socket;
    socket_set = true;
  }
  take(c.tool, merged.tool);
  take(c.tool_home, merged.tool_home);
  if (merged.listen) c.listen = merged.listen;
  take(c.images_file, merged.images);
  if (!socket_set) {
    // With a non-default state directory, the socket lives in it, so two daemons with two state
    // directories never fight over one socket.
    c.socket = merged.state_dir || c.state_dir != model::defaultStateDir()
                   ? c.state_dir / "tjfd.sock"
                   : model::defaultSocketPath();
  }
  for (const auto* q : {&c.defaults.memory, &c.defaults.cpu}) {
    if (auto parsed = model::parseQuantity(*q); !parsed) {
      return invalidArgument("default quantity '" + *q + "': " + parsed.error().message);
    }
  }
  if (c.retry_backoff_ms < 0 || c.stop_grace_seconds < 0) {
    return invalidArgument("retry_backoff_ms and stop_grace_seconds must not be negative");
  }
  return c;
}

}  // namespace tjf::daemon
