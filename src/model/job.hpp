// The job definition as the user wrote it. Every std::optional that is engaged was set by the
// user (CLI flag, YAML key or API field); `dump` and include_unset=false show exactly those, and
// resolve.hpp fills in defaults for everything else.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "base/result.hpp"

namespace tjf::model {

enum class JobType { kOneOff, kScheduled, kContinuous };
enum class EmailPolicy { kNone, kAll, kOnFinish, kOnFailure };
enum class MountPolicy { kAll, kNone };
enum class PortProtocol { kTcp, kUdp };
enum class HealthCheckType { kScript, kHttp };
enum class ConcurrencyPolicy { kAllow, kForbid, kReplace };

// String forms as the API spells them ("one-off", "onfailure", ...).
std::string_view toString(JobType v);
std::string_view toString(EmailPolicy v);
std::string_view toString(MountPolicy v);
std::string_view toString(PortProtocol v);
std::string_view toString(HealthCheckType v);
std::string_view toString(ConcurrencyPolicy v);
std::optional<JobType> jobTypeFromString(std::string_view s);
std::optional<EmailPolicy> emailPolicyFromString(std::string_view s);
std::optional<MountPolicy> mountPolicyFromString(std::string_view s);
std::optional<PortProtocol> portProtocolFromString(std::string_view s);
std::optional<HealthCheckType> healthCheckTypeFromString(std::string_view s);
std::optional<ConcurrencyPolicy> concurrencyPolicyFromString(std::string_view s);

struct HealthCheck {
  HealthCheckType type = HealthCheckType::kScript;
  std::string value;  // the script, or the HTTP path
  bool operator==(const HealthCheck&) const = default;
};

inline constexpr int kMaxRetry = 5;

struct JobSpec {
  std::string name;
  std::string cmd;
  std::string imagename;
  JobType type = JobType::kOneOff;

  std::optional<bool> filelog;
  std::optional<std::string> filelog_stdout;
  std::optional<std::string> filelog_stderr;
  std::optional<EmailPolicy> emails;
  std::optional<MountPolicy> mount;
  std::optional<std::string> memory;  // quantity as typed
  std::optional<std::string> cpu;     // quantity as typed
  std::optional<int> retry;           // one-off and scheduled
  std::optional<std::int64_t> timeout;  // seconds; one-off and scheduled (decisions)
  // scheduled
  std::optional<std::string> schedule;
  std::optional<std::string> time_zone;
  std::optional<ConcurrencyPolicy> concurrency_policy;
  std::optional<std::int64_t> starting_deadline_seconds;
  // continuous
  std::optional<int> replicas;
  std::optional<int> port;
  std::optional<PortProtocol> port_protocol;
  std::optional<HealthCheck> health_check;

  bool operator==(const JobSpec&) const = default;
};

// The union discrimination of upstream's NewJob: job_type if given, else schedule -> scheduled,
// else continuous == true -> continuous, else one-off. Field-type mismatches, unknown fields and
// out-of-range integers are kUnprocessable with the field named; warnings (ignored fields) are
// appended to `warnings`.
Result<JobSpec> jobSpecFromJson(const nlohmann::json& body, std::vector<std::string>* warnings);

// The user-set fields under their API names (the storage format, and include_unset=false).
nlohmann::json jobSpecToJson(const JobSpec& spec);

}  // namespace tjf::model
