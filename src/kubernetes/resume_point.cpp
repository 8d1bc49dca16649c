#include "kubernetes/resume_point.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "model/state_paths.hpp"
#include "runtime/shim_protocol.hpp"

namespace tjf::kubernetes {
namespace {

using nlohmann::json;

bool isDecimal(std::string_view text) {
  return !text.empty() && text.size() <= 19 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::filesystem::path resumePointPath(const std::filesystem::path& state_root, const std::string& ns) {
  return model::StateLayout(state_root).kubernetesDir() / ("watch-" + (ns.empty() ? std::string("_all") : ns) + ".json");
}

Result<std::optional<ResumePoint>> readResumePoint(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) return std::optional<ResumePoint>();
    return internalError("cannot read '" + file.string() + "'");
  }
  std::stringstream text;
  text << in.rdbuf();
  const json j = json::parse(text.str(), nullptr, false);
  const auto field = [&](const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
  };
  ResumePoint point{.server = field("server"), .ns = field("namespace"), .jobs = field("jobs"), .pods = field("pods")};
  if (!j.is_object() || point.server.empty() || point.jobs.empty()) {
    return internalError("'" + file.string() + "' is not a saved watch position");
  }
  return std::optional<ResumePoint>(std::move(point));
}

Status writeResumePoint(const std::filesystem::path& file, const ResumePoint& point, bool sync) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) return internalError("cannot create '" + file.parent_path().string() + "': " + ec.message());
  const json j = {{"server", point.server}, {"namespace", point.ns}, {"jobs", point.jobs}, {"pods", point.pods}};
  return runtime::writeFileAtomically(file, j.dump() + "\n", sync ? runtime::Sync::kToDisk : runtime::Sync::kNone);
}

bool versionAtOrPast(std::string_view version, std::string_view mark) {
  if (!isDecimal(version) || !isDecimal(mark)) return false;
  return std::stoull(std::string(version)) >= std::stoull(std::string(mark));
}

std::string olderVersion(const std::string& a, const std::string& b) {
  if (!isDecimal(a) || !isDecimal(b)) return a.empty() ? b : a;
  return std::stoull(a) <= std::stoull(b) ? a : b;
}

}  // namespace tjf::kubernetes
