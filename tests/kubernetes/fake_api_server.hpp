// FakeApiServer: a CONTRACT FAKE of the Kubernetes API server, for tests only. It is not
// Kubernetes: no controllers, no scheduler, no kubelet (the test plays those by writing objects
// and status). What it does speak is the real protocol as tjf uses it, over HTTP/1.1 on
// 127.0.0.1:<ephemeral port>:
//
//   - CRUD on any namespaced resource: POST (201; 409 AlreadyExists; 422 Invalid for a name that
//     is not a DNS-1123 subdomain), GET, PUT (the status subresource replaces only status, the
//     main resource keeps status), DELETE (with propagationPolicy, recorded), delete-collection
//     by labelSelector, list with labelSelector (=, ==, !=, exists, !exists) and fieldSelector
//     (dotted-path equality), cluster-wide lists and watches;
//   - resourceVersion on every object and list, a global event history, watches from a version
//     with chunked transfer encoding, one JSON event per line, BOOKMARK events on request, and an
//     ERROR event with a 410 Expired Status when the version was compacted away;
//   - pods/<name>/log with follow=true and timestamps=true as a plain-text chunked stream;
//   - real-shaped Status bodies with the messages recorded in kubernetes-notes.md; an admission
//     hook lets a test refuse a create with e.g. the 403 quota message;
//   - PATCH (merge-patch, strategic-merge-patch approximated as merge-patch, json-patch, and
//     apply-patch as create-or-merge), GET /version and /healthz, metadata.generation bumped on
//     spec changes, an optional bearer token, pods/log with tailLines, sinceTime, sinceSeconds
//     and previous.
// FakeCluster (fake_cluster.hpp) adds the controllers and a kubelet through the hooks below.
//
// Every request is recorded for assertions. Waiting helpers block on a condition variable with a
// deadline (no sleeps).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace tjf::kubernetes::testing {

using nlohmann::json;

struct RecordedRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// A refusal from the admission hook: HTTP status, Status reason, message.
struct Refusal {
  int code = 403;
  std::string reason = "Forbidden";
  std::string message;
};

// --- hooks for FakeCluster (fake_cluster.hpp), which plays the controllers and the kubelet ---
// A change the server just made: "ADDED", "MODIFIED" or "DELETED", the object's path
// (e.g. /apis/batch/v1/namespaces/ns/jobs/x) and the object as stored (as deleted).
using ChangeHook = std::function<void(const std::string& type, const std::string& path, const json& object)>;
// A client's DELETE of the object at `path` (also each object of a delete-collection), with the
// DeleteOptions' propagationPolicy ("" when none was given) and gracePeriodSeconds. Returns the
// object to keep in place of deleting it (marked with a deletionTimestamp, finalizers: the
// deletion then finishes later, by erase()), or nullopt to delete it now.
using DeletionHook = std::function<std::optional<json>(const std::string& path, const json& object,
                                                       const std::string& propagation,
                                                       std::optional<long long> grace_seconds)>;
// A mutating admission step for POST, PUT and PATCH of the main resource: may change `object`
// (defaults, identity) or refuse. `existing` is the stored object for an update, null for a create.
using MutatingAdmission = std::function<std::optional<Refusal>(const RecordedRequest& request, json& object,
                                                                const json& existing)>;
// Extra routes outside the Kubernetes API (the fake-only /fake/... endpoints): a status code and a
// JSON body, or nullopt to let the server handle the request.
using ExtraRoute = std::function<std::optional<std::pair<int, json>>(const RecordedRequest& request)>;

class FakeApiServer {
 public:
  // Listens on 127.0.0.1:`port` (0: an ephemeral port).
  explicit FakeApiServer(int port = 0);
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  // --- what the test plays (controllers, kubelet) ---
  // Creates or replaces the object at `path` (e.g. resourcePath("batch/v1","jobs","ns","x")),
  // filling metadata as the server would, and emits ADDED or MODIFIED. Returns the stored object.
  json put(const std::string& path, json object);
  // Merges `status` into the object's status (MODIFIED). False if there is no such object.
  bool setStatus(const std::string& path, const json& status);
  // Removes the object (DELETED). False if there is no such object.
  bool erase(const std::string& path);
  std::optional<json> object(const std::string& path) const;
  // Every stored object whose path starts with `prefix`.
  std::vector<json> objects(const std::string& prefix) const;

