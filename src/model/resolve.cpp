#include "model/resolve.hpp"

#include "model/quantity.hpp"

namespace tjf::model {

std::filesystem::path resolveLogPath(const std::string& path, const Tool& tool) {
  // Upstream's paths went through a shell, so job files use $HOME and friends in them: expand
  // the ones that name the tool home (and only those: nothing else is run).
  std::string expanded = path;
  for (const std::string_view prefix : {"${TOOL_DATA_DIR}", "$TOOL_DATA_DIR", "${HOME}", "$HOME", "~"}) {
    if (expanded.rfind(prefix, 0) == 0 &&
        (expanded.size() == prefix.size() || expanded[prefix.size()] == '/')) {
      expanded = tool.home.string() + expanded.substr(prefix.size());
      break;
    }
  }
  const std::filesystem::path p(expanded);
  return (p.is_absolute() ? p : tool.home / p).lexically_normal();
}

std::string displayPath(const std::filesystem::path& path, const Tool& tool) {
  const auto rel = path.lexically_relative(tool.home);
  if (!rel.empty() && *rel.begin() != ".." && rel != ".") return rel.string();
  return path.string();
}

Result<ResolvedJob> resolveJob(const JobSpec& spec, const Tool& tool, const Image& image,
                               const JobDefaults& defaults) {
  ResolvedJob r;
  const bool containerised = image.runner == ImageRunner::kOci;
  r.mount = spec.mount.value_or(MountPolicy::kAll);
  if (spec.mount == MountPolicy::kNone && !containerised) {
    return invalidArgument(
        "Mount type none is only supported for images that run in a container; image '" +
        spec.imagename + "' runs on the host");
  }
  // `mount: none` leaves the tool home out of the job (upstream allows it for build-service images
  // only, whose file logs are off by default): file logs default to off with it instead of
  // refusing the job, so Toolforge files that set `mount: none` alone load unchanged.
  r.filelog = spec.filelog.value_or(spec.mount != MountPolicy::kNone);
  if (r.filelog && spec.mount && r.mount != MountPolicy::kAll) {
    return invalidArgument("File logging is only available with --mount=all");
  }
  if (r.filelog) {
    r.stdout_path = resolveLogPath(spec.filelog_stdout.value_or(spec.name + ".out"), tool);
    r.stderr_path = resolveLogPath(spec.filelog_stderr.value_or(spec.name + ".err"), tool);
  }
  r.emails = spec.emails.value_or(EmailPolicy::kNone);

  r.memory = spec.memory.value_or(defaults.memory);
  auto memory = parseQuantity(r.memory);
  if (!memory) return tl::unexpected(Error{memory.error().code, "memory: " + memory.error().message});
  r.memory_bytes = memoryBytes(*memory);
  r.cpu = spec.cpu.value_or(defaults.cpu);
  auto cpu = parseQuantity(r.cpu);
  if (!cpu) return tl::unexpected(Error{cpu.error().code, "cpu: " + cpu.error().message});
  r.cpu_millis = cpuMillis(*cpu);

  r.retry = spec.retry.value_or(0);
  r.timeout_seconds = spec.timeout.value_or(0);
  r.replicas = spec.replicas.value_or(1);
  r.concurrency_policy = spec.concurrency_policy.value_or(defaults.concurrency_policy);
  r.starting_deadline_seconds =
      spec.starting_deadline_seconds.value_or(defaults.starting_deadline_seconds);
  r.time_zone = spec.time_zone.value_or("UTC");

  if (spec.health_check && spec.health_check->type == HealthCheckType::kHttp && !spec.port) {
    return invalidArgument("Port must be set for HTTP health checks");
  }
  return r;
}

}  // namespace tjf::model
