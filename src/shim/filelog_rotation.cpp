#include "shim/filelog_rotation.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace tjf::shim {
namespace {

// Releases the rotation lock however rotateIfLarger() returns.
class FlockGuard {
 public:
  explicit FlockGuard(int fd) : fd_(fd) {}
  ~FlockGuard() { ::flock(fd_, LOCK_UN); }
  FlockGuard(const FlockGuard&) = delete;
  FlockGuard& operator=(const FlockGuard&) = delete;

 private:
  int fd_;
};

// Copies `in` from its start to its end (as it is when the copy catches up) into `out`.
Status copyToEnd(int in, int out, const std::string& what) {
  loff_t in_off = 0, out_off = 0;
  bool kernel_copy = true;
  char buf[1 << 16];
  while (true) {
    if (kernel_copy) {
      const ssize_t n = ::copy_file_range(in, &in_off, out, &out_off, 1 << 24, 0);
      if (n > 0) continue;
      if (n == 0) return {};
      if (errno == EINTR) continue;
      if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) {
        return systemError("cannot copy " + what, errno);
      }
      kernel_copy = false;  // another filesystem or an old kernel: copy by hand from here
    }
    const ssize_t n = ::pread(in, buf, sizeof buf, in_off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return systemError("cannot read " + what, errno);
    if (n == 0) return {};
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::pwrite(out, buf + done, static_cast<std::size_t>(n - done), out_off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return systemError("cannot write the copy of " + what, errno);
      done += w;
      out_off += w;
    }
    in_off += n;
  }
}

}  // namespace

Result<bool> rotateIfLarger(int fd, const std::string& path, const RotationPolicy& policy) {
  if (policy.max_bytes <= 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return systemError("cannot inspect log file '" + path + "'", errno);
  if (!S_ISREG(st.st_mode) || st.st_size <= policy.max_bytes) return false;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK || errno == EINTR) return false;  // someone is rotating it now
    return systemError("cannot lock log file '" + path + "' for rotation", errno);
  }
  FlockGuard unlock(fd);
  // Another writer may have rotated it while we waited for nothing: look again under the lock.
  if (::fstat(fd, &st) != 0) return systemError("cannot inspect log file '" + path + "'", errno);
  if (st.st_size <= policy.max_bytes) return false;
  struct stat named {};
  if (::stat(path.c_str(), &named) != 0 || named.st_dev != st.st_dev || named.st_ino != st.st_ino) {
    return false;  // the name leads elsewhere now (moved by an outside logrotate): not ours
  }
  if (policy.keep > 0) {
    // The same inode with read access (the job's descriptor is write-only), without going
    // through the name again.
    UniqueFd in(::open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDONLY | O_CLOEXEC));
    if (!in.valid()) in.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat opened {};
    if (!in.valid() || ::fstat(in.get(), &opened) != 0 || opened.st_ino != st.st_ino ||
        opened.st_dev != st.st_dev) {
      return systemError("cannot read log file '" + path + "' for rotation", errno);
    }
    for (int i = policy.keep - 1; i >= 1; --i) {
      const std::string from = path + "." + std::to_string(i);
      const std::string to = path + "." + std::to_string(i + 1);
      if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
        return systemError("cannot rename '" + from + "' to '" + to + "'", errno);
      }
    }
    const std::string first = path + ".1";
    UniqueFd out(::open(first.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                        st.st_mode & 0777));
    if (!out.valid()) return systemError("cannot create '" + first + "'", errno);
    if (auto ok = copyToEnd(in.get(), out.get(), "log file '" + path + "'"); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  // From here on the job's next O_APPEND write starts the file again.
  if (::ftruncate(fd, 0) != 0) return systemError("cannot truncate log file '" + path + "'", errno);
  return true;
}

void FileLogRotator::add(const std::string& path, int fd) {
  if (policy_.max_bytes <= 0) return;
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
  for (const auto& f : files_) {
    if (f.dev == st.st_dev && f.ino == st.st_ino) return;  // both streams into one file
  }
  UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!copy.valid()) return;
  files_.push_back(File{path, std::move(copy), st.st_dev, st.st_ino, false});
}

void FileLogRotator::check(void (*report)(const std::string& message)) {
  // Root (a container run): take the tool's effective ids for the rotation, and root back after.
  const bool switch_ids = as_ && ::geteuid() == 0;
  std::vector<gid_t> saved(static_cast<std::size_t>(std::max(0, ::getgroups(0, nullptr))));
  if (switch_ids) {
    if (::getgroups(static_cast<int>(saved.size()), saved.data()) < 0) saved.clear();
    if (::setgroups(as_->groups.size(), as_->groups.data()) != 0 || ::setegid(as_->gid) != 0 ||
        ::seteuid(as_->uid) != 0) {
      // Half-switched: go back to root and skip this round rather than rotate with wrong rights.
      if (::seteuid(0) == 0) {
        (void)::setegid(0);
        (void)::setgroups(saved.size(), saved.data());
      }
      return;
    }
  }
  for (auto& f : files_) {
    auto rotated = rotateIfLarger(f.fd.get(), f.path, policy_);
    if (!rotated && !f.reported) {
      f.reported = true;
      if (report) report(rotated.error().message);
    }
  }
  if (switch_ids) {
    if (::seteuid(0) != 0 || ::setegid(0) != 0 ||
        ::setgroups(saved.size(), saved.data()) != 0) {
      if (report) report("cannot switch back to root after rotating the log files");
    }
  }
}

}  // namespace tjf::shim
