#include "cli/help_text.hpp"

#include <map>

namespace tjf::cli {
namespace {

struct CommandText {
  std::string summary;  // the line in the main help
  std::string usage;    // after "usage: <prog> <command> "
  std::string body;     // positional arguments and options
};

const std::map<std::string, CommandText>& commands() {
  static const std::map<std::string, CommandText> kCommands = {
      {"images",
       {"list information on available container image types for Toolforge jobs", "[-h] [--json]",
        "options:\n  -h, --help  show this help message and exit\n  --json      print the API "
        "response as JSON\n"}},
      {"run",
       {"run a new job of your own in Toolforge",
        "[-h] --command COMMAND --image IMAGE [--no-filelog | --filelog] [-o FILELOG_STDOUT] [-e "
        "FILELOG_STDERR]\n"
        "                          [--retry {0,1,2,3,4,5}] [--mem MEM] [--cpu CPU] [--emails "
        "{none,all,onfinish,onfailure}] [--mount {all,none}]\n"
        "                          [--schedule SCHEDULE | --continuous | --wait [WAIT]] "
        "[--health-check-script HEALTH_CHECK_SCRIPT]\n"
        "                          [--port PORT] [--replicas REPLICAS] [--timeout TIMEOUT] "
        "[--timezone TIMEZONE]\n"
        "                          name",
        "positional arguments:\n"
        "  name                  new job name\n"
        "\n"
        "options:\n"
        "  -h, --help            show this help message and exit\n"
        "  --command COMMAND     full path of command to run in this job\n"
        "  --image IMAGE         image shortname (check them with `images`)\n"
        "  --no-filelog          disable redirecting job output to files in the home directory\n"
        "  --filelog             explicitly enable file logs on jobs using a build service "
        "created image\n"
        "  -o FILELOG_STDOUT, --filelog-stdout FILELOG_STDOUT\n"
        "                        location to store stdout logs for this job\n"
        "  -e FILELOG_STDERR, --filelog-stderr FILELOG_STDERR\n"
        "                        location to store stderr logs for this job\n"
        "  --retry {0,1,2,3,4,5}\n"
        "                        specify the retry policy of failed jobs.\n"
        "  --mem MEM             specify additional memory limit required for this job\n"
        "  --cpu CPU             specify additional CPU limit required for this job\n"
        "  --emails {none,all,onfinish,onfailure}\n"
        "                        specify if the system should email notifications about this "
        "job. (default: 'none')\n"
        "  --mount {all,none}    specify which shared storage (NFS) directories to mount to this "
        "job. (default: 'none' on build service images,\n"
        "                        'all' otherwise)\n"
        "  --schedule SCHEDULE   run a job with a cron-like schedule (example '1 * * * *')\n"
        "  --continuous          run a continuous job\n"
        "  --wait [WAIT]         wait for job one-off job to complete, optionally specify a value "
        "to override default timeout of 600s\n"
        "  --health-check-script HEALTH_CHECK_SCRIPT\n"
        "                        specify a health check command to run on the job if any.\n"
        "  --health-check-http PATH\n"
        "                        specify an HTTP path to check on the job's port (continuous "
        "jobs with --port)\n"
        "  --port PORT           port the continuous job listens on (sets PORT, enables a TCP "
        "health check)\n"
        "  --replicas REPLICAS   number of copies of a continuous job to run (default: 1)\n"
        "  --timeout TIMEOUT     stop a one-off or scheduled run after this many seconds\n"
        "  --timezone TIMEZONE   time zone of the schedule, an IANA name (default: UTC)\n"}},
      {"show",
       {"show details of a job of your own in Toolforge", "[-h] [--json] name",
        "positional arguments:\n  name        job name\n\noptions:\n  -h, --help  show this "
        "help message and exit\n  --json      print the API response as JSON\n"}},
      {"logs",
       {"show output from a running job", "[-h] [-f] [-l LAST] [--json] name",
        "positional arguments:\n  name                  job name\n\noptions:\n  -h, --help       "
        "     show this help message and exit\n  -f, --follow          stream updates\n  -l "
        "LAST, --last LAST  number of recent log lines to display\n  --json                print "
        "the log lines as JSON\n"}},
      {"list",
       {"list all running jobs of your own in Toolforge", "[-h] [-o {normal,long,name}] [--json]",
        "options:\n  -h, --help            show this help message and exit\n  -o "
        "{normal,long,name}, --output {normal,long,name}\n                        specify output "
        "format (defaults to normal)\n  --json                print the API response as JSON\n"}},
      {"delete",
       {"delete a running job of your own in Toolforge", "[-h] name",
        "positional arguments:\n  name        job name\n\noptions:\n  -h, --help  show this "
        "help message and exit\n"}},
      {"flush",
       {"delete all running jobs of your own in Toolforge", "[-h]",
        "options:\n  -h, --help  show this help message and exit\n"}},
      {"load",
       {"flush all jobs and load a YAML file with job definitions and run them",
        "[-h] [--job JOB] [--dry-run] file",
        "positional arguments:\n  file        path to YAML file to load\n\noptions:\n  -h, "
        "--help  show this help message and exit\n  --job JOB   load a single job only\n  "
        "--dry-run   show what would change, and change nothing\n"}},
      {"restart",
       {"restarts a running job", "[-h] name",
        "positional arguments:\n  name        job name\n\noptions:\n  -h, --help  show this "
        "help message and exit\n"}},
      {"quota",
       {"display quota information", "[-h] [--json]",
        "options:\n  -h, --help  show this help message and exit\n  --json      print the API "
        "response as JSON\n"}},
      {"dump",
       {"dump all defined jobs in YAML format, suitable for a later `load` operation",
        "[-h] [-f TO_FILE]",
        "options:\n  -h, --help            show this help message and exit\n  -f TO_FILE, "
        "--to-file TO_FILE\n                        write YAML to a file instead of the standard "
        "output\n"}},
  };
  return kCommands;
}

const char* const kOrder[] = {"images", "run",     "show",  "logs", "list", "delete",
                              "flush",  "load",    "restart", "quota", "dump"};

}  // namespace

std::string mainUsage(const std::string& prog) {
  return "usage: " + prog +
         " [-h] {images,run,show,logs,list,delete,flush,load,restart,quota,dump} ...\n";
}

std::string mainHelp(const std::string& prog) {
  std::string out = mainUsage(prog);
  out += "\nToolforge Jobs Framework, command line interface\n\npositional arguments:\n";
  out += "  {images,run,show,logs,list,delete,flush,load,restart,quota,dump}\n";
  out += "                        possible operations (pass -h to know usage of each)\n";
  for (const char* name : kOrder) {
    std::string line = "    " + std::string(name);
    line.resize(24, ' ');
    out += line + commands().at(name).summary + "\n";
  }
  out += "\noptions:\n  -h, --help            show this help message and exit\n";
  return out;
}

std::string commandUsage(const std::string& prog, const std::string& command) {
  const auto it = commands().find(command);
  if (it == commands().end()) return "";
  return "usage: " + prog + " " + command + " " + it->second.usage + "\n";
}

std::string commandHelp(const std::string& prog, const std::string& command) {
  const auto it = commands().find(command);
  if (it == commands().end()) return "";
  return commandUsage(prog, command) + "\n" + it->second.body;
}

}  // namespace tjf::cli
