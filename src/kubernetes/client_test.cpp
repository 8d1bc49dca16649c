// The libcurl client and the reflector against FakeApiServer, a contract fake of the apiserver
// on 127.0.0.1 (tests/kubernetes/fake_api_server.hpp).
#include "kubernetes/client.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <thread>

#include "fake_api_server.hpp"
#include "kubernetes/reflector.hpp"

namespace tjf::kubernetes {
namespace {

using testing::FakeApiServer;
using testing::RecordedRequest;
using testing::Refusal;

const std::string kNs = "tool-tf-test";
const std::string kJobs = resourcePath("batch/v1", "jobs", kNs);

std::unique_ptr<Client> clientFor(const FakeApiServer& server, std::string token = "s3cret") {
  ClusterAccess access;
  access.server = server.url();
  access.token = std::move(token);
  auto client = Client::create(access);
  EXPECT_TRUE(client) << client.error().message;
  return std::move(*client);
}

json job(const std::string& name, json labels = {{"app.kubernetes.io/name", "x"}}) {
  return {{"apiVersion", "batch/v1"}, {"kind", "Job"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"spec", {{"backoffLimit", 0}}}};
}

TEST(ResourcePath, CoreAndGroupedForms) {
  EXPECT_EQ(resourcePath("v1", "pods", "ns", "p", "log"), "/api/v1/namespaces/ns/pods/p/log");
  EXPECT_EQ(resourcePath("batch/v1", "jobs", "ns"), "/apis/batch/v1/namespaces/ns/jobs");
  EXPECT_EQ(resourcePath("batch/v1", "jobs"), "/apis/batch/v1/jobs");
  EXPECT_EQ(urlEncode("a=b,c!=d"), "a%3Db%2Cc%21%3Dd");
}

TEST(Client, RefusesANonHttpServer) {
  auto client = Client::create(ClusterAccess{.server = "ftp://x"});
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().message, "The Kubernetes API server 'ftp://x' is not an http(s) URL");
}

TEST(Client, CreateGetReplaceDeleteWithBearerToken) {
  FakeApiServer server;
  auto client = clientFor(server);
  auto created = client->create(kJobs, job("myjob"));
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ((*created)["metadata"]["namespace"], kNs);
  EXPECT_FALSE((*created)["metadata"]["uid"].get<std::string>().empty());

  auto got = client->get(kJobs + "/myjob");
  ASSERT_TRUE(got);
  EXPECT_EQ((*got)["metadata"]["uid"], (*created)["metadata"]["uid"]);

  json changed = *got;
  changed["spec"]["backoffLimit"] = 2;
  auto replaced = client->replace(kJobs + "/myjob", changed);
  ASSERT_TRUE(replaced);
  EXPECT_EQ((*replaced)["spec"]["backoffLimit"], 2);
  EXPECT_NE((*replaced)["metadata"]["resourceVersion"], (*created)["metadata"]["resourceVersion"]);

  ASSERT_TRUE(client->remove(kJobs + "/myjob", Propagation::kForeground));
  auto gone = client->get(kJobs + "/myjob");
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().isNotFound());
  EXPECT_EQ(gone.error().message, "jobs.batch \"myjob\" not found");
  EXPECT_EQ(gone.error().toError().code, ErrorCode::kNotFound);

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, kJobs);
  EXPECT_EQ(requests[0].headers.at("authorization"), "Bearer s3cret");
  EXPECT_EQ(requests[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(requests[2].method, "PUT");
  EXPECT_EQ(requests[3].method, "DELETE");
  EXPECT_EQ(json::parse(requests[3].body)["propagationPolicy"], "Foreground");
}

TEST(Client, TokenFileIsReadForEveryRequest) {
  FakeApiServer server;
  char path[] = "/tmp/tjf-k8s-token-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << "first\n";
  ClusterAccess access{.server = server.url(), .token_file = path};
  auto client = Client::create(access);
  ASSERT_TRUE(client);
  ASSERT_FALSE((*client)->get(kJobs + "/a"));  // 404, but the header went out
  std::ofstream(path) << "rotated\n";
  ASSERT_FALSE((*client)->get(kJobs + "/a"));
  const auto requests = server.requests();
  EXPECT_EQ(requests[0].headers.at("authorization"), "Bearer first");
  EXPECT_EQ(requests[1].headers.at("authorization"), "Bearer rotated");
  ::unlink(path);
}

TEST(Client, RealShapedErrors) {
  FakeApiServer server;
  auto client = clientFor(server);
  ASSERT_TRUE(client->create(kJobs, job("dup")));
  auto again = client->create(kJobs, job("dup"));
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().isAlreadyExists());
  EXPECT_EQ(again.error().message, "jobs.batch \"dup\" already exists");
  EXPECT_EQ(again.error().toError().code, ErrorCode::kAlreadyExists);

  auto invalid = client->create(kJobs, job("Bad_Name"));
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().http_status, 422);
  EXPECT_EQ(invalid.error().reason, "Invalid");
  EXPECT_NE(invalid.error().message.find("a lowercase RFC 1123 subdomain"), std::string::npos);
  EXPECT_EQ(invalid.error().toError().code, ErrorCode::kUnprocessable);

  // The LimitRange refusal recorded from a real apiserver (kubernetes-notes.md).
  const std::string quota = "pods \"toobig\" is forbidden: maximum memory usage per Container is 4Gi, but limit is 8Gi";
  server.setAdmission([&](const RecordedRequest&, const json& body) -> std::optional<Refusal> {
    if (body["metadata"]["name"] == "toobig") return Refusal{403, "Forbidden", quota};
    return std::nullopt;
  });
  auto refused = client->create(resourcePath("v1", "pods", kNs), job("toobig"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().http_status, 403);
  EXPECT_EQ(refused.error().message, quota);
  EXPECT_EQ(refused.error().toError().code, ErrorCode::kForbidden);
}

