#include "cli/jobfile.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <regex>
#include <set>

#include <yaml-cpp/yaml.h>

namespace tjf::cli {
namespace {

using nlohmann::json;

// Merge-key chains deeper than this are a mistake (or a cycle through an alias).
constexpr int kMaxMergeDepth = 16;

// The keys of a job mapping and the API field each one sets. Keys with special handling
// (continuous, wait, no-filelog, filelog, port, health checks) are read by readJob itself.
constexpr std::array<std::pair<std::string_view, std::string_view>, 12> kTextKeys{{
    {"name", "name"},
    {"command", "cmd"},
    {"image", "imagename"},
    {"schedule", "schedule"},
    {"mem", "memory"},
    {"cpu", "cpu"},
    {"emails", "emails"},
    {"mount", "mount"},
    {"filelog-stdout", "filelog_stdout"},
    {"filelog-stderr", "filelog_stderr"},
    {"timezone", "time_zone"},
    {"concurrency-policy", "concurrency_policy"},
}};
constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kIntegerKeys{{
    {"retry", "retry"},
    {"replicas", "replicas"},
    {"timeout", "timeout"},
    {"starting-deadline-seconds", "starting_deadline_seconds"},
}};
constexpr std::array<std::string_view, 8> kOtherKeys{
    "continuous", "wait", "no-filelog", "filelog", "port", "port-protocol", "health-check-script",
    "health-check-http"};

struct Entry {
  std::string key;
  YAML::Node value;
};

std::string kindOf(const YAML::Node& node) {
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  if (node.IsNull()) return "empty";
  return "the text '" + node.Scalar() + "'";
}

int lineOf(const YAML::Node& node) { return node.Mark().line + 1; }

// A plain `<<` is the merge key; a quoted "<<" is an ordinary key (YAML 1.1 merge type).
bool isMergeKey(const YAML::Node& key) {
  return key.IsScalar() && key.Scalar() == "<<" && key.Tag() != "!";
}

// The entries of a mapping with its merge keys resolved: its own keys first, then the keys of
// the merged mappings it does not set itself, earlier merged mappings winning over later ones.
Result<std::vector<Entry>> mappingEntries(const YAML::Node& map, int depth) {
  if (depth > kMaxMergeDepth) {
    return invalidArgument("merge keys ('<<') nest more than " + std::to_string(kMaxMergeDepth) +
                           " levels deep");
  }
  std::vector<Entry> entries;
  std::vector<YAML::Node> merged;
  std::set<std::string> seen;
  for (const auto& kv : map) {
    if (isMergeKey(kv.first)) {
      const YAML::Node& v = kv.second;
      if (v.IsMap()) {
        merged.push_back(v);
      } else if (v.IsSequence()) {
        for (const auto& source : v) {
          if (!source.IsMap()) {
            return invalidArgument("the merge key '<<' (line " + std::to_string(lineOf(kv.first)) +
                                   ") lists " + kindOf(source) + ", not a mapping");
          }
          merged.push_back(source);
        }
      } else {
        return invalidArgument("the merge key '<<' (line " + std::to_string(lineOf(kv.first)) +
                               ") needs a mapping or a list of mappings, not " + kindOf(v));
      }
      continue;
    }
    if (!kv.first.IsScalar()) {
      return invalidArgument("line " + std::to_string(lineOf(kv.first)) + ": a key must be a name, not " +
                             kindOf(kv.first));
    }
    const std::string& key = kv.first.Scalar();
    if (!seen.insert(key).second) {
      return invalidArgument("key '" + key + "' is given twice (line " +
                             std::to_string(lineOf(kv.first)) + ")");
    }
    entries.push_back({key, kv.second});
  }
  for (const auto& source : merged) {
    auto inherited = mappingEntries(source, depth + 1);
    if (!inherited) return inherited;
    for (auto& entry : *inherited) {
      if (seen.insert(entry.key).second) entries.push_back(std::move(entry));
    }
  }
  return entries;
}

// Typed access to one job's keys; every error names the key and what was found.
class JobKeys {
 public:
  explicit JobKeys(std::map<std::string, YAML::Node> keys) : keys_(std::move(keys)) {}

