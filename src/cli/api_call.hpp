// What every CLI command does with the daemon: one request, the API's error printed as
// `ERROR: <message>` on stderr and the command ended with upstream's exit code (1 for a 4xx,
// 2 for a 5xx or an unreachable daemon), warnings printed as `WARNING: <message>`.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "cli/http_client.hpp"

namespace tjf::cli {

// Thrown to end a command with this exit code; caught where the command started.
struct CommandExit {
  int code;
};

// Level names coloured only on a terminal.
void printError(const std::string& message);
void printWarning(const std::string& message);

// The message of an error body ({"error": [...]}, joined with "; "), or the raw body.
std::string apiErrorMessage(const nlohmann::json& body, const std::string& raw);

// Sends one request and returns the parsed body (an empty object if it is not JSON). Prints the
// body's warnings. On an error status it prints the error and throws CommandExit, except for a
// 404 when `quiet_404` is set (the caller handles it through `status_out`).
nlohmann::json callApi(HttpClient& http, const std::string& method, const std::string& path,
                       const std::string& body = "", long* status_out = nullptr,
                       bool quiet_404 = false);

}  // namespace tjf::cli
