// ResourceQuota and LimitRange figures, quota refusals in status, and NamespaceQuotaCache against
// FakeApiServer (tests/kubernetes/fake_api_server.hpp). The objects are upstream's test fixture
// (upstream-behaviour.md §5); the refusal message is the one recorded from a real API server
// (kubernetes-notes.md).
#include "kubernetes/namespace_quota.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <set>

#include "fake_api_server.hpp"

namespace tjf::kubernetes {
namespace {

using testing::FakeApiServer;

constexpr std::int64_t kMi = std::int64_t{1} << 20;
constexpr std::int64_t kGi = std::int64_t{1} << 30;

const std::string kNs = "tool-quota-test";

json fixtureResourceQuota(const std::string& ns = kNs) {
  return json::parse(R"json({
    "apiVersion": "v1", "kind": "ResourceQuota",
    "metadata": {"name": "NS", "namespace": "NS"},
    "spec": {"hard": {"configmaps": "10", "count/cronjobs.batch": "50",
      "count/deployments.apps": "3", "count/jobs.batch": "15", "limits.cpu": "4",
      "limits.memory": "8Gi", "persistentvolumeclaims": "3", "pods": "10",
      "replicationcontrollers": "1", "requests.cpu": "2", "requests.memory": "4Gi",
      "secrets": "10", "services": "1", "services.nodeports": "0"}},
    "status": {
      "hard": {"configmaps": "10", "count/cronjobs.batch": "50",
        "count/deployments.apps": "3", "count/jobs.batch": "15", "limits.cpu": "4",
        "limits.memory": "8Gi", "persistentvolumeclaims": "3", "pods": "10",
        "replicationcontrollers": "1", "requests.cpu": "2", "requests.memory": "4Gi",
        "secrets": "10", "services": "1", "services.nodeports": "0"},
      "used": {"configmaps": "2", "count/cronjobs.batch": "5", "count/deployments.apps": "1",
        "count/jobs.batch": "0", "limits.cpu": "500m", "limits.memory": "512Mi",
        "persistentvolumeclaims": "0", "pods": "1", "replicationcontrollers": "0",
        "requests.cpu": "250m", "requests.memory": "256Mi", "secrets": "1", "services": "0",
        "services.nodeports": "0"}}})json")
      .patch(json::array({{{"op", "replace"}, {"path", "/metadata/name"}, {"value", ns}},
                          {{"op", "replace"}, {"path", "/metadata/namespace"}, {"value", ns}}}));
}

json fixtureLimitRange(const std::string& ns = kNs) {
  return json{{"apiVersion", "v1"},
              {"kind", "LimitRange"},
              {"metadata", {{"name", ns}, {"namespace", ns}}},
              {"spec",
               {{"limits", json::array({{{"type", "Container"},
                                         {"default", {{"cpu", "500m"}, {"memory", "512Mi"}}},
                                         {"defaultRequest", {{"cpu", "150m"}, {"memory", "256Mi"}}},
                                         {"max", {{"cpu", "1"}, {"memory", "4Gi"}}},
                                         {"min", {{"cpu", "50m"}, {"memory", "100Mi"}}}}})}}}};
}

// ---- Conversions -----------------------------------------------------------------------------

TEST(NamespaceQuotaFigures, UpstreamsFixtureResourceQuota) {
  const auto status = resourceQuotaStatusOf(fixtureResourceQuota());
  EXPECT_EQ(status.hard.at("limits.cpu"), "4");
  EXPECT_EQ(status.used.at("limits.memory"), "512Mi");
  auto f = resourceQuotaFigures(status, kNs);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->pods, (QuotaCount{10, 1}));
  EXPECT_EQ(f->jobs, (QuotaCount{15, 0}));
  EXPECT_EQ(f->cron_jobs, (QuotaCount{50, 5}));
  EXPECT_EQ(f->deployments, (QuotaCount{3, 1}));
  EXPECT_EQ(f->cpu_millis, (QuotaCount{4000, 500}));
  EXPECT_EQ(f->memory_bytes, (QuotaCount{8 * kGi, 512 * kMi}));
  EXPECT_EQ(f->requests_cpu_millis, (QuotaCount{2000, 250}));
  EXPECT_EQ(f->requests_memory_bytes, (QuotaCount{4 * kGi, 256 * kMi}));
}

