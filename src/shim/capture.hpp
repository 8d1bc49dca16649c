// Capturing a run's output into the log store (docs/logs.md): tjf-shim reads the job's stdout and
// stderr pipes and appends one record per line to runs/<id>/output.log (model/state_paths.hpp):
//
//   <unix-micros> <o|e> <text>\n
//
// The writer is the shim's only consumer of the pipes, so it never stops reading: a job never
// blocks on a reader that went away (tjfd may restart at any time; the shim holds the pipes).
// Formatting is a function of the bytes read and the time given, so it is unit-tested without a
// process (capture_test.cpp). Single-threaded: owned by the shim's read loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "base/unique_fd.hpp"

namespace tjf::shim {

// A line longer than this is cut into records of this many bytes (the last piece ends the line),
// so one endless line costs bounded memory and still reaches the store as it is written.
inline constexpr std::size_t kMaxRecordText = 64 * 1024;

// One captured stream: the read end of the job's pipe and the start of a line whose newline has
// not arrived yet.
struct CapturedStream {
  UniqueFd read_end;
  char tag = 'o';  // 'o' stdout, 'e' stderr
  std::string partial;
};

struct CaptureStats {
  std::uint64_t lines = 0;          // records written (a cut long line counts once per piece)
  std::uint64_t bytes = 0;          // bytes of job output consumed
  std::uint64_t lost_lines = 0;     // records that could not be written (disk full, I/O error)
  std::uint64_t lost_notices = 0;   // "lines were lost" records written
};

class CaptureWriter {
 public:
  CaptureWriter() = default;
  // Writes to `fd` (tests); the shim uses open().
  explicit CaptureWriter(UniqueFd fd) : fd_(std::move(fd)) {}

  // Opens (creating) the log store file for appending. False with errno set on failure.
  bool open(const std::string& path);

  // Appends a record for every complete line of `data` read from `s`, stamped `now`; the text
  // after the last newline waits in s.partial for the rest of its line (cut at kMaxRecordText).
  // With `eof`, a waiting partial line is written as a record of its own. Never blocks on
  // anything but write(2) itself: a write that fails (disk full, quota, I/O error) drops the
  // records it could not write and counts them, and the next write that succeeds begins with a
  // stderr record "tjf: <n> lines of output were lost (...)", so the loss is visible where the
  // lines would have been. A record cut by a failed write is ended before anything follows it.
  void consume(CapturedStream& s, std::string_view data, TimePoint now, bool eof);

  const CaptureStats& stats() const { return stats_; }

 private:
  // Appends records for `data` (at most one slice) to buf_; returns the number of records.
  void formatSlice(CapturedStream& s, std::string_view data, bool eof);
  void appendRecord(std::string_view head, std::string_view tail);
  void ensureCapacity(std::size_t extra);
  // Writes buf_[0, used_), first the loss notice if one is owed. Counts what it could not write.
  void flush(TimePoint now);
  // Writes what it can of [data, data+n): returns the bytes written; sets write_errno_.
  std::size_t writeSome(const char* data, std::size_t n);

  UniqueFd fd_;
  std::unique_ptr<char[]> buf_;
  std::size_t capacity_ = 0;
  std::size_t used_ = 0;
  char prefix_[32] = {};  // "<micros> <tag> " of the records being formatted
  std::size_t prefix_len_ = 0;
  std::uint64_t slice_records_ = 0;
  // Loss since the last notice: how many records, why, and whether the file ends mid-record.
  std::uint64_t pending_lost_ = 0;
  int lost_errno_ = 0;
  bool ends_mid_record_ = false;
  int write_errno_ = 0;
  CaptureStats stats_;
};

}  // namespace tjf::shim
