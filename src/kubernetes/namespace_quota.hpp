// The quota of each tool namespace as the cluster states it (upstream-behaviour.md §5): the
// ResourceQuota and the LimitRange named after the namespace (`tool-<tool>`), both managed outside
// tjf. NamespaceQuotaCache keeps them current with Reflectors (list, watch, resume, relist after
// 410) on threads of its own, so the daemon's loop thread reads them without touching the network.
// Pure functions turn the objects into figures (counts, millicores, bytes) that carry no
// Kubernetes type, which the daemon hands to the service (service/quota.hpp, ClusterQuota), and
// turn a FailedCreate Event into upstream's "Unable to start, out of quota for ..." status (§4).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/result.hpp"
#include "kubernetes/client.hpp"
#include "kubernetes/reflector.hpp"

namespace tjf::kubernetes {

// ---- The objects as the API server reports them --------------------------------------------

// A ResourceQuota's `status`: the quantities as written ("limits.cpu" -> "4", "pods" -> "10").
// `used` lacks items the quota controller has not counted yet; before its first count, `hard`
// comes from the spec.
struct ResourceQuotaStatus {
  std::map<std::string, std::string> hard;
  std::map<std::string, std::string> used;

  bool operator==(const ResourceQuotaStatus&) const = default;
};

// A LimitRange's item of `type: Container` ("cpu" -> "50m", "memory" -> "100Mi").
struct ContainerLimitRange {
  std::map<std::string, std::string> min;
  std::map<std::string, std::string> max;
  std::map<std::string, std::string> default_limit;    // `default`: limits of containers that set none
  std::map<std::string, std::string> default_request;  // `defaultRequest`

  bool operator==(const ContainerLimitRange&) const = default;
};

// The ResourceQuota's status of an object (any name). Absent fields are empty maps.
ResourceQuotaStatus resourceQuotaStatusOf(const json& resource_quota);
// The Container item of a LimitRange (the first one), or nullopt when it has none: a LimitRange
// of Pod or PersistentVolumeClaim items limits no container.
std::optional<ContainerLimitRange> containerLimitsOf(const json& limit_range);

// ---- Neutral figures -----------------------------------------------------------------------

// One ResourceQuota item: a count, millicores or bytes. Kubernetes' hard 0 means "none allowed".
struct QuotaCount {
  std::int64_t hard = 0;
  std::int64_t used = 0;

  bool operator==(const QuotaCount&) const = default;
};

// One LimitRange bound: the quantity as written ("100Mi"), for messages, and its value
// (millicores or bytes).
struct QuotaBound {
  std::string text;
  std::int64_t value = 0;

  bool operator==(const QuotaBound&) const = default;
};

// The items tjf uses of a ResourceQuota; nullopt: the quota does not limit that item.
struct ResourceQuotaFigures {
  std::optional<QuotaCount> pods;            // `pods`: every running run
  std::optional<QuotaCount> jobs;            // `count/jobs.batch`: one-off and cron runs
  std::optional<QuotaCount> cron_jobs;       // `count/cronjobs.batch`: cron definitions
  std::optional<QuotaCount> deployments;     // `count/deployments.apps`: continuous definitions
  std::optional<QuotaCount> cpu_millis;      // `limits.cpu`
  std::optional<QuotaCount> memory_bytes;    // `limits.memory`
  std::optional<QuotaCount> requests_cpu_millis;    // `requests.cpu`
  std::optional<QuotaCount> requests_memory_bytes;  // `requests.memory`

  bool operator==(const ResourceQuotaFigures&) const = default;
};

// The Container bounds of a LimitRange; nullopt: not bounded.
struct ContainerLimitFigures {
  std::optional<QuotaBound> min_cpu;  // millicores
  std::optional<QuotaBound> max_cpu;
  std::optional<QuotaBound> min_memory;  // bytes
  std::optional<QuotaBound> max_memory;
  std::optional<QuotaBound> default_cpu;  // limit given to a container that sets none
  std::optional<QuotaBound> default_memory;
  std::optional<QuotaBound> default_request_cpu;
  std::optional<QuotaBound> default_request_memory;

