// List-then-watch of one collection, kept going across stream ends and errors: the client-go
// "reflector" pattern. It lists (unless resuming from a known resourceVersion), watches from the
// list's resourceVersion, follows BOOKMARKs, re-watches from the last version when a stream ends,
// and relists when the server answers 410 Gone (the version was compacted away).
//
// Threading: run() blocks its calling thread (one thread per reflector); the handlers are called
// on that thread. stop() may be called from any thread and makes run() return promptly.
//
// replayHistory() below is the other half of resuming across a process restart: after a fresh
// list, it fetches what happened between a version saved by the earlier process and the list.
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
  // A BOOKMARK: every event before it has been passed to on_event, and nothing changed up to
  // `resource_version`. Optional; for an owner that persists how far it got (resume points).
  std::function<void(const std::string& resource_version)> on_bookmark;
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

// ---- Replaying history -----------------------------------------------------------------------
// What happened to a collection between a version saved by an earlier process and now: the
// events a watch from `from` delivers, up to `until` (e.g. the version of a list just made).

struct ReplayOptions {
  std::string label_selector;
  std::string field_selector;
  std::string from;   // the saved resourceVersion
  std::string until;  // stop at the first event or BOOKMARK at or past it (versionAtOrPast)
  // The server ends the stream after this at the latest: an API server sends no event that
  // says "you are now at `until`" unless something in the collection changed at `until`.
  int timeout_seconds = 2;
  // Optional: also stop once this returns true for an event (the caller has all it needs).
  std::function<bool(const WatchEvent& event)> enough;
};

// Blocks the calling thread for at most timeout_seconds (plus transport time). Returns ADDED,
// MODIFIED and DELETED events in order (no bookmarks); `from` at or past `until` returns none at
// once. Errors: 410 Gone (isGone()) when `from` has been compacted away, or any failed watch.
// `cancel` ends it early with what has arrived.
ApiResult<std::vector<WatchEvent>> replayHistory(Client& client, const std::string& collection,
                                                 const ReplayOptions& options,
                                                 const std::atomic<bool>* cancel = nullptr);

}  // namespace tjf::kubernetes
