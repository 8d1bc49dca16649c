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

// The email keys (docs/email.md). Returns false for a key that is not one of them.
bool readEmailKey(const std::string& key, const YAML::Node& v, EmailConfig& e) {
  if (key == "smtp_url") e.smtp_url = v.as<std::string>();
  else if (key == "smtp_user") e.smtp_user = v.as<std::string>();
  else if (key == "smtp_password_file") e.smtp_password_file = v.as<std::string>();
  else if (key == "smtp_starttls") e.smtp_starttls = v.as<bool>();
  else if (key == "smtp_ca_file") e.smtp_ca_file = v.as<std::string>();
  else if (key == "mail_from") e.mail_from = v.as<std::string>();
  else if (key == "mail_to_template") e.mail_to_template = v.as<std::string>();
  else if (key == "mail_to_prefix") e.mail_to_prefix = v.as<std::string>();
  else if (key == "mail_to_domain") e.mail_to_domain = v.as<std::string>();
  else if (key == "email_batch_seconds") e.batch_seconds = v.as<double>();
  else if (key == "email_retry_seconds") e.retry_seconds = v.as<double>();
  else if (key == "email_retry_max_seconds") e.retry_max_seconds = v.as<double>();
  else return false;
  return true;
}

// The platform-mode keys (docs/platform-mode.md). Returns false for a key that is not one of them.
bool readPlatformKey(const std::string& key, const YAML::Node& v, PlatformConfig& p) {
  if (key == "tool_prefix") p.tool_prefix = v.as<std::string>();
  else if (key == "tool_home_template") p.tool_home_template = v.as<std::string>();
  else if (key == "tool_cache_seconds") p.tool_cache_seconds = v.as<double>();
  else if (key == "socket_mode") {
    // Octal as written ("0660", 660 or 0o660): a mode is never meant in decimal.
    std::string text = v.as<std::string>();
    if (text.rfind("0o", 0) == 0) text = text.substr(2);
    if (text.empty() || text.size() > 4 || text.find_first_not_of("01234567") != std::string::npos) {
      throw YAML::Exception(v.Mark(), "socket_mode must be an octal mode such as 0666, not '" +
                                          v.as<std::string>() + "'");
    }
    p.socket_mode = static_cast<unsigned>(std::stoul(text, nullptr, 8));
  } else if (key == "socket_group") p.socket_group = v.as<std::string>();
  else if (key == "tls_cert") p.tls_cert = v.as<std::string>();
  else if (key == "tls_key") p.tls_key = v.as<std::string>();
  else if (key == "tls_client_ca") p.tls_client_ca = v.as<std::string>();
  else if (key == "tls_crl") p.tls_crl = v.as<std::string>();
  else if (key == "envvars_per_tool") p.envvars_per_tool = v.as<std::int64_t>();
  else if (key == "envvar_value_bytes") p.envvar_value_bytes = v.as<std::int64_t>();
  else return false;
  return true;
}

