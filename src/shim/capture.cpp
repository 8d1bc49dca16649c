#include "shim/capture.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace tjf::shim {
namespace {

// The formatting works on slices of at most this much input, so the output buffer stays bounded
// (worst case, every byte a newline: about 20 bytes of record per input byte) and one write(2)
// carries a few hundred kilobytes.
constexpr std::size_t kSlice = 64 * 1024;

std::int64_t unixMicros(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

}  // namespace

bool CaptureWriter::open(const std::string& path) {
  fd_.reset(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  return fd_.valid();
}

void CaptureWriter::consume(CapturedStream& s, std::string_view data, TimePoint now, bool eof) {
  stats_.bytes += data.size();
  prefix_len_ = static_cast<std::size_t>(std::snprintf(
      prefix_, sizeof prefix_, "%lld %c ", static_cast<long long>(unixMicros(now)), s.tag));
  do {
    const std::size_t n = std::min(data.size(), kSlice);
    const bool last = n == data.size();
    used_ = 0;
    slice_records_ = 0;
    formatSlice(s, data.substr(0, n), eof && last);
    flush(now);
    data.remove_prefix(n);
  } while (!data.empty());
}

void CaptureWriter::ensureCapacity(std::size_t extra) {
  if (used_ + extra <= capacity_) return;
  const std::size_t wanted = std::max(used_ + extra, capacity_ * 2);
  auto bigger = std::make_unique<char[]>(wanted);
  if (used_ > 0) std::memcpy(bigger.get(), buf_.get(), used_);
  buf_ = std::move(bigger);
  capacity_ = wanted;
}

// One record: prefix, head + tail as the text (cut into kMaxRecordText pieces), newline.
void CaptureWriter::appendRecord(std::string_view head, std::string_view tail) {
  while (head.size() + tail.size() > kMaxRecordText) {
    // A piece of at most kMaxRecordText bytes, taken from head first.
    const std::size_t from_head = std::min(head.size(), kMaxRecordText);
    const std::size_t from_tail = kMaxRecordText - from_head;
    appendRecord(head.substr(0, from_head), tail.substr(0, from_tail));
    head.remove_prefix(from_head);
    tail.remove_prefix(from_tail);
  }
  ensureCapacity(prefix_len_ + head.size() + tail.size() + 1);
  char* out = buf_.get() + used_;
  std::memcpy(out, prefix_, prefix_len_);
  out += prefix_len_;
  if (!head.empty()) std::memcpy(out, head.data(), head.size());
  out += head.size();
  if (!tail.empty()) std::memcpy(out, tail.data(), tail.size());
  out += tail.size();
  *out++ = '\n';
  used_ = static_cast<std::size_t>(out - buf_.get());
  ++slice_records_;
}

void CaptureWriter::formatSlice(CapturedStream& s, std::string_view data, bool eof) {
  // Room for the common case in one allocation: every newline a record of its own.
  ensureCapacity(s.partial.size() + data.size() + (data.size() / 2 + 2) * (prefix_len_ + 1));
  const char* p = data.data();
  const char* const end = p + data.size();
  while (p < end) {
    const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    if (!nl) break;
    const std::string_view line(p, static_cast<std::size_t>(nl - p));
    if (s.partial.empty()) {
      if (line.size() <= kMaxRecordText && used_ + prefix_len_ + line.size() + 1 <= capacity_) {
        // The hot path: copy prefix and line (with its newline) in place.
        char* out = buf_.get() + used_;
        std::memcpy(out, prefix_, prefix_len_);
        std::memcpy(out + prefix_len_, p, line.size() + 1);
        used_ += prefix_len_ + line.size() + 1;
        ++slice_records_;
      } else {
        appendRecord(line, {});
      }
    } else {
      appendRecord(s.partial, line);
      s.partial.clear();
    }
    p = nl + 1;
  }
  s.partial.append(p, static_cast<std::size_t>(end - p));
  if (s.partial.size() > kMaxRecordText) {
    // Cut whole pieces off an endless line now; the rest waits for its newline.
    const std::size_t cut = (s.partial.size() - 1) / kMaxRecordText * kMaxRecordText;
    appendRecord(std::string_view(s.partial).substr(0, cut), {});
    s.partial.erase(0, cut);
  }
  if (eof && !s.partial.empty()) {
    appendRecord(s.partial, {});
    s.partial.clear();
  }
}

std::size_t CaptureWriter::writeSome(const char* data, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t w = ::write(fd_.get(), data + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      write_errno_ = w < 0 ? errno : ENOSPC;
      break;
    }
    done += static_cast<std::size_t>(w);
  }
  return done;
}

void CaptureWriter::flush(TimePoint now) {
  if (used_ == 0) return;
  if (pending_lost_ > 0) {
    // Owed: say what was lost before the lines that follow the gap.
    char notice[256];
    const int len = std::snprintf(
        notice, sizeof notice,
        "%s%lld e tjf: %llu lines of output were lost (the log store could not be written: %s)\n",
        ends_mid_record_ ? "\n" : "", static_cast<long long>(unixMicros(now)),
        static_cast<unsigned long long>(pending_lost_), std::strerror(lost_errno_));
    const std::size_t n = static_cast<std::size_t>(std::min<int>(len, sizeof notice - 1));
    const std::size_t done = writeSome(notice, n);
    if (done == n) {
      pending_lost_ = 0;
      ends_mid_record_ = false;
      ++stats_.lost_notices;
    } else {
      // Still failing: these records are lost too, and the notice stays owed.
      if (done > 0) ends_mid_record_ = notice[done - 1] != '\n';
      pending_lost_ += slice_records_;
      stats_.lost_lines += slice_records_;
      lost_errno_ = write_errno_;
      used_ = 0;
      return;
    }
  }
  const char* data = buf_.get();
  const std::size_t done = writeSome(data, used_);
  if (done == used_) {
    stats_.lines += slice_records_;
  } else {
    const auto lost = static_cast<std::uint64_t>(
        std::count(data + done, data + used_, '\n'));
    stats_.lines += slice_records_ - lost;
    stats_.lost_lines += lost;
    pending_lost_ += lost;
    lost_errno_ = write_errno_;
    if (done > 0) ends_mid_record_ = data[done - 1] != '\n';
  }
  used_ = 0;
}

}  // namespace tjf::shim
