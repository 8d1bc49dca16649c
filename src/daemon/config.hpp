// tjfd's configuration: flags win over environment variables, variables over the config file,
// the file over defaults (decisions.md, "Configuration and discovery").
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "kubernetes/config.hpp"
#include "model/resolve.hpp"

namespace tjf::daemon {

enum class Mode { kPersonal, kPlatform };
// Where runs run: processes on this machine, or a Kubernetes cluster (docs/kubernetes.md).
enum class RuntimeKind { kLocal, kKubernetes };

// -- email notifications (docs/email.md); off while smtp_url is empty --
struct EmailConfig {
  std::string smtp_url;                          // `smtp_url:` smtp://host:port or smtps://...
  std::string smtp_user;                         // `smtp_user:`; empty: no authentication
  std::filesystem::path smtp_password_file;      // `smtp_password_file:` (first line)
  bool smtp_starttls = false;                    // `smtp_starttls:` require STARTTLS (smtp://)
  std::filesystem::path smtp_ca_file;            // `smtp_ca_file:` CAs to trust for TLS
  std::string mail_from = "noreply@toolforge.org";          // `mail_from:`
  std::string mail_to_template = "{prefix}.{tool}@{domain}";  // `mail_to_template:`
  std::string mail_to_prefix = "tools";          // `mail_to_prefix:`
  std::string mail_to_domain = "toolforge.org";  // `mail_to_domain:`
  double batch_seconds = 60;                     // `email_batch_seconds:`
  double retry_seconds = 30;                     // `email_retry_seconds:` first retry delay
  double retry_max_seconds = 3600;               // `email_retry_max_seconds:`
};

// -- platform mode: tools as Unix accounts, TLS, envvars (docs/platform-mode.md) --
struct PlatformConfig {
  std::string tool_prefix = "tools";           // `tool_prefix:` accounts are <prefix>.<tool>
  std::string tool_home_template;              // `tool_home_template:` e.g. /data/project/{tool}
  double tool_cache_seconds = 30;              // `tool_cache_seconds:` account lookups kept
  std::optional<unsigned> socket_mode;         // `socket_mode:` default 0600, platform 0666
  std::string socket_group;                    // `socket_group:` group of the socket
  std::filesystem::path tls_cert;              // `tls_cert:` server certificate (PEM)
  std::filesystem::path tls_key;               // `tls_key:` its key (PEM)
  std::filesystem::path tls_client_ca;         // `tls_client_ca:` CA of the tools' certificates
  std::filesystem::path tls_crl;               // `tls_crl:` revoked client certificates (PEM)
  std::int64_t envvars_per_tool = 128;         // `envvars_per_tool:`
  std::int64_t envvar_value_bytes = 64 * 1024;  // `envvar_value_bytes:`
  bool tls() const { return !tls_cert.empty() || !tls_key.empty() || !tls_client_ca.empty(); }
};

// -- logs: retention of the log store and rotation of file logs (docs/logs.md) --
struct LogsConfig {
  std::int64_t retention_bytes = std::int64_t{1} << 30;  // `log_retention_bytes:` per tool; 0: none
  double retention_days = 30;                  // `log_retention_days:`; 0: no age limit
  double retention_interval_seconds = 60;      // `log_retention_interval_seconds:`
  std::int64_t filelog_rotate_bytes = 0;       // `filelog_rotate_bytes:` e.g. 100Mi; 0: never
  int filelog_rotate_keep = 1;                 // `filelog_rotate_keep:` rotated copies kept
};

struct Config {
  Mode mode = Mode::kPersonal;
  std::filesystem::path state_dir;
  std::filesystem::path socket;
  std::string tool;                     // personal mode
  std::filesystem::path tool_home;      // personal mode
  std::optional<std::string> listen;    // "127.0.0.1:8080" for TCP (optional)
  std::filesystem::path images_file;    // operator catalogue; empty: the default catalogue
  bool default_images = true;           // `default_images: false`: images_file alone, no defaults
  model::JobDefaults defaults;
  std::int64_t retry_backoff_ms = 10'000;
  // Continuous jobs: the first restart delay of a crash loop (doubling up to 5 min); 0 restarts
  // at once (benchmarks).
  std::int64_t restart_backoff_ms = 10'000;
  std::int64_t stop_grace_seconds = 15;
  // -- resources and images (docs/resources-and-images.md) --
  std::map<std::string, std::string> quota;  // `quota:` items over the built-in defaults
  std::map<std::string, std::map<std::string, std::string>> tool_quotas;  // `tool_quotas:`
  bool cgroups = true;                  // `cgroups: false`: start runs without limits
  std::int64_t pids_per_run = 4096;     // `pids_per_run:`; 0: no limit
  std::string oci_runtime;              // `oci_runtime:`; empty: crun, else runc
  std::string container_init;           // `container_init:`; empty: tini-static or catatonit
  std::vector<std::filesystem::path> shared_dirs;  // `shared_dirs:` for --mount all containers
  EmailConfig email;
  PlatformConfig platform;
  LogsConfig logs;
  RuntimeKind runtime = RuntimeKind::kLocal;  // `runtime: local|kubernetes`
  // `kubernetes:` (docs/kubernetes.md); required when runtime is kubernetes.
  std::optional<kubernetes::KubernetesConfig> kubernetes;
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
