#include "api/api.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "api/http_status.hpp"
#include "api/job_json.hpp"
#include "api/openapi.hpp"
#include "base/strings.hpp"
#include "base/time_format.hpp"
#include "model/names.hpp"
#include "service/logs.hpp"

namespace tjf::api {
namespace {

namespace asio = boost::asio;
using nlohmann::ordered_json;

constexpr int kMaxLogLines = 5000;

Response jsonResponse(int status, const ordered_json& body) {
  Response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

ordered_json emptyMessages() {
  return ordered_json{{"info", ordered_json::array()}, {"warning", ordered_json::array()},
                      {"error", ordered_json::array()}};
}

std::vector<std::string> pathSegments(const std::string& path) {
  std::vector<std::string> out;
  for (auto& part : split(path, '/')) {
    if (!part.empty()) out.push_back(std::move(part));
  }
  return out;
}

bool includeUnset(const Request& r) {
  const auto it = r.query.find("include_unset");
  return it == r.query.end() || (it->second != "false" && it->second != "0");
}

ordered_json logLineJson(const service::LogLine& line) {
  ordered_json j;
  j["pod"] = line.source;
  j["container"] = line.stream == 'e' ? "stderr" : "stdout";
  j["datetime"] = line.time ? ordered_json(formatIsoUtcMicros(*line.time)) : ordered_json(nullptr);
  j["message"] = line.message;
  return j;
}

Response methodNotAllowed(const Request& r) {
  return errorResponse(405, "Method " + r.method + " is not allowed on " + r.path);
}

}  // namespace

Api::Api(asio::io_context& io, service::JobService& jobs, const Clock& clock, ApiOptions options)
    : io_(io), jobs_(jobs), clock_(clock), options_(std::move(options)) {}

asio::awaitable<Response> Api::handle(Request request, Identity identity) {
  const auto segments = pathSegments(request.path);
  if (segments == std::vector<std::string>{"v1", "healthz"} ||
      segments == std::vector<std::string>{"healthz"}) {
    co_return jsonResponse(
        200, ordered_json{{"health", {{"status", "OK"}, {"message", "OK"}}},
                          {"messages", ordered_json::object()}});
  }
  if (segments == std::vector<std::string>{"openapi.json"}) {
    if (request.method != "GET") co_return methodNotAllowed(request);
    co_return jsonResponse(200, openApiDocument(options_.version));  // unauthenticated, as upstream
  }
  if (segments == std::vector<std::string>{"v1", "whoami"}) {
    // Extension: lets the CLI learn its tool (and home, to show log paths relative to it).
    if (identity.tool.empty()) co_return errorResponse(403, "This request needs an authenticated tool");
    auto tool = jobs_.options().tools->find(identity.tool);
    if (!tool) co_return errorResponse(tool.error());
    co_return jsonResponse(200, ordered_json{{"tool", tool->name},
                                             {"home", tool->home.string()},
                                             {"messages", ordered_json::object()}});
  }
  if (segments.size() >= 3 && segments[0] == "v1" && segments[1] == "tool") {
    const std::string& tool = segments[2];
    if (identity.tool.empty()) {
      co_return errorResponse(403, "This request needs an authenticated tool");
    }
    if (tool != identity.tool) {
      co_return errorResponse(403, "Tool '" + identity.tool + "' may not access the jobs of tool '" +
                                       tool + "'");
    }
    co_return co_await handleTool(request, tool,
                                  std::vector<std::string>(segments.begin() + 3, segments.end()));
  }
  co_return errorResponse(404, "No such endpoint: " + request.method + " " + request.path);
}

asio::awaitable<Response> Api::handleTool(const Request& r, const std::string& tool,
                                          const std::vector<std::string>& rest) {
  if (rest.size() == 1 && rest[0] == "jobs") {
    if (r.method == "GET") co_return co_await listJobs(r, tool);
    if (r.method == "POST" || r.method == "PUT") co_return co_await createJob(r, tool);
    if (r.method == "PATCH") co_return co_await applyJob(r, tool);
    if (r.method == "DELETE") co_return co_await flush(tool);
    co_return methodNotAllowed(r);
  }
  if (rest.size() >= 2 && rest[0] == "jobs") {
    const std::string& name = rest[1];
    if (rest.size() == 2) {
      if (r.method == "GET") co_return co_await showJob(r, tool, name);
      if (r.method == "DELETE") co_return co_await deleteJob(tool, name);
      co_return methodNotAllowed(r);
    }
    if (rest.size() == 3 && rest[2] == "restart") {
      if (r.method == "POST") co_return co_await restartJob(tool, name);
      co_return methodNotAllowed(r);
    }
    if (rest.size() == 3 && rest[2] == "logs") {
      if (r.method == "GET") co_return co_await logs(r, tool, name);
      co_return methodNotAllowed(r);
    }
    if (rest.size() == 3 && rest[2] == "runs") {
      if (r.method == "GET") co_return co_await runs(r, tool, name);
      co_return methodNotAllowed(r);
    }
  }
  if (rest.size() == 1 && rest[0] == "images") {
    if (r.method == "GET") co_return images();
    co_return methodNotAllowed(r);
  }
  if (rest.size() == 1 && rest[0] == "quotas") {
    if (r.method == "GET") co_return quotas(tool);
    co_return methodNotAllowed(r);
  }
  co_return errorResponse(404, "No such endpoint: " + r.method + " " + r.path);
}

asio::awaitable<Response> Api::listJobs(const Request& r, const std::string& tool) {
  auto jobs = jobs_.listJobs(tool);
  if (!jobs) co_return errorResponse(jobs.error());
  ordered_json list = ordered_json::array();
  for (const auto& view : *jobs) list.push_back(jobToJson(view, includeUnset(r)));
  co_return jsonResponse(200, ordered_json{{"jobs", list}, {"messages", emptyMessages()}});
}

asio::awaitable<Response> Api::createJob(const Request& r, const std::string& tool) {
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(r.body);
  } catch (const nlohmann::json::exception& e) {
    co_return errorResponse(422, std::string("The request body is not valid JSON: ") + e.what());
  }
  service::Messages messages;
  auto spec = model::jobSpecFromJson(body, &messages.warning);
  if (!spec) co_return errorResponse(spec.error());
  auto created = jobs_.createJob(tool, std::move(*spec), &messages);
  if (!created) co_return errorResponse(created.error());
  co_return jsonResponse(201, ordered_json{{"job", jobToJson(*created, true)},
                                           {"messages", messagesToJson(messages)}});
}

asio::awaitable<Response> Api::applyJob(const Request& r, const std::string& tool) {
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(r.body);
  } catch (const nlohmann::json::exception& e) {
    co_return errorResponse(422, std::string("The request body is not valid JSON: ") + e.what());
  }
  // Extension: ?dry_run=true validates and compares without writing; `action` and `diff` say
  // what the definition changes. With a list of definitions (a job file), the dry run checks
  // them in order as if each before had been applied (docs/api.md).
  const auto dry = r.query.find("dry_run");
  const bool dry_run = dry != r.query.end() && dry->second != "false" && dry->second != "0";
  auto diffJson = [](const std::vector<service::FieldChange>& changes) {
    ordered_json diff = ordered_json::array();
    for (const auto& change : changes) {
      diff.push_back(ordered_json{{"field", change.field},
                                  {"old", ordered_json(change.old_value)},
                                  {"new", ordered_json(change.new_value)}});
    }
    return diff;
  };
  if (body.is_array()) {
    if (!dry_run) {
      co_return errorResponse(422, "A list of jobs can only be checked (dry_run=true); apply "
                                   "them one by one");
    }
    std::vector<model::JobSpec> specs;
    std::vector<std::vector<std::string>> warnings(body.size());
    std::optional<service::Plan::Refusal> refused;
    for (std::size_t i = 0; i < body.size() && !refused; ++i) {
      auto spec = model::jobSpecFromJson(body[i], &warnings[i]);
      if (!spec) {
        refused = service::Plan::Refusal{i, spec.error()};
      } else {
        specs.push_back(std::move(*spec));
      }
    }
    auto plan = jobs_.planJobs(tool, specs);
    if (!plan) co_return errorResponse(plan.error());
    if (plan->refused) refused = plan->refused;  // before any schema refusal: specs stop there
    ordered_json jobs = ordered_json::array();
    for (std::size_t i = 0; i < plan->results.size(); ++i) {
      auto& result = plan->results[i];
      for (auto& w : warnings[i]) result.messages.warning.push_back(std::move(w));
      jobs.push_back(ordered_json{{"name", specs[i].name},
                                  {"action", service::toString(result.action)},
                                  {"diff", diffJson(result.diff)},
                                  {"messages", messagesToJson(result.messages)}});
    }
    ordered_json refusal = nullptr;
    if (refused) {
      const auto& item = body[refused->index];
      refusal = ordered_json{
          {"index", refused->index},
          {"name", item.is_object() && item.contains("name") && item.at("name").is_string()
                       ? ordered_json(item.at("name").get<std::string>())
                       : ordered_json(nullptr)},
          {"status", httpStatus(refused->error.code)},
          {"error", ordered_json::array({refused->error.message})}};
    }
    co_return jsonResponse(200, ordered_json{{"messages", emptyMessages()},
                                             {"dry_run", true},
                                             {"jobs", jobs},
                                             {"refused", refusal}});
  }
  std::vector<std::string> warnings;
  auto spec = model::jobSpecFromJson(body, &warnings);
  if (!spec) co_return errorResponse(spec.error());
  auto applied = jobs_.applyJob(tool, std::move(*spec), {.dry_run = dry_run});
  if (!applied) co_return errorResponse(applied.error());
  for (auto& w : warnings) applied->messages.warning.push_back(std::move(w));
  co_return jsonResponse(200, ordered_json{{"messages", messagesToJson(applied->messages)},
                                           {"job_changed", applied->changed},
                                           {"action", service::toString(applied->action)},
                                           {"dry_run", dry_run},
                                           {"diff", diffJson(applied->diff)}});
}

