#include "model/job.hpp"

#include <array>
#include <set>

#include <nlohmann/json.hpp>

namespace tjf::model {
namespace {

template <typename E, std::size_t N>
std::optional<E> fromTable(const std::array<std::pair<E, std::string_view>, N>& table,
                           std::string_view s) {
  for (const auto& [value, name] : table) {
    if (name == s) return value;
  }
  return std::nullopt;
}

template <typename E, std::size_t N>
std::string_view toTable(const std::array<std::pair<E, std::string_view>, N>& table, E v) {
  for (const auto& [value, name] : table) {
    if (value == v) return name;
  }
  return "unknown";
}

constexpr std::array<std::pair<JobType, std::string_view>, 3> kJobTypes{{
    {JobType::kOneOff, "one-off"}, {JobType::kScheduled, "scheduled"},
    {JobType::kContinuous, "continuous"}}};
constexpr std::array<std::pair<EmailPolicy, std::string_view>, 4> kEmailPolicies{{
    {EmailPolicy::kNone, "none"}, {EmailPolicy::kAll, "all"},
    {EmailPolicy::kOnFinish, "onfinish"}, {EmailPolicy::kOnFailure, "onfailure"}}};
constexpr std::array<std::pair<MountPolicy, std::string_view>, 2> kMountPolicies{{
    {MountPolicy::kAll, "all"}, {MountPolicy::kNone, "none"}}};
constexpr std::array<std::pair<PortProtocol, std::string_view>, 2> kPortProtocols{{
    {PortProtocol::kTcp, "tcp"}, {PortProtocol::kUdp, "udp"}}};
constexpr std::array<std::pair<HealthCheckType, std::string_view>, 2> kHealthCheckTypes{{
    {HealthCheckType::kScript, "script"}, {HealthCheckType::kHttp, "http"}}};
constexpr std::array<std::pair<ConcurrencyPolicy, std::string_view>, 3> kConcurrencyPolicies{{
    {ConcurrencyPolicy::kAllow, "Allow"}, {ConcurrencyPolicy::kForbid, "Forbid"},
    {ConcurrencyPolicy::kReplace, "Replace"}}};

using nlohmann::json;

// Reads typed fields from a JSON object, remembering the first schema error.
class FieldReader {
 public:
  explicit FieldReader(const json& body) : body_(body) {}

  bool has(const char* key) const { return body_.contains(key) && !body_.at(key).is_null(); }

  std::optional<std::string> string(const char* key) {
    if (!has(key)) return std::nullopt;
    if (!body_.at(key).is_string()) return fail(key, "Input should be a valid string");
    return body_.at(key).get<std::string>();
  }
  std::optional<bool> boolean(const char* key) {
    if (!has(key)) return std::nullopt;
    if (!body_.at(key).is_boolean()) return fail(key, "Input should be a valid boolean");
    return body_.at(key).get<bool>();
  }
  std::optional<std::int64_t> integer(const char* key, std::int64_t min, std::int64_t max) {
    if (!has(key)) return std::nullopt;
    const json& v = body_.at(key);
    if (!v.is_number_integer()) return fail(key, "Input should be a valid integer");
    const auto n = v.get<std::int64_t>();
    if (n < min) return fail(key, "Input should be greater than or equal to " + std::to_string(min));
    if (n > max) return fail(key, "Input should be less than or equal to " + std::to_string(max));
    return n;
  }
  // A quantity may arrive as a string or a number (YAML `cpu: 2`); it is kept as text.
  std::optional<std::string> quantity(const char* key) {
    if (!has(key)) return std::nullopt;
    const json& v = body_.at(key);
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
    if (v.is_number_float()) return v.dump();
    return fail(key, "Input should be a valid string");
  }
  template <typename E, std::size_t N>
  std::optional<E> enumeration(const char* key,
                               const std::array<std::pair<E, std::string_view>, N>& table) {
    const auto s = string(key);
    if (!s) return std::nullopt;
    if (auto v = fromTable(table, *s)) return v;
    std::string allowed;
    for (std::size_t i = 0; i < N; ++i) {
      allowed += (i == 0 ? "" : (i + 1 == N ? " or " : ", "));
      allowed += "'" + std::string(table[i].second) + "'";
    }
    return fail(key, "Input should be " + allowed);
  }

  void failMissing(const char* key) { fail(key, "Field required"); }
  void failExtra(const std::string& key) { fail(key.c_str(), "Extra inputs are not permitted"); }
  const std::optional<Error>& error() const { return error_; }