TEST(NamespaceQuotaFigures, UpstreamsFixtureLimitRange) {
  const auto limits = containerLimitsOf(fixtureLimitRange());
  ASSERT_TRUE(limits);
  auto f = containerLimitFigures(*limits, kNs);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->min_cpu, (QuotaBound{"50m", 50}));
  EXPECT_EQ(f->max_cpu, (QuotaBound{"1", 1000}));
  EXPECT_EQ(f->min_memory, (QuotaBound{"100Mi", 100 * kMi}));
  EXPECT_EQ(f->max_memory, (QuotaBound{"4Gi", 4 * kGi}));
  EXPECT_EQ(f->default_cpu, (QuotaBound{"500m", 500}));
  EXPECT_EQ(f->default_memory, (QuotaBound{"512Mi", 512 * kMi}));
  EXPECT_EQ(f->default_request_cpu, (QuotaBound{"150m", 150}));
  EXPECT_EQ(f->default_request_memory, (QuotaBound{"256Mi", 256 * kMi}));
}

TEST(NamespaceQuotaFigures, MissingItemsAreUnlimitedAndUncountedIsZero) {
  // Only a pods quota, and its controller has not counted yet: no status at all.
  const json quota = {{"metadata", {{"name", kNs}, {"namespace", kNs}}},
                      {"spec", {{"hard", {{"pods", "4"}}}}}};
  auto f = resourceQuotaFigures(resourceQuotaStatusOf(quota), kNs);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->pods, (QuotaCount{4, 0}));
  EXPECT_FALSE(f->jobs);
  EXPECT_FALSE(f->cpu_millis);
  EXPECT_FALSE(f->memory_bytes);

  // A Container item with a maximum only.
  json range = fixtureLimitRange();
  range["spec"]["limits"] = json::array(
      {{{"type", "Pod"}, {"max", {{"cpu", "8"}}}},
       {{"type", "Container"}, {"max", {{"memory", "2Gi"}}}}});
  auto limits = containerLimitsOf(range);
  ASSERT_TRUE(limits);
  auto bounds = containerLimitFigures(*limits, kNs);
  ASSERT_TRUE(bounds);
  EXPECT_EQ(bounds->max_memory, (QuotaBound{"2Gi", 2 * kGi}));
  EXPECT_FALSE(bounds->max_cpu);  // the Pod item's cpu is not a container's
  EXPECT_FALSE(bounds->min_memory);

  range["spec"]["limits"] = json::array({{{"type", "PersistentVolumeClaim"}}});
  EXPECT_FALSE(containerLimitsOf(range));
  EXPECT_FALSE(containerLimitsOf(json::object()));
}

TEST(NamespaceQuotaFigures, AnUnreadableValueIsAnErrorNamingIt) {
  ResourceQuotaStatus status{.hard = {{"limits.memory", "8 GB"}}, .used = {}};
  auto f = resourceQuotaFigures(status, kNs);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, ErrorCode::kInternal);
  EXPECT_EQ(f.error().message,
            "ResourceQuota 'tool-quota-test': status.hard 'limits.memory' '8 GB' is not a "
            "quantity: Invalid number format: 8 GB");
  ContainerLimitRange limits{.min = {}, .max = {{"cpu", "lots"}}, .default_limit = {},
                             .default_request = {}};
  auto b = containerLimitFigures(limits, kNs);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message,
            "LimitRange 'tool-quota-test': Container max 'cpu' 'lots' is not a quantity: "
            "Invalid number format: lots");
}

TEST(NamespaceQuotaFigures, StatesOfALookup) {
  auto f = figuresOf(kNs, {.state = QuotaState::kNotLoaded});
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(f.error().message, "the quota of namespace 'tool-quota-test' has not been read "
                               "from the cluster yet; try again in a moment");
  f = figuresOf(kNs, {.state = QuotaState::kNotWatched});
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, ErrorCode::kInternal);
  f = figuresOf(kNs, {.state = QuotaState::kLoaded});
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->resource_quota);
  EXPECT_FALSE(f->limit_range);
  f = figuresOf(kNs, {.state = QuotaState::kLoaded,
                      .resource_quota = resourceQuotaStatusOf(fixtureResourceQuota()),
                      .limit_range = containerLimitsOf(fixtureLimitRange())});
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->resource_quota);
  ASSERT_TRUE(f->limit_range);
  EXPECT_EQ(f->resource_quota->pods, (QuotaCount{10, 1}));
  EXPECT_EQ(f->limit_range->max_memory, (QuotaBound{"4Gi", 4 * kGi}));
}

// ---- Quota refusals in status ----------------------------------------------------------------

// Recorded from a real kube-apiserver 1.24 (kubernetes-notes.md).
const std::string kRealQuotaEvent =
    "Error creating: pods \"bigjob-kvlz8\" is forbidden: exceeded quota: tool-demo, requested: "
    "pods=1, used: pods=4, limited: pods=4";

