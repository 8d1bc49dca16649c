// toolforge / toolforge-jobs: the command line interface. Parses flags (CLI11), talks HTTP to
// tjfd, prints upstream's tables and messages. Exit codes: 0 success, 1 user error (HTTP 4xx, a
// failed --wait), 2 internal or usage error (HTTP 5xx, daemon unreachable, bad flags, timeout).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <cstring>
#include <filesystem>

#include "cli/envvars.hpp"
#include "cli/api_call.hpp"
#include "cli/help_text.hpp"
#include "cli/http_client.hpp"
#include "cli/jobfile.hpp"
#include "cli/render.hpp"

namespace {

using namespace tjf;
using namespace tjf::cli;
using nlohmann::json;

class Commands {
 public:
  Commands(HttpClient& http, std::string prog) : http_(http), prog_(std::move(prog)) {}

  // The tool this CLI acts for: TJF_TOOL, or whoever the daemon says we are.
  const std::string& tool() {
    if (tool_.empty()) {
      if (const char* t = std::getenv("TJF_TOOL"); t && *t) {
        tool_ = t;
      } else {
        const json who = call("GET", "/v1/whoami");
        tool_ = who.value("tool", "");
        home_ = who.value("home", "");
      }
    }
    return tool_;
  }
  const std::string& home() {
    tool();
    return home_;
  }
  std::string base() { return "/v1/tool/" + urlEncode(tool()); }

  // One request through callApi (cli/api_call.hpp): errors end the command.
  json call(const std::string& method, const std::string& path, const std::string& body = "",
            long* status_out = nullptr, bool quiet_404 = false) {
    return callApi(http_, method, path, body, status_out, quiet_404);
  }

  json getJob(const std::string& name, bool include_unset, long* status, bool quiet_404) {
    return call("GET",
                base() + "/jobs/" + urlEncode(name) +
                    (include_unset ? "" : "?include_unset=false"),
                "", status, quiet_404);
  }

  // Adds memory_set/cpu_set to each full job from the user-set (include_unset=false) form.
  static void markUserSet(json& full, const json& minimal) {
    full["memory_set"] = minimal.contains("memory");
    full["cpu_set"] = minimal.contains("cpu");
  }

  int list(const std::string& output, bool json_out) {
    const json full = call("GET", base() + "/jobs");
    if (json_out) {
      std::cout << full.at("jobs").dump(2) << "\n";
      return 0;
    }
    json jobs = full.at("jobs");
    cli::ListFormat format = cli::ListFormat::kNormal;
    if (output == "long") {
      format = cli::ListFormat::kLong;
      const json minimal = call("GET", base() + "/jobs?include_unset=false");
      for (auto& job : jobs) {
        for (const auto& m : minimal.at("jobs")) {
          if (m.value("name", "") == job.value("name", "")) markUserSet(job, m);
        }
      }
    } else if (output == "name") {
      format = cli::ListFormat::kName;
    }
    const std::string text = cli::renderList(jobs, format, home());
    if (!text.empty()) std::cout << text << "\n";
    return 0;
  }

  std::string showText(const std::string& name) {
    json full = getJob(name, true, nullptr, false).at("job");
    markUserSet(full, getJob(name, false, nullptr, false).at("job"));
    return cli::renderShow(full, home());
  }

  int show(const std::string& name, bool json_out) {
    if (json_out) {
      std::cout << getJob(name, true, nullptr, false).at("job").dump(2) << "\n";
      return 0;
    }
    std::cout << showText(name) << "\n";
    return 0;
  }

  // `--json` prints the API's value as it is; otherwise `render` makes the table.
  static int print(const json& value, bool json_out, std::string (*render)(const json&)) {
    std::cout << (json_out ? value.dump(2) : render(value)) << "\n";
    return 0;
  }

  int images(bool json_out) {
    return print(call("GET", base() + "/images").at("images"), json_out, cli::renderImages);
  }

  int quota(bool json_out) {
    return print(call("GET", base() + "/quotas").at("quota"), json_out, cli::renderQuota);
  }

  int deleteJob(const std::string& name) {
    long status = 0;
    call("DELETE", base() + "/jobs/" + urlEncode(name), "", &status, true);
    if (status == 404) printWarning("job '" + name + "' does not exist");
    return 0;
  }

