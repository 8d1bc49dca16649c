// How the CLI shows API responses: upstream's tables and cell values, byte for byte. Pure
// functions of the JSON, so they are tested without a daemon.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace tjf::cli {

enum class ListFormat { kNormal, kLong, kName };

// `list`: "" when there are no jobs (upstream prints nothing at all).
std::string renderList(const nlohmann::json& jobs, ListFormat format, const std::string& home);
// `show`: the two-column grid, Hints wrapped to 70 columns.
std::string renderShow(const nlohmann::json& job, const std::string& home);
std::string renderImages(const nlohmann::json& images);
std::string renderQuota(const nlohmann::json& quota);
// One `logs` line: "<datetime> [<run>] <message>".
std::string renderLogLine(const nlohmann::json& line);

// Cell values shared by list and show.
std::string jobTypeCell(const nlohmann::json& job);
std::string resourcesCell(const nlohmann::json& job);
std::string retryCell(const nlohmann::json& job);
// A log path shown relative to the tool home when it is inside it.
std::string logPathCell(const nlohmann::json& path, const std::string& home);

}  // namespace tjf::cli