  bool operator==(const ContainerLimitFigures&) const = default;
};

// Parse the quantities with the quantity rules tjf uses everywhere (model/quantity.hpp). A value
// that does not parse is an error (kInternal) naming the object, the field and the value: the
// objects are managed outside tjf, and a typo there must not read as "no limit".
Result<ResourceQuotaFigures> resourceQuotaFigures(const ResourceQuotaStatus& status,
                                                  const std::string& name);
Result<ContainerLimitFigures> containerLimitFigures(const ContainerLimitRange& limits,
                                                    const std::string& name);

// ---- Quota refusals in status (§4) ---------------------------------------------------------

// The resource names in a quota refusal ("... exceeded quota: tool-x, requested: ..., used: ...,
// limited: limits.cpu=4,limits.memory=8Gi"): the names after "limited: ", `requests.` and
// `limits.` stripped as upstream does, and `count/<resource>.<group>` shortened to `<resource>`
// (count/jobs.batch -> "jobs", the engine's own word for it). Sorted, without repeats (upstream's
// deprecated status can say "cpu, cpu"; its structured status de-duplicates, and so does tjf).
// Empty when the message is no quota refusal.
std::vector<std::string> quotaTypesOf(std::string_view message);

// "Unable to start, out of quota for <types>" when `message` is a quota refusal (it contains
// "forbidden: exceeded quota"), else nullopt. The wording is engine/admission.hpp's, so the
// service shows it like a local quota wait (engine::isQuotaWait).
std::optional<std::string> outOfQuotaMessage(std::string_view message);

// The same for an Event (or a Deployment's ReplicaFailure condition) whose reason is
// FailedCreate: what upstream shows as a Job's or Deployment's status when its pods are held back
// by the namespace's ResourceQuota. nullopt for every other event.
std::optional<std::string> outOfQuotaStatus(const json& event);

// ---- The cache -----------------------------------------------------------------------------

enum class QuotaState {
  kNotWatched,  // the namespace is outside the watched scopes
  kNotLoaded,   // its scope has not been listed yet (start-up, or the API server is unreachable)
  kLoaded,
};
std::string_view toString(QuotaState state);

// What lookup() answers for one namespace.
struct NamespaceQuota {
  QuotaState state = QuotaState::kNotLoaded;
  // Only with kLoaded; nullopt: there is no ResourceQuota named after the namespace.
  std::optional<ResourceQuotaStatus> resource_quota;
  // Only with kLoaded; nullopt: no LimitRange named after the namespace, or it has no Container
  // item.
  std::optional<ContainerLimitRange> limit_range;
};

// The figures of a loaded namespace, both parts parsed (nullopt where the object is missing).
struct NamespaceQuotaFigures {
  std::optional<ResourceQuotaFigures> resource_quota;
  std::optional<ContainerLimitFigures> limit_range;
};
// Errors: kUnavailable when not loaded yet, kInternal when not watched or a value is unreadable;
// messages name the namespace.
Result<NamespaceQuotaFigures> figuresOf(const std::string& ns, const NamespaceQuota& quota);

struct NamespaceQuotaCacheOptions {
  // The namespaces to watch; empty: all namespaces (needs cluster-wide list/watch on
  // resourcequotas and limitranges).
  std::vector<std::string> namespaces;
  int watch_timeout_seconds = 300;
  std::chrono::milliseconds error_backoff{1000};
  // Called on a reflector thread after a namespace's quota or limit range changed (and once per
  // scope after each list, with the scope's namespace, "" for all). Must not block; e.g. post to
  // the loop.
  std::function<void(const std::string& ns)> on_change;
  // Called on a reflector thread when a list or watch fails (it is retried after a back-off).
  std::function<void(const std::string& what)> on_error;
};

class NamespaceQuotaCache {
 public:
  NamespaceQuotaCache(Client& client, NamespaceQuotaCacheOptions options);
  ~NamespaceQuotaCache();  // stops the reflectors and joins their threads
  NamespaceQuotaCache(const NamespaceQuotaCache&) = delete;
  NamespaceQuotaCache& operator=(const NamespaceQuotaCache&) = delete;

  // Starts one ResourceQuota and one LimitRange reflector per scope, each on its own thread.
  // Call once; `client` must outlive the cache.
  void start();

  // Any thread; takes a mutex for a copy, never waits on the network.
  NamespaceQuota lookup(const std::string& ns) const;
  // Whether every scope has been listed at least once (both kinds).
  bool synced() const;

 private:
  struct Scope;
  void onList(std::size_t scope, bool quotas, const std::vector<json>& items);
  void onEvent(bool quotas, const WatchEvent& event);
  const Scope* scopeFor(const std::string& ns) const;  // with mutex_ held

  Client& client_;
  NamespaceQuotaCacheOptions options_;
  std::vector<std::unique_ptr<Scope>> scopes_;  // made by the constructor, never resized
  mutable std::mutex mutex_;
  // Guarded by mutex_: the objects named after their namespace, by namespace.
  std::map<std::string, ResourceQuotaStatus> quotas_;
  std::map<std::string, ContainerLimitRange> limit_ranges_;
};

}  // namespace tjf::kubernetes