TEST(Client, TransportFailureNamesTheServer) {
  int port = 0;
  {
    FakeApiServer gone;
    port = gone.port();
  }
  ClusterAccess access{.server = "http://127.0.0.1:" + std::to_string(port)};
  auto client = Client::create(access);
  ASSERT_TRUE(client);
  auto result = (*client)->get(kJobs);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().http_status, 0);
  EXPECT_NE(result.error().message.find("cannot reach the Kubernetes API server 'http://127.0.0.1:"),
            std::string::npos) << result.error().message;
  EXPECT_EQ(result.error().toError().code, ErrorCode::kUnavailable);
}

TEST(Client, ListWithLabelAndFieldSelectors) {
  FakeApiServer server;
  auto client = clientFor(server);
  ASSERT_TRUE(client->create(kJobs, job("a", {{"app.kubernetes.io/name", "a"}, {"tier", "x"}})));
  ASSERT_TRUE(client->create(kJobs, job("b", {{"app.kubernetes.io/name", "b"}, {"tier", "x"}})));
  ASSERT_TRUE(client->create(kJobs, job("c", {{"app.kubernetes.io/name", "c"}})));
  ASSERT_TRUE(client->create(resourcePath("batch/v1", "jobs", "tool-other"), job("d", {{"tier", "x"}})));

  auto tier = client->list(kJobs, {.label_selector = "tier=x"});
  ASSERT_TRUE(tier);
  EXPECT_EQ((*tier)["items"].size(), 2u);
  EXPECT_FALSE((*tier)["metadata"]["resourceVersion"].get<std::string>().empty());
  auto not_a = client->list(kJobs, {.label_selector = "tier,app.kubernetes.io/name!=a"});
  ASSERT_TRUE(not_a);
  ASSERT_EQ((*not_a)["items"].size(), 1u);
  EXPECT_EQ((*not_a)["items"][0]["metadata"]["name"], "b");
  auto by_name = client->list(kJobs, {.field_selector = "metadata.name=c"});
  ASSERT_TRUE(by_name);
  ASSERT_EQ((*by_name)["items"].size(), 1u);
  auto everywhere = client->list(resourcePath("batch/v1", "jobs"), {.label_selector = "tier=x"});
  ASSERT_TRUE(everywhere);
  EXPECT_EQ((*everywhere)["items"].size(), 3u);
  // The selector reached the server URL-encoded and decoded back intact.
  EXPECT_TRUE(server.waitForRequest([](const RecordedRequest& r) {
    return r.query.count("labelSelector") && r.query.at("labelSelector") == "tier,app.kubernetes.io/name!=a";
  }));

  auto removed = client->removeCollection(kJobs, "tier=x", Propagation::kBackground);
  ASSERT_TRUE(removed);
  auto left = client->list(kJobs);
  ASSERT_TRUE(left);
  ASSERT_EQ((*left)["items"].size(), 1u);
  EXPECT_EQ((*left)["items"][0]["metadata"]["name"], "c");
}