asio::awaitable<Response> Api::flush(const std::string& tool) {
  auto ids = jobs_.flush(tool);
  if (!ids) co_return errorResponse(ids.error());
  co_await waitUntilStopped(*ids);
  co_return jsonResponse(200, ordered_json{{"messages", emptyMessages()}});
}

asio::awaitable<Response> Api::showJob(const Request& r, const std::string& tool,
                                       const std::string& name) {
  auto view = jobs_.getJob(tool, name);
  if (!view) co_return errorResponse(view.error());
  co_return jsonResponse(200, ordered_json{{"job", jobToJson(*view, includeUnset(r))},
                                           {"messages", emptyMessages()}});
}

asio::awaitable<Response> Api::deleteJob(const std::string& tool, const std::string& name) {
  auto id = jobs_.deleteJob(tool, name);
  if (!id) co_return errorResponse(id.error());
  std::vector<std::int64_t> ids{*id};
  co_await waitUntilStopped(std::move(ids));
  co_return jsonResponse(200, ordered_json{{"messages", emptyMessages()}});
}

asio::awaitable<Response> Api::restartJob(const std::string& tool, const std::string& name) {
  if (auto ok = jobs_.restartJob(tool, name); !ok) co_return errorResponse(ok.error());
  co_return jsonResponse(200, ordered_json{{"messages", emptyMessages()}});
}

