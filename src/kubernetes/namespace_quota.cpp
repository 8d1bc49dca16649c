#include "kubernetes/namespace_quota.hpp"

#include <algorithm>

#include "model/quantity.hpp"

namespace tjf::kubernetes {
namespace {

constexpr std::string_view kOutOfQuota = "Unable to start, out of quota for ";

std::map<std::string, std::string> stringMap(const json& object, const char* key) {
  std::map<std::string, std::string> out;
  if (!object.is_object() || !object.contains(key) || !object[key].is_object()) return out;
  for (const auto& [name, value] : object[key].items()) {
    // Quantities are strings on the wire; a hand-written object may carry a bare number.
    if (value.is_string()) {
      out[name] = value.get<std::string>();
    } else if (value.is_number_integer()) {
      out[name] = std::to_string(value.get<std::int64_t>());
    } else if (value.is_number()) {
      out[name] = value.dump();
    }
  }
  return out;
}

std::string metadataField(const json& object, const char* key) {
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object()) {
    return {};
  }
  const auto& m = object["metadata"];
  return m.contains(key) && m[key].is_string() ? m[key].get<std::string>() : std::string();
}

// Objects tjf reads are the ones named after their namespace (upstream's `tool-<tool>`).
bool namedAfterNamespace(const json& object) {
  const std::string ns = metadataField(object, "namespace");
  return !ns.empty() && metadataField(object, "name") == ns;
}

enum class Unit { kCount, kCpu, kMemory };

Result<std::int64_t> valueOf(const std::string& text, Unit unit, const std::string& what) {
  auto q = model::parseQuantity(text);
  if (!q) return internalError(what + " '" + text + "' is not a quantity: " + q.error().message);
  // Counts and bytes round up like memory; CPU to whole millicores.
  return unit == Unit::kCpu ? model::cpuMillis(*q) : model::memoryBytes(*q);
}

Status readCount(const ResourceQuotaStatus& status, const std::string& key, Unit unit,
                 const std::string& name, std::optional<QuotaCount>& out) {
  const auto hard = status.hard.find(key);
  if (hard == status.hard.end()) return {};
  const std::string where = "ResourceQuota '" + name + "': ";
  auto h = valueOf(hard->second, unit, where + "status.hard '" + key + "'");
  if (!h) return tl::unexpected(h.error());
  QuotaCount count{.hard = *h};
  // Right after the quota is created its controller has not counted yet: nothing used.
  if (const auto used = status.used.find(key); used != status.used.end()) {
    auto u = valueOf(used->second, unit, where + "status.used '" + key + "'");
    if (!u) return tl::unexpected(u.error());
    count.used = *u;
  }
  out = count;
  return {};
}

Status readBound(const std::map<std::string, std::string>& values, const std::string& field,
                 const std::string& key, Unit unit, const std::string& name,
                 std::optional<QuotaBound>& out) {
  const auto found = values.find(key);
  if (found == values.end()) return {};
  auto v = valueOf(found->second, unit,
                   "LimitRange '" + name + "': Container " + field + " '" + key + "'");
  if (!v) return tl::unexpected(v.error());
  out = QuotaBound{.text = found->second, .value = *v};
  return {};
}

}  // namespace

// ---- Objects ---------------------------------------------------------------------------------

ResourceQuotaStatus resourceQuotaStatusOf(const json& resource_quota) {
  ResourceQuotaStatus s;
  if (!resource_quota.is_object()) return s;
  if (resource_quota.contains("status")) {
    s.hard = stringMap(resource_quota["status"], "hard");
    s.used = stringMap(resource_quota["status"], "used");
  }
  // A quota created a moment ago has no status until its controller has counted; its limits
  // apply already, so they are read from the spec.
  if (s.hard.empty() && resource_quota.contains("spec")) {
    s.hard = stringMap(resource_quota["spec"], "hard");
  }
  return s;
}