 private:
  std::nullopt_t fail(const char* key, const std::string& message) {
    if (!error_) error_ = Error{ErrorCode::kUnprocessable, std::string(key) + ": " + message};
    return std::nullopt;
  }

  const json& body_;
  std::optional<Error> error_;
};

const std::set<std::string>& fieldsFor(JobType type) {
  static const std::set<std::string> kCommon = {
      "name", "cmd", "imagename", "job_type", "filelog", "filelog_stdout", "filelog_stderr",
      "emails", "mount", "memory", "cpu", "continuous"};
  static const std::set<std::string> kOneOff = [] {
    auto s = kCommon;
    s.insert({"retry", "timeout"});
    return s;
  }();
  static const std::set<std::string> kScheduled = [] {
    auto s = kCommon;
    s.insert({"retry", "timeout", "schedule", "time_zone", "concurrency_policy",
              "starting_deadline_seconds"});
    return s;
  }();
  static const std::set<std::string> kContinuous = [] {
    auto s = kCommon;
    s.insert({"replicas", "port", "port_protocol", "health_check"});
    return s;
  }();
  switch (type) {
    case JobType::kOneOff: return kOneOff;
    case JobType::kScheduled: return kScheduled;
    case JobType::kContinuous: return kContinuous;
  }
  return kCommon;
}

// Response-only fields a client may send back unchanged (a GET body re-posted): ignored.
bool isResponseOnlyField(const std::string& key) {
  static const std::set<std::string> kResponseOnly = {
      "image", "image_state", "status_short", "status_long", "status", "schedule_actual"};
  return kResponseOnly.count(key) > 0;
}

}  // namespace

std::string_view toString(JobType v) { return toTable(kJobTypes, v); }
std::string_view toString(EmailPolicy v) { return toTable(kEmailPolicies, v); }
std::string_view toString(MountPolicy v) { return toTable(kMountPolicies, v); }
std::string_view toString(PortProtocol v) { return toTable(kPortProtocols, v); }
std::string_view toString(HealthCheckType v) { return toTable(kHealthCheckTypes, v); }
std::string_view toString(ConcurrencyPolicy v) { return toTable(kConcurrencyPolicies, v); }
std::optional<JobType> jobTypeFromString(std::string_view s) { return fromTable(kJobTypes, s); }
std::optional<EmailPolicy> emailPolicyFromString(std::string_view s) {
  return fromTable(kEmailPolicies, s);
}
std::optional<MountPolicy> mountPolicyFromString(std::string_view s) {
  return fromTable(kMountPolicies, s);
}
std::optional<PortProtocol> portProtocolFromString(std::string_view s) {
  return fromTable(kPortProtocols, s);
}
std::optional<HealthCheckType> healthCheckTypeFromString(std::string_view s) {
  return fromTable(kHealthCheckTypes, s);
}
std::optional<ConcurrencyPolicy> concurrencyPolicyFromString(std::string_view s) {
  return fromTable(kConcurrencyPolicies, s);
}

Result<JobSpec> jobSpecFromJson(const json& body, std::vector<std::string>* warnings) {
  if (!body.is_object()) {
    return makeError(ErrorCode::kUnprocessable, "body: Input should be a valid dictionary");
  }
  FieldReader r(body);
  JobSpec spec;

  if (r.has("job_type")) {
    const auto t = r.enumeration("job_type", kJobTypes);
    if (t) spec.type = *t;
  } else if (r.has("schedule")) {
    spec.type = JobType::kScheduled;
  } else if (r.has("continuous") && body.at("continuous") == true) {
    spec.type = JobType::kContinuous;
  }
  if (r.error()) return tl::unexpected(*r.error());

  const auto& allowed = fieldsFor(spec.type);
  for (const auto& [key, value] : body.items()) {
    if (allowed.count(key) == 0 && !isResponseOnlyField(key)) {
      // The documented exception: retry on a continuous job is accepted and ignored.
      if (spec.type == JobType::kContinuous && key == "retry") {
        if (warnings) {
          warnings->push_back("the retry policy will be ignored for continuous jobs, given they "
                              "are always restarted in case of failure");
        }
        continue;
      }
      r.failExtra(key);
    }
  }

  auto name = r.string("name");
  auto cmd = r.string("cmd");
  auto imagename = r.string("imagename");
  if (!r.has("name")) r.failMissing("name");
  if (!r.has("cmd")) r.failMissing("cmd");
  if (!r.has("imagename")) r.failMissing("imagename");
  spec.name = name.value_or("");
  spec.cmd = cmd.value_or("");
  spec.imagename = imagename.value_or("");
  spec.filelog = r.boolean("filelog");
  spec.filelog_stdout = r.string("filelog_stdout");
  spec.filelog_stderr = r.string("filelog_stderr");
  spec.emails = r.enumeration("emails", kEmailPolicies);
  spec.mount = r.enumeration("mount", kMountPolicies);
  spec.memory = r.quantity("memory");
  spec.cpu = r.quantity("cpu");
  if (r.has("continuous")) {
    const auto c = r.boolean("continuous");
    if (c && *c != (spec.type == JobType::kContinuous)) {
      return makeError(ErrorCode::kUnprocessable,
                       "continuous: Input should be " +
                           std::string(spec.type == JobType::kContinuous ? "True" : "False"));
    }
  }
  if (spec.type != JobType::kContinuous) {
    if (auto v = r.integer("retry", 0, kMaxRetry)) spec.retry = static_cast<int>(*v);
    spec.timeout = r.integer("timeout", 0, std::int64_t{1} << 40);
  }
  if (spec.type == JobType::kScheduled) {
    spec.schedule = r.string("schedule");
    if (!r.has("schedule")) r.failMissing("schedule");
    spec.time_zone = r.string("time_zone");
    spec.concurrency_policy = r.enumeration("concurrency_policy", kConcurrencyPolicies);
    spec.starting_deadline_seconds =
        r.integer("starting_deadline_seconds", 0, std::int64_t{1} << 40);
  }
  if (spec.type == JobType::kContinuous) {
    if (auto v = r.integer("replicas", 0, 1000)) spec.replicas = static_cast<int>(*v);
    if (auto v = r.integer("port", 1, 65535)) spec.port = static_cast<int>(*v);
    spec.port_protocol = r.enumeration("port_protocol", kPortProtocols);
    if (r.has("health_check")) {
      const json& hc = body.at("health_check");
      const auto type = hc.is_object() && hc.contains("type") && hc.at("type").is_string()
                            ? healthCheckTypeFromString(hc.at("type").get<std::string>())
                            : std::nullopt;
      const char* value_key = type == HealthCheckType::kHttp ? "path" : "script";
      if (!type || !hc.contains(value_key) || !hc.at(value_key).is_string()) {
        return makeError(ErrorCode::kUnprocessable,
                         "health_check: Input should be {\"type\": \"script\", \"script\": str} "
                         "or {\"type\": \"http\", \"path\": str}");
      }
      spec.health_check = HealthCheck{*type, hc.at(value_key).get<std::string>()};
    }
  }
  if (r.error()) return tl::unexpected(*r.error());
  return spec;
}

json jobSpecToJson(const JobSpec& spec) {
  json j = json::object();
  j["name"] = spec.name;
  j["cmd"] = spec.cmd;
  j["imagename"] = spec.imagename;
  j["job_type"] = toString(spec.type);
  if (spec.filelog) j["filelog"] = *spec.filelog;
  if (spec.filelog_stdout) j["filelog_stdout"] = *spec.filelog_stdout;
  if (spec.filelog_stderr) j["filelog_stderr"] = *spec.filelog_stderr;
  if (spec.emails) j["emails"] = toString(*spec.emails);
  if (spec.mount) j["mount"] = toString(*spec.mount);
  if (spec.memory) j["memory"] = *spec.memory;
  if (spec.cpu) j["cpu"] = *spec.cpu;
  if (spec.retry) j["retry"] = *spec.retry;
  if (spec.timeout) j["timeout"] = *spec.timeout;
  if (spec.schedule) j["schedule"] = *spec.schedule;
  if (spec.time_zone) j["time_zone"] = *spec.time_zone;
  if (spec.concurrency_policy) j["concurrency_policy"] = toString(*spec.concurrency_policy);
  if (spec.starting_deadline_seconds) {
    j["starting_deadline_seconds"] = *spec.starting_deadline_seconds;
  }
  if (spec.type == JobType::kContinuous) j["continuous"] = true;
  if (spec.replicas) j["replicas"] = *spec.replicas;
  if (spec.port) j["port"] = *spec.port;
  if (spec.port_protocol) j["port_protocol"] = toString(*spec.port_protocol);
  if (spec.health_check) {
    j["health_check"] = {
        {"type", toString(spec.health_check->type)},
        {spec.health_check->type == HealthCheckType::kHttp ? "path" : "script",
         spec.health_check->value}};
  }
  return j;
}

}  // namespace tjf::model
