// The HTTP API against its own OpenAPI document: a real tjfd answers every documented operation
// (and the errors they document), and each response body is checked against the schema the
// document gives for its status, by a small checker for the subset of OpenAPI 3.0 the document
// uses. Also: every read command's --json prints the API's JSON.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "harness.hpp"

namespace tjf::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// ---- A checker for the OpenAPI 3.0 subset of src/api/openapi.cpp ------------------------------
// type, nullable, enum, properties, required, additionalProperties (false or a schema), items,
// minItems, minimum, maximum, oneOf, anyOf, allOf, $ref to #/..., format date-time. A keyword the
// checker does not know is a failure, so the document cannot silently outgrow it.
class SchemaChecker {
 public:
  explicit SchemaChecker(json doc) : doc_(std::move(doc)) {}

  const json& doc() const { return doc_; }

  // Follows "#/a/b/c".
  const json& follow(const std::string& ref) const {
    if (ref.rfind("#/", 0) != 0) throw std::runtime_error("unsupported $ref " + ref);
    return doc_.at(json::json_pointer(ref.substr(1)));
  }

  // The problems of `value` against `schema`, each naming where ("$.jobs[0].status.short").
  std::vector<std::string> check(const json& schema, const json& value,
                                 const std::string& where = "$") const {
    std::vector<std::string> problems;
    checkInto(schema, value, where, problems);
    return problems;
  }

  // Every $ref in the document resolves, and every schema keyword is one the checker knows.
  std::vector<std::string> selfCheck() const {
    std::vector<std::string> problems;
    walkRefs(doc_, "#", problems);
    for (const auto& [name, schema] : doc_.at("components").at("schemas").items()) {
      checkKeywords(schema, "#/components/schemas/" + name, problems);
    }
    return problems;
  }

 private:
  static const std::set<std::string>& knownKeywords() {
    static const std::set<std::string> kKnown = {
        "type", "nullable", "enum", "properties", "required", "additionalProperties", "items",
        "minItems", "minimum", "maximum", "oneOf", "anyOf", "allOf", "$ref", "format",
        "description", "default", "x-tjf-extension"};
    return kKnown;
  }

  void checkKeywords(const json& schema, const std::string& where,
                     std::vector<std::string>& problems) const {
    if (!schema.is_object()) return;
    for (const auto& [key, value] : schema.items()) {
      if (!knownKeywords().count(key)) problems.push_back(where + ": unknown keyword " + key);
    }
    if (schema.contains("properties")) {
      for (const auto& [name, sub] : schema.at("properties").items()) {
        checkKeywords(sub, where + "/properties/" + name, problems);
      }
    }
    for (const char* key : {"items", "additionalProperties"}) {
      if (schema.contains(key)) checkKeywords(schema.at(key), where + "/" + key, problems);
    }
    for (const char* key : {"oneOf", "anyOf", "allOf"}) {
      if (!schema.contains(key)) continue;
      for (std::size_t i = 0; i < schema.at(key).size(); ++i) {
        checkKeywords(schema.at(key)[i], where + "/" + key + "/" + std::to_string(i), problems);
      }
    }
  }

  void walkRefs(const json& node, const std::string& where, std::vector<std::string>& problems) const {
    if (node.is_object()) {
      for (const auto& [key, value] : node.items()) {
        if (key == "$ref") {
          try {
            follow(value.get<std::string>());
          } catch (const std::exception&) {
            problems.push_back(where + ": $ref " + value.dump() + " does not resolve");
          }
        } else {
          walkRefs(value, where + "/" + key, problems);
        }
      }
    } else if (node.is_array()) {
      for (std::size_t i = 0; i < node.size(); ++i) {
        walkRefs(node[i], where + "/" + std::to_string(i), problems);
      }
    }
  }

  static bool hasType(const json& value, const std::string& type) {
    if (type == "object") return value.is_object();
    if (type == "array") return value.is_array();
    if (type == "string") return value.is_string();
    if (type == "integer") return value.is_number_integer();
    if (type == "number") return value.is_number();
    if (type == "boolean") return value.is_boolean();
    return false;
  }

