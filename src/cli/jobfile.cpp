#include "cli/jobfile.hpp"

#include <map>
#include <set>

#include <yaml-cpp/yaml.h>

namespace tjf::cli {
namespace {

using nlohmann::json;

// A YAML scalar as JSON: booleans and integers typed, the rest as text.
json scalarToJson(const YAML::Node& node) {
  if (node.IsNull()) return nullptr;
  if (!node.IsScalar()) return node.as<std::string>("");
  const std::string text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted: a string, whatever it looks like
  bool b = false;
  if (YAML::convert<bool>::decode(node, b) &&
      (text == "true" || text == "false" || text == "True" || text == "False" || text == "yes" ||
       text == "no")) {
    return b;
  }
  long long i = 0;
  if (YAML::convert<long long>::decode(node, i) &&
      text.find_first_not_of("+-0123456789") == std::string::npos) {
    return i;
  }
  double d = 0;
  if (YAML::convert<double>::decode(node, d) &&
      text.find_first_not_of("+-0123456789.eE") == std::string::npos) {
    return d;
  }
  return text;
}

std::string asText(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

Result<JobFile> parseJobFile(const std::string& text, const std::string& file_name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return invalidArgument("Unable to parse yaml file '" + file_name + "': line " +
                           std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (root.IsNull()) return JobFile{};
  if (!root.IsSequence()) {
    return invalidArgument("Unable to parse yaml file '" + file_name +
                           "': expected a list of jobs");
  }
  JobFile out;
  std::set<std::string> seen;
  int number = 0;
  for (const auto& item : root) {
    ++number;
    const std::string where = "Unable to load job number " + std::to_string(number);
    if (!item.IsMap()) return invalidArgument(where + ": it is not a mapping of keys to values");
    FileJob job;
    job.number = number;
    json& b = job.body;
    b = json::object();
    std::map<std::string, YAML::Node> keys;
    try {
      for (const auto& kv : item) keys[kv.first.as<std::string>()] = kv.second;
    } catch (const YAML::Exception& e) {
      return invalidArgument(where + ": " + e.msg);
    }
    for (const char* required : {"name", "command", "image"}) {
      if (!keys.count(required) || keys[required].IsNull()) {
        return invalidArgument(where + ": missing configuration parameter '" + required + "'");
      }
    }
    job.name = keys["name"].as<std::string>();
    if (!seen.insert(job.name).second) {
      return invalidArgument(where + " ('" + job.name + "'): the name is used twice in the file");
    }
    for (const auto& [key, node] : keys) {
      if (!node.IsScalar() && !node.IsNull()) {
        return invalidArgument(where + " ('" + job.name + "'): key '" + key +
                               "' needs a single value");
      }
      const json v = scalarToJson(node);
      if (key == "name") {
        b["name"] = job.name;
      } else if (key == "command") {
        b["cmd"] = asText(v);
      } else if (key == "image") {
        b["imagename"] = asText(v);
      } else if (key == "schedule") {
        b["schedule"] = asText(v);
      } else if (key == "continuous") {
        if (v == true) b["continuous"] = true;
      } else if (key == "mem") {
        b["memory"] = asText(v);
      } else if (key == "cpu") {
        b["cpu"] = asText(v);
      } else if (key == "retry" || key == "replicas" || key == "timeout") {
        b[key] = v;
      } else if (key == "emails" || key == "mount") {
        b[key] = asText(v);
      } else if (key == "wait") {
        job.wait = v == true;
      } else if (key == "no-filelog") {
        if (v.is_boolean()) b["filelog"] = !v.get<bool>();
      } else if (key == "filelog") {
        b["filelog"] = v;
      } else if (key == "filelog-stdout") {
        b["filelog_stdout"] = asText(v);
      } else if (key == "filelog-stderr") {
        b["filelog_stderr"] = asText(v);
      } else if (key == "health-check-script") {
        b["health_check"] = {{"type", "script"}, {"script", asText(v)}};
      } else if (key == "health-check-http") {
        b["health_check"] = {{"type", "http"}, {"path", asText(v)}};
      } else if (key == "port") {
        const std::string p = asText(v);
        const auto slash = p.find('/');
        try {
          b["port"] = std::stoi(p.substr(0, slash));
        } catch (const std::exception&) {
          return invalidArgument(where + " ('" + job.name + "'): port '" + p +
                                 "' is not a number");
        }
        if (slash != std::string::npos) b["port_protocol"] = p.substr(slash + 1);
      } else if (key == "port-protocol") {
        b["port_protocol"] = asText(v);
      } else if (key == "timezone" || key == "time-zone") {
        b["time_zone"] = asText(v);
      } else {
        out.warnings.push_back("Unknown key '" + key + "' in job '" + job.name + "' definition");
      }
    }
    out.jobs.push_back(std::move(job));
  }
  return out;
}

nlohmann::ordered_json jobToFileEntry(const json& j) {
  std::map<std::string, json> entry;  // sorted keys
  entry["name"] = j.value("name", "");
  entry["command"] = j.value("cmd", "");
  entry["image"] = j.value("imagename", "");
  if (j.contains("schedule")) entry["schedule"] = j.at("schedule");
  if (j.value("continuous", false)) entry["continuous"] = true;
  if (j.contains("memory")) entry["mem"] = j.at("memory");
  if (j.contains("cpu")) entry["cpu"] = j.at("cpu");
  for (const char* key : {"retry", "replicas", "timeout", "emails", "mount"}) {
    if (j.contains(key)) entry[key] = j.at(key);
  }
  if (j.contains("filelog")) {
    if (j.at("filelog") == false) {
      entry["no-filelog"] = true;
    } else {
      entry["filelog"] = true;
    }
  }
  if (j.contains("filelog_stdout")) entry["filelog-stdout"] = j.at("filelog_stdout");
  if (j.contains("filelog_stderr")) entry["filelog-stderr"] = j.at("filelog_stderr");
  if (j.contains("health_check") && j.at("health_check").is_object()) {
    const auto& hc = j.at("health_check");
    if (hc.value("type", "") == "http") {
      entry["health-check-http"] = hc.value("path", "");
    } else {
      entry["health-check-script"] = hc.value("script", "");
    }
  }
  if (j.contains("port")) {
    entry["port"] = j.value("port_protocol", "tcp") == "udp"
                        ? json(std::to_string(j.at("port").get<int>()) + "/udp")
                        : j.at("port");
  }
  if (j.contains("time_zone")) entry["timezone"] = j.at("time_zone");
  nlohmann::ordered_json out;
  for (auto& [k, v] : entry) out[k] = v;
  return out;
}

std::string dumpJobs(const json& api_jobs) {
  YAML::Emitter emitter;
  emitter << YAML::BeginSeq;
  for (const auto& job : api_jobs) {
    emitter << YAML::BeginMap;
    for (const auto& [key, value] : jobToFileEntry(job).items()) {
      emitter << YAML::Key << key << YAML::Value;
      if (value.is_boolean()) {
        emitter << value.get<bool>();
      } else if (value.is_number_integer()) {
        emitter << value.get<long long>();
      } else if (value.is_string()) {
        emitter << value.get<std::string>();
      } else {
        emitter << value.dump();
      }
    }
    emitter << YAML::EndMap;
  }
  emitter << YAML::EndSeq;
  if (api_jobs.empty()) return "[]\n";
  return std::string(emitter.c_str()) + "\n";
}

}  // namespace tjf::cli
