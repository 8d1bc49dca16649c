#include "runtime/shim_protocol.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/time_format.hpp"
#include "base/unique_fd.hpp"

namespace tjf::runtime {
namespace {

using nlohmann::json;

json targetToJson(const OutputTarget& t) {
  return {{"kind", t.kind == OutputTarget::Kind::kFile ? "file" : "capture"}, {"path", t.path}};
}
OutputTarget targetFromJson(const json& j) {
  OutputTarget t;
  t.kind = j.at("kind") == "file" ? OutputTarget::Kind::kFile : OutputTarget::Kind::kCapture;
  t.path = j.at("path").get<std::string>();
  return t;
}

Result<json> readJsonFile(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return systemError("cannot read '" + file.string() + "'", errno);
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    return internalError("'" + file.string() + "' is not valid JSON: " + e.what());
  }
}

}  // namespace

Status writeFileAtomically(const std::filesystem::path& file, const std::string& content,
                           Sync sync) {
  const auto tmp = file.string() + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return systemError("cannot create '" + tmp + "'", errno);
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return systemError("cannot write '" + tmp + "'", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  if (sync == Sync::kToDisk && ::fsync(fd.get()) != 0) {
    return systemError("cannot fsync '" + tmp + "'", errno);
  }
  fd.reset();
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    return systemError("cannot rename '" + tmp + "'", errno);
  }
  if (sync == Sync::kNone) return {};
  // The rename itself must reach the disk too.
  UniqueFd dir(::open(file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid()) ::fsync(dir.get());
  return {};
}

Status writeShimSpec(const std::filesystem::path& file, const ShimSpec& s) {
  json j = {{"run_id", s.run_id},
            {"command", s.command},
            {"workdir", s.workdir},
            {"env", s.env},
            {"stdout", targetToJson(s.stdout_target)},
            {"stderr", targetToJson(s.stderr_target)},
            {"capture_path", s.capture_path},
            {"timeout_seconds", s.timeout_seconds},
            {"stop_grace_seconds", s.stop_grace_seconds},
            {"groups", s.groups},
            {"cgroup_procs", s.cgroup_procs},
            {"oom_counter", s.oom_counter},
            {"kill_cgroup", s.kill_cgroup},
            {"argv", s.argv}};
  if (s.filelog_rotate_bytes > 0) {  // file-log rotation (docs/logs.md)
    j["filelog_rotate_bytes"] = s.filelog_rotate_bytes;
    j["filelog_rotate_keep"] = s.filelog_rotate_keep;
  }
  if (s.uid) j["uid"] = *s.uid;
  if (s.gid) j["gid"] = *s.gid;
  return writeFileAtomically(file, j.dump(), Sync::kNone);
}

Result<ShimSpec> readShimSpec(const std::filesystem::path& file) {
  auto j = readJsonFile(file);
  if (!j) return tl::unexpected(j.error());
  try {
    ShimSpec s;
    s.run_id = j->at("run_id").get<std::int64_t>();
    s.command = j->at("command").get<std::string>();
    s.workdir = j->at("workdir").get<std::string>();
    s.env = j->at("env").get<std::vector<std::string>>();
    s.stdout_target = targetFromJson(j->at("stdout"));
    s.stderr_target = targetFromJson(j->at("stderr"));
    s.capture_path = j->at("capture_path").get<std::string>();
    s.timeout_seconds = j->at("timeout_seconds").get<std::int64_t>();
    s.stop_grace_seconds = j->at("stop_grace_seconds").get<std::int64_t>();
    s.groups = j->at("groups").get<std::vector<gid_t>>();
    s.cgroup_procs = j->at("cgroup_procs").get<std::vector<std::string>>();
    s.oom_counter = j->at("oom_counter").get<std::string>();
    s.kill_cgroup = j->value("kill_cgroup", std::string());
    s.argv = j->value("argv", std::vector<std::string>());
    s.filelog_rotate_bytes = j->value("filelog_rotate_bytes", std::int64_t{0});
    s.filelog_rotate_keep = j->value("filelog_rotate_keep", 1);
    if (j->contains("uid")) s.uid = j->at("uid").get<uid_t>();
    if (j->contains("gid")) s.gid = j->at("gid").get<gid_t>();
    return s;
  } catch (const nlohmann::json::exception& e) {
    return internalError("'" + file.string() + "' is not a shim spec: " + e.what());
  }
}

Status writeExitRecord(const std::filesystem::path& file, const ExitRecord& r) {
  json j = {{"started_at", toUnixMillis(r.started_at)},
            {"finished_at", toUnixMillis(r.finished_at)},
            {"reason", r.reason},
            {"message", r.message}};
  j["exit_code"] = r.exit_code ? json(*r.exit_code) : json(nullptr);
  j["signal"] = r.signal ? json(*r.signal) : json(nullptr);
  return writeFileAtomically(file, j.dump());
}

Result<ExitRecord> readExitRecord(const std::filesystem::path& file) {
  auto j = readJsonFile(file);
  if (!j) return tl::unexpected(j.error());
  try {
    ExitRecord r;
    r.started_at = fromUnixMillis(j->at("started_at").get<std::int64_t>());
    r.finished_at = fromUnixMillis(j->at("finished_at").get<std::int64_t>());
    if (!j->at("exit_code").is_null()) r.exit_code = j->at("exit_code").get<int>();
    if (!j->at("signal").is_null()) r.signal = j->at("signal").get<int>();
    r.reason = j->at("reason").get<std::string>();
    r.message = j->at("message").get<std::string>();
    return r;
  } catch (const nlohmann::json::exception& e) {
    return internalError("'" + file.string() + "' is not an exit record: " + e.what());
  }
}

}  // namespace tjf::runtime