  void checkInto(const json& schema_in, const json& value, const std::string& where,
                 std::vector<std::string>& problems) const {
    const json& schema = schema_in.contains("$ref")
                             ? follow(schema_in.at("$ref").get<std::string>())
                             : schema_in;
    if (value.is_null()) {
      if (schema.value("nullable", false)) return;
      if (schema.contains("type")) {
        problems.push_back(where + ": null is not allowed");
        return;
      }
      // No type: oneOf/anyOf/allOf below decide; a schema with none of them accepts anything.
    }
    if (schema.contains("type") && !hasType(value, schema.at("type").get<std::string>())) {
      problems.push_back(where + ": " + value.dump() + " is not of type " +
                         schema.at("type").get<std::string>());
      return;
    }
    if (schema.contains("enum")) {
      const auto& values = schema.at("enum");
      if (std::find(values.begin(), values.end(), value) == values.end()) {
        problems.push_back(where + ": " + value.dump() + " is not one of " + values.dump());
      }
    }
    if (schema.contains("format") && schema.at("format") == "date-time" && value.is_string()) {
      static const std::regex kDateTime(
          R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))");
      if (!std::regex_match(value.get<std::string>(), kDateTime)) {
        problems.push_back(where + ": " + value.dump() + " is not a date-time");
      }
    }
    if (schema.contains("minimum") && value.is_number() && value < schema.at("minimum")) {
      problems.push_back(where + ": " + value.dump() + " is below " + schema.at("minimum").dump());
    }
    if (schema.contains("maximum") && value.is_number() && value > schema.at("maximum")) {
      problems.push_back(where + ": " + value.dump() + " is above " + schema.at("maximum").dump());
    }
    if (value.is_object()) {
      const json properties = schema.value("properties", json::object());
      for (const auto& key : schema.value("required", json::array())) {
        if (!value.contains(key.get<std::string>())) {
          problems.push_back(where + ": required property " + key.dump() + " is missing");
        }
      }
      for (const auto& [key, sub] : value.items()) {
        if (properties.contains(key)) {
          checkInto(properties.at(key), sub, where + "." + key, problems);
        } else if (schema.contains("additionalProperties")) {
          const json& extra = schema.at("additionalProperties");
          if (extra == false) {
            problems.push_back(where + ": property '" + key + "' is not in the document");
          } else if (extra.is_object()) {
            checkInto(extra, sub, where + "." + key, problems);
          }
        }
      }
    }
    if (value.is_array()) {
      if (schema.contains("minItems") && value.size() < schema.at("minItems").get<std::size_t>()) {
        problems.push_back(where + ": fewer than " + schema.at("minItems").dump() + " items");
      }
      if (schema.contains("items")) {
        for (std::size_t i = 0; i < value.size(); ++i) {
          checkInto(schema.at("items"), value[i], where + "[" + std::to_string(i) + "]", problems);
        }
      }
    }
    if (schema.contains("allOf")) {
      for (const auto& sub : schema.at("allOf")) checkInto(sub, value, where, problems);
    }
    if (schema.contains("anyOf") || schema.contains("oneOf")) {
      const bool one = schema.contains("oneOf");
      const json& subs = schema.at(one ? "oneOf" : "anyOf");
      int matches = 0;
      std::vector<std::string> all;
      for (const auto& sub : subs) {
        auto p = check(sub, value, where);
        if (p.empty()) ++matches;
        all.insert(all.end(), p.begin(), p.end());
      }
      if (matches == 0 || (one && matches > 1)) {
        problems.push_back(where + ": " + std::to_string(matches) + " of the " +
                           (one ? "oneOf" : "anyOf") + " schemas match (" +
                           (all.empty() ? std::string("") : all.front()) + ")");
      }
    }
  }

  json doc_;
};

// The operation a request reaches: its path template and method, found by matching segments
// ({x} matches any one segment); trailing slashes and the query do not count.
struct Operation {
  std::string path_template;
  std::string method;
  json op;
};

