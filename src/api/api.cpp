#include "api/api.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <set>

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

// -- logs (docs/logs.md) -----------------------------------------------------------------------

// At most this many of a job's runs are looked at for `logs` (newest first).
constexpr int kLogRuns = 1000;
// A follower with nothing to send writes an empty line this often: a client that went away is
// noticed (the write fails) and its follower freed, instead of waiting forever.
constexpr auto kFollowHeartbeat = std::chrono::seconds(10);
// Without a change reported, a follower still looks for new runs and lines this often.
constexpr auto kFollowRecheck = std::chrono::milliseconds(1000);

// One line of the logs response: upstream's object, as a JSON line. A job's output is bytes, not
// always UTF-8: invalid sequences become U+FFFD instead of failing the whole response.
std::string logLineText(const service::LogLine& line) {
  ordered_json j;
  j["pod"] = line.source;
  j["container"] = line.stream == 'e' ? "stderr" : "stdout";
  j["datetime"] = line.time ? ordered_json(formatIsoUtcMicros(*line.time)) : ordered_json(nullptr);
  j["message"] = line.message;
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

// A file-log job's files, named as `show` names them: relative to the tool home when inside it.
// One file for both streams is read once; /dev/null holds nothing.
std::vector<service::LogFile> logFilesOf(const service::JobView& view) {
  std::vector<service::LogFile> files;
  auto add = [&](const std::filesystem::path& path, char stream) {
    if (path.empty() || path == "/dev/null") return;
    for (const auto& f : files) {
      if (f.path == path.string()) return;
    }
    const auto relative = path.lexically_relative(view.tool.home);
    const bool inside = !relative.empty() && *relative.begin() != "..";
    files.push_back(service::LogFile{path.string(),
                                     inside ? relative.string() : path.string(), stream});
  };
  add(view.resolved->stdout_path, 'o');
  add(view.resolved->stderr_path, 'e');
  return files;
}

// `logs -f` after the first lines: waits for changes (service/log_watch.hpp) and sends what was
// appended, picking up new runs (a restart of a continuous job, a cron run, a retry) as they
// appear. Lives as long as the response: the HTTP session drops it when the client goes.
class LogFollower {
 public:
  struct Options {
    service::JobService& jobs;
    model::StateLayout layout;
    std::unique_ptr<service::LogWatcher::Waiter> waiter;
    std::string tool;
    std::string name;
    service::LogFileOwner owner;
    bool file_mode = false;
    std::vector<service::LogSource> sources;  // where the first lines ended
    std::set<std::int64_t> seen_runs;         // runs the first lines looked at
    std::chrono::milliseconds poll{25};
  };
  explicit LogFollower(Options o) : o_(std::move(o)) {
    if (o_.file_mode) {
      for (const auto& s : o_.sources) watchPath(std::filesystem::path(s.path).parent_path().string());
    } else {
      runs_dir_watch_ = o_.waiter->watch(o_.layout.runsDir().string());
      for (const auto& s : o_.sources) watchPath(o_.layout.runDir(s.run_id).string());
    }
    last_sent_ = std::chrono::steady_clock::now();
  }

  asio::awaitable<std::optional<std::string>> next() {
    while (true) {
      const auto now = std::chrono::steady_clock::now();
      const auto fired = o_.waiter->takeFired();
      if (!o_.file_mode && (fired.count(runs_dir_watch_) || now >= next_discovery_)) discover();
      retryWatches();
      bool more = false;
      std::string chunk = readNew(&more);
      dropFinished();
      if (!chunk.empty()) {
        last_sent_ = now;
        co_return chunk;
      }
      if (more) continue;
      if (now - last_sent_ >= kFollowHeartbeat) {
        last_sent_ = now;
        co_return std::string("\n");
      }
      const bool all_watched = unwatched_.empty() && (o_.file_mode || runs_dir_watch_ >= 0);
      co_await o_.waiter->wait(all_watched ? kFollowRecheck : o_.poll);
    }
  }

 private:
  void watchPath(const std::string& path) {
    if (watches_.count(path)) return;
    const int id = o_.waiter->watch(path);
    if (id < 0) {
      unwatched_.insert(path);
    } else {
      watches_[path] = id;
      unwatched_.erase(path);
    }
  }
  void retryWatches() {
    for (const auto& path : std::set<std::string>(unwatched_)) watchPath(path);
  }

  // New runs of the job (from the store, newest first) become sources, read from their start;
  // followed runs that have ended are read one last time and dropped.
  void discover() {
    next_discovery_ = std::chrono::steady_clock::now() + kFollowRecheck;
    auto runs = o_.jobs.runs(o_.tool, o_.name, 50);
    if (!runs) return;
    for (const auto& run : *runs) {
      if (model::isFinal(run.state)) finished_.insert(run.id);
      if (!o_.seen_runs.insert(run.id).second) continue;
      service::LogSource source;
      source.path = model::StateLayout::output(o_.layout.runDir(run.id)).string();
      source.name = std::to_string(run.id);
      source.run_id = run.id;
      o_.sources.push_back(std::move(source));
      watchPath(o_.layout.runDir(run.id).string());
    }
  }

  std::string readNew(bool* more) {
    std::vector<service::LogLine> lines;
    for (auto& source : o_.sources) {
      bool source_more = false;
      for (auto& line : service::readNewLines(source, o_.owner, 4u << 20, &source_more)) {
        lines.push_back(std::move(line));
      }
      *more = *more || source_more;
    }
    // Replicas write at once: their lines in time order within what is sent now.
    if (!o_.file_mode) {
      std::stable_sort(lines.begin(), lines.end(), [](const auto& a, const auto& b) {
        return a.time.value_or(TimePoint{}) < b.time.value_or(TimePoint{});
      });
    }
    std::string chunk;
    for (const auto& line : lines) chunk += logLineText(line);
    return chunk;
  }

  // A run the store calls finished has all of its output in the file (the shim writes it before
  // it exits): once read, it is done.
  void dropFinished() {
    if (finished_.empty()) return;
    std::erase_if(o_.sources, [&](const service::LogSource& s) {
      if (!finished_.count(s.run_id)) return false;
      const auto dir = o_.layout.runDir(s.run_id).string();
      if (const auto it = watches_.find(dir); it != watches_.end()) {
        o_.waiter->unwatch(it->second);
        watches_.erase(it);
      }
      unwatched_.erase(dir);
      return true;
    });
    finished_.clear();
  }

  Options o_;
  int runs_dir_watch_ = -1;
  std::map<std::string, int> watches_;  // watched path -> id
  std::set<std::string> unwatched_;     // to watch once it exists
  std::set<std::int64_t> finished_;
  std::chrono::steady_clock::time_point next_discovery_{};
  std::chrono::steady_clock::time_point last_sent_{};
};

std::string needsTool(const Identity& identity) {
  const std::string base = "This request needs an authenticated tool";
  return identity.refusal.empty() ? base : base + ": " + identity.refusal;
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
    if (identity.tool.empty()) co_return errorResponse(403, needsTool(identity));
    auto tool = jobs_.options().tools->find(identity.tool);
    if (!tool) co_return errorResponse(tool.error());
    co_return jsonResponse(200, ordered_json{{"tool", tool->name},
                                             {"home", tool->home.string()},
                                             {"messages", ordered_json::object()}});
  }
  if (segments.size() >= 3 && segments[0] == "v1" && segments[1] == "tool") {
    const std::string& tool = segments[2];
    if (identity.tool.empty()) co_return errorResponse(403, needsTool(identity));
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
  if (!rest.empty() && rest[0] == "envvars") co_return envvars(r, tool, rest);
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
  const std::string no_logs = "Job '" + name + "' does not have any logs available";

  auto view = jobs_.getJob(tool, name);
  // Platform mode: only files the tool owns (service/logs.hpp, LogFileOwner).
  const service::LogFileOwner logOwner =
      options_.log_files_owned_by_tool && view ? service::LogFileOwner(view->tool.uid)
                                               : std::nullopt;
  // File-log jobs are read from their files, every other job from the log store: the current
  // definition decides (docs/logs.md).
  const bool file_mode = view && view->resolved && view->resolved->filelog;
  service::LogSnapshot snapshot;
  std::set<std::int64_t> seen_runs;
  if (file_mode) {
    snapshot = service::newestFileLines(logFilesOf(*view), lines, logOwner);
  } else {
    auto runs = jobs_.runs(tool, name, kLogRuns);
    if (!runs) co_return errorResponse(runs.error());
    // Neither a job nor a run by that name: nothing will ever come, following or not.
    if (runs->empty() && !view) co_return errorResponse(404, no_logs);
    for (const auto& run : *runs) seen_runs.insert(run.id);
    snapshot = service::newestCapturedLines(options_.layout, *runs, lines);
  }
  if (snapshot.lines.empty() && !follow) co_return errorResponse(404, no_logs);
  Response response;
  response.content_type = "text/plain; charset=utf8";
  response.headers["X-Accel-Buffering"] = "no";
  for (const auto& line : snapshot.lines) response.body += logLineText(line);
  if (!follow) co_return response;

  if (!log_watcher_) log_watcher_ = service::LogWatcher::create(io_);
  auto follower = std::make_shared<LogFollower>(LogFollower::Options{
      .jobs = jobs_,
      .layout = options_.layout,
      .waiter = log_watcher_->waiter(),
      .tool = tool,
      .name = name,
      .owner = file_mode ? logOwner : std::nullopt,
      .file_mode = file_mode,
      .sources = std::move(snapshot.sources),
      .seen_runs = std::move(seen_runs),
      .poll = options_.follow_poll});
  response.stream = [follower]() { return follower->next(); };
  co_return response;
}

// -- /envvars: `toolforge envvars` (service/envvars.hpp; docs/platform-mode.md) ---------------
//   GET    /envvars[?show_values=true]  the tool's variables, values only when asked for
//   POST   /envvars {"name", "value"}    create or replace
//   GET    /envvars/{name}               one variable with its value
//   DELETE /envvars/{name}               delete it; answers with what was deleted
Response Api::envvars(const Request& r, const std::string& tool,
                      const std::vector<std::string>& rest) {
  auto* service = options_.envvars;
  if (!service || rest.size() > 2) {
    return errorResponse(404, "No such endpoint: " + r.method + " " + r.path);
  }
  auto envvarJson = [](const store::EnvvarRecord& e, bool with_value) {
    ordered_json j{{"name", e.name}};
    if (with_value) j["value"] = e.value;
    return j;
  };
  if (rest.size() == 1 && r.method == "GET") {
    const auto show = r.query.find("show_values");
    const bool values = show != r.query.end() && show->second != "false" && show->second != "0";
    auto all = service->list(tool);
    if (!all) return errorResponse(all.error());
    ordered_json list = ordered_json::array();
    for (const auto& e : *all) list.push_back(envvarJson(e, values));
    return jsonResponse(200, ordered_json{{"envvars", list}, {"messages", emptyMessages()}});
  }
  if (rest.size() == 1 && r.method == "POST") {
    nlohmann::json body;
    try {
      body = nlohmann::json::parse(r.body);
    } catch (const nlohmann::json::exception& e) {
      return errorResponse(422, std::string("The request body is not valid JSON: ") + e.what());
    }
    if (!body.is_object()) return errorResponse(422, "The request body must be a JSON object");
    for (const auto& [key, value] : body.items()) {
      if (key != "name" && key != "value") {
        return errorResponse(422, "Unknown field '" + key + "' (expected 'name' and 'value')");
      }
      if (!value.is_string()) return errorResponse(422, "Field '" + key + "' must be a string");
    }
    if (!body.contains("name") || !body.contains("value")) {
      return errorResponse(422, "Fields 'name' and 'value' are required");
    }
    auto created = service->create(tool, body.at("name").get<std::string>(),
                                   body.at("value").get<std::string>());
    if (!created) return errorResponse(created.error());
    return jsonResponse(200, ordered_json{{"envvar", envvarJson(*created, true)},
                                          {"messages", emptyMessages()}});
  }
  if (rest.size() == 2 && (r.method == "GET" || r.method == "DELETE")) {
    auto found = r.method == "GET" ? service->get(tool, rest[1]) : service->remove(tool, rest[1]);
    if (!found) return errorResponse(found.error());
    return jsonResponse(200, ordered_json{{"envvar", envvarJson(*found, true)},
                                          {"messages", emptyMessages()}});
  }
  return methodNotAllowed(r);
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