asio::awaitable<void> Api::waitUntilStopped(std::vector<std::int64_t> job_ids) {
  asio::steady_timer timer(io_);
  const auto give_up = std::chrono::steady_clock::now() + options_.delete_wait;
  auto delay = std::chrono::milliseconds(2);
  while (std::chrono::steady_clock::now() < give_up) {
    auto active = jobs_.anyActive(job_ids);
    if (!active || !*active) co_return;
    timer.expires_after(delay);
    co_await timer.async_wait(asio::use_awaitable);
    delay = std::min(delay * 2, std::chrono::milliseconds(50));
  }
}

asio::awaitable<Response> Api::runs(const Request& r, const std::string& tool,
                                    const std::string& name) {
  int limit = 100;
  if (auto it = r.query.find("limit"); it != r.query.end()) {
    try {
      limit = std::clamp(std::stoi(it->second), 1, 10000);
    } catch (const std::exception&) {
      co_return errorResponse(400, "Unable to parse limit as integer");
    }
  }
  auto runs = jobs_.runs(tool, name, limit);
  if (!runs) co_return errorResponse(runs.error());
  ordered_json list = ordered_json::array();
  for (const auto& run : *runs) list.push_back(runToJson(run));
  co_return jsonResponse(200, ordered_json{{"runs", list}, {"messages", emptyMessages()}});
}

