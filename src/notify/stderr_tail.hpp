// The last lines of a run's stderr, for the end of each event in a mail: from the run's captured
// output (runs without file logs: <state>/runs/<id>/output.log, see model/state_paths.hpp), or
// from the job's stderr log file in the tool home.
//
// Reading a tool's log file is the only place the notifier touches a tool's files, so it is
// careful: it never follows a symbolic link in the last component, never blocks on a FIFO or a
// device (only regular files are read), reads at most the last kMaxTailBytes, and when the
// daemon runs as root it reads only files owned by the tool, so a tool cannot have another
// account's file mailed to itself through a link in its home.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tjf::notify {

inline constexpr std::size_t kMaxTailBytes = 256 * 1024;
// Longer lines are cut (SMTP allows 998 octets per line; a mail is for reading).
inline constexpr std::size_t kMaxLineBytes = 400;

// Replaces invalid UTF-8 and control characters other than tab with U+FFFD, drops a trailing
// CR, and cuts the line to kMaxLineBytes (on a character boundary, marked with "...").
std::string cleanLine(std::string_view line);

// The last `limit` lines of the stderr records ('e') of a captured output.log
// ("<unix-micros> <o|e> <text>" per line), cleaned. Empty when the file is missing.
std::vector<std::string> capturedStderrTail(const std::filesystem::path& output_log,
                                            std::size_t limit);

struct FileTail {
  bool readable = false;  // false: missing, not a regular file, or not the tool's
  std::vector<std::string> lines;
};

// The last `limit` lines of a log file, cleaned. `owner`: when set, a file owned by anyone else
// is not read (readable = false).
FileTail fileTail(const std::filesystem::path& path, std::size_t limit,
                  std::optional<uid_t> owner);

}  // namespace tjf::notify
