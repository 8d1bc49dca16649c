// Reading a job's output back (docs/logs.md): from the log store (each run's captured output,
// runs/<id>/output.log, one "<unix-micros> <o|e> <text>" record per line) or, for file-log jobs,
// from its log files. Everything here reads from the end or from a remembered offset, so what a
// request costs depends on the lines it returns, not on the size of the history. Plain functions
// of files; the API calls them on the loop thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "model/records.hpp"
#include "model/state_paths.hpp"

namespace tjf::service {

struct LogLine {
  std::optional<TimePoint> time;  // unknown for lines read from plain log files
  std::string source;             // the run id, or the log file's name
  char stream = 'o';              // 'o' stdout, 'e' stderr
  std::string message;
};

// Parses one record of a run's output.log ("<unix-micros> <o|e> <text>").
std::optional<LogLine> parseCapturedLine(std::string_view line, const std::string& source);

// Whose a tool's log files must be. In platform mode the daemon is root, and a log path is the
// tool's to choose: a file is read for `logs` only when it is a regular file owned by this uid,
// so a path that leads (by symlink, '..' or an absolute path) to another tool's file or a system
// file reads as nothing. nullopt: whatever the daemon can read (personal mode: it is the tool).
using LogFileOwner = std::optional<uid_t>;

// Opens a log file for reading, or gives an invalid descriptor for one that is not a regular file
// or that `owner` does not own. The check is made on the opened inode (O_PATH, then fstat), not on
// the path, so a symlink swapped in between gains nothing; O_PATH also opens a FIFO or a device
// without effect (and without blocking the loop).
UniqueFd openLogFile(const std::string& path, LogFileOwner owner);

// The last `limit` lines of the bytes [begin, end) of an open file, read backwards in blocks, so
// the cost is that of the lines returned. Lines are without their newline; text after the last
// newline is a line when `partial_last` is set (a plain log file's line still being written),
// else ignored (a log store record still being written). A first line that starts before `begin`
// (cut by the window) is dropped, as is a line longer than `max_bytes`: at most that many bytes
// are read.
std::vector<std::string> tailLines(int fd, std::size_t limit, std::uint64_t begin,
                                   std::uint64_t end, bool partial_last,
                                   std::uint64_t max_bytes = 64ull << 20);

// One log being read: a run's output.log or a file log, and how far it has been delivered.
struct LogSource {
  std::string path;
  std::string name;       // shown as the line's source: the run id, or the file's name
  bool captured = true;   // log store records; false: plain lines
  char stream = 'o';      // plain files: the stream they hold
  std::int64_t run_id = 0;
  std::uint64_t offset = 0;  // bytes already delivered (always at the end of a line)
  dev_t dev = 0;             // the file read last (a new inode under the name starts over)
  ino_t ino = 0;
};

// What a request for the newest lines found: the lines, oldest first, and every source looked at
// with its offset at the end of what was read, where a follower continues.
struct LogSnapshot {
  std::vector<LogLine> lines;
  std::vector<LogSource> sources;
};

// The newest `limit` lines of these runs' captured output, merged by time across runs (retries,
// cron runs, restarts, replicas running at once). Runs are visited newest-written first (by
// modification time, an upper bound for every record in the file) and reading stops as soon as
// the lines kept are all newer than anything a remaining run holds; each run is read from its
// end. A run without output.log (never captured, or dropped by retention) has nothing.
LogSnapshot newestCapturedLines(const model::StateLayout& layout,
                                const std::vector<model::RunRecord>& runs, std::size_t limit);

// A file-log job's files: the path, the name shown for its lines, and its stream.
struct LogFile {
  std::string path;
  std::string name;
  char stream = 'o';
};

// The newest `limit` lines of each plain log file (their lines carry no time, so they cannot be
// merged): the files' blocks come in order of modification time, the most recently written
// last, so the newest output ends the listing. When a file holds fewer than `limit` lines, the
// older ones come from its rotated copies (`<file>.1`, `<file>.2`, ...). Files that cannot be
// read (missing, not owned by `owner`, not regular) give nothing.
LogSnapshot newestFileLines(const std::vector<LogFile>& files, std::size_t limit,
                            LogFileOwner owner = std::nullopt);

// Reads the complete lines appended to `source` since its offset, at most about `max_bytes` at
// a time (then `*more` is set), and advances the offset. A file that shrank (truncated by a
// copytruncate rotation) or was replaced by a new file is read again from its start; a hole left
// by log retention is skipped. Records that do not parse (a line cut by a lost write) are left
// out.
std::vector<LogLine> readNewLines(LogSource& source, LogFileOwner owner,
                                  std::size_t max_bytes = 4u << 20, bool* more = nullptr);

// The start of the data of a log store file: 0, or the end of the hole log retention punched
// into its oldest part (log_retention.hpp). `end` when the file holds only a hole.
std::uint64_t dataStart(int fd, std::uint64_t end);

}  // namespace tjf::service
