#include "cli/envvars.hpp"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/api_call.hpp"
#include "cli/http_client.hpp"
#include "tabulate/table.hpp"

namespace tjf::cli {
namespace {

using nlohmann::json;

std::string usage(const std::string& prog) {
  return "usage: " + prog + " [-h] {list,show,create,delete} ...\n";
}

std::string help(const std::string& prog) {
  return usage(prog) +
         "\n"
         "Environment variables of your tool, set in every job it starts (also secrets: a value\n"
         "is stored readable only by the jobs daemon). A change reaches the jobs that start\n"
         "after it; restart a continuous job to give it the new value.\n"
         "\n"
         "positional arguments:\n"
         "  {list,show,create,delete}\n"
         "    list                List the variables (values hidden unless --show-values)\n"
         "    show                Show one variable with its value\n"
         "    create              Create or replace a variable; without VALUE the value is\n"
         "                        read from standard input (hidden when it is a terminal),\n"
         "                        so it stays out of the shell history\n"
         "    delete              Delete a variable\n"
         "\n"
         "options:\n"
         "  -h, --help            show this help message and exit\n"
         "\n"
         "  " + prog + " list [--show-values] [--json]\n"
         "  " + prog + " show NAME [--json]\n"
         "  " + prog + " create NAME [VALUE] [--json]\n"
         "  " + prog + " delete NAME [--yes-im-sure] [--json]\n";
}

[[noreturn]] void usageError(const std::string& prog, const std::string& message) {
  std::fputs(usage(prog).c_str(), stderr);
  std::fprintf(stderr, "%s: error: %s\n", prog.c_str(), message.c_str());
  throw CommandExit{2};
}

// The value of `create NAME` without VALUE: typed at a terminal without echo, or read whole from
// a pipe or file (one final newline removed, so `echo s3cret | ... create NAME` stores "s3cret").
std::string readValue(const std::string& name) {
  std::string value;
  if (::isatty(0) == 1) {
    std::fprintf(stderr, "Value for %s (not shown): ", name.c_str());
    std::fflush(stderr);
    termios old_mode{};
    const bool can_hide = ::tcgetattr(0, &old_mode) == 0;
    if (can_hide) {
      termios quiet = old_mode;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(0, TCSAFLUSH, &quiet);
    }
    std::getline(std::cin, value);
    if (can_hide) ::tcsetattr(0, TCSAFLUSH, &old_mode);
    std::fputc('\n', stderr);
    return value;
  }
  value.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  if (!value.empty() && value.back() == '\n') value.pop_back();
  if (!value.empty() && value.back() == '\r') value.pop_back();
  return value;
}

bool confirm(const std::string& question) {
  if (::isatty(0) != 1) return true;  // scripts: nobody to ask
  std::fprintf(stderr, "%s [y/N] ", question.c_str());
  std::fflush(stderr);
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

std::string pathSegment(const std::string& s) { return urlEncode(s); }

class Envvars {
 public:
  explicit Envvars(HttpClient& http) : http_(http) {}

  std::string base() {
    if (tool_.empty()) {
      if (const char* t = std::getenv("TJF_TOOL"); t && *t) {
        tool_ = t;
      } else {
        tool_ = call("GET", "/v1/whoami").value("tool", "");
      }
    }
    return "/v1/tool/" + urlEncode(tool_) + "/envvars";
  }

  // One request through callApi (cli/api_call.hpp): errors end the command.
  json call(const std::string& method, const std::string& path, const std::string& body = "") {
    return callApi(http_, method, path, body);
  }

  int list(bool show_values, bool json_out) {
    const json reply = call("GET", base() + (show_values ? "?show_values=true" : ""));
    const json& vars = reply.at("envvars");
    if (json_out) {
      std::cout << vars.dump(4) << "\n";
      return 0;
    }
    if (vars.empty()) return 0;
    std::vector<tabulate::Row> rows;
    for (const auto& v : vars) {
      tabulate::Row row{v.value("name", "")};
      if (show_values) row.push_back(v.value("value", ""));
      rows.push_back(std::move(row));
    }
    std::cout << tabulate::formatSimple(rows, show_values ? tabulate::Row{"name", "value"}
                                                          : tabulate::Row{"name"})
              << "\n";
    return 0;
  }

  int show(const std::string& name, bool json_out) {
    const json reply = call("GET", base() + "/" + pathSegment(name));
    const json& var = reply.at("envvar");
    if (json_out) {
      std::cout << var.dump(4) << "\n";
      return 0;
    }
    std::cout << tabulate::formatSimple({{var.value("name", ""), var.value("value", "")}},
                                        {"name", "value"})
              << "\n";
    return 0;
  }

  int create(const std::string& name, const std::optional<std::string>& given, bool json_out) {
    const std::string value = given ? *given : readValue(name);
    const json reply = call("POST", base(), json{{"name", name}, {"value", value}}.dump());
    if (json_out) {
      json var = reply.at("envvar");
      var.erase("value");  // the value stays off the screen; `show` prints it
      std::cout << var.dump(4) << "\n";
      return 0;
    }
    std::cout << "Set environment variable '" << name << "'; jobs started from now on get it\n";
    return 0;
  }

  int remove(const std::string& name, bool sure, bool json_out) {
    if (!sure && !confirm("Delete the environment variable '" + name + "'?")) {
      std::cout << "Nothing deleted\n";
      return 1;
    }
    const json reply = call("DELETE", base() + "/" + pathSegment(name));
    if (json_out) {
      json var = reply.at("envvar");
      var.erase("value");
      std::cout << var.dump(4) << "\n";
      return 0;
    }
    std::cout << "Deleted environment variable '" << name << "'\n";
    return 0;
  }

 private:
  HttpClient& http_;
  std::string tool_;
};

int dispatch(const std::string& prog, std::vector<std::string> args) {
  std::optional<std::string> socket_flag, url_flag;
  while (!args.empty() && (args.front() == "--socket" || args.front() == "--url")) {
    if (args.size() < 2) usageError(prog, "argument " + args.front() + ": expected one argument");
    (args.front() == "--socket" ? socket_flag : url_flag) = args[1];
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.empty()) {
    usageError(prog, "the following arguments are required: {list,show,create,delete}");
  }
  const std::string command = args.front();
  args.erase(args.begin());
  if (command == "-h" || command == "--help") {
    std::cout << help(prog);
    return 0;
  }
  if (command != "list" && command != "show" && command != "create" && command != "delete") {
    usageError(prog, "argument {list,show,create,delete}: invalid choice: '" + command +
                         "' (choose from 'list', 'show', 'create', 'delete')");
  }
  bool json_out = false, show_values = false, sure = false;
  std::vector<std::string> positional;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::cout << help(prog);
      return 0;
    }
    if (a == "--") {
      positional.insert(positional.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a == "--json") {
      json_out = true;
    } else if (a == "--show-values" && command == "list") {
      show_values = true;
    } else if (a == "--yes-im-sure" && command == "delete") {
      sure = true;
    } else if (a.size() > 1 && a.front() == '-' &&
               (command != "create" || positional.empty())) {
      // A value may start with '-' (after NAME, for create; or after `--`).
      usageError(prog + " " + command, "unrecognized arguments: " + a);
    } else {
      positional.push_back(a);
    }
  }
  const std::size_t max_args = command == "list" ? 0 : command == "create" ? 2 : 1;
  const std::size_t min_args = command == "list" ? 0 : 1;
  if (positional.size() < min_args) {
    usageError(prog + " " + command, "the following arguments are required: name");
  }
  if (positional.size() > max_args) {
    usageError(prog + " " + command,
               "unrecognized arguments: " + positional[max_args] +
                   (command == "create" ? " (quote a value with spaces)" : ""));
  }

  HttpClient http(discoverEndpoint(socket_flag, url_flag));
  Envvars envvars(http);
  if (command == "list") return envvars.list(show_values, json_out);
  if (command == "show") return envvars.show(positional[0], json_out);
  if (command == "create") {
    return envvars.create(positional[0],
                          positional.size() > 1 ? std::optional<std::string>(positional[1])
                                                : std::nullopt,
                          json_out);
  }
  return envvars.remove(positional[0], sure, json_out);
}

}  // namespace

int runEnvvars(const std::string& prog, std::vector<std::string> args) {
  try {
    return dispatch(prog, std::move(args));
  } catch (const CommandExit& e) {
    return e.code;
  }
}

}  // namespace tjf::cli