TEST(OutOfQuota, TheRealEventMessage) {
  EXPECT_EQ(quotaTypesOf(kRealQuotaEvent), std::vector<std::string>{"pods"});
  const json event = {{"kind", "Event"},
                      {"type", "Warning"},
                      {"reason", "FailedCreate"},
                      {"involvedObject", {{"kind", "Job"}, {"name", "bigjob"}}},
                      {"message", kRealQuotaEvent}};
  EXPECT_EQ(outOfQuotaStatus(event), "Unable to start, out of quota for pods");
}

TEST(OutOfQuota, TypesAreStrippedSortedAndUnique) {
  const std::string message =
      "Error creating: pods \"web-5d9f-x\" is forbidden: exceeded quota: tool-demo, requested: "
      "limits.memory=1Gi,requests.cpu=500m,limits.cpu=1, used: limits.memory=8Gi,"
      "requests.cpu=2,limits.cpu=4, limited: limits.memory=8Gi,requests.cpu=2,limits.cpu=4";
  EXPECT_EQ(quotaTypesOf(message), (std::vector<std::string>{"cpu", "memory"}));
  EXPECT_EQ(outOfQuotaMessage(message), "Unable to start, out of quota for cpu, memory");
  // An object-count quota, as a refused Job create says it: named as the engine names it.
  EXPECT_EQ(outOfQuotaMessage("jobs.batch \"x-run7\" is forbidden: exceeded quota: tool-demo, "
                              "requested: count/jobs.batch=1, used: count/jobs.batch=15, "
                              "limited: count/jobs.batch=15"),
            "Unable to start, out of quota for jobs");
}

TEST(OutOfQuota, OtherEventsAreNotQuotaStatuses) {
  // The LimitRange refusal (kubernetes-notes.md) is forbidden too, but not by a quota.
  EXPECT_FALSE(outOfQuotaMessage(
      "pods \"toobig\" is forbidden: maximum memory usage per Container is 4Gi, but limit is 8Gi"));
  EXPECT_FALSE(outOfQuotaMessage("exceeded quota, limited: pods=1"));  // not a refusal
  EXPECT_FALSE(outOfQuotaMessage(""));
  json event = {{"reason", "SuccessfulCreate"}, {"message", kRealQuotaEvent}};
  EXPECT_FALSE(outOfQuotaStatus(event));
  event["reason"] = "FailedCreate";
  event["message"] = "Error creating: pods \"x\" is forbidden: error looking up service account";
  EXPECT_FALSE(outOfQuotaStatus(event));
  EXPECT_FALSE(outOfQuotaStatus(json::object()));
  EXPECT_FALSE(outOfQuotaStatus(json("FailedCreate")));
  // A Deployment's ReplicaFailure condition: only while it is true.
  json condition = {{"type", "ReplicaFailure"},
                    {"status", "True"},
                    {"reason", "FailedCreate"},
                    {"message", kRealQuotaEvent}};
  EXPECT_EQ(outOfQuotaStatus(condition), "Unable to start, out of quota for pods");
  condition["status"] = "False";
  EXPECT_FALSE(outOfQuotaStatus(condition));
}

// ---- The cache against FakeApiServer ---------------------------------------------------------

std::unique_ptr<Client> clientFor(const FakeApiServer& server) {
  ClusterAccess access;
  access.server = server.url();
  access.token = "s3cret";
  auto client = Client::create(access);
  EXPECT_TRUE(client) << client.error().message;
  return std::move(*client);
}

std::string quotaPath(const std::string& ns, const std::string& name) {
  return resourcePath("v1", "resourcequotas", ns, name);
}
std::string limitRangePath(const std::string& ns, const std::string& name) {
  return resourcePath("v1", "limitranges", ns, name);
}

int requestsTo(const FakeApiServer& server, const std::string& resource, bool watch) {
  int n = 0;
  for (const auto& r : server.requests()) {
    if (r.method == "GET" && r.path.find("/" + resource) != std::string::npos &&
        (r.query.count("watch") > 0) == watch) {
      ++n;
    }
  }
  return n;
}