  int flush() {
    call("DELETE", base() + "/jobs");
    return 0;
  }

  int restart(const std::string& name) {
    call("POST", base() + "/jobs/" + urlEncode(name) + "/restart");
    return 0;
  }

  // --wait: polls the job until its run ends; exit 0 completed, 1 failed, 2 timed out.
  int wait(const std::string& name, int timeout_seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
    auto delay = std::chrono::milliseconds(5);
    while (true) {
      long status = 0;
      const json j = getJob(name, true, &status, true);
      if (status == 404) {
        printError("job '" + name + "' was deleted while waiting for it to complete");
        return 1;
      }
      const std::string state = j.at("job").at("status").value("short", "unknown");
      if (state == "succeeded") return 0;
      if (state == "failed") {
        printError("job '" + name + "' failed:");
        std::cout << showText(name) << "\n";
        return 1;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        printError("timed out " + std::to_string(timeout_seconds) +
                   " seconds waiting for job '" + name + "' to complete:");
        std::cout << showText(name) << "\n";
        return 2;
      }
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          delay, deadline - std::chrono::steady_clock::now()));
      delay = std::min(delay * 2, std::chrono::milliseconds(500));
    }
  }

  int run(const json& body, std::optional<int> wait_seconds) {
    call("POST", base() + "/jobs", body.dump());
    if (wait_seconds) return wait(body.at("name").get<std::string>(), *wait_seconds);
    return 0;
  }

  // `logs [-f] [-l N] [--json]` (docs/logs.md): the API's JSON lines, printed as
  // "<datetime> [<run>] <message>" as they arrive. Ctrl-C ends it quietly with exit 0, as
  // upstream's does; an empty line is the daemon's heartbeat while following and is skipped.
  int logs(const std::string& name, bool follow, std::optional<long long> last, bool json_out) {
    struct sigaction quiet {};
    quiet.sa_handler = [](int) { ::_exit(0); };  // output is flushed after every chunk
    sigemptyset(&quiet.sa_mask);
    ::sigaction(SIGINT, &quiet, nullptr);
    std::string path = base() + "/jobs/" + urlEncode(name) + "/logs";
    std::string query;
    if (follow) query += "follow=true";
    if (last) query += std::string(query.empty() ? "" : "&") + "lines=" + std::to_string(*last);
    if (!query.empty()) path += "?" + query;
    std::string pending;
    std::string error_body;
    bool error = false;
    bool any = false;
    auto print = [&](const std::string& line) {
      if (line.empty()) return;  // heartbeat
      try {
        const json j = json::parse(line);
        if (j.contains("error")) {
          error = true;
          error_body = line;
          return;
        }
        std::cout << (json_out ? j.dump() : cli::renderLogLine(j)) << "\n";
        any = true;
      } catch (const json::exception&) {
        error_body += line;
      }
    };
    auto status = http_.stream(path, [&](std::string_view data) {
      if (error) {
        error_body.append(data);
        return;
      }
      pending.append(data);
      std::size_t start = 0, nl;
      while (!error && (nl = pending.find('\n', start)) != std::string::npos) {
        print(pending.substr(start, nl - start));
        start = nl + 1;
      }
      pending.erase(0, start);
      std::cout.flush();
    });
    if (!status) {
      if (follow && any) {
        printError("lost the connection to tjfd while following the logs of job '" + name +
                   "': " + status.error().message);
      } else {
        printError(status.error().message);
      }
      return 2;
    }
    if (*status >= 400) {
      json j;
      try {
        j = json::parse(error_body.empty() ? pending : error_body);
      } catch (const json::exception&) {
      }
      printError(apiErrorMessage(j, error_body.empty() ? pending : error_body));
      return *status >= 500 ? 2 : 1;
    }
    if (!pending.empty()) print(pending);  // a last line without its newline
    std::cout.flush();
    return 0;
  }

  // ---- load / dump (docs/load-and-dump.md) ---------------------------------------------------

  // One request of `load`, with the error kept instead of printed: load words it per job.
  struct LoadReply {
    long status = 0;  // 0: no reply at all
    json body;
    std::string error;
    int exitCode() const { return status == 0 || status >= 500 ? 2 : 1; }
  };
  LoadReply loadRequest(const std::string& method, const std::string& path,
                        const std::string& body) {
    LoadReply out;
    auto reply = http_.request(method, path, body);
    if (!reply) {
      out.error = reply.error().message;
      return out;
    }
    out.status = reply->status;
    try {
      out.body = json::parse(reply->body);
    } catch (const json::exception&) {
      out.body = json::object();
    }
    if (out.status >= 400) out.error = apiErrorMessage(out.body, reply->body);
    return out;
  }

  static std::vector<std::string> messageList(const json& reply, const char* level) {
    std::vector<std::string> out;
    if (!reply.contains("messages") || !reply.at("messages").is_object()) return out;
    for (const auto& m : reply.at("messages").value(level, json::array())) {
      if (m.is_string()) out.push_back(m.get<std::string>());
    }
    return out;
  }

  // `load FILE [--job NAME] [--dry-run]`: every job is first checked by the server (a dry-run
  // PATCH) and only then applied, in file order, so a bad job anywhere in the file means no job
  // is changed. Unchanged jobs are left alone; jobs missing from the file too.
  int load(const std::string& file, const std::optional<std::string>& only, bool dry_run) {
    std::stringstream text;
    if (file == "-") {
      text << std::cin.rdbuf();
    } else {
      std::ifstream in(file);
      if (!in) {
        printError("Unable to read file '" + file + "': " + std::strerror(errno));
        return 1;
      }
      text << in.rdbuf();
    }
    auto parsed = cli::parseJobFile(text.str(), file);
    if (!parsed) {
      printError(parsed.error().message);
      return 1;
    }
    for (const auto& w : parsed->warnings) printWarning(w);
    std::vector<const cli::FileJob*> jobs;
    for (const auto& job : parsed->jobs) {
      if (!only || job.name == *only) jobs.push_back(&job);
    }
    if (only && jobs.empty()) {
      printError("Job '" + *only + "' is not defined in '" + file + "'");
      return 1;
    }
    if (jobs.empty()) {
      printWarning("No jobs are defined in '" + file + "'");
      return 0;
    }
    auto jobLabel = [](const cli::FileJob& job) {
      return "job number " + std::to_string(job.number) + " ('" + job.name + "')";
    };

    // 1. Check the whole file before changing anything: the server plans every job as if the
    //    ones before it had been applied (so quotas and ports count the whole file).
    json bodies = json::array();
    for (const auto* job : jobs) bodies.push_back(job->body);
    const LoadReply plan = loadRequest("PATCH", base() + "/jobs?dry_run=true", bodies.dump());
    if (!plan.error.empty()) {
      printError("Unable to load '" + file + "': " + plan.error);
      return plan.exitCode();
    }
    if (const json& refused = plan.body.value("refused", json()); refused.is_object()) {
      const auto index = refused.value("index", std::size_t{0});
      const std::string label =
          index < jobs.size() ? jobLabel(*jobs[index]) : "job number " + std::to_string(index + 1);
      printError("Unable to load " + label + ": " +
                 cli::inFileTerms(apiErrorMessage(refused, refused.dump())) +
                 (dry_run ? "" : " (no job was changed)"));
      return refused.value("status", 400) >= 500 ? 2 : 1;
    }
    const json planned = plan.body.value("jobs", json::array());
    if (dry_run) {
      for (const auto& entry : planned) {
        for (const auto& w : messageList(entry, "warning")) printWarning(w);
        std::cout << entry.value("name", "") << ": " << entry.value("action", "unknown") << "\n";
        if (entry.value("action", "") == "create") continue;
        for (const auto& line : cli::describeDiff(entry.value("diff", json::array()))) {
          std::cout << "    " << line << "\n";
        }
      }
      return 0;
    }

    // 2. Apply, in file order.
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      const cli::FileJob& job = *jobs[i];
      bool deleted = false;  // a one-off job being replaced, between its delete and create
      auto failed = [&](const std::string& message, int code) {
        const std::string before = deleted ? "it was deleted but not created again"
                                   : i == 0 ? "no job was changed"
                                            : "the jobs before it were loaded";
        printError("Unable to load " + jobLabel(job) + ": " + message + " (" + before +
                   (i == 0 && !deleted ? "" : ", the jobs after it were not") + ")");
        return code;
      };
      LoadReply reply = loadRequest("PATCH", base() + "/jobs", job.body.dump());
      if (!reply.error.empty()) return failed(cli::inFileTerms(reply.error), reply.exitCode());
      for (const auto& w : messageList(reply.body, "warning")) printWarning(w);
      const std::string action = reply.body.value("action", "");
      if (action == "replace") {
        // A one-off job whose definition changed: deleted (its run stopped) and created again,
        // as upstream's CLI does; the API does not update one-off jobs in place.
        reply = loadRequest("DELETE", base() + "/jobs/" + urlEncode(job.name), "");
        if (!reply.error.empty() && reply.status != 404) {
          return failed(reply.error, reply.exitCode());
        }
        deleted = true;
        reply = loadRequest("POST", base() + "/jobs", job.body.dump());
        if (!reply.error.empty()) return failed(cli::inFileTerms(reply.error), reply.exitCode());
        for (const auto& w : messageList(reply.body, "warning")) printWarning(w);
        std::cout << "Job " << job.name << " was replaced in storage and runtime\n";
      } else {
        for (const auto& info : messageList(reply.body, "info")) std::cout << info << "\n";
      }
      std::cout.flush();
      // `wait: true` waits for a one-off job this load started (created, replaced, or turned
      // into a one-off job); one that was already up to date is not run again, so there is
      // nothing to wait for.
      if (job.wait_seconds && action != "unchanged") {
        if (const int rc = wait(job.name, *job.wait_seconds); rc != 0) {
          if (i + 1 < jobs.size()) {
            printError("The jobs after " + jobLabel(job) + " were not loaded");
          }
          return rc;
        }
      }
    }
    return 0;
  }

  // `dump [-f FILE]`: every job of the tool as a job file (only what the user set, as written).
  int dump(const std::optional<std::string>& to_file) {
    const json j = call("GET", base() + "/jobs?include_unset=false");
    const std::string text = cli::dumpJobs(j.at("jobs"));
    if (!to_file || *to_file == "-") {
      std::cout << text;
      return 0;
    }
    // Written beside the target and renamed over it: a failed dump never leaves half a file.
    const std::string tmp = *to_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << text;
      out.flush();
      if (!out) {
        printError("Unable to write '" + *to_file + "': " + std::strerror(errno));
        std::remove(tmp.c_str());
        return 1;
      }
    }
    if (std::rename(tmp.c_str(), to_file->c_str()) != 0) {
      printError("Unable to write '" + *to_file + "': " + std::strerror(errno));
      std::remove(tmp.c_str());
      return 1;
    }
    return 0;
  }

 private:
  HttpClient& http_;
  std::string prog_;
  std::string tool_;
  std::string home_;
};

