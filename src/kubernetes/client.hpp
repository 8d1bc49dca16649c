// A small Kubernetes API client on libcurl: JSON CRUD, lists with selectors, chunked watch streams
// and pods/log?follow=true. Every call is blocking and uses its own curl handle, so any thread may
// call any method at the same time; the KubernetesRuntime calls it from its worker threads, never
// from the daemon's loop thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "base/result.hpp"
#include "kubernetes/kubeconfig.hpp"

namespace tjf::kubernetes {

using nlohmann::json;

// A failed call: the HTTP status and the apiserver's Status reason and message ("AlreadyExists",
// "jobs.batch \"x\" already exists"), or http_status 0 for a transport failure.
struct ApiError {
  int http_status = 0;
  std::string reason;
  std::string message;

  bool isNotFound() const { return http_status == 404; }
  bool isAlreadyExists() const { return http_status == 409 && reason == "AlreadyExists"; }
  bool isGone() const { return http_status == 410; }  // resourceVersion too old: relist
  // The tjf error for a person: the apiserver's message, codes mapped once here.
  Error toError() const;
};

template <typename T>
using ApiResult = tl::expected<T, ApiError>;

// A REST path: "/api/v1/namespaces/<ns>/<resource>[/<name>[/<sub>]]" for the core group
// ("v1"), "/apis/<group/version>/..." otherwise; an empty namespace gives the cluster-wide form.
std::string resourcePath(std::string_view group_version, std::string_view resource,
                         std::string_view ns = {}, std::string_view name = {},
                         std::string_view subresource = {});
// Percent-encodes a query parameter value.
std::string urlEncode(std::string_view text);

enum class Propagation { kBackground, kForeground, kOrphan };
std::string_view toString(Propagation p);

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;
  int limit = 0;
  std::string continue_token;
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // empty: start with ADDED events for what exists now
  bool allow_bookmarks = true;
  int timeout_seconds = 300;     // the server ends the stream after this; the caller re-watches
};

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK (ERROR ends watch() with an ApiError)
  json object;
};

struct LogOptions {
  std::string container = "job";
  bool follow = false;
  bool timestamps = false;
  std::optional<int> tail_lines;
  std::optional<std::string> since_time;  // RFC 3339
};

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};  // non-streaming calls
  std::string user_agent = "tjfd";
};

class Client {
 public:
  // Checks the access description (a server URL, readable credential files); connects lazily.
  static Result<std::unique_ptr<Client>> create(ClusterAccess access, ClientOptions options = {});

  const ClusterAccess& access() const { return access_; }

  ApiResult<json> get(const std::string& path);
  ApiResult<json> list(const std::string& collection, const ListOptions& options = {});
  ApiResult<json> create(const std::string& collection, const json& object);
  ApiResult<json> replace(const std::string& path, const json& object);
  // PATCH with the given content type (merge-patch+json, strategic-merge-patch+json,
  // apply-patch+yaml with `field_manager`).
  ApiResult<json> patch(const std::string& path, const json& body, std::string_view content_type,
                        std::string_view field_manager = {});
  ApiResult<json> remove(const std::string& path, Propagation propagation = Propagation::kBackground);
  ApiResult<json> removeCollection(const std::string& collection, const std::string& label_selector,
                                   Propagation propagation = Propagation::kBackground);

  // Streams one watch. Returns when the server ends the stream (success; re-watch from the last
  // resourceVersion), when `on_event` returns false or `cancel` becomes true (success), or with
  // an ApiError: the HTTP error, a transport failure, or an ERROR event (410 Gone: relist).
  ApiResult<void> watch(const std::string& collection, const WatchOptions& options,
                        const std::function<bool(const WatchEvent&)>& on_event,
                        const std::atomic<bool>* cancel = nullptr);

  // Streams a pod's log line by line (without the newline). Ends like watch().
  ApiResult<void> streamLog(const std::string& ns, const std::string& pod, const LogOptions& options,
                            const std::function<bool(std::string_view line)>& on_line,
                            const std::atomic<bool>* cancel = nullptr);

 private:
  Client(ClusterAccess access, ClientOptions options)
      : access_(std::move(access)), options_(std::move(options)) {}

  struct Request;
  ApiResult<json> call(const Request& request);
  ApiResult<void> stream(const Request& request,
                         const std::function<bool(std::string_view line)>& on_line,
                         const std::atomic<bool>* cancel);

  ClusterAccess access_;
  ClientOptions options_;
};

}  // namespace tjf::kubernetes