TEST(Client, StatusSubresourceReplacesOnlyStatus) {
  FakeApiServer server;
  auto client = clientFor(server);
  auto created = client->create(kJobs, job("s"));
  ASSERT_TRUE(created);
  json with_status = *created;
  with_status["status"] = {{"succeeded", 1}};
  with_status["spec"]["backoffLimit"] = 5;  // ignored by the status subresource
  ASSERT_TRUE(client->replace(kJobs + "/s/status", with_status));
  auto got = client->get(kJobs + "/s");
  ASSERT_TRUE(got);
  EXPECT_EQ((*got)["status"]["succeeded"], 1);
  EXPECT_EQ((*got)["spec"]["backoffLimit"], 0);
  // ...and a PUT of the main resource keeps the status.
  json spec_change = *got;
  spec_change.erase("status");
  ASSERT_TRUE(client->replace(kJobs + "/s", spec_change));
  EXPECT_EQ((*client->get(kJobs + "/s"))["status"]["succeeded"], 1);
}

TEST(Client, WatchStreamsEventsFromAVersionIncludingBookmarks) {
  FakeApiServer server;
  auto client = clientFor(server);
  ASSERT_TRUE(client->create(kJobs, job("before")));
  const std::string from = server.resourceVersion();
  ASSERT_TRUE(client->create(kJobs, job("w1")));

  std::vector<std::string> seen;
  std::thread watcher([&] {
    auto result = client->watch(kJobs, {.resource_version = from, .timeout_seconds = 30},
                                [&](const WatchEvent& e) {
                                  seen.push_back(e.type + " " + e.object["metadata"].value("name", ""));
                                  return e.type != "DELETED";
                                });
    EXPECT_TRUE(result) << result.error().message;
  });
  ASSERT_TRUE(server.waitFor([&] { return server.openWatches() == 1; }));
  server.bookmark();
  json modified = *server.object(kJobs + "/w1");
  modified["spec"]["backoffLimit"] = 1;
  server.put(kJobs + "/w1", modified);
  server.erase(kJobs + "/w1");
  watcher.join();
  EXPECT_EQ(seen, (std::vector<std::string>{"ADDED w1", "BOOKMARK ", "MODIFIED w1", "DELETED w1"}));
  EXPECT_TRUE(server.waitForRequest([](const RecordedRequest& r) {
    return r.query.count("watch") && r.query.at("allowWatchBookmarks") == "true" &&
           r.query.at("timeoutSeconds") == "30";
  }));
}

TEST(Client, WatchFromACompactedVersionIsGone) {
  FakeApiServer server;
  auto client = clientFor(server);
  ASSERT_TRUE(client->create(kJobs, job("a")));
  const std::string old = server.resourceVersion();
  ASSERT_TRUE(client->create(kJobs, job("b")));
  server.compact();
  auto result = client->watch(kJobs, {.resource_version = "1"}, [](const WatchEvent&) { return true; });
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.error().isGone());
  EXPECT_EQ(result.error().reason, "Expired");
  EXPECT_NE(result.error().message.find("too old resource version: 1"), std::string::npos);
  (void)old;
}

TEST(Client, WatchEndsOnCancel) {
  FakeApiServer server;
  auto client = clientFor(server);
  std::atomic<bool> cancel{false};
  std::thread watcher([&] {
    auto result = client->watch(kJobs, {.resource_version = server.resourceVersion()},
                                [](const WatchEvent&) { return true; }, &cancel);
    EXPECT_TRUE(result);
  });
  ASSERT_TRUE(server.waitFor([&] { return server.openWatches() == 1; }));
  cancel = true;
  watcher.join();  // returns within curl's progress-callback interval (about a second)
  EXPECT_TRUE(server.waitFor([&] { return server.openWatches() == 0; }));
}

