// Job files for `load` and `dump`: the YAML keys of the user documentation <-> API job bodies.
//
// The file is a YAML list of mappings, one job each (see docs/load-and-dump.md for every key).
// Parsing is strict about what would change a job's meaning (types, duplicate keys, YAML
// syntax) and lenient where Toolforge is lenient (unknown keys warn and are ignored, `retry` on
// a continuous job is ignored with a warning). YAML merge keys (`<<: *defaults`) are resolved
// here, because yaml-cpp 0.7 does not: explicit keys win over merged ones, and of several merged
// mappings the earlier one wins (YAML 1.1 merge semantics).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace tjf::cli {

// `wait: true` waits as long as `run --wait` does by default.
inline constexpr int kDefaultWaitSeconds = 600;

struct FileJob {
  std::string name;
  nlohmann::json body;               // a NewJob API body with only the fields the file sets
  std::optional<int> wait_seconds;   // `wait: true` (or `wait: <seconds>`): one-off jobs only
  int number = 0;                    // 1-based position in the file
  int line = 0;                      // 1-based line where the job's mapping starts
  bool oneOff() const;
};

struct JobFile {
  std::vector<FileJob> jobs;
  std::vector<std::string> warnings;  // unknown keys, ignored settings
};

// Parses a job file. Errors (kInvalidArgument) name the file and the line for YAML syntax, and
// `job number <n>` (plus its name when it has one) for a bad job: upstream's
// `Unable to load job number <n>: missing configuration parameter '<key>'` and, for other
// problems, `Unable to load job number <n> ('<name>'): <what>`.
Result<JobFile> parseJobFile(const std::string& text, const std::string& file_name);

// One API job (its include_unset=false form) as a file entry, keys sorted.
nlohmann::ordered_json jobToFileEntry(const nlohmann::json& api_job);
// The whole dump: a YAML list, keys sorted, in the order of `api_jobs`. Strings that a YAML
// parser would read as something else (`true`, `1.5`, `null`) are quoted, so the file means the
// same to any YAML reader.
std::string dumpJobs(const nlohmann::json& api_jobs);

// The file key of an API field ("memory" -> "mem", "cmd" -> "command"); unknown names unchanged.
std::string fileKeyOf(std::string_view api_field);
// A server message about one job with a leading API field name ("memory: ...") given as the
// file key the user wrote ("mem: ...").
std::string inFileTerms(const std::string& message);
// The readable lines of a server-side diff (PATCH response `diff`: [{field, old, new}]), e.g.
// "mem: 1Gi -> 2Gi", "schedule: (not set) -> @daily".
std::vector<std::string> describeDiff(const nlohmann::json& diff);

}  // namespace tjf::cli
