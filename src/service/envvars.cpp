#include "service/envvars.hpp"

#include <array>

namespace tjf::service {
namespace {

// Set by the engine for every run (ARCHITECTURE.md, "The run environment"): a tool cannot
// replace them, so a job always knows who and where it is.
constexpr std::array<std::string_view, 5> kReserved = {"HOME", "TOOL_DATA_DIR", "TOOL_NAME",
                                                       "JOB_NAME", "PORT"};
constexpr std::string_view kReservedPrefix = "TJF_";

std::string notFoundMessage(const std::string& name) {
  return "Environment variable '" + name + "' does not exist";
}

}  // namespace

Status validateEnvvarName(std::string_view name) {
  const std::string quoted = "'" + std::string(name) + "'";
  if (name.empty()) return invalidArgument("An environment variable needs a name");
  if (name.size() > kMaxEnvvarNameLength) {
    return invalidArgument("Invalid environment variable name " + quoted + ": it can't be longer "
                           "than " + std::to_string(kMaxEnvvarNameLength) + " characters");
  }
  for (const char c : name) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      return invalidArgument("Invalid environment variable name " + quoted +
                             ": use upper-case letters, digits and '_' (for example 'API_TOKEN')");
    }
  }
  if (name.front() >= '0' && name.front() <= '9') {
    return invalidArgument("Invalid environment variable name " + quoted +
                           ": it must not start with a digit");
  }
  for (const auto reserved : kReserved) {
    if (name == reserved) {
      return invalidArgument("The environment variable " + quoted +
                             " is set by the jobs framework for every job and can't be replaced");
    }
  }
  if (name.substr(0, kReservedPrefix.size()) == kReservedPrefix) {
    return invalidArgument("Invalid environment variable name " + quoted + ": names starting "
                           "with '" + std::string(kReservedPrefix) +
                           "' are reserved for the jobs framework");
  }
  return {};
}

Status validateEnvvarValue(std::string_view value, std::size_t max_bytes) {
  if (value.find('\0') != std::string_view::npos) {
    return invalidArgument("An environment variable's value can't contain a NUL byte");
  }
  if (value.size() > max_bytes) {
    return invalidArgument("An environment variable's value can't be longer than " +
                           std::to_string(max_bytes) + " bytes (this one has " +
                           std::to_string(value.size()) + ")");
  }
  return {};
}

EnvvarService::EnvvarService(store::Store& store, const Clock& clock, EnvvarLimits limits)
    : store_(store), envvars_(store), clock_(clock), limits_(limits) {}

Result<std::vector<store::EnvvarRecord>> EnvvarService::list(const std::string& tool) {
  return envvars_.list(tool);
}

Result<store::EnvvarRecord> EnvvarService::get(const std::string& tool, const std::string& name) {
  if (auto ok = validateEnvvarName(name); !ok) return notFound(notFoundMessage(name));
  auto found = envvars_.find(tool, name);
  if (!found) return tl::unexpected(found.error());
  if (!*found) return notFound(notFoundMessage(name));
  return std::move(**found);
}

Result<store::EnvvarRecord> EnvvarService::create(const std::string& tool, const std::string& name,
                                                  const std::string& value) {
  if (auto ok = validateEnvvarName(name); !ok) return tl::unexpected(ok.error());
  if (auto ok = validateEnvvarValue(value, limits_.max_value_bytes); !ok) {
    return tl::unexpected(ok.error());
  }
  auto durable = store_.durableWrites();  // the client is told: survive power loss
  return store_.transaction([&]() -> Result<store::EnvvarRecord> {
    auto existing = envvars_.find(tool, name);
    if (!existing) return tl::unexpected(existing.error());
    if (!*existing) {
      auto count = envvars_.count(tool);
      if (!count) return tl::unexpected(count.error());
      if (*count >= limits_.max_per_tool) {
        return invalidArgument("Tool '" + tool + "' already has " + std::to_string(*count) +
                               " environment variables, the most a tool may have; delete one "
                               "first");
      }
    }
    return envvars_.put(tool, name, value, clock_.now());
  });
}

Result<store::EnvvarRecord> EnvvarService::remove(const std::string& tool,
                                                  const std::string& name) {
  auto durable = store_.durableWrites();
  return store_.transaction([&]() -> Result<store::EnvvarRecord> {
    auto existing = envvars_.find(tool, name);
    if (!existing) return tl::unexpected(existing.error());
    if (!*existing) return notFound(notFoundMessage(name));
    auto removed = envvars_.remove(tool, name);
    if (!removed) return tl::unexpected(removed.error());
    return std::move(**existing);
  });
}

Result<std::vector<std::pair<std::string, std::string>>> EnvvarService::environment(
    const std::string& tool) {
  return envvars_.environment(tool);
}

}  // namespace tjf::service