// The logs keys (docs/logs.md). Sizes are a byte count or a quantity ("1Gi", "500Mi").
// Returns false for a key that is not one of them.
bool readLogsKey(const std::string& key, const YAML::Node& v, LogsConfig& l) {
  auto bytes = [&]() -> std::int64_t {
    const auto text = v.as<std::string>();
    auto parsed = model::parseQuantity(text);
    if (!parsed) {
      throw YAML::Exception(v.Mark(), key + " must be a size such as 1Gi or 500Mi, not '" +
                                          text + "'");
    }
    return model::memoryBytes(*parsed);
  };
  if (key == "log_retention_bytes") l.retention_bytes = bytes();
  else if (key == "log_retention_days") l.retention_days = v.as<double>();
  else if (key == "log_retention_interval_seconds") l.retention_interval_seconds = v.as<double>();
  else if (key == "filelog_rotate_bytes") l.filelog_rotate_bytes = bytes();
  else if (key == "filelog_rotate_keep") l.filelog_rotate_keep = v.as<int>();
  else return false;
  return true;
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
        } else if (key == "default_images") {  // whether `images:` extends the defaults
          c.default_images = v.as<bool>();
        } else if (key == "default_memory") {
          c.defaults.memory = v.as<std::string>();
        } else if (key == "default_cpu") {
          c.defaults.cpu = v.as<std::string>();
        } else if (key == "retry_backoff_ms") {
          c.retry_backoff_ms = v.as<std::int64_t>();
        } else if (key == "restart_backoff_ms") {
          c.restart_backoff_ms = v.as<std::int64_t>();
        } else if (key == "stop_grace_seconds") {
          c.stop_grace_seconds = v.as<std::int64_t>();
        } else if (key == "quota") {  // resources and images: checked by service/quota.hpp
          for (const auto& item : v) {
            c.quota[item.first.as<std::string>()] = item.second.as<std::string>();
          }
        } else if (key == "tool_quotas") {
          for (const auto& tool : v) {
            auto& items = c.tool_quotas[tool.first.as<std::string>()];
            for (const auto& item : tool.second) {
              items[item.first.as<std::string>()] = item.second.as<std::string>();
            }
          }
        } else if (key == "cgroups") {
          c.cgroups = v.as<bool>();
        } else if (key == "pids_per_run") {
          c.pids_per_run = v.as<std::int64_t>();
        } else if (key == "oci_runtime") {
          c.oci_runtime = v.as<std::string>();
        } else if (key == "container_init") {
          c.container_init = v.as<std::string>();
        } else if (key == "shared_dirs") {
          for (const auto& dir : v) c.shared_dirs.emplace_back(dir.as<std::string>());
        } else if (key == "runtime") {
          const auto kind = v.as<std::string>();
          if (kind != "local" && kind != "kubernetes") {
            return invalidArgument(where + ": runtime must be 'local' or 'kubernetes', not '" +
                                   kind + "'");
          }
          c.runtime = kind == "local" ? RuntimeKind::kLocal : RuntimeKind::kKubernetes;
        } else if (key == "kubernetes") {
          auto parsed = kubernetes::kubernetesConfigFromYaml(v, where);
          if (!parsed) return tl::unexpected(parsed.error());
          c.kubernetes = std::move(*parsed);
        } else if (readEmailKey(key, v, c.email)) {
          // email notifications (docs/email.md)
        } else if (readPlatformKey(key, v, c.platform)) {
          // platform mode (docs/platform-mode.md)
        } else if (readLogsKey(key, v, c.logs)) {
          // log retention and file-log rotation (docs/logs.md)
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
  if (!socket_set && c.mode == Mode::kPlatform) {
    // Platform mode: outside the 0700 state directory, where every tool can reach it.
    c.socket = model::platformSocketPath();
  } else if (!socket_set) {
    // With a non-default state directory, the socket lives in it, so two daemons with two state
    // directories never fight over one socket.
    c.socket = merged.state_dir || c.state_dir != model::defaultStateDir()
                   ? c.state_dir / "tjfd.sock"
                   : model::defaultSocketPath();
  }
  if (c.runtime == RuntimeKind::kKubernetes && !c.kubernetes) {
    c.kubernetes = kubernetes::KubernetesConfig{};  // every key has a default (~/.kube/config)
  }
  if (!c.platform.socket_mode) c.platform.socket_mode = c.mode == Mode::kPlatform ? 0666 : 0600;
  if (c.platform.tls() && (c.platform.tls_cert.empty() || c.platform.tls_key.empty() ||
                           c.platform.tls_client_ca.empty())) {
    return invalidArgument("TLS needs all of tls_cert, tls_key and tls_client_ca");
  }
  if (c.platform.envvars_per_tool < 0 || c.platform.envvar_value_bytes < 0 ||
      !(c.platform.tool_cache_seconds >= 0)) {
    return invalidArgument(
        "envvars_per_tool, envvar_value_bytes and tool_cache_seconds must not be negative");
  }
  if (!(c.logs.retention_days >= 0) || !(c.logs.retention_interval_seconds > 0) ||
      c.logs.filelog_rotate_keep < 0 || c.logs.filelog_rotate_keep > 1000) {
    return invalidArgument(
        "log_retention_days must not be negative, log_retention_interval_seconds must be "
        "positive, and filelog_rotate_keep must be between 0 and 1000");
  }
  for (const auto* q : {&c.defaults.memory, &c.defaults.cpu}) {
    if (auto parsed = model::parseQuantity(*q); !parsed) {
      return invalidArgument("default quantity '" + *q + "': " + parsed.error().message);
    }
  }
  if (c.retry_backoff_ms < 0 || c.stop_grace_seconds < 0) {
    return invalidArgument("retry_backoff_ms and stop_grace_seconds must not be negative");
  }
  if (c.restart_backoff_ms < 0) {
    return invalidArgument("restart_backoff_ms must not be negative, not " +
                           std::to_string(c.restart_backoff_ms));
  }
  if (!(c.email.batch_seconds >= 0) || !(c.email.retry_seconds > 0) ||
      !(c.email.retry_max_seconds >= c.email.retry_seconds)) {
    return invalidArgument(
        "email_batch_seconds must not be negative, email_retry_seconds must be positive, and "
        "email_retry_max_seconds must not be less than email_retry_seconds");
  }
  return c;
}

}  // namespace tjf::daemon
