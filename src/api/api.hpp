// The REST API: upstream's v1 routes, JSON shapes and messages over JobService. Authentication
// happens before (the server sets the Identity); policy happens after (JobService). Runs on the
// loop thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "api/http_types.hpp"
#include "base/clock.hpp"
#include "model/state_paths.hpp"
#include "service/envvars.hpp"
#include "service/job_service.hpp"
#include "service/log_watch.hpp"

namespace tjf::api {

struct ApiOptions {
  model::StateLayout layout{"/nonexistent"};
  std::string version = "0.1.0";
  // How long DELETE waits for a job's runs to be gone (upstream: 30 s).
  std::chrono::milliseconds delete_wait{45'000};
  // `logs -f` polls this often while something it follows cannot be watched with inotify.
  std::chrono::milliseconds follow_poll{25};
  // -- platform mode (docs/platform-mode.md) --
  // `toolforge envvars` (service/envvars.hpp); null: its routes answer 404.
  service::EnvvarService* envvars = nullptr;
  // The daemon is root: a file-log job's files are read for `logs` only when its tool owns them
  // (service/logs.hpp, LogFileOwner).
  bool log_files_owned_by_tool = false;
};

class Api {
 public:
  Api(boost::asio::io_context& io, service::JobService& jobs, const Clock& clock,
      ApiOptions options);

  boost::asio::awaitable<Response> handle(Request request, Identity identity);

 private:
  boost::asio::awaitable<Response> handleTool(const Request& request, const std::string& tool,
                                              const std::vector<std::string>& rest);
  boost::asio::awaitable<Response> listJobs(const Request& r, const std::string& tool);
  boost::asio::awaitable<Response> createJob(const Request& r, const std::string& tool);
  boost::asio::awaitable<Response> applyJob(const Request& r, const std::string& tool);
  boost::asio::awaitable<Response> flush(const std::string& tool);
  boost::asio::awaitable<Response> showJob(const Request& r, const std::string& tool,
                                           const std::string& name);
  boost::asio::awaitable<Response> deleteJob(const std::string& tool, const std::string& name);
  boost::asio::awaitable<Response> restartJob(const std::string& tool, const std::string& name);
  boost::asio::awaitable<Response> logs(const Request& r, const std::string& tool,
                                        const std::string& name);
  boost::asio::awaitable<Response> runs(const Request& r, const std::string& tool,
                                        const std::string& name);
  Response envvars(const Request& r, const std::string& tool,
                   const std::vector<std::string>& rest);
  Response images();
  Response quotas(const std::string& tool);
  // Waits (without blocking the loop) until none of these jobs has an active run.
  boost::asio::awaitable<void> waitUntilStopped(std::vector<std::int64_t> job_ids);

  boost::asio::io_context& io_;
  service::JobService& jobs_;
  const Clock& clock_;
  ApiOptions options_;
  std::shared_ptr<service::LogWatcher> log_watcher_;  // `logs -f` wake-ups, made on first use
};

}  // namespace tjf::api