  // Forgets events up to the current version: a watch from an older version gets 410.
  void compact();
  // Sends a BOOKMARK with the current version to every watch that allowed bookmarks.
  void bookmark();
  // Ends every open watch stream (as the server's timeout would).
  void endWatches();
  std::string resourceVersion() const;

  // A pod's log: lines with their timestamps; follow streams end when the log is closed.
  void appendLog(const std::string& ns, const std::string& pod, const std::string& line,
                 const std::string& timestamp = "2026-01-01T00:00:00.000000000Z");
  void closeLog(const std::string& ns, const std::string& pod);

  // Called for POST and PUT of the main resource before anything is stored.
  void setAdmission(std::function<std::optional<Refusal>(const RecordedRequest&, const json&)> hook);

  std::vector<RecordedRequest> requests() const;
  // Waits until `predicate` holds for some recorded request; false after `timeout`.
  bool waitForRequest(const std::function<bool(const RecordedRequest&)>& predicate,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits until `predicate()` holds (checked whenever the server's state changes).
  bool waitFor(const std::function<bool()>& predicate,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
  int openWatches() const;

  // --- FakeCluster support (fake_cluster.hpp). Hooks and the token are set before clients come.
  // Every hook but the extra route runs under the server's lock: it must not call the server
  // (queue work for another thread instead).
  void addChangeHook(ChangeHook hook);
  void setDeletionHook(DeletionHook hook);
  void setMutatingAdmission(MutatingAdmission hook);  // runs without the lock, before setAdmission's
  void setExtraRoute(ExtraRoute route);                // runs without the lock
  // Requests without `Authorization: Bearer <token>` get 401 (empty: no check).
  void setRequiredToken(std::string token);
  // Read-modify-write of one object under the lock: `mutate` (which must not call the server)
  // returns whether it changed the object; then it is stored (MODIFIED). False if there is no
  // such object or nothing changed.
  bool update(const std::string& path, const std::function<bool(json& object)>& mutate);
  // A container restart: the pod's current log becomes its `previous=true` log, follow streams
  // of the old container end, and new lines go to a fresh log.
  void restartLog(const std::string& ns, const std::string& pod);

 public:
  struct Target;  // a parsed request path (fake_api_server.cpp)

 private:
  struct Event {
    long long rv = 0;
    std::string type;
    std::string collection;  // "<group/version>/<resource>", e.g. "batch/v1/jobs"
    std::string ns;
    json object;
  };
  struct Log {
    std::vector<std::pair<std::string, std::string>> lines;  // timestamp, text
    bool closed = false;
    std::vector<std::pair<std::string, std::string>> previous;  // the last container's (restartLog)
    long long generation = 0;                                    // bumped by restartLog
  };
  void servePatch(int fd, const RecordedRequest& request, const Target& target);
  std::string deleteOrMarkLocked(const std::string& path, const Target& target, const json& object,
                                 const RecordedRequest& request, json* result);
  void acceptLoop();
  void serve(int fd);
  void handle(int fd, const RecordedRequest& request);
  void serveWatch(int fd, const RecordedRequest& request, const Target& target);
  void serveLog(int fd, const RecordedRequest& request, const std::string& ns, const std::string& pod);
  json storeLocked(const std::string& path, json object, const Target& target);
  void emitLocked(const std::string& type, const Target& target, const json& object);
  bool matchesLocked(const json& object, const RecordedRequest& request) const;

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::vector<std::thread> workers_;
  std::vector<std::thread::id> finished_workers_;  // serve() has returned: join them (mutex_)
  std::vector<int> connections_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  long long rv_ = 100;
  long long compacted_rv_ = 0;
  long long watch_generation_ = 0;  // bumped by endWatches()
  long long uid_counter_ = 0;
  int open_watches_ = 0;
  std::map<std::string, json> objects_;  // by object path
  std::vector<Event> events_;
  std::map<std::string, Log> logs_;  // "<ns>/<pod>"
  std::vector<RecordedRequest> requests_;
  std::function<std::optional<Refusal>(const RecordedRequest&, const json&)> admission_;
  std::vector<ChangeHook> change_hooks_;
  DeletionHook deletion_hook_;
  MutatingAdmission mutating_admission_;
  ExtraRoute extra_route_;
  std::string required_token_;
};

// The Status body the apiserver sends with an error.
json statusBody(int code, const std::string& reason, const std::string& message);

}  // namespace tjf::kubernetes::testing