std::vector<std::string> segmentsOf(std::string path) {
  path = path.substr(0, path.find('?'));
  std::vector<std::string> out;
  std::stringstream s(path);
  for (std::string part; std::getline(s, part, '/');) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

std::optional<Operation> findOperation(const json& doc, const std::string& method,
                                       const std::string& path) {
  const auto segments = segmentsOf(path);
  std::string lower = method;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  for (const auto& [tmpl, item] : doc.at("paths").items()) {
    const auto parts = segmentsOf(tmpl);
    if (parts.size() != segments.size()) continue;
    bool match = true;
    for (std::size_t i = 0; i < parts.size() && match; ++i) {
      match = parts[i].front() == '{' || parts[i] == segments[i];
    }
    if (match && item.contains(lower)) return Operation{tmpl, lower, item.at(lower)};
  }
  return std::nullopt;
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<TestDaemon>();
    const auto [status, body] = daemon_->http("GET", "/openapi.json");
    ASSERT_EQ(status, 200) << body;
    checker_ = std::make_unique<SchemaChecker>(json::parse(body));
  }

  std::string tool(const std::string& rest = "") { return "/v1/tool/" + daemon_->tool() + rest; }

  // Sends a request, checks the response against the document, and returns status and body.
  std::pair<long, std::string> call(const std::string& method, const std::string& path,
                                    const json& body = nullptr) {
    auto [status, text] = daemon_->http(method, path, body.is_null() ? "" : body.dump());
    const auto op = findOperation(checker_->doc(), method, path);
    EXPECT_TRUE(op) << method << " " << path << " is not in the document";
    if (!op) return {status, text};
    exercised_.insert(op->method + " " + op->path_template);
    const json& responses = op->op.at("responses");
    const std::string code = std::to_string(status);
    EXPECT_TRUE(responses.contains(code) || responses.contains("default"))
        << method << " " << path << ": status " << status << " is not documented: " << text;
    json response = responses.contains(code) ? responses.at(code) : responses.at("default");
    if (response.contains("$ref")) response = checker_->follow(response.at("$ref"));
    const json& content = response.at("content");
    if (content.contains("application/json")) {
      json parsed;
      try {
        parsed = json::parse(text);
      } catch (const json::exception& e) {
        ADD_FAILURE() << method << " " << path << ": not JSON: " << text;
        return {status, text};
      }
      const auto problems = checker_->check(content.at("application/json").at("schema"), parsed);
      EXPECT_THAT(problems, IsEmpty()) << method << " " << path << " -> " << status << ": " << text;
    } else {
      // text/plain JSON lines (logs): each line is one documented object.
      const json& line_schema = content.at("text/plain").at("x-tjf-json-lines");
      std::stringstream s(text);
      for (std::string line; std::getline(s, line);) {
        EXPECT_THAT(checker_->check(line_schema, json::parse(line)), IsEmpty()) << line;
      }
    }
    return {status, text};
  }

  std::unique_ptr<TestDaemon> daemon_;
  std::unique_ptr<SchemaChecker> checker_;
  std::set<std::string> exercised_;
};

TEST_F(ApiTest, TheDocumentIsWellFormed) {
  const json& doc = checker_->doc();
  EXPECT_EQ(doc.at("openapi").get<std::string>().substr(0, 2), "3.");
  EXPECT_THAT(checker_->selfCheck(), IsEmpty());
  std::set<std::string> ids;
  for (const auto& [path, item] : doc.at("paths").items()) {
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters") continue;
      EXPECT_TRUE(ids.insert(op.at("operationId").get<std::string>()).second)
          << "duplicate operationId " << op.at("operationId");
    }
  }
}

TEST_F(ApiTest, TheCheckerRejectsWhatTheDocumentDoesNotSay) {
  // The checker must be able to fail, or the test below proves nothing.
  const json job_schema = {{"$ref", "#/components/schemas/JobResponse"}};
  const json good = json::parse(R"({"job": {"name": "a", "cmd": "x", "imagename": "bookworm",
      "image": "bookworm", "job_type": "one-off", "status": {"short": "running",
      "duration": "1s", "up_to_date": true, "messages": []}}, "messages": {}})");
  EXPECT_THAT(checker_->check(job_schema, good), IsEmpty());
  json extra = good;
  extra["job"]["surprise"] = 1;
  EXPECT_THAT(checker_->check(job_schema, extra), ::testing::Contains(HasSubstr("surprise")));
  json bad_enum = good;
  bad_enum["job"]["status"]["short"] = "sleeping";
  EXPECT_THAT(checker_->check(job_schema, bad_enum), ::testing::Contains(HasSubstr("sleeping")));
  json missing = good;
  missing["job"].erase("cmd");
  EXPECT_THAT(checker_->check(job_schema, missing), ::testing::Contains(HasSubstr("\"cmd\"")));
  json wrong_type = good;
  wrong_type["job"]["port"] = "80";
  EXPECT_FALSE(checker_->check(job_schema, wrong_type).empty());
  json health = good;
  health["job"]["health_check"] = {{"type", "http"}, {"script", "x"}};
  EXPECT_FALSE(checker_->check(job_schema, health).empty());
  health["job"]["health_check"] = {{"type", "http"}, {"path", "/h"}};
  EXPECT_THAT(checker_->check(job_schema, health), IsEmpty());
}