TEST(Client, FollowsAPodLog) {
  FakeApiServer server;
  auto client = clientFor(server);
  server.put(resourcePath("v1", "pods", kNs, "p-1"), {{"kind", "Pod"}, {"metadata", json::object()}});
  server.appendLog(kNs, "p-1", "first line", "2026-01-01T00:00:01.000000000Z");
  std::vector<std::string> lines;
  std::thread follower([&] {
    auto result = client->streamLog(kNs, "p-1", {.follow = true, .timestamps = true},
                                    [&](std::string_view line) {
                                      lines.emplace_back(line);
                                      return true;
                                    });
    EXPECT_TRUE(result) << result.error().message;
  });
  ASSERT_TRUE(server.waitForRequest([](const RecordedRequest& r) { return r.path.ends_with("/log"); }));
  server.appendLog(kNs, "p-1", "second line", "2026-01-01T00:00:02.000000000Z");
  server.closeLog(kNs, "p-1");
  follower.join();
  EXPECT_EQ(lines, (std::vector<std::string>{"2026-01-01T00:00:01.000000000Z first line",
                                             "2026-01-01T00:00:02.000000000Z second line"}));
  const auto requests = server.requests();
  const auto& log_request = requests.back();
  EXPECT_EQ(log_request.query.at("follow"), "true");
  EXPECT_EQ(log_request.query.at("container"), "job");
  EXPECT_EQ(log_request.query.at("timestamps"), "true");

  auto missing = client->streamLog(kNs, "nope", {}, [](std::string_view) { return true; });
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().isNotFound());
}

// The reflector: list, watch, re-watch after the stream ends, relist after 410.
TEST(Reflector, ListsWatchesAndRelistsAfterGone) {
  FakeApiServer server;
  auto client = clientFor(server);
  ASSERT_TRUE(client->create(kJobs, job("one")));

  std::mutex mutex;
  std::map<std::string, json> state;
  int lists = 0;
  Reflector reflector(*client, kJobs, {.watch_timeout_seconds = 60, .error_backoff = std::chrono::milliseconds(10)},
                      {.on_list = [&](const std::vector<json>& items, const std::string&) {
                         std::lock_guard lock(mutex);
                         ++lists;
                         state.clear();
                         for (const auto& i : items) state[i["metadata"]["name"]] = i;
                       },
                       .on_event = [&](const WatchEvent& e) {
                         std::lock_guard lock(mutex);
                         const std::string name = e.object["metadata"]["name"];
                         if (e.type == "DELETED") state.erase(name);
                         else state[name] = e.object;
                       }});
  std::thread runner([&] { reflector.run(); });
  auto has = [&](const std::string& name) {
    std::lock_guard lock(mutex);
    return state.count(name) > 0;
  };
  ASSERT_TRUE(server.waitFor([&] { return has("one") && server.openWatches() == 1; }));
  ASSERT_TRUE(client->create(kJobs, job("two")));
  ASSERT_TRUE(server.waitFor([&] { return has("two"); }));

  // The stream ends (server timeout): the reflector re-watches from its version, no relist.
  server.endWatches();
  ASSERT_TRUE(server.waitFor([&] { return reflector.watchCount() == 2 && server.openWatches() == 1; }));
  EXPECT_EQ(reflector.listCount(), 1);
  ASSERT_TRUE(client->remove(kJobs + "/one"));
  ASSERT_TRUE(server.waitFor([&] { return !has("one"); }));

  // Events are compacted away while the stream is down: 410, then a relist that sees "three".
  server.endWatches();
  server.compact();
  server.put(kJobs + "/three", job("three"));
  server.compact();
  ASSERT_TRUE(server.waitFor([&] {
    return has("three") && reflector.listCount() == 2 && server.openWatches() == 1;
  }));
  EXPECT_FALSE(has("one"));
  EXPECT_TRUE(has("two"));
  server.bookmark();
  const std::string bookmarked = server.resourceVersion();
  ASSERT_TRUE(server.waitFor([&] { return reflector.resourceVersion() == bookmarked; }));

  reflector.stop();
  runner.join();
  std::lock_guard lock(mutex);
  EXPECT_EQ(lists, 2);
}

TEST(Reflector, ResumesFromASavedVersionWithoutListing) {
  FakeApiServer server;
  auto client = clientFor(server);
  ASSERT_TRUE(client->create(kJobs, job("old")));
  const std::string saved = server.resourceVersion();
  ASSERT_TRUE(client->create(kJobs, job("new")));
  std::vector<std::string> events;
  std::mutex mutex;
  Reflector reflector(*client, kJobs, {}, {.on_event = [&](const WatchEvent& e) {
                                             std::lock_guard lock(mutex);
                                             events.push_back(e.type + " " + e.object["metadata"]["name"].get<std::string>());
                                           }});
  std::thread runner([&] { reflector.run(saved); });
  ASSERT_TRUE(server.waitFor([&] {
    std::lock_guard lock(mutex);
    return !events.empty();
  }));
  reflector.stop();
  runner.join();
  EXPECT_EQ(reflector.listCount(), 0);
  EXPECT_EQ(events, std::vector<std::string>{"ADDED new"});  // only what happened after `saved`
}

}  // namespace
}  // namespace tjf::kubernetes
