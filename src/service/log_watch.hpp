// Wakes `logs -f` followers when what they follow changes (docs/logs.md, "Following"), so a new
// line reaches the client within milliseconds and an idle follower costs nothing: one inotify
// instance for the daemon (the per-user limit on instances is small), watches shared between
// followers and counted, and a Waiter per follower. Without inotify (or past the watch limit)
// a Waiter still wakes on its timeout, so following degrades to polling, never to silence.
// Everything runs on the loop thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace tjf::service {

class LogWatcher : public std::enable_shared_from_this<LogWatcher> {
 public:
  // Never fails: without inotify, waiters only time out.
  static std::shared_ptr<LogWatcher> create(boost::asio::io_context& io);
  ~LogWatcher();
  LogWatcher(const LogWatcher&) = delete;
  LogWatcher& operator=(const LogWatcher&) = delete;

  // One follower's wake-up: owned by the follower, keeps the watcher alive, removes its watches
  // when destroyed.
  class Waiter {
   public:
    ~Waiter();
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;

    // Watches a directory (entries created, written, moved in) or a file (written, truncated,
    // moved, deleted). Returns an id for fired(), or -1 when it cannot be watched (missing,
    // no inotify, limit reached). Watching the same path again returns the same id.
    int watch(const std::string& path);
    // Stops watching (an id from watch()).
    void unwatch(int id);
    // Completes when something watched changes, or after `timeout`. A change that happened
    // since the last wait() completes it at once.
    boost::asio::awaitable<void> wait(std::chrono::milliseconds timeout);
    // The ids that fired since the last call.
    std::set<int> takeFired() { return std::exchange(fired_, {}); }

   private:
    friend class LogWatcher;
    explicit Waiter(std::shared_ptr<LogWatcher> watcher);
    void notify(int id);

    std::shared_ptr<LogWatcher> watcher_;
    boost::asio::steady_timer timer_;
    std::set<int> ids_;
    std::set<int> fired_;
    bool pending_ = false;
  };

  std::unique_ptr<Waiter> waiter();
  // Watches in use (for tests and diagnostics).
  std::size_t watchCount() const { return watches_.size(); }

 private:
  explicit LogWatcher(boost::asio::io_context& io);
  void armRead();
  void onReadable();
  int add(const std::string& path, Waiter* waiter);
  void remove(int wd, Waiter* waiter);

  boost::asio::io_context& io_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> inotify_;
  bool reading_ = false;
  std::map<int, std::set<Waiter*>> watches_;  // inotify watch descriptor -> who cares
};

}  // namespace tjf::service