asio::awaitable<Response> Api::logs(const Request& r, const std::string& tool,
                                    const std::string& name) {
  if (auto ok = model::validateJobName(name); !ok) co_return errorResponse(ok.error());
  std::size_t lines = 500;
  if (auto it = r.query.find("lines"); it != r.query.end() && !it->second.empty()) {
    long long n = 0;
    try {
      std::size_t used = 0;
      n = std::stoll(it->second, &used);
      if (used != it->second.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      co_return errorResponse(400, "Unable to parse lines as integer");
    }
    if (n > kMaxLogLines) {
      co_return errorResponse(400, "Requested number of " + std::to_string(n) +
                                       " lines is over limit of " + std::to_string(kMaxLogLines));
    }
    lines = static_cast<std::size_t>(std::max(0LL, n));
  }
  const bool follow = r.query.count("follow") && r.query.at("follow") != "false" &&
                      r.query.at("follow") != "0";

  auto view = jobs_.getJob(tool, name);
  std::vector<service::LogLine> found;
  std::vector<std::string> files;
  if (view && view->resolved && view->resolved->filelog) {
    files.push_back(view->resolved->stdout_path.string());
    if (view->resolved->stderr_path != view->resolved->stdout_path) {
      files.push_back(view->resolved->stderr_path.string());
    }
    found = service::newestFileLines(files, lines);
  } else {
    auto runs = jobs_.runs(tool, name, 1000);
    if (!runs) co_return errorResponse(runs.error());
    std::reverse(runs->begin(), runs->end());
    found = service::newestCapturedLines(options_.layout, *runs, lines);
  }
  if (found.empty() && !follow) {
    co_return errorResponse(404, "Job '" + name + "' does not have any logs available");
  }
  Response response;
  response.content_type = "text/plain; charset=utf8";
  response.headers["X-Accel-Buffering"] = "no";
  for (const auto& line : found) response.body += logLineJson(line).dump() + "\n";
  if (!follow) co_return response;

  // Follow: poll the run outputs (or the log files) for appended lines, and pick up new runs.
  struct FollowState {
    std::map<std::string, std::uint64_t> offsets;  // path -> bytes already sent
    std::map<std::string, std::string> sources;    // path -> run id or file name
  };
  auto state = std::make_shared<FollowState>();
  auto sizeOf = [](const std::string& path) -> std::uint64_t {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    return ec ? 0 : size;
  };
  for (const auto& file : files) {
    state->offsets[file] = sizeOf(file);
    state->sources[file] = file;
  }
  const bool file_mode = !files.empty();
  auto discover = [this, state, tool, name, file_mode, sizeOf](bool from_start) {
    if (file_mode) return;
    auto runs = jobs_.runs(tool, name, 50);
    if (!runs) return;
    for (const auto& run : *runs) {
      const auto path = model::StateLayout::output(options_.layout.runDir(run.id)).string();
      if (state->offsets.count(path)) continue;
      state->offsets[path] = from_start ? 0 : sizeOf(path);
      state->sources[path] = std::to_string(run.id);
    }
  };
  discover(false);
  response.stream = [this, state, discover, file_mode]() -> asio::awaitable<std::optional<std::string>> {
    asio::steady_timer timer(io_);
    while (true) {
      discover(true);
      std::string chunk;
      for (auto& [path, offset] : state->offsets) {
        for (auto& raw : service::readNewLines(path, &offset)) {
          if (file_mode) {
            chunk += logLineJson(service::LogLine{std::nullopt, state->sources[path], 'o', raw})
                         .dump() + "\n";
          } else if (auto line = service::parseCapturedLine(raw, state->sources[path])) {
            chunk += logLineJson(*line).dump() + "\n";
          }
        }
      }
      if (!chunk.empty()) co_return chunk;
      timer.expires_after(options_.follow_poll);
      co_await timer.async_wait(asio::use_awaitable);
    }
  };
  co_return response;
}

// GET /quotas: upstream's three categories with live usage (service/quota.hpp).
Response Api::quotas(const std::string& tool) {
  auto* quotas = jobs_.options().quotas;
  if (!quotas) return errorResponse(500, "Unable to load quota information for this tool");
  auto report = quotas->report(tool);
  if (!report) return errorResponse(report.error());
  return jsonResponse(200, ordered_json{{"quota", *report}, {"messages", ordered_json::object()}});
}

Response Api::images() {
  ordered_json list = ordered_json::array();
  bool any_host = false;
  for (const auto* image : jobs_.options().images->stable()) {
    list.push_back(ordered_json{{"shortname", image->shortname}, {"image", image->url},
                                {"runs_on", model::toString(image->runner)}});
    any_host = any_host || image->runner == model::ImageRunner::kHost;
  }
  ordered_json messages = ordered_json::object();
  if (any_host) {
    messages["info"] = {
        "Images marked to run on the host use this machine's own programs and libraries, not a "
        "container image"};
  }
  return jsonResponse(200, ordered_json{{"images", list}, {"messages", messages}});
}

}  // namespace tjf::api
