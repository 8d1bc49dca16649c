// Job files for `load` and `dump`: the YAML keys of the user documentation <-> API job bodies.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace tjf::cli {

struct FileJob {
  std::string name;
  nlohmann::json body;  // a NewJob API body with only the fields the file sets
  bool wait = false;    // `wait: true`: wait for this one-off job before the next
  int number = 0;       // 1-based position in the file
};

struct JobFile {
  std::vector<FileJob> jobs;
  std::vector<std::string> warnings;  // unknown keys, ignored settings
};

// Parses a job file. Errors name the file and line (YAML), or the job number and name.
Result<JobFile> parseJobFile(const std::string& text, const std::string& file_name);

// One API job (include_unset=false form) as a YAML mapping's keys, for `dump`.
nlohmann::ordered_json jobToFileEntry(const nlohmann::json& api_job);
// The whole dump: a YAML list, keys sorted.
std::string dumpJobs(const nlohmann::json& api_jobs);

}  // namespace tjf::cli