TEST(NamespaceQuotaCache, LoadsThenFollowsUpdatesThroughTheWatch) {
  FakeApiServer server;
  server.put(quotaPath(kNs, kNs), fixtureResourceQuota());
  server.put(limitRangePath(kNs, kNs), fixtureLimitRange());
  // Another quota in the namespace is not the tool's (upstream reads only `tool-<tool>`).
  json other = fixtureResourceQuota();
  other["metadata"]["name"] = "extra";
  other["status"]["used"]["pods"] = "9";
  server.put(quotaPath(kNs, "extra"), other);
  auto client = clientFor(server);

  std::mutex mutex;
  std::set<std::string> changed;
  NamespaceQuotaCache cache(*client, {.namespaces = {kNs},
                                      .watch_timeout_seconds = 60,
                                      .error_backoff = std::chrono::milliseconds(10),
                                      .on_change = [&](const std::string& ns) {
                                        std::lock_guard lock(mutex);
                                        changed.insert(ns);
                                      }});
  EXPECT_EQ(cache.lookup(kNs).state, QuotaState::kNotLoaded);  // not started
  EXPECT_FALSE(cache.synced());
  cache.start();
  ASSERT_TRUE(server.waitFor([&] { return cache.synced() && server.openWatches() == 2; }));

  NamespaceQuota q = cache.lookup(kNs);
  EXPECT_EQ(q.state, QuotaState::kLoaded);
  ASSERT_TRUE(q.resource_quota);
  EXPECT_EQ(q.resource_quota->used.at("pods"), "1");
  EXPECT_EQ(*q.resource_quota, resourceQuotaStatusOf(fixtureResourceQuota()));
  ASSERT_TRUE(q.limit_range);
  EXPECT_EQ(q.limit_range->max.at("memory"), "4Gi");
  EXPECT_EQ(cache.lookup("tool-other").state, QuotaState::kNotWatched);
  {
    std::lock_guard lock(mutex);
    EXPECT_TRUE(changed.count(kNs));
  }

  // The quota controller counts a new pod: the update arrives through the watch, no new list.
  json counted = fixtureResourceQuota();
  counted["status"]["used"]["pods"] = "2";
  counted["status"]["used"]["limits.cpu"] = "1500m";
  server.put(quotaPath(kNs, kNs), counted);
  ASSERT_TRUE(server.waitFor([&] {
    const auto now = cache.lookup(kNs);
    return now.resource_quota && now.resource_quota->used.at("pods") == "2";
  }));
  auto figures = figuresOf(kNs, cache.lookup(kNs));
  ASSERT_TRUE(figures) << figures.error().message;
  EXPECT_EQ(figures->resource_quota->cpu_millis, (QuotaCount{4000, 1500}));
  EXPECT_EQ(requestsTo(server, "resourcequotas", false), 1);
  EXPECT_EQ(requestsTo(server, "limitranges", false), 1);

  // The LimitRange is removed: the namespace is loaded, the limit range missing.
  ASSERT_TRUE(server.erase(limitRangePath(kNs, kNs)));
  ASSERT_TRUE(server.waitFor([&] { return !cache.lookup(kNs).limit_range; }));
  EXPECT_EQ(cache.lookup(kNs).state, QuotaState::kLoaded);
  EXPECT_TRUE(cache.lookup(kNs).resource_quota);
  server.put(limitRangePath(kNs, kNs), fixtureLimitRange());
  ASSERT_TRUE(server.waitFor([&] { return cache.lookup(kNs).limit_range.has_value(); }));

  // A change to the other quota does not touch the tool's. (Events of one stream arrive in
  // order: once the later change of the tool's quota shows, the other one has been seen.)
  other["status"]["used"]["pods"] = "3";
  server.put(quotaPath(kNs, "extra"), other);
  counted["status"]["used"]["limits.cpu"] = "2";
  server.put(quotaPath(kNs, kNs), counted);
  ASSERT_TRUE(server.waitFor(
      [&] { return cache.lookup(kNs).resource_quota->used.at("limits.cpu") == "2"; }));
  EXPECT_EQ(cache.lookup(kNs).resource_quota->used.at("pods"), "2");
}