std::optional<ContainerLimitRange> containerLimitsOf(const json& limit_range) {
  if (!limit_range.is_object() || !limit_range.contains("spec") ||
      !limit_range["spec"].is_object() || !limit_range["spec"].contains("limits") ||
      !limit_range["spec"]["limits"].is_array()) {
    return std::nullopt;
  }
  for (const auto& item : limit_range["spec"]["limits"]) {
    if (!item.is_object() || item.value("type", "") != "Container") continue;
    return ContainerLimitRange{.min = stringMap(item, "min"),
                               .max = stringMap(item, "max"),
                               .default_limit = stringMap(item, "default"),
                               .default_request = stringMap(item, "defaultRequest")};
  }
  return std::nullopt;
}

// ---- Figures ---------------------------------------------------------------------------------

Result<ResourceQuotaFigures> resourceQuotaFigures(const ResourceQuotaStatus& status,
                                                  const std::string& name) {
  ResourceQuotaFigures f;
  const struct {
    const char* key;
    Unit unit;
    std::optional<QuotaCount>* out;
  } items[] = {
      {"pods", Unit::kCount, &f.pods},
      {"count/jobs.batch", Unit::kCount, &f.jobs},
      {"count/cronjobs.batch", Unit::kCount, &f.cron_jobs},
      {"count/deployments.apps", Unit::kCount, &f.deployments},
      {"limits.cpu", Unit::kCpu, &f.cpu_millis},
      {"limits.memory", Unit::kMemory, &f.memory_bytes},
      {"requests.cpu", Unit::kCpu, &f.requests_cpu_millis},
      {"requests.memory", Unit::kMemory, &f.requests_memory_bytes},
  };
  for (const auto& item : items) {
    if (auto ok = readCount(status, item.key, item.unit, name, *item.out); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  return f;
}

Result<ContainerLimitFigures> containerLimitFigures(const ContainerLimitRange& limits,
                                                    const std::string& name) {
  ContainerLimitFigures f;
  const struct {
    const std::map<std::string, std::string>* values;
    const char* field;
    const char* key;
    Unit unit;
    std::optional<QuotaBound>* out;
  } bounds[] = {
      {&limits.min, "min", "cpu", Unit::kCpu, &f.min_cpu},
      {&limits.max, "max", "cpu", Unit::kCpu, &f.max_cpu},
      {&limits.min, "min", "memory", Unit::kMemory, &f.min_memory},
      {&limits.max, "max", "memory", Unit::kMemory, &f.max_memory},
      {&limits.default_limit, "default", "cpu", Unit::kCpu, &f.default_cpu},
      {&limits.default_limit, "default", "memory", Unit::kMemory, &f.default_memory},
      {&limits.default_request, "defaultRequest", "cpu", Unit::kCpu, &f.default_request_cpu},
      {&limits.default_request, "defaultRequest", "memory", Unit::kMemory,
       &f.default_request_memory},
  };
  for (const auto& b : bounds) {
    if (auto ok = readBound(*b.values, b.field, b.key, b.unit, name, *b.out); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  return f;
}

Result<NamespaceQuotaFigures> figuresOf(const std::string& ns, const NamespaceQuota& quota) {
  switch (quota.state) {
    case QuotaState::kNotWatched:
      return internalError("the quota of namespace '" + ns + "' is not watched (it is not in " +
                           "the configured kubernetes namespaces)");
    case QuotaState::kNotLoaded:
      return makeError(ErrorCode::kUnavailable,
                       "the quota of namespace '" + ns + "' has not been read from the cluster " +
                           "yet; try again in a moment");
    case QuotaState::kLoaded:
      break;
  }
  NamespaceQuotaFigures figures;
  if (quota.resource_quota) {
    auto f = resourceQuotaFigures(*quota.resource_quota, ns);
    if (!f) return tl::unexpected(f.error());
    figures.resource_quota = *f;
  }
  if (quota.limit_range) {
    auto f = containerLimitFigures(*quota.limit_range, ns);
    if (!f) return tl::unexpected(f.error());
    figures.limit_range = *f;
  }
  return figures;
}

// ---- Quota refusals --------------------------------------------------------------------------

std::vector<std::string> quotaTypesOf(std::string_view message) {
  std::vector<std::string> types;
  if (message.find("forbidden: exceeded quota") == std::string_view::npos) return types;
  constexpr std::string_view kLimited = "limited: ";
  const auto at = message.find(kLimited);
  if (at == std::string_view::npos) return types;
  std::string_view rest = message.substr(at + kLimited.size());
  // The list ends the message; each entry is "<resource>=<quantity>", separated by commas.
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view entry = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    std::string_view name = entry.substr(0, entry.find('='));
    while (!name.empty() && (name.back() == ' ' || name.back() == '\n')) name.remove_suffix(1);
    for (std::string_view prefix : {"requests.", "limits."}) {
      if (name.substr(0, prefix.size()) == prefix) name.remove_prefix(prefix.size());
    }
    if (name.substr(0, 6) == "count/") {
      name.remove_prefix(6);
      name = name.substr(0, name.find('.'));
    }
    if (!name.empty()) types.emplace_back(name);
  }
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  return types;
}

std::optional<std::string> outOfQuotaMessage(std::string_view message) {
  const auto types = quotaTypesOf(message);
  if (types.empty()) return std::nullopt;
  std::string text(kOutOfQuota);
  for (std::size_t i = 0; i < types.size(); ++i) text += (i ? ", " : "") + types[i];
  return text;
}

std::optional<std::string> outOfQuotaStatus(const json& event) {
  if (!event.is_object() || event.value("reason", "") != "FailedCreate") return std::nullopt;
  // A Deployment condition carries a status; only a true ReplicaFailure counts.
  if (event.contains("status") && event["status"].is_string() && event["status"] != "True") {
    return std::nullopt;
  }
  const auto message = event.find("message");
  if (message == event.end() || !message->is_string()) return std::nullopt;
  return outOfQuotaMessage(message->get<std::string>());
}

// ---- The cache -------------------------------------------------------------------------------

std::string_view toString(QuotaState state) {
  switch (state) {
    case QuotaState::kNotWatched: return "not watched";
    case QuotaState::kNotLoaded: return "not loaded";
    case QuotaState::kLoaded: return "loaded";
  }
  return "unknown";
}

struct NamespaceQuotaCache::Scope {
  std::string ns;  // empty: cluster-wide
  bool quotas_listed = false;  // guarded by the cache's mutex_
  bool limits_listed = false;
  std::unique_ptr<Reflector> quotas;
  std::unique_ptr<Reflector> limits;
  std::thread quotas_thread;
  std::thread limits_thread;

  bool covers(const std::string& other) const { return ns.empty() || ns == other; }
};

NamespaceQuotaCache::NamespaceQuotaCache(Client& client, NamespaceQuotaCacheOptions options)
    : client_(client), options_(std::move(options)) {
  std::vector<std::string> namespaces = options_.namespaces;
  if (namespaces.empty()) namespaces.push_back("");
  for (auto& ns : namespaces) {
    auto scope = std::make_unique<Scope>();
    scope->ns = std::move(ns);
    scopes_.push_back(std::move(scope));
  }
}

NamespaceQuotaCache::~NamespaceQuotaCache() {
  for (auto& scope : scopes_) {
    if (scope->quotas) scope->quotas->stop();
    if (scope->limits) scope->limits->stop();
  }
  for (auto& scope : scopes_) {
    if (scope->quotas_thread.joinable()) scope->quotas_thread.join();
    if (scope->limits_thread.joinable()) scope->limits_thread.join();
  }
}

void NamespaceQuotaCache::start() {
  const ReflectorOptions reflector_options{.watch_timeout_seconds = options_.watch_timeout_seconds,
                                           .error_backoff = options_.error_backoff};
  for (std::size_t i = 0; i < scopes_.size(); ++i) {
    Scope& scope = *scopes_[i];
    auto handler = [this, i](bool quotas) {
      const std::string what = quotas ? "resourcequotas" : "limitranges";
      return ReflectorHandler{
          .on_list = [this, i, quotas](const std::vector<json>& items, const std::string&) {
            onList(i, quotas, items);
          },
          .on_event = [this, quotas](const WatchEvent& event) { onEvent(quotas, event); },
          .on_error = [this, what](const ApiError& error) {
            if (options_.on_error) options_.on_error("watching " + what + ": " + error.message);
          }};
    };
    scope.quotas = std::make_unique<Reflector>(
        client_, resourcePath("v1", "resourcequotas", scope.ns), reflector_options, handler(true));
    scope.limits = std::make_unique<Reflector>(
        client_, resourcePath("v1", "limitranges", scope.ns), reflector_options, handler(false));
  }
  // Threads last: every reflector exists before any handler can run.
  for (auto& scope : scopes_) {
    Scope* s = scope.get();
    s->quotas_thread = std::thread([s] { s->quotas->run(); });
    s->limits_thread = std::thread([s] { s->limits->run(); });
  }
}

void NamespaceQuotaCache::onList(std::size_t index, bool quotas, const std::vector<json>& items) {
  Scope& scope = *scopes_[index];
  {
    std::lock_guard lock(mutex_);
    // The list is the whole truth for its scope: what is not in it is gone.
    auto forget = [&](auto& map) {
      for (auto it = map.begin(); it != map.end();) {
        it = scope.covers(it->first) ? map.erase(it) : std::next(it);
      }
    };
    if (quotas) {
      forget(quotas_);
      scope.quotas_listed = true;
    } else {
      forget(limit_ranges_);
      scope.limits_listed = true;
    }
    for (const auto& item : items) {
      if (!namedAfterNamespace(item)) continue;
      const std::string ns = metadataField(item, "namespace");
      if (quotas) {
        quotas_[ns] = resourceQuotaStatusOf(item);
      } else if (auto limits = containerLimitsOf(item)) {
        limit_ranges_[ns] = std::move(*limits);
      }
    }
  }
  if (options_.on_change) options_.on_change(scope.ns);
}

void NamespaceQuotaCache::onEvent(bool quotas, const WatchEvent& event) {
  if (!namedAfterNamespace(event.object)) return;
  const std::string ns = metadataField(event.object, "namespace");
  {
    std::lock_guard lock(mutex_);
    const bool gone = event.type == "DELETED";
    if (quotas) {
      if (gone) {
        quotas_.erase(ns);
      } else {
        quotas_[ns] = resourceQuotaStatusOf(event.object);
      }
    } else {
      auto limits = gone ? std::nullopt : containerLimitsOf(event.object);
      if (limits) {
        limit_ranges_[ns] = std::move(*limits);
      } else {
        limit_ranges_.erase(ns);
      }
    }
  }
  if (options_.on_change) options_.on_change(ns);
}

const NamespaceQuotaCache::Scope* NamespaceQuotaCache::scopeFor(const std::string& ns) const {
  for (const auto& scope : scopes_) {
    if (scope->covers(ns)) return scope.get();
  }
  return nullptr;
}

NamespaceQuota NamespaceQuotaCache::lookup(const std::string& ns) const {
  std::lock_guard lock(mutex_);
  NamespaceQuota out;
  const Scope* scope = scopeFor(ns);
  if (!scope) {
    out.state = QuotaState::kNotWatched;
    return out;
  }
  if (!scope->quotas_listed || !scope->limits_listed) {
    out.state = QuotaState::kNotLoaded;
    return out;
  }
  out.state = QuotaState::kLoaded;
  if (auto it = quotas_.find(ns); it != quotas_.end()) out.resource_quota = it->second;
  if (auto it = limit_ranges_.find(ns); it != limit_ranges_.end()) out.limit_range = it->second;
  return out;
}

bool NamespaceQuotaCache::synced() const {
  std::lock_guard lock(mutex_);
  return std::all_of(scopes_.begin(), scopes_.end(), [](const auto& scope) {
    return scope->quotas_listed && scope->limits_listed;
  });
}

}  // namespace tjf::kubernetes
