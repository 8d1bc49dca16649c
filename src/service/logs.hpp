// Reading a job's output back: from the captured output of its runs (the log store in each run
// directory) or, for file-log jobs, from its log files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
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

// The newest `limit` lines of these runs (oldest run first in `runs`), in order.
std::vector<LogLine> newestCapturedLines(const model::StateLayout& layout,
                                         const std::vector<model::RunRecord>& runs,
                                         std::size_t limit);

// The newest `limit` lines of plain log files (stdout file, then stderr file when different).
std::vector<LogLine> newestFileLines(const std::vector<std::string>& paths, std::size_t limit);

// Reads complete lines appended to `path` since `*offset` and advances it.
std::vector<std::string> readNewLines(const std::string& path, std::uint64_t* offset);

}  // namespace tjf::service