TEST_F(ApiTest, EveryOperationAnswersAsDocumented) {
  daemon_->writeHomeFile("serve.sh", "#!/bin/sh\necho started; exec sleep 600\n", true);
  call("GET", "/openapi.json");
  call("GET", "/v1/healthz");
  call("GET", "/v1/whoami");
  call("GET", tool("/jobs"));
  call("GET", tool("/jobs/"));  // trailing slash

  // Create: one of each type, and the documented errors.
  EXPECT_EQ(call("POST", tool("/jobs"), {{"name", "once"}, {"cmd", "echo hello; echo err >&2"},
                                          {"imagename", "bookworm"}, {"filelog", false},
                                          {"memory", "100Mi"}}).first, 201);
  EXPECT_EQ(call("PUT", tool("/jobs"), {{"name", "cron"}, {"cmd", "./cron.sh"},
                                         {"imagename", "python3.11"}, {"schedule", "@daily"},
                                         {"time_zone", "Europe/Berlin"}, {"retry", 2},
                                         {"timeout", 60}}).first, 201);
  EXPECT_EQ(call("POST", tool("/jobs"), {{"name", "web"}, {"cmd", "./serve.sh"},
                                          {"imagename", "bookworm"}, {"continuous", true},
                                          {"port", 18431}, {"replicas", 2},
                                          {"health_check", {{"type", "script"}, {"script", "true"}}},
                                          {"filelog", false}}).first, 201);
  EXPECT_EQ(call("POST", tool("/jobs"), {{"name", "web"}, {"cmd", "x"}, {"imagename", "bookworm"},
                                          {"continuous", true}}).first, 409);
  EXPECT_EQ(call("POST", tool("/jobs"), {{"name", "x"}, {"cmd", "x"}, {"imagename", "nope"}}).first,
            400);
  EXPECT_EQ(call("POST", tool("/jobs"), {{"name", "x"}, {"cmd", "x"}, {"imagename", "bookworm"},
                                          {"bogus", 1}}).first, 422);
  {
    const auto [status, body] = daemon_->http("POST", tool("/jobs"), "{not json");
    EXPECT_EQ(status, 422);
    EXPECT_THAT(checker_->check({{"$ref", "#/components/schemas/Error"}}, json::parse(body)),
                IsEmpty());
  }

  // Apply: unchanged, update, replace, and dry runs.
  const json cron = {{"name", "cron"}, {"cmd", "./cron.sh"}, {"imagename", "python3.11"},
                     {"schedule", "@daily"}, {"time_zone", "Europe/Berlin"}, {"retry", 2},
                     {"timeout", 60}};
  auto [status, text] = call("PATCH", tool("/jobs"), cron);
  EXPECT_EQ(json::parse(text).at("action"), "unchanged");
  json cron2 = cron;
  cron2["schedule"] = "0 4 * * *";
  std::tie(status, text) = call("PATCH", tool("/jobs?dry_run=true"), cron2);
  EXPECT_EQ(json::parse(text).at("action"), "update");
  EXPECT_EQ(json::parse(text).at("diff"),
            json::parse(R"([{"field":"schedule","old":"@daily","new":"0 4 * * *"}])"));
  std::tie(status, text) = call("PATCH", tool("/jobs"), cron2);
  EXPECT_EQ(json::parse(text).at("job_changed"), true);
  std::tie(status, text) = call("PATCH", tool("/jobs?dry_run=true"),
                                {{"name", "fresh"}, {"cmd", "true"}, {"imagename", "bookworm"}});
  EXPECT_EQ(json::parse(text).at("action"), "create");
  std::tie(status, text) = call("PATCH", tool("/jobs"),
                                {{"name", "once"}, {"cmd", "echo other"}, {"imagename", "bookworm"}});
  EXPECT_EQ(json::parse(text).at("action"), "replace");
  // A dry run of a list (a job file): planned in order, up to the first refused definition.
  std::tie(status, text) = call("PATCH", tool("/jobs?dry_run=true"),
                                json::array({cron2, {{"name", "p2"}, {"cmd", "x"}, {"imagename", "bookworm"},
                                                     {"continuous", true}, {"port", 18431}}}));
  EXPECT_EQ(json::parse(text).at("jobs").size(), 1u);
  EXPECT_EQ(json::parse(text).at("refused").at("index"), 1);
  EXPECT_THAT(json::parse(text).at("refused").at("error").at(0).get<std::string>(),
              HasSubstr("already used by job 'web'"));
  std::tie(status, text) = call("PATCH", tool("/jobs?dry_run=true"), json::array({cron2}));
  EXPECT_TRUE(json::parse(text).at("refused").is_null());
  EXPECT_EQ(call("PATCH", tool("/jobs"), json::array({cron2})).first, 422);
  EXPECT_EQ(call("PATCH", tool("/jobs"), {{"name", "x"}, {"cmd", "x"}, {"imagename", "nope"}}).first,
            400);
  EXPECT_EQ(call("PATCH", tool("/jobs"), {{"name", "x"}, {"cmd", "x"}, {"imagename", "bookworm"},
                                           {"retry", 7}}).first, 422);

  // Read, in both forms, while the jobs run.
  ASSERT_TRUE(eventually([&] {
    const auto job = daemon_->showJson("once");
    return !job.is_null() && job.at("status_short") == "Completed";
  }));
  ASSERT_TRUE(eventually([&] {
    const auto job = daemon_->showJson("web");
    return !job.is_null() && job.at("status_short") == "Running";
  }));
  EXPECT_EQ(call("POST", tool("/jobs/cron/restart")).first, 200);  // runs it now
  call("GET", tool("/jobs"));
  call("GET", tool("/jobs?include_unset=false"));
  for (const char* name : {"once", "cron", "web"}) {
    EXPECT_EQ(call("GET", tool("/jobs/") + name).first, 200);
    EXPECT_EQ(call("GET", tool("/jobs/") + name + "?include_unset=false").first, 200);
    EXPECT_EQ(call("GET", tool("/jobs/") + name + "/runs").first, 200);
  }
  EXPECT_EQ(call("GET", tool("/jobs/nope")).first, 404);
  EXPECT_EQ(call("GET", tool("/jobs/once/runs?limit=x")).first, 400);

  // Logs: captured lines, the limits, a job without logs.
  EXPECT_EQ(call("GET", tool("/jobs/once/logs")).first, 200);
  EXPECT_EQ(call("GET", tool("/jobs/once/logs?lines=1")).first, 200);
  EXPECT_EQ(call("GET", tool("/jobs/once/logs?lines=x")).first, 400);
  EXPECT_EQ(call("GET", tool("/jobs/once/logs?lines=6000")).first, 400);
  EXPECT_EQ(call("GET", tool("/jobs/nologs/logs")).first, 404);

  EXPECT_EQ(call("POST", tool("/jobs/web/restart")).first, 200);
  EXPECT_EQ(call("POST", tool("/jobs/once/restart")).first, 400);
  EXPECT_EQ(call("POST", tool("/jobs/nope/restart")).first, 404);
  EXPECT_EQ(call("GET", tool("/images")).first, 200);
  EXPECT_EQ(call("GET", tool("/quotas")).first, 200);
  EXPECT_EQ(call("GET", "/v1/tool/someone-else/jobs").first, 403);

  // envvars (docs/platform-mode.md): create, list with and without values, show, delete, errors.
  EXPECT_EQ(call("POST", tool("/envvars"), {{"name", "API_TOKEN"}, {"value", "s3cret"}}).first, 200);
  EXPECT_EQ(call("POST", tool("/envvars"), {{"name", "bad name"}, {"value", "x"}}).first, 400);
  EXPECT_EQ(call("POST", tool("/envvars"), {{"name", "X"}, {"value", 5}}).first, 422);
  EXPECT_EQ(call("GET", tool("/envvars")).first, 200);
  EXPECT_EQ(call("GET", tool("/envvars?show_values=true")).first, 200);
  EXPECT_EQ(call("GET", tool("/envvars/API_TOKEN")).first, 200);
  EXPECT_EQ(call("GET", tool("/envvars/NOPE")).first, 404);
  EXPECT_EQ(call("DELETE", tool("/envvars/API_TOKEN")).first, 200);
  EXPECT_EQ(call("DELETE", tool("/envvars/API_TOKEN")).first, 404);

  EXPECT_EQ(call("DELETE", tool("/jobs/once")).first, 200);
  EXPECT_EQ(call("DELETE", tool("/jobs/once")).first, 404);
  EXPECT_EQ(call("DELETE", tool("/jobs")).first, 200);

  // Every documented operation was exercised, so the whole document was checked.
  for (const auto& [path, item] : checker_->doc().at("paths").items()) {
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters") continue;
      EXPECT_TRUE(exercised_.count(method + " " + path)) << method << " " << path
                                                         << " was not exercised";
    }
  }
}

