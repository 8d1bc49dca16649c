#include "cli/render.hpp"

#include "tabulate/table.hpp"

namespace tjf::cli {
namespace {

using nlohmann::json;

std::string str(const json& j, const char* key, const std::string& fallback = "") {
  if (!j.contains(key) || j.at(key).is_null()) return fallback;
  if (j.at(key).is_string()) return j.at(key).get<std::string>();
  return j.at(key).dump();
}

std::string imageCell(const json& job) {
  std::string image = str(job, "image", str(job, "imagename"));
  const std::string state = str(job, "image_state", "stable");
  if (state != "stable") image += " (" + state + ")";
  return image;
}

std::string healthCheckCell(const json& job) {
  if (!job.contains("health_check") || job.at("health_check").is_null()) return "none";
  const json& hc = job.at("health_check");
  if (str(hc, "type") == "http") return "http: " + str(hc, "path");
  return str(hc, "script");
}

}  // namespace

std::string jobTypeCell(const json& job) {
  const std::string type = str(job, "job_type");
  if (type == "scheduled") return "schedule: " + str(job, "schedule");
  if (type == "continuous") return "continuous";
  return "normal";
}

std::string resourcesCell(const json& job) {
  // The job's own fields tell whether the user set them; the API sends the user's text.
  const bool mem = job.contains("memory_set") ? job.at("memory_set").get<bool>() : false;
  const bool cpu = job.contains("cpu_set") ? job.at("cpu_set").get<bool>() : false;
  if (!mem && !cpu) return "default";
  return "mem: " + (mem ? str(job, "memory") : std::string("default")) +
         ", cpu: " + (cpu ? str(job, "cpu") : std::string("default"));
}

std::string retryCell(const json& job) {
  const int retry = job.contains("retry") && job.at("retry").is_number() ? job.at("retry").get<int>() : 0;
  if (retry == 0) return "no";
  return "yes: " + std::to_string(retry) + " time(s)";
}

std::string logPathCell(const json& path, const std::string& home) {
  if (path.is_null()) return "/dev/null";
  std::string p = path.get<std::string>();
  if (!home.empty() && p.size() > home.size() + 1 && p.compare(0, home.size(), home) == 0 &&
      p[home.size()] == '/') {
    return p.substr(home.size() + 1);
  }
  return p;
}

std::string renderList(const json& jobs, ListFormat format, const std::string& home) {
  if (!jobs.is_array() || jobs.empty()) return "";
  if (format == ListFormat::kName) {
    std::string out;
    for (const auto& job : jobs) out += str(job, "name") + "\n";
    out.pop_back();
    return out;
  }
  std::vector<tabulate::Row> rows;
  for (const auto& job : jobs) {
    if (format == ListFormat::kNormal) {
      rows.push_back({str(job, "name"), jobTypeCell(job), str(job, "status_short")});
    } else {
      const bool filelog = job.value("filelog", false);
      rows.push_back({str(job, "name"), str(job, "cmd"), jobTypeCell(job), imageCell(job),
                      filelog ? "yes" : "no",
                      logPathCell(filelog ? job.value("filelog_stdout", json()) : json(), home),
                      logPathCell(filelog ? job.value("filelog_stderr", json()) : json(), home),
                      str(job, "emails", "none"), resourcesCell(job), retryCell(job),
                      str(job, "status_short")});
    }
  }
  if (format == ListFormat::kNormal) {
    return tabulate::formatSimple(rows, {"Job name:", "Job type:", "Status:"});
  }
  return tabulate::formatSimple(rows, {"Job name:", "Command:", "Job type:", "Image:", "File log:",
                                       "Output log:", "Error log:", "Emails:", "Resources:",
                                       "Retry:", "Status:"});
}

std::string renderShow(const json& job, const std::string& home) {
  const bool filelog = job.value("filelog", false);
  const std::string type = str(job, "job_type");
  std::vector<tabulate::Row> rows = {
      {"Job name:", str(job, "name")},
      {"Command:", str(job, "cmd")},
      {"Job type:", jobTypeCell(job)},
      {"Image:", imageCell(job)},
      {"File log:", filelog ? "yes" : "no"},
      {"Output log:", logPathCell(filelog ? job.value("filelog_stdout", json()) : json(), home)},
      {"Error log:", logPathCell(filelog ? job.value("filelog_stderr", json()) : json(), home)},
      {"Emails:", str(job, "emails", "none")},
      {"Resources:", resourcesCell(job)},
      {"Mounts:", str(job, "mount", "all")},
      {"Retry:", retryCell(job)},
      {"Health check:", healthCheckCell(job)},
  };
  if (type == "continuous") {
    rows.push_back({"Port:", job.contains("port") && !job.at("port").is_null()
                                 ? str(job, "port") +
                                       (str(job, "port_protocol", "tcp") == "udp" ? "/udp" : "")
                                 : std::string("none")});
    rows.push_back({"Replicas:", str(job, "replicas", "1")});
  }
  if (job.contains("timeout") && job.at("timeout").is_number() && job.at("timeout").get<long long>() > 0) {
    rows.push_back({"Timeout:", str(job, "timeout") + "s"});
  }
  if (type == "scheduled") {
    if (str(job, "schedule_actual") != str(job, "schedule")) {
      rows.push_back({"Effective schedule:", str(job, "schedule_actual")});
    }
    if (str(job, "time_zone", "UTC") != "UTC") rows.push_back({"Time zone:", str(job, "time_zone")});
    const json status = job.value("status", json::object());
    if (status.contains("previous_schedule") && !status.at("previous_schedule").is_null()) {
      rows.push_back({"Last schedule:", str(status, "previous_schedule")});
    }
    if (status.contains("next_schedule") && !status.at("next_schedule").is_null()) {
      rows.push_back({"Next schedule:", str(status, "next_schedule")});
    }
  }
  rows.push_back({"Status:", str(job, "status_short")});
  rows.push_back({"Hints:", tabulate::wrapText(str(job, "status_long"), 70)});
  return tabulate::formatGrid(rows);
}

std::string renderImages(const json& images) {
  std::vector<tabulate::Row> rows;
  for (const auto& image : images) rows.push_back({str(image, "shortname"), str(image, "image")});
  return tabulate::formatSimple(rows, {"Short name", "Container image URL"});
}

std::string renderQuota(const json& quota) {
  std::string out;
  for (const auto& category : quota.value("categories", json::array())) {
    const std::string name = str(category, "name");
    std::vector<tabulate::Row> rows;
    bool has_used = false;
    for (const auto& item : category.value("items", json::array())) {
      has_used = has_used || (item.contains("used") && !item.at("used").is_null());
    }
    for (const auto& item : category.value("items", json::array())) {
      if (has_used) {
        rows.push_back({str(item, "name"), str(item, "used", ""), str(item, "limit")});
      } else {
        rows.push_back({str(item, "name"), str(item, "limit")});
      }
    }
    if (!out.empty()) out += "\n\n";
    out += has_used ? tabulate::formatSimple(rows, {name, "Used", "Limit"})
                    : tabulate::formatSimple(rows, {name, "Limit"});
  }
  return out;
}

std::string renderLogLine(const json& line) {
  const std::string time = str(line, "datetime");
  const std::string message = str(line, "message");
  if (time.empty()) return "[" + str(line, "pod") + "] " + message;
  return time + " [" + str(line, "pod") + "] " + message;
}

}  // namespace tjf::cli
