#include "cli/api_call.hpp"

#include <unistd.h>

#include <cstdio>

namespace tjf::cli {
namespace {

using nlohmann::json;

void printLevel(const char* level, const char* colour, const std::string& message) {
  if (::isatty(2) == 1) {
    std::fprintf(stderr, "\033[%sm%s\033[1;0m: %s\n", colour, level, message.c_str());
  } else {
    std::fprintf(stderr, "%s: %s\n", level, message.c_str());
  }
}

}  // namespace

void printError(const std::string& message) { printLevel("ERROR", "1;31", message); }
void printWarning(const std::string& message) { printLevel("WARNING", "1;33", message); }

std::string apiErrorMessage(const json& j, const std::string& raw) {
  if (j.is_object() && j.contains("error") && j.at("error").is_array() && !j.at("error").empty()) {
    std::string out;
    for (const auto& e : j.at("error")) {
      if (e.is_string()) out += (out.empty() ? "" : "; ") + e.get<std::string>();
    }
    if (!out.empty()) return out;
  }
  return raw.empty() ? "unknown error" : raw;
}

json callApi(HttpClient& http, const std::string& method, const std::string& path,
             const std::string& body, long* status_out, bool quiet_404) {
  auto reply = http.request(method, path, body);
  if (!reply) {
    printError(reply.error().message);
    throw CommandExit{2};
  }
  if (status_out) *status_out = reply->status;
  json j;
  try {
    j = json::parse(reply->body);
  } catch (const json::exception&) {
    j = json::object();
  }
  if (reply->status >= 400) {
    if (reply->status == 404 && quiet_404) return j;
    printError(apiErrorMessage(j, reply->body));
    throw CommandExit{reply->status >= 500 ? 2 : 1};
  }
  if (j.is_object() && j.contains("messages") && j.at("messages").is_object()) {
    for (const auto& w : j.at("messages").value("warning", json::array())) {
      if (w.is_string()) printWarning(w.get<std::string>());
    }
  }
  return j;
}

}  // namespace tjf::cli