TEST_F(ApiTest, ErrorsHaveOneShapeEverywhere) {
  const json error = {{"$ref", "#/components/schemas/Error"}};
  for (const auto& [method, path, body] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"GET", "/nowhere", ""},
           {"PATCH", tool("/images"), ""},
           {"POST", tool("/jobs"), "[]"},
           {"POST", tool("/jobs"), ""},
           {"PATCH", tool("/jobs"), "{\"name\": 5}"},
           {"GET", tool("/jobs/Bad_Name/logs"), ""},
       }) {
    const auto [status, text] = daemon_->http(method, path, body);
    EXPECT_GE(status, 400) << method << " " << path;
    EXPECT_THAT(checker_->check(error, json::parse(text)), IsEmpty()) << text;
  }
}

// ---- --json: every read command prints the API's JSON ------------------------------------------

TEST_F(ApiTest, ReadCommandsPrintTheApiJson) {
  ASSERT_EQ(daemon_->jobs({"run", "done", "--command", "echo out; echo err >&2", "--image",
                           "bookworm", "--no-filelog", "--mem", "100Mi", "--wait"}).exit_code, 0);
  ASSERT_EQ(daemon_->jobs({"run", "yearly", "--command", "true", "--image", "bookworm",
                           "--schedule", "0 0 1 1 *"}).exit_code, 0);
  auto api = [&](const std::string& path) {
    const auto [status, body] = daemon_->http("GET", tool(path));
    EXPECT_EQ(status, 200) << body;
    return json::parse(body);
  };
  auto cli = [&](const std::vector<std::string>& args) {
    const auto r = daemon_->jobs(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  };
  EXPECT_EQ(cli({"list", "--json"}), api("/jobs").at("jobs"));
  EXPECT_EQ(cli({"show", "done", "--json"}), api("/jobs/done").at("job"));
  EXPECT_EQ(cli({"show", "yearly", "--json"}), api("/jobs/yearly").at("job"));
  EXPECT_EQ(cli({"images", "--json"}), api("/images").at("images"));
  EXPECT_EQ(cli({"quota", "--json"}), api("/quotas").at("quota"));
  // logs --json: the API's JSON lines, one object per line.
  const auto r = daemon_->jobs({"logs", "done", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto [status, body] = daemon_->http("GET", tool("/jobs/done/logs"));
  ASSERT_EQ(status, 200);
  std::vector<json> from_cli, from_api;
  std::stringstream a(r.out), b(body);
  for (std::string line; std::getline(a, line);) from_cli.push_back(json::parse(line));
  for (std::string line; std::getline(b, line);) from_api.push_back(json::parse(line));
  EXPECT_EQ(from_cli, from_api);
  ASSERT_EQ(from_cli.size(), 2u);
  std::set<std::string> messages;
  for (const auto& line : from_cli) messages.insert(line.at("message").get<std::string>());
  EXPECT_EQ(messages, (std::set<std::string>{"out", "err"}));
  // And the documented shapes hold for what the CLI printed.
  EXPECT_THAT(checker_->check({{"$ref", "#/components/schemas/DefinedJob"}},
                              cli({"show", "yearly", "--json"})),
              IsEmpty());
}

}  // namespace
}  // namespace tjf::testing