  // Null (`key:` with nothing after it, or `~`) means "not set".
  bool has(const std::string& key) const {
    const auto it = keys_.find(key);
    return it != keys_.end() && !it->second.IsNull();
  }
  const std::map<std::string, YAML::Node>& all() const { return keys_; }

  Result<std::string> text(const std::string& key) const {
    const YAML::Node& node = keys_.at(key);
    if (!node.IsScalar()) {
      return invalidArgument("'" + key + "' must be a single value, not " + kindOf(node));
    }
    return node.Scalar();
  }
  Result<bool> boolean(const std::string& key) const {
    auto t = text(key);
    if (!t) return tl::unexpected(t.error());
    bool value = false;
    if (!YAML::convert<bool>::decode(keys_.at(key), value)) {
      return invalidArgument("'" + key + "' must be true or false, not '" + *t + "'");
    }
    return value;
  }
  Result<long long> integer(const std::string& key) const {
    auto t = text(key);
    if (!t) return tl::unexpected(t.error());
    if (auto n = parseInteger(*t)) return *n;
    return invalidArgument("'" + key + "' must be a whole number, not '" + *t + "'");
  }

  static std::optional<long long> parseInteger(std::string_view s) {
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    long long n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return n;
  }

 private:
  std::map<std::string, YAML::Node> keys_;
};

bool knownKey(const std::string& key) {
  for (const auto& [k, field] : kTextKeys) {
    if (k == key) return true;
  }
  for (const auto& [k, field] : kIntegerKeys) {
    if (k == key) return true;
  }
  return std::find(kOtherKeys.begin(), kOtherKeys.end(), key) != kOtherKeys.end();
}

Result<FileJob> readJob(const YAML::Node& item, int number, std::vector<std::string>& warnings) {
  const std::string prefix = "Unable to load job number " + std::to_string(number);
  if (!item.IsMap()) {
    return invalidArgument(prefix + " (line " + std::to_string(lineOf(item)) +
                           "): expected a mapping of keys to values, found " + kindOf(item));
  }
  auto entries = mappingEntries(item, 0);
  if (!entries) return invalidArgument(prefix + ": " + entries.error().message);
  std::map<std::string, YAML::Node> map;
  for (auto& e : *entries) map.emplace(std::move(e.key), std::move(e.value));
  const JobKeys keys(std::move(map));
  for (const char* required : {"name", "command", "image"}) {
    if (!keys.has(required)) {
      return invalidArgument(prefix + ": missing configuration parameter '" + required + "'");
    }
  }
  FileJob job;
  job.number = number;
  job.line = lineOf(item);
  auto name = keys.text("name");
  if (!name) return invalidArgument(prefix + ": " + name.error().message);
  job.name = *name;
  const std::string where = prefix + " ('" + job.name + "')";
  auto fail = [&](const std::string& what) { return invalidArgument(where + ": " + what); };

  json& b = job.body;
  b = json::object();
  for (const auto& [key, field] : kTextKeys) {
    if (!keys.has(std::string(key))) continue;
    auto v = keys.text(std::string(key));
    if (!v) return fail(v.error().message);
    b[std::string(field)] = *v;
  }
  for (const auto& [key, field] : kIntegerKeys) {
    if (!keys.has(std::string(key))) continue;
    auto v = keys.integer(std::string(key));
    if (!v) return fail(v.error().message);
    b[std::string(field)] = *v;
  }
  if (keys.has("continuous")) {
    auto v = keys.boolean("continuous");
    if (!v) return fail(v.error().message);
    if (*v) b["continuous"] = true;
  }
  std::optional<bool> filelog;
  if (keys.has("filelog")) {
    auto v = keys.boolean("filelog");
    if (!v) return fail(v.error().message);
    filelog = *v;
  }
  if (keys.has("no-filelog")) {
    auto v = keys.boolean("no-filelog");
    if (!v) return fail(v.error().message);
    if (filelog && *filelog == *v) {
      return fail("'filelog: " + std::string(*filelog ? "true" : "false") + "' and 'no-filelog: " +
                  (*v ? "true" : "false") + "' contradict each other");
    }
    filelog = !*v;
  }
  if (filelog) b["filelog"] = *filelog;
  if (keys.has("health-check-script") && keys.has("health-check-http")) {
    return fail("'health-check-script' and 'health-check-http' cannot both be set");
  }
  for (const char* key : {"health-check-script", "health-check-http"}) {
    if (!keys.has(key)) continue;
    auto v = keys.text(key);
    if (!v) return fail(v.error().message);
    const bool http = std::string_view(key) == "health-check-http";
    b["health_check"] = {{"type", http ? "http" : "script"}, {http ? "path" : "script", *v}};
  }
  if (keys.has("port")) {
    auto v = keys.text("port");
    if (!v) return fail(v.error().message);
    // `port: 3334/udp`: the number and the protocol in one value, as Toolforge files write it.
    const auto slash = v->find('/');
    const auto port = JobKeys::parseInteger(std::string_view(*v).substr(0, slash));
    if (!port) return fail("'port' must be a port number, optionally with '/tcp' or '/udp', not '" + *v + "'");
    b["port"] = *port;
    if (slash != std::string::npos) b["port_protocol"] = v->substr(slash + 1);
  }
  if (keys.has("port-protocol")) {
    auto v = keys.text("port-protocol");
    if (!v) return fail(v.error().message);
    if (b.contains("port_protocol") && b.at("port_protocol") != *v) {
      return fail("'port' says '" + b.at("port_protocol").get<std::string>() +
                  "' but 'port-protocol' says '" + *v + "'");
    }
    b["port_protocol"] = *v;
  }
  if (b.contains("continuous") && b.contains("schedule")) {
    return fail("'schedule' and 'continuous: true' cannot be combined: a job is either scheduled "
                "or continuous");
  }
  if (keys.has("wait")) {
    // `wait: true`, or (tjf) `wait: <seconds>` for a build that takes longer than the default.
    if (auto seconds = JobKeys::parseInteger(keys.text("wait").value_or(""))) {
      if (*seconds <= 0 || *seconds > 7 * 24 * 3600) {
        return fail("'wait' must be true, false or a number of seconds, not '" +
                    std::to_string(*seconds) + "'");
      }
      job.wait_seconds = static_cast<int>(*seconds);
    } else {
      auto v = keys.boolean("wait");
      if (!v) return fail("'wait' must be true, false or a number of seconds, not '" +
                          keys.text("wait").value_or("?") + "'");
      if (*v) job.wait_seconds = kDefaultWaitSeconds;
    }
    if (job.wait_seconds && !job.oneOff()) {
      warnings.push_back("'wait' is ignored for job '" + job.name +
                         "': only one-off jobs can be waited for");
      job.wait_seconds.reset();
    }
  }
  if (b.contains("continuous") && b.contains("retry")) {
    // The user documentation: "the retry policy will be ignored for continuous jobs".
    warnings.push_back("The retry policy of job '" + job.name +
                       "' is ignored: continuous jobs are always restarted in case of failure");
    b.erase("retry");
  }
  for (const auto& [key, node] : keys.all()) {
    if (!knownKey(key)) {
      warnings.push_back("Unknown key '" + key + "' in job '" + job.name + "' definition");
    }
  }
  return job;
}

// Whether a YAML 1.1 reader (PyYAML, as upstream's tools use) would read this plain scalar as
// null or a boolean.
bool looksLikeNullOrBool(const std::string& s) {
  static const std::regex kNullOrBool(
      "|~|null|Null|NULL|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|"
      "off|Off|OFF");
  return std::regex_match(s, kNullOrBool);
}

// ... or as a number (integers in any base, floats, sexagesimal, infinities).
bool looksLikeNumber(const std::string& s) {
  static const std::regex kNumber(
      "[-+]?(0|[1-9][0-9_]*)|[-+]?0[0-7_]+|[-+]?0x[0-9a-fA-F_]+|[-+]?0b[01_]+|"
      "[-+]?([0-9][0-9_]*)?\\.[0-9_]*([eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*([eE][-+]?[0-9]+)|"
      "[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\\.[0-9_]*)?");
  return std::regex_match(s, kNumber);
}

std::string valueText(const json& v) {
  if (v.is_null()) return "(not set)";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("type")) {
    const std::string type = v.value("type", "");
    return type + " '" + v.value(type == "http" ? "path" : "script", "") + "'";
  }
  return v.dump();
}

}  // namespace