TEST(NamespaceQuotaCache, RelistsAfterGoneAndForgetsWhatVanished) {
  FakeApiServer server;
  server.put(quotaPath(kNs, kNs), fixtureResourceQuota());
  server.put(limitRangePath(kNs, kNs), fixtureLimitRange());
  auto client = clientFor(server);
  // on_change runs on the reflector threads: holding it there keeps both reflectors from
  // watching again, so the quota can vanish while no stream is open, as in a network outage.
  std::mutex mutex;
  std::condition_variable cv;
  bool hold = false;
  int held = 0;
  NamespaceQuotaCache cache(*client, {.namespaces = {kNs},
                                      .watch_timeout_seconds = 60,
                                      .error_backoff = std::chrono::milliseconds(10),
                                      .on_change = [&](const std::string&) {
                                        std::unique_lock lock(mutex);
                                        if (!hold) return;
                                        ++held;
                                        cv.notify_all();
                                        cv.wait(lock, [&] { return !hold; });
                                      }});
  cache.start();
  ASSERT_TRUE(server.waitFor([&] { return cache.synced() && server.openWatches() == 2; }));
  ASSERT_TRUE(cache.lookup(kNs).resource_quota);

  {
    std::lock_guard lock(mutex);
    hold = true;
  }
  json counted = fixtureResourceQuota();
  counted["status"]["used"]["pods"] = "2";
  server.put(quotaPath(kNs, kNs), counted);
  server.put(limitRangePath(kNs, kNs), fixtureLimitRange());
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return held == 2; }));
  }
  server.endWatches();
  ASSERT_TRUE(server.waitFor([&] { return server.openWatches() == 0; }));
  // Meanwhile: the quota is deleted and the history compacted, so the versions the reflectors
  // hold are too old (410) and they must list again; the list no longer has the quota.
  ASSERT_TRUE(server.erase(quotaPath(kNs, kNs)));
  server.compact();
  {
    std::lock_guard lock(mutex);
    hold = false;
  }
  cv.notify_all();
  ASSERT_TRUE(server.waitFor([&] {
    return !cache.lookup(kNs).resource_quota && requestsTo(server, "resourcequotas", false) == 2 &&
           requestsTo(server, "limitranges", false) == 2;
  }));
  EXPECT_EQ(cache.lookup(kNs).state, QuotaState::kLoaded);
  EXPECT_TRUE(cache.lookup(kNs).limit_range);  // listed again too, and still there
}

TEST(NamespaceQuotaCache, ClusterWideScopeKeepsEveryToolNamespace) {
  FakeApiServer server;
  server.put(quotaPath("tool-a", "tool-a"), fixtureResourceQuota("tool-a"));
  server.put(limitRangePath("tool-a", "tool-a"), fixtureLimitRange("tool-a"));
  server.put(limitRangePath("tool-b", "tool-b"), fixtureLimitRange("tool-b"));
  auto client = clientFor(server);
  NamespaceQuotaCache cache(*client, {.watch_timeout_seconds = 60,
                                      .error_backoff = std::chrono::milliseconds(10)});
  cache.start();
  ASSERT_TRUE(server.waitFor([&] { return cache.synced() && server.openWatches() == 2; }));
  EXPECT_TRUE(cache.lookup("tool-a").resource_quota);
  EXPECT_TRUE(cache.lookup("tool-a").limit_range);
  EXPECT_EQ(cache.lookup("tool-b").state, QuotaState::kLoaded);
  EXPECT_FALSE(cache.lookup("tool-b").resource_quota);  // missing: the service says so (500)
  EXPECT_TRUE(cache.lookup("tool-b").limit_range);
  EXPECT_EQ(cache.lookup("tool-c").state, QuotaState::kLoaded);  // a namespace with neither

  server.put(quotaPath("tool-b", "tool-b"), fixtureResourceQuota("tool-b"));
  ASSERT_TRUE(server.waitFor([&] { return cache.lookup("tool-b").resource_quota.has_value(); }));
  // Requests went to the cluster-wide collections.
  for (const auto& r : server.requests()) {
    EXPECT_EQ(r.path.find("/namespaces/"), std::string::npos) << r.path;
  }
}

TEST(NamespaceQuotaCache, AnUnreachableServerStaysNotLoaded) {
  ClusterAccess access;
  access.server = "http://127.0.0.1:1";  // nothing listens on port 1
  auto client = Client::create(access, {.connect_timeout = std::chrono::milliseconds(200)});
  ASSERT_TRUE(client);
  std::mutex mutex;
  std::condition_variable failed_cv;
  int failures = 0;
  NamespaceQuotaCache cache(**client, {.namespaces = {kNs},
                                       .error_backoff = std::chrono::milliseconds(10),
                                       .on_error = [&](const std::string&) {
                                         std::lock_guard lock(mutex);
                                         ++failures;
                                         failed_cv.notify_all();
                                       }});
  cache.start();
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(failed_cv.wait_for(lock, std::chrono::seconds(10), [&] { return failures >= 2; }));
  }
  EXPECT_EQ(cache.lookup(kNs).state, QuotaState::kNotLoaded);
  EXPECT_FALSE(cache.synced());
  // The destructor stops the retrying reflectors promptly.
}

}  // namespace
}  // namespace tjf::kubernetes
