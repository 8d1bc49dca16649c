// List-then-watch of one collection, kept going across stream ends and errors: the client-go
// "reflector" pattern. It lists (unless resuming from a known resourceVersion), watches from the
// list's resourceVersion, follows BOOKMARKs, re-watches from the last version when a stream ends,
// and relists when the server answers 410 Gone (the version was compacted away).
//
// Threading: run() blocks its calling thread (one thread per reflector); the handlers are called
// on that thread. stop() may be called from any thread and makes run() return promptly.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "kubernetes/client.hpp"

namespace tjf::kubernetes {

struct ReflectorOptions {
  std::string label_selector;
  std::string field_selector;
  int watch_timeout_seconds = 300;
  std::chrono::milliseconds error_backoff{1000};      // after a failed list or watch...
  std::chrono::milliseconds max_error_backoff{30'000};  // ...doubling up to this
};

struct ReflectorHandler {
  // The complete current state after a (re)list; objects not in `items` are gone.
  std::function<void(const std::vector<json>& items, const std::string& resource_version)> on_list;
  // ADDED, MODIFIED or DELETED after the list.
  std::function<void(const WatchEvent& event)> on_event;
  // A failed list or watch (for the daemon's log); the reflector retries after a back-off.
  std::function<void(const ApiError& error)> on_error;
};

class Reflector {
 public:
  Reflector(Client& client, std::string collection, ReflectorOptions options, ReflectorHandler handler);

  // Runs until stop(). `resume_from`: a resourceVersion saved by an earlier process, to watch
  // from without a list (a 410 falls back to a list).
  void run(std::string resume_from = {});
  void stop();

  // The newest resourceVersion seen (list, event or bookmark): what a restart resumes from.
  std::string resourceVersion() const;
  int listCount() const { return lists_.load(); }
  int watchCount() const { return watches_.load(); }

 private:
  bool waitBackoff(std::chrono::milliseconds delay);

  Client& client_;
  std::string collection_;
  ReflectorOptions options_;
  ReflectorHandler handler_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> lists_{0};
  std::atomic<int> watches_{0};
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::string resource_version_;  // guarded by mutex_
};

}  // namespace tjf::kubernetes
