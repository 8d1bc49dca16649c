#include "service/log_watch.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>

namespace tjf::service {
namespace {

namespace asio = boost::asio;

// One mask for every watch (inotify replaces the mask of a path watched twice): entries created
// or moved into a directory (a new run, a log file appearing), writes and truncation (new lines,
// copytruncate), and a file going away (moved or deleted by an outside logrotate).
constexpr std::uint32_t kMask = IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE |
                                IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF;

}  // namespace

std::shared_ptr<LogWatcher> LogWatcher::create(asio::io_context& io) {
  return std::shared_ptr<LogWatcher>(new LogWatcher(io));
}

LogWatcher::LogWatcher(asio::io_context& io) : io_(io) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd >= 0) inotify_ = std::make_unique<asio::posix::stream_descriptor>(io, fd);
}

LogWatcher::~LogWatcher() = default;  // closing the inotify descriptor drops every watch

std::unique_ptr<LogWatcher::Waiter> LogWatcher::waiter() {
  return std::unique_ptr<Waiter>(new Waiter(shared_from_this()));
}

void LogWatcher::armRead() {
  if (!inotify_ || reading_) return;
  reading_ = true;
  // The handler holds the watcher: it lives while a read is pending (until the loop ends).
  inotify_->async_wait(asio::posix::stream_descriptor::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) {
                         self->reading_ = false;
                         if (ec) return;
                         self->onReadable();
                       });
}

void LogWatcher::onReadable() {
  alignas(inotify_event) char buf[16 * 1024];
  while (true) {
    const ssize_t n = ::read(inotify_->native_handle(), buf, sizeof buf);
    if (n <= 0) break;  // EAGAIN: all read
    for (ssize_t pos = 0; pos < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buf + pos);
      pos += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      const auto it = watches_.find(event->wd);
      if (it == watches_.end()) continue;
      // Copied: a waiter woken here may not unwatch before the loop moves on, but be safe.
      const std::set<Waiter*> waiters = it->second;
      for (Waiter* w : waiters) w->notify(event->wd);
      if (event->mask & IN_IGNORED) {
        // The kernel dropped the watch (the file went away): forget it, the waiters re-watch.
        for (Waiter* w : waiters) w->ids_.erase(event->wd);
        watches_.erase(event->wd);
      }
    }
  }
  if (!watches_.empty()) armRead();
}

int LogWatcher::add(const std::string& path, Waiter* waiter) {
  if (!inotify_) return -1;
  const int wd = ::inotify_add_watch(inotify_->native_handle(), path.c_str(), kMask);
  if (wd < 0) return -1;
  watches_[wd].insert(waiter);
  armRead();
  return wd;
}

void LogWatcher::remove(int wd, Waiter* waiter) {
  const auto it = watches_.find(wd);
  if (it == watches_.end()) return;
  it->second.erase(waiter);
  if (it->second.empty()) {
    ::inotify_rm_watch(inotify_->native_handle(), wd);
    watches_.erase(it);
  }
}

LogWatcher::Waiter::Waiter(std::shared_ptr<LogWatcher> watcher)
    : watcher_(std::move(watcher)), timer_(watcher_->io_) {}

LogWatcher::Waiter::~Waiter() {
  for (const int id : ids_) watcher_->remove(id, this);
}

int LogWatcher::Waiter::watch(const std::string& path) {
  const int id = watcher_->add(path, this);
  if (id >= 0) ids_.insert(id);
  return id;
}

void LogWatcher::Waiter::unwatch(int id) {
  if (ids_.erase(id)) watcher_->remove(id, this);
}

void LogWatcher::Waiter::notify(int id) {
  fired_.insert(id);
  pending_ = true;
  timer_.cancel();
}

asio::awaitable<void> LogWatcher::Waiter::wait(std::chrono::milliseconds timeout) {
  if (!pending_) {
    timer_.expires_after(timeout);
    boost::system::error_code ec;  // operation_aborted: woken by notify()
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  pending_ = false;
}

}  // namespace tjf::service