// argparse's way of refusing bad flags: usage and the error on stderr, exit 2.
[[noreturn]] void usageError(const std::string& prog, const std::string& command,
                             const std::string& message) {
  std::fputs((command.empty() ? cli::mainUsage(prog) : cli::commandUsage(prog, command)).c_str(),
             stderr);
  std::fprintf(stderr, "%s: error: %s\n", (prog + (command.empty() ? "" : " " + command)).c_str(),
               message.c_str());
  throw CommandExit{2};
}

int runCli(const std::string& prog, std::vector<std::string> args) {
  // Global options before the subcommand.
  std::optional<std::string> socket_flag, url_flag;
  while (!args.empty() && args.front().rfind("--", 0) == 0 && args.front() != "--help") {
    const std::string opt = args.front();
    if ((opt == "--socket" || opt == "--url") && args.size() >= 2) {
      (opt == "--socket" ? socket_flag : url_flag) = args[1];
      args.erase(args.begin(), args.begin() + 2);
    } else if (opt == "--debug") {
      args.erase(args.begin());
    } else {
      break;
    }
  }
  if (args.empty()) usageError(prog, "", "the following arguments are required: {images,run,show,logs,list,delete,flush,load,restart,quota,dump}");
  if (args.front() == "-h" || args.front() == "--help") {
    std::cout << cli::mainHelp(prog);
    return 0;
  }
  const std::string command = args.front();
  if (cli::commandUsage(prog, command).empty()) {
    usageError(prog, "",
               "argument {images,run,show,logs,list,delete,flush,load,restart,quota,dump}: "
               "invalid choice: '" + command +
                   "' (choose from 'images', 'run', 'show', 'logs', 'list', 'delete', 'flush', "
                   "'load', 'restart', 'quota', 'dump')");
  }
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      std::cout << cli::commandHelp(prog, command);
      return 0;
    }
  }

  CLI::App app;
  app.set_help_flag();
  app.allow_extras(false);
  std::string name;
  bool json_out = false;
  // run
  std::string cmd, image, filelog_stdout, filelog_stderr, mem, cpu, emails, mount, schedule,
      health_script, health_http, timezone;
  int retry = -1;
  std::optional<int> port, replicas;
  std::optional<long long> timeout;
  bool no_filelog = false, filelog = false, continuous = false;
  std::vector<std::string> wait_values;
  CLI::Option* wait_opt = nullptr;
  // list / logs / load / dump
  std::string output = "normal";
  bool long_flag = false, follow = false, dry_run = false;
  std::optional<long long> last;
  std::optional<std::string> only_job, to_file;
  std::string file;

  auto positional = [&](const char* what) { app.add_option(what, name)->required(); };
  if (command == "run") {
    positional("name");
    app.add_option("--command", cmd)->required();
    app.add_option("--image", image)->required();
    auto* nf = app.add_flag("--no-filelog", no_filelog);
    auto* fl = app.add_flag("--filelog", filelog);
    nf->excludes(fl);
    app.add_option("-o,--filelog-stdout", filelog_stdout);
    app.add_option("-e,--filelog-stderr", filelog_stderr);
    app.add_option("--retry", retry);
    app.add_option("--mem", mem);
    app.add_option("--cpu", cpu);
    app.add_option("--emails", emails);
    app.add_option("--mount", mount);
    auto* sch = app.add_option("--schedule", schedule);
    auto* cont = app.add_flag("--continuous", continuous);
    wait_opt = app.add_option("--wait", wait_values)->expected(0, 1);
    sch->excludes(cont)->excludes(wait_opt);
    cont->excludes(wait_opt);
    app.add_option("--health-check-script", health_script);
    app.add_option("--health-check-http", health_http);
    app.add_option("--port", port);
    app.add_option("--replicas", replicas);
    app.add_option("--timeout", timeout);
    app.add_option("--timezone", timezone);
  } else if (command == "show" || command == "delete" || command == "restart") {
    positional("name");
    if (command == "show") app.add_flag("--json", json_out);
  } else if (command == "logs") {
    positional("name");
    app.add_flag("-f,--follow", follow);
    app.add_option("-l,--last", last);
    app.add_flag("--json", json_out);
  } else if (command == "list") {
    app.add_option("-o,--output", output);
    app.add_flag("-l,--long", long_flag);
    app.add_flag("--json", json_out);
  } else if (command == "images" || command == "quota") {
    app.add_flag("--json", json_out);
  } else if (command == "load") {
    app.add_option("file", file)->required();
    app.add_option("--job", only_job);
    app.add_flag("--dry-run", dry_run);
  } else if (command == "dump") {
    app.add_option("-f,--to-file", to_file);
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  std::reverse(rest.begin(), rest.end());  // CLI11 takes arguments in reverse order
  try {
    app.parse(rest);
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    if (dynamic_cast<const CLI::ExcludesError*>(&e)) {
      message = "argument conflict: " + message;
    } else if (dynamic_cast<const CLI::RequiredError*>(&e)) {
      message = "the following arguments are required: " + message.substr(message.find(':') + 1);
    }
    usageError(prog, command, message);
  }

  auto choose = [&](const std::string& flag, const std::string& value,
                    std::initializer_list<const char*> choices) {
    std::string list;
    for (const char* c : choices) {
      if (value == c) return;
      list += std::string(list.empty() ? "" : ", ") + "'" + c + "'";
    }
    usageError(prog, command,
               "argument " + flag + ": invalid choice: '" + value + "' (choose from " + list + ")");
  };

  Endpoint endpoint = discoverEndpoint(socket_flag, url_flag);
  HttpClient http(endpoint);
  Commands c(http, prog);

  if (command == "run") {
    if (retry != -1 && (retry < 0 || retry > 5)) {
      usageError(prog, command, "argument --retry: invalid choice: " + std::to_string(retry) +
                                    " (choose from 0, 1, 2, 3, 4, 5)");
    }
    if (!emails.empty()) choose("--emails", emails, {"none", "all", "onfinish", "onfailure"});
    if (!mount.empty()) choose("--mount", mount, {"all", "none"});
    if ((!health_script.empty() || !health_http.empty()) && !continuous) {
      printError("You can only configure a health-check for a continuous job");
      return 1;
    }
    if ((port || replicas) && !continuous) {
      printError(std::string(port ? "--port" : "--replicas") + " is only for continuous jobs");
      return 1;
    }
    json body = {{"name", name}, {"cmd", cmd}, {"imagename", image}};
    if (no_filelog) body["filelog"] = false;
    if (filelog) body["filelog"] = true;
    if (!filelog_stdout.empty()) body["filelog_stdout"] = filelog_stdout;
    if (!filelog_stderr.empty()) body["filelog_stderr"] = filelog_stderr;
    if (retry != -1) {
      if (continuous) {
        printWarning("the retry policy will be ignored for continuous jobs, given they are "
                     "always restarted in case of failure");
      } else {
        body["retry"] = retry;
      }
    }
    if (!mem.empty()) body["memory"] = mem;
    if (!cpu.empty()) body["cpu"] = cpu;
    if (!emails.empty()) body["emails"] = emails;
    if (!mount.empty()) body["mount"] = mount;
    if (!schedule.empty()) body["schedule"] = schedule;
    if (!timezone.empty()) body["time_zone"] = timezone;
    if (continuous) body["continuous"] = true;
    if (!health_script.empty()) body["health_check"] = {{"type", "script"}, {"script", health_script}};
    if (!health_http.empty()) body["health_check"] = {{"type", "http"}, {"path", health_http}};
    if (port) body["port"] = *port;
    if (replicas) body["replicas"] = *replicas;
    if (timeout) body["timeout"] = *timeout;
    std::optional<int> wait_seconds;
    if (wait_opt->count() > 0) {
      wait_seconds = 600;
      if (!wait_values.empty() && !wait_values.front().empty()) {
        try {
          wait_seconds = std::stoi(wait_values.front());
        } catch (const std::exception&) {
          usageError(prog, command,
                     "argument --wait: invalid int value: '" + wait_values.front() + "'");
        }
      }
    }
    return c.run(body, wait_seconds);
  }
  if (command == "list") {
    if (long_flag) {
      printWarning("the `--long` flag is deprecated, use `--output long` instead");
      output = "long";
    }
    choose("--output", output, {"normal", "long", "name"});
    return c.list(output, json_out);
  }
  if (command == "show") return c.show(name, json_out);
  if (command == "delete") return c.deleteJob(name);
  if (command == "flush") return c.flush();
  if (command == "restart") return c.restart(name);
  if (command == "images") return c.images(json_out);
  if (command == "quota") return c.quota(json_out);
  if (command == "logs") {
    if (last && *last < 0) usageError(prog, command, "argument -l/--last: must not be negative");
    return c.logs(name, follow, last, json_out);
  }
  if (command == "load") return c.load(file, only_job, dry_run);
  if (command == "dump") return c.dump(to_file);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::string invoked = std::filesystem::path(argv[0]).filename().string();
  std::string prog = "toolforge-jobs";
  if (invoked == "toolforge") {
    if (args.empty() || args.front() == "-h" || args.front() == "--help") {
      std::cout << "usage: toolforge [-h] {jobs,envvars} ...\n\nToolforge command line\n\n"
                   "positional arguments:\n  {jobs,envvars}\n    jobs      Toolforge Jobs "
                   "Framework\n    envvars   Environment variables of your tool's jobs\n";
      return args.empty() ? 2 : 0;
    }
    if (args.front() == "envvars") {  // src/cli/envvars.cpp
      args.erase(args.begin());
      ::signal(SIGPIPE, SIG_DFL);
      return cli::runEnvvars("toolforge envvars", std::move(args));
    }
    if (args.front() != "jobs") {
      std::fprintf(stderr, "usage: toolforge [-h] {jobs,envvars} ...\ntoolforge: error: "
                           "argument {jobs,envvars}: invalid choice: '%s' (choose from 'jobs', "
                           "'envvars')\n",
                   args.front().c_str());
      return 2;
    }
    args.erase(args.begin());
    prog = "toolforge jobs";
  }
  ::signal(SIGPIPE, SIG_DFL);
  try {
    return runCli(prog, std::move(args));
  } catch (const CommandExit& e) {
    return e.code;
  }
}