bool FileJob::oneOff() const {
  return !body.contains("schedule") && !body.contains("continuous");
}

// yaml-cpp 0.7 never returns (and allocates without bound) on a ',' that starts a line in block
// context. In a job file (a block list of mappings) such a line can only be valid inside a
// top-level flow list, so anything else is refused here, before the parser sees it.
std::optional<int> strayCommaLine(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  bool flow_document = first != std::string::npos && text[first] == '[';
  int line = 1;
  for (std::size_t pos = 0; pos < text.size(); ++line) {
    const auto end = std::min(text.find('\n', pos), text.size());
    if (text[pos] == '#') {
      // a comment line, also before a flow list
    } else if (text[pos] == ',' && !flow_document) {
      return line;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

Result<JobFile> parseJobFile(const std::string& text, const std::string& file_name) {
  const std::string unable = "Unable to parse yaml file '" + file_name + "'";
  if (const auto line = strayCommaLine(text)) {
    return invalidArgument(unable + ": line " + std::to_string(*line) +
                           ": unexpected ',' at the start of the line");
  }
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    return invalidArgument(unable + ": line " + std::to_string(e.mark.line + 1) + ", column " +
                           std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  std::erase_if(documents, [](const YAML::Node& d) { return d.IsNull(); });
  if (documents.size() > 1) {
    return invalidArgument(unable + ": line " + std::to_string(lineOf(documents[1])) +
                           ": a second YAML document starts here; a job file is one list of jobs");
  }
  JobFile out;
  if (documents.empty()) return out;
  const YAML::Node& root = documents.front();
  if (!root.IsSequence()) {
    return invalidArgument(unable + ": expected a list of jobs (each starting with '- '), found " +
                           kindOf(root));
  }
  std::map<std::string, int> numbers;  // name -> job number, for duplicates
  int number = 0;
  try {
    for (const auto& item : root) {
      ++number;
      auto job = readJob(item, number, out.warnings);
      if (!job) return tl::unexpected(job.error());
      if (const auto [it, inserted] = numbers.emplace(job->name, number); !inserted) {
        return invalidArgument("Unable to load job number " + std::to_string(number) + " ('" +
                               job->name + "'): the name is already used by job number " +
                               std::to_string(it->second));
      }
      out.jobs.push_back(std::move(*job));
    }
  } catch (const YAML::Exception& e) {
    return invalidArgument("Unable to load job number " + std::to_string(number) + ": line " +
                           std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return out;
}

nlohmann::ordered_json jobToFileEntry(const json& j) {
  std::map<std::string, json> entry;  // sorted keys
  entry["name"] = j.value("name", "");
  entry["command"] = j.value("cmd", "");
  entry["image"] = j.value("imagename", "");
  for (const auto& [key, field] : kTextKeys) {
    if (j.contains(field) && !j.at(field).is_null()) entry[std::string(key)] = j.at(field);
  }
  for (const auto& [key, field] : kIntegerKeys) {
    if (j.contains(field) && !j.at(field).is_null()) entry[std::string(key)] = j.at(field);
  }
  if (j.value("continuous", false) || j.value("job_type", "") == "continuous") {
    entry["continuous"] = true;
  }
  if (j.contains("filelog") && j.at("filelog").is_boolean()) {
    if (j.at("filelog").get<bool>()) {
      entry["filelog"] = true;
    } else {
      entry["no-filelog"] = true;
    }
  }
  if (j.contains("health_check") && j.at("health_check").is_object()) {
    const auto& hc = j.at("health_check");
    if (hc.value("type", "") == "http") {
      entry["health-check-http"] = hc.value("path", "");
    } else {
      entry["health-check-script"] = hc.value("script", "");
    }
  }
  const std::string protocol =
      j.contains("port_protocol") && j.at("port_protocol").is_string()
          ? j.at("port_protocol").get<std::string>()
          : "";
  if (j.contains("port") && j.at("port").is_number_integer()) {
    const auto port = j.at("port").get<long long>();
    if (protocol == "udp") {
      entry["port"] = std::to_string(port) + "/udp";  // as Toolforge files write it
    } else {
      entry["port"] = port;
      if (!protocol.empty()) entry["port-protocol"] = protocol;
    }
  } else if (!protocol.empty()) {
    entry["port-protocol"] = protocol;
  }
  nlohmann::ordered_json out;
  for (auto& [k, v] : entry) out[k] = v;
  return out;
}

std::string dumpJobs(const json& api_jobs) {
  if (!api_jobs.is_array() || api_jobs.empty()) return "[]\n";
  YAML::Emitter emitter;
  emitter.SetIndent(2);
  emitter << YAML::BeginSeq;
  for (const auto& job : api_jobs) {
    emitter << YAML::BeginMap;
    const nlohmann::ordered_json entry = jobToFileEntry(job);
    for (const auto& [key, value] : entry.items()) {
      emitter << YAML::Key << key << YAML::Value;
      if (value.is_boolean()) {
        emitter << value.get<bool>();
      } else if (value.is_number_integer()) {
        emitter << value.get<long long>();
      } else if (value.is_string()) {
        const std::string text = value.get<std::string>();
        // mem and cpu are quantities: `cpu: 0.5` is what people write, and load reads it back
        // as the text it is. Every other value is a string whatever it looks like.
        const bool quantity = key == "mem" || key == "cpu";
        if (looksLikeNullOrBool(text) || (!quantity && looksLikeNumber(text))) {
          emitter << YAML::DoubleQuoted;
        }
        emitter << text;
      } else {
        emitter << value.dump();
      }
    }
    emitter << YAML::EndMap;
  }
  emitter << YAML::EndSeq;
  return std::string(emitter.c_str()) + "\n";
}

std::string fileKeyOf(std::string_view api_field) {
  for (const auto& [key, field] : kTextKeys) {
    if (field == api_field) return std::string(key);
  }
  for (const auto& [key, field] : kIntegerKeys) {
    if (field == api_field) return std::string(key);
  }
  if (api_field == "port_protocol") return "port-protocol";
  if (api_field == "health_check") return "health-check-script";
  if (api_field == "job_type") return "job type";
  return std::string(api_field);
}

std::string inFileTerms(const std::string& message) {
  const auto colon = message.find(": ");
  if (colon == std::string::npos || colon == 0) return message;
  const std::string field = message.substr(0, colon);
  if (field.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string::npos) return message;
  return fileKeyOf(field) + message.substr(colon);
}

std::vector<std::string> describeDiff(const json& diff) {
  std::vector<std::string> lines;
  if (!diff.is_array()) return lines;
  for (const auto& change : diff) {
    const std::string field = change.value("field", "");
    const json before = change.value("old", json());
    const json after = change.value("new", json());
    std::string key = fileKeyOf(field);
    if (field == "health_check") key = "health check";
    lines.push_back(key + ": " + valueText(before) + " -> " + valueText(after));
  }
  return lines;
}

}  // namespace tjf::cli
