// `load` and `dump` end to end: the real tjfd, the real CLI, and the 58 real Toolforge job files
// of ../shared/data/real-jobs (read from there, never copied).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "cli/jobfile.hpp"
#include "harness.hpp"
#include "model/job.hpp"

namespace tjf::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

const fs::path kRealJobs = fs::path(TJF_SHARED_DIR) / "data" / "real-jobs";

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<fs::path> realJobFiles() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kRealJobs)) {
    const auto ext = entry.path().extension();
    if (ext == ".yaml" || ext == ".yml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) out.push_back(line);
  return out;
}

class LoadTest : public ::testing::Test {
 protected:
  void SetUp() override { daemon_ = std::make_unique<TestDaemon>(); }

  // Writes a job file in the tool home and returns its path.
  std::string jobFile(const std::string& name, const std::string& text) {
    daemon_->writeHomeFile(name, text);
    return (daemon_->home() / name).string();
  }
  json job(const std::string& name, bool include_unset = false) {
    const auto [status, body] = daemon_->http(
        "GET", "/v1/tool/" + daemon_->tool() + "/jobs/" + name +
                   (include_unset ? "" : "?include_unset=false"));
    return status == 200 ? json::parse(body).at("job") : json();
  }
  json runs(const std::string& name) {
    const auto [status, body] =
        daemon_->http("GET", "/v1/tool/" + daemon_->tool() + "/jobs/" + name + "/runs");
    return status == 200 ? json::parse(body).at("runs") : json::array();
  }
  std::set<std::string> jobNames() {
    std::set<std::string> names;
    for (const auto& line : lines(daemon_->jobs({"list", "-o", "name"}).out)) names.insert(line);
    return names;
  }

  std::unique_ptr<TestDaemon> daemon_;
};

TEST_F(LoadTest, AppliesServerSideWithUpstreamsMessages) {
  const auto file = jobFile("jobs.yaml", R"(
- name: web
  command: sleep 600
  image: bookworm
  continuous: true
  mem: 100Mi
- name: nightly
  command: ./nightly.sh
  image: python3.11
  schedule: "0 3 * * *"
  emails: onfailure
)");
  auto r = daemon_->jobs({"load", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Job web created in storage and runtime\n"
            "Job nightly created in storage and runtime\n");
  EXPECT_EQ(job("web").at("memory"), "100Mi");
  ASSERT_TRUE(eventually([&] { return job("web", true).at("status_short") == "Running"; }));
  const auto web_run = runs("web").at(0).at("id");

  // Loading the same file again touches nothing: no new run, the same definition.
  r = daemon_->jobs({"load", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Job web is already up to date\nJob nightly is already up to date\n");
  EXPECT_EQ(runs("web").size(), 1u);
  EXPECT_EQ(runs("web").at(0).at("id"), web_run);
  EXPECT_EQ(runs("web").at(0).at("state"), "running");

  // A job created by hand and missing from the file is left alone; a changed job is updated.
  ASSERT_EQ(daemon_->jobs({"run", "manual", "--command", "sleep 600", "--image", "bookworm",
                           "--continuous"}).exit_code, 0);
  const auto changed = jobFile("jobs2.yaml", R"(
- {name: web, command: sleep 600, image: bookworm, continuous: true, mem: 200Mi}
- {name: nightly, command: ./nightly.sh, image: python3.11, schedule: "0 3 * * *", emails: onfailure}
)");
  r = daemon_->jobs({"load", changed});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Job web was updated in storage and runtime\n"
            "Job nightly is already up to date\n");
  EXPECT_EQ(job("web").at("memory"), "200Mi");
  EXPECT_EQ(jobNames(), (std::set<std::string>{"manual", "nightly", "web"}));
  // The update replaced the run (a new generation).
  ASSERT_TRUE(eventually([&] {
    const auto all = runs("web");
    return all.size() == 2 && all.at(0).at("state") == "running" &&
           all.at(1).at("reason") == "Stopped";
  }));
}

TEST_F(LoadTest, JobOptionLoadsOneJobOnly) {
  const auto file = jobFile("jobs.yaml", R"(
- {name: a, command: sleep 600, image: bookworm, continuous: true}
- {name: b, command: sleep 600, image: bookworm, continuous: true}
)");
  auto r = daemon_->jobs({"load", file, "--job", "b"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Job b created in storage and runtime\n");
  EXPECT_EQ(jobNames(), std::set<std::string>{"b"});
  r = daemon_->jobs({"load", file, "--job", "c"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ERROR: Job 'c' is not defined in '" + file + "'"));
}

TEST_F(LoadTest, ABadJobAnywhereChangesNothing) {
  ASSERT_EQ(daemon_->jobs({"run", "keep", "--command", "sleep 600", "--image", "bookworm",
                           "--continuous", "--mem", "100Mi"}).exit_code, 0);
  struct Case {
    std::string yaml;
    std::string error;
  };
  const std::vector<Case> cases = {
      // Server-side checks (the dry run of every job before any is applied).
      {"- {name: image, command: x, image: nosuchimage}\n",
       "ERROR: Unable to load job number 5 ('image'): No such image 'nosuchimage' (no job was "
       "changed)"},
      {"- {name: mem, command: x, image: bookworm, mem: 1g}\n",
       "ERROR: Unable to load job number 5 ('mem'): mem: Invalid number format: 1g"},
      {"- {name: retry, command: x, image: bookworm, retry: 9}\n",
       "ERROR: Unable to load job number 5 ('retry'): retry: Input should be less than or equal "
       "to 5"},
      {"- {name: Bad_Name, command: x, image: bookworm}\n",
       "ERROR: Unable to load job number 5 ('Bad_Name'): Invalid job name."},
      {"- {name: cron, command: x, image: bookworm, schedule: '61 * * * *'}\n",
       "ERROR: Unable to load job number 5 ('cron'): "},
      {"- {name: cont, command: x, image: bookworm, continuous: true, timeout: 5}\n",
       "ERROR: Unable to load job number 5 ('cont'): timeout: Extra inputs are not permitted"},
      // Client-side checks.
      {"- {name: x, command: x, image: bookworm, retry: three}\n",
       "ERROR: Unable to load job number 5 ('x'): 'retry' must be a whole number, not 'three'"},
      {"- just a string\n",
       "ERROR: Unable to load job number 5 (line 5): expected a mapping of keys to values, found "
       "the text 'just a string'"},
      {"- {command: x, image: bookworm}\n",
       "ERROR: Unable to load job number 5: missing configuration parameter 'name'"},
      {"- {name: first, command: x, image: bookworm}\n",
       "ERROR: Unable to load job number 5 ('first'): the name is already used by job number 1"},
      {"- {name: y, command: [x, image: bookworm}\n", "ERROR: Unable to parse yaml file '"},
  };
  for (const auto& c : cases) {
    // Four good jobs (a new one, a changed one, an unchanged one, a new one), then a bad one.
    const auto file = jobFile("jobs.yaml",
                              "- {name: first, command: sleep 600, image: bookworm}\n"
                              "- {name: keep, command: sleep 600, image: bookworm, continuous: true, mem: 300Mi}\n"
                              "- {name: other, command: sleep 600, image: bookworm, continuous: true}\n"
                              "- {name: fourth, command: sleep 600, image: bookworm}\n" +
                                  c.yaml);
    const auto r = daemon_->jobs({"load", file});
    EXPECT_EQ(r.exit_code, 1) << c.yaml;
    EXPECT_THAT(r.err, HasSubstr(c.error)) << c.yaml;
    EXPECT_EQ(r.out, "") << c.yaml;
    EXPECT_EQ(jobNames(), std::set<std::string>{"keep"}) << c.yaml;
    EXPECT_EQ(job("keep").at("memory"), "100Mi") << c.yaml;
  }
}

// Limits that span jobs are checked for the whole file before anything changes: the server plans
// each job as if the ones before it had been applied.
TEST(LoadLimits, LimitsAcrossTheFileAreCheckedBeforeAnythingChanges) {
  TestDaemon daemon(DaemonOptions{.config_yaml = "quota:\n  cron_jobs: \"2\"\n"});
  const auto path = (daemon.home() / "jobs.yaml").string();
  daemon.writeHomeFile("jobs.yaml", R"(
- {name: a, command: x, image: bookworm, schedule: "@daily"}
- {name: b, command: x, image: bookworm, schedule: "@daily"}
- {name: c, command: x, image: bookworm, schedule: "@daily"}
)");
  auto r = daemon.jobs({"load", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ERROR: Unable to load job number 3 ('c'): Out of quota"));
  EXPECT_THAT(r.err, HasSubstr("(no job was changed)"));
  EXPECT_EQ(daemon.jobs({"list"}).out, "");

  daemon.writeHomeFile("ports.yaml", R"(
- {name: one, command: sleep 600, image: bookworm, continuous: true, port: 18555}
- {name: two, command: sleep 600, image: bookworm, continuous: true, port: 18555}
)");
  r = daemon.jobs({"load", (daemon.home() / "ports.yaml").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ERROR: Unable to load job number 2 ('two'): Port 18555/tcp is "
                               "already used by job 'one'"));
  EXPECT_EQ(daemon.jobs({"list"}).out, "");
}

TEST_F(LoadTest, UnknownKeysAndIgnoredSettingsWarn) {
  const auto file = jobFile("jobs.yaml",
                            "- name: a\n  command: sleep 600\n  image: bookworm\n"
                            "  continuous: true\n  retry: 3\n  email: onfailure\n");
  const auto r = daemon_->jobs({"load", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("WARNING: Unknown key 'email' in job 'a' definition"));
  EXPECT_THAT(r.err, HasSubstr("WARNING: The retry policy of job 'a' is ignored"));
  EXPECT_FALSE(job("a").contains("emails"));
}

TEST_F(LoadTest, DryRunShowsTheChangesAndChangesNothing) {
  ASSERT_EQ(daemon_->jobs({"load", jobFile("before.yaml", R"(
- {name: same, command: sleep 600, image: bookworm, continuous: true}
- {name: changed, command: sleep 600, image: bookworm, continuous: true, mem: 1Gi}
- {name: once, command: "true", image: bookworm, wait: true}
)")}).exit_code, 0);
  const auto file = jobFile("after.yaml", R"(
- {name: same, command: sleep 600, image: bookworm, continuous: true}
- {name: changed, command: sleep 600, image: bookworm, continuous: true, mem: 2Gi, replicas: 2}
- {name: once, command: "false", image: bookworm}
- {name: new, command: ./new.sh, image: python3.11, schedule: "@daily"}
)");
  auto r = daemon_->jobs({"load", "--dry-run", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "same: unchanged\n"
            "changed: update\n"
            "    mem: 1Gi -> 2Gi\n"
            "    replicas: (not set) -> 2\n"
            "once: replace\n"
            "    command: true -> false\n"
            "new: create\n");
  EXPECT_EQ(job("changed").at("memory"), "1Gi");
  EXPECT_TRUE(job("new").is_null());
  EXPECT_EQ(job("once").at("cmd"), "true");
  EXPECT_EQ(runs("changed").size(), 1u);

  // A dry run reports server-side errors too, and exit 1.
  r = daemon_->jobs({"load", "--dry-run", jobFile("bad.yaml", "- {name: x, command: y, image: z}\n")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ERROR: Unable to load job number 1 ('x'): No such image 'z'"));
}

TEST_F(LoadTest, OneOffJobsAreReplacedWhenChangedAndLeftAloneWhenNot) {
  const std::string once = "- {name: once, command: echo one, image: bookworm, wait: true}\n";
  auto r = daemon_->jobs({"load", jobFile("a.yaml", once)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(daemon_->readHomeFile("once.out"), "one\n");
  r = daemon_->jobs({"load", jobFile("a.yaml", once)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Job once is already up to date\n");
  EXPECT_EQ(runs("once").size(), 1u) << "an unchanged one-off job is not run again";
  r = daemon_->jobs(
      {"load", jobFile("b.yaml", "- {name: once, command: echo two, image: bookworm, wait: true}\n")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Job once was replaced in storage and runtime\n");
  EXPECT_EQ(daemon_->readHomeFile("once.out"), "one\ntwo\n");
  EXPECT_EQ(runs("once").size(), 2u);
}

TEST_F(LoadTest, WaitRunsOneOffJobsInFileOrder) {
  daemon_->writeHomeFile("build.sh", "#!/bin/sh\nsleep 0.3\necho built > artefact\n", true);
  const auto file = jobFile("jobs.yaml", R"(
- name: build
  command: ./build.sh
  image: bookworm
  wait: true
- name: use
  command: cat artefact
  image: bookworm
)");
  auto r = daemon_->jobs({"load", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return job("use", true).at("status_short") == "Completed"; }));
  EXPECT_EQ(daemon_->readHomeFile("use.out"), "built\n");
  // `use` was created only after `build` had finished.
  EXPECT_GE(runs("use").at(0).at("created_at").get<std::string>(),
            runs("build").at(0).at("finished_at").get<std::string>());

  // A failing waited-for job stops the load as `run --wait` does: exit 1, nothing after it.
  r = daemon_->jobs({"load", jobFile("fail.yaml", R"(
- {name: broken, command: exit 3, image: bookworm, wait: true}
- {name: after, command: "true", image: bookworm}
)")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ERROR: job 'broken' failed:"));
  EXPECT_THAT(r.err, HasSubstr("ERROR: The jobs after job number 1 ('broken') were not loaded"));
  EXPECT_THAT(r.out, HasSubstr("Exit code '3'"));
  EXPECT_TRUE(job("after").is_null());
}

TEST_F(LoadTest, DumpFlushLoadRestoresTheSameJobs) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"run", "web", "--command", "sleep 600", "--image", "python3.11", "--continuous",
            "--mem", "100Mi", "--cpu", "0.25", "--port", "8123", "--replicas", "2"},
           {"run", "cron", "--command", "./x.sh --flag 'quoted: yes'", "--image", "tf-python39",
            "--schedule", "*/15 * * * *", "--retry", "2", "--emails", "onfailure",
            "--no-filelog", "--timeout", "300"},
           {"run", "once", "--command", "true", "--image", "bookworm", "-o", "logs/once.log",
            "-e", "/dev/null", "--wait"},
       }) {
    daemon_->writeHomeFile("logs/.keep", "");
    const auto r = daemon_->jobs(args);
    ASSERT_EQ(r.exit_code, 0) << args[1] << ": " << r.err;
  }
  const std::string dump_path = (daemon_->root() / "dump.yaml").string();
  auto r = daemon_->jobs({"dump", "-f", dump_path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string dumped = readFile(dump_path);
  EXPECT_EQ(dumped, daemon_->jobs({"dump"}).out);
  EXPECT_EQ(dumped,
            "- command: \"./x.sh --flag 'quoted: yes'\"\n"
            "  emails: onfailure\n"
            "  image: tf-python39\n"
            "  name: cron\n"
            "  no-filelog: true\n"
            "  retry: 2\n"
            "  schedule: \"*/15 * * * *\"\n"
            "  timeout: 300\n"
            "- command: \"true\"\n"
            "  filelog-stderr: /dev/null\n"
            "  filelog-stdout: logs/once.log\n"
            "  image: bookworm\n"
            "  name: once\n"
            "- command: sleep 600\n"
            "  continuous: true\n"
            "  cpu: 0.25\n"
            "  image: python3.11\n"
            "  mem: 100Mi\n"
            "  name: web\n"
            "  port: 8123\n"
            "  replicas: 2\n");
  // A fresh dump loads as "already up to date", job by job.
  r = daemon_->jobs({"load", dump_path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Job cron is already up to date\nJob once is already up to date\n"
            "Job web is already up to date\n");
  const json before = json::parse(daemon_->http("GET", "/v1/tool/tf-test/jobs?include_unset=false").second)
                          .at("jobs");
  ASSERT_EQ(daemon_->jobs({"flush"}).exit_code, 0);
  EXPECT_EQ(daemon_->jobs({"list"}).out, "");
  r = daemon_->jobs({"load", dump_path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(daemon_->http("GET", "/v1/tool/tf-test/jobs?include_unset=false").second)
                .at("jobs"),
            before);
  EXPECT_EQ(daemon_->jobs({"dump"}).out, dumped);
}

TEST_F(LoadTest, LoadReadsStandardInput) {
  const auto r = daemon_->jobs({"load", "-"}, "- {name: a, command: sleep 600, image: bookworm, "
                                              "continuous: true}\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Job a created in storage and runtime\n");
}

// The user documentation's (seed's) own examples, cut out of its text verbatim.
std::string seedBetween(const std::string& start, const std::string& end) {
  const std::string seed =
      readFile(fs::path(TJF_SHARED_DIR) / "seed" / "help-toolforge-jobs-framework.txt");
  const auto from = seed.find(start);
  const auto to = seed.find(end, from);
  if (from == std::string::npos || to == std::string::npos) return "";
  return seed.substr(from + start.size(), to - from - start.size());
}

TEST_F(LoadTest, TheDocumentationsExampleFileLoadsAndDumps) {
  const std::string example =
      seedBetween("Example YAML file:\n\n", "\nYou can do the opposite operation");
  ASSERT_THAT(example, HasSubstr("- name: job-with-healthcheck-script"));
  // What the example's commands need in the tool home: the waited-for job must succeed, and a
  // health check script that is a path must exist.
  daemon_->writeHomeFile("mycommand.sh", "#!/bin/sh\necho \"$@\"\n", true);
  daemon_->writeHomeFile("some-healthcheck-script.sh", "#!/bin/sh\nexit 0\n", true);
  daemon_->writeHomeFile("logs/.keep", "");
  auto r = daemon_->jobs({"load", jobFile("jobs.yaml", example)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Job hourly created in storage and runtime\n"
            "Job endlessjob created in storage and runtime\n"
            "Job myjob created in storage and runtime\n"
            "Job anotherjob created in storage and runtime\n"
            "Job normal-job-with-custom-logs created in storage and runtime\n"
            "Job normal-job-with-custom-retry-policy created in storage and runtime\n"
            "Job normal-job-with-higher-memory-limit created in storage and runtime\n"
            "Job job-with-healthcheck-script created in storage and runtime\n");
  EXPECT_EQ(daemon_->readHomeFile("myjob.out"), "--argument1\n") << "waited for before the next";
  const auto dump = daemon_->jobs({"dump"});
  ASSERT_EQ(dump.exit_code, 0);
  EXPECT_EQ(dump.out,
            "- command: ./mycommand.sh --argument1\n"
            "  emails: none\n"
            "  image: bullseye\n"
            "  name: anotherjob\n"
            "- command: python3 dumps-daemon.py --endless\n"
            "  continuous: true\n"
            "  emails: all\n"
            "  image: python3.11\n"
            "  name: endlessjob\n"
            "- command: ./myothercommand.sh -v\n"
            "  emails: onfailure\n"
            "  image: bullseye\n"
            "  name: hourly\n"
            "  no-filelog: true\n"
            "  schedule: \"@hourly\"\n"
            "- command: ./some-command.sh\n"
            "  continuous: true\n"
            "  health-check-script: ./some-healthcheck-script.sh\n"
            "  image: bullseye\n"
            "  name: job-with-healthcheck-script\n"
            "- command: ./mycommand.sh --argument1\n"
            "  emails: onfinish\n"
            "  image: bullseye\n"
            "  name: myjob\n"
            "- command: ./mycommand.sh --argument1\n"
            "  filelog-stderr: logs/stderr.log\n"
            "  filelog-stdout: logs/stdout.log\n"
            "  image: bullseye\n"
            "  name: normal-job-with-custom-logs\n"
            "- command: ./mycommand.sh --argument1\n"
            "  image: bullseye\n"
            "  name: normal-job-with-custom-retry-policy\n"
            "  retry: 2\n"
            "- command: ./mycommand.sh --argument1\n"
            "  image: bullseye\n"
            "  mem: 500Mi\n"
            "  name: normal-job-with-higher-memory-limit\n");
  r = daemon_->jobs({"load", jobFile("dump.yaml", dump.out)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& line : lines(r.out)) EXPECT_THAT(line, HasSubstr("is already up to date"));
  EXPECT_EQ(lines(r.out).size(), 8u);
}

TEST_F(LoadTest, TheDocumentationsDumpExampleRoundTripsVerbatim) {
  // The seed's `dump` output (with the user's `mem: 1G`, not upstream's normalised value).
  const std::string dumped = seedBetween("tools.mytool@tools-bastion-12:~$ toolforge jobs dump\n",
                                         "\ntools.mytool@tools-bastion-12:~$ toolforge jobs dump --to-file");
  ASSERT_THAT(dumped, HasSubstr("mem: 1G"));
  auto r = daemon_->jobs({"load", jobFile("myjobs.yaml", dumped)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(daemon_->jobs({"dump"}).out, dumped);
}

TEST(RealJobFiles, AllParseWithTheExpectedJobCount) {
  const auto files = realJobFiles();
  ASSERT_EQ(files.size(), 58u) << "expected the 58 files of " << kRealJobs;
  std::size_t total = 0;
  for (const auto& path : files) {
    auto parsed = cli::parseJobFile(readFile(path), path.filename().string());
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_FALSE(parsed->jobs.empty()) << path.filename();
    total += parsed->jobs.size();
    for (const auto& w : parsed->warnings) {
      // The only unknown key in these files is a real typo ('email' for 'emails').
      if (w.rfind("Unknown key", 0) == 0) {
        EXPECT_EQ(w.find("Unknown key 'email' "), 0u) << w;
      }
    }
  }
  EXPECT_EQ(total, 391u);
}

// The build-service images the files use, mapped by an operator catalogue (test-written) to a
// root filesystem: they are refused with `No such image` otherwise. The catalogue extends the
// defaults, so the files' prebuilt and legacy image names keep working.
std::string operatorCatalogue(const fs::path& rootfs) {
  std::set<std::string> images;
  for (const auto& path : realJobFiles()) {
    auto parsed = cli::parseJobFile(readFile(path), path.filename().string());
    if (!parsed) continue;
    for (const auto& job : parsed->jobs) {
      const std::string image = job.body.value("imagename", "");
      if (image.rfind("tool-", 0) == 0 && image.find('/') != std::string::npos) images.insert(image);
    }
  }
  std::string yaml;
  for (const auto& image : images) {
    yaml += image + ":\n  image: tools-harbor.wmcloud.org/" + image + "\n  rootfs: " +
            rootfs.string() + "\n";
  }
  return yaml;
}

// Every real file loads; its dump says the same thing (each job's definition equals the file's),
// loading the dump reports every job `already up to date`, and dumping again gives the same text.
TEST(RealJobFiles, LoadDumpReloadAndDumpAgain) {
  // An operator setting in which these tools' jobs fit: some ask for 4 CPUs or 6Gi, some define
  // more than 50 cron jobs (Toolforge raises quotas on request; here they are off).
  TestDaemon daemon(DaemonOptions{.config_yaml = "quota:\n  cron_jobs: \"0\"\n  continuous_jobs: \"0\"\n"
                                                 "  job_max_cpu: \"0\"\n  job_max_memory: \"0\"\n"
                                                 "restart_backoff_ms: 60000\n"});
  const fs::path rootfs = daemon.root() / "rootfs";
  fs::create_directories(rootfs / "bin");
  fs::create_symlink("/bin/sh", rootfs / "bin" / "sh");
  {
    std::ofstream(daemon.root() / "images.yaml") << operatorCatalogue(rootfs);
    std::ofstream(daemon.root() / "tjfd.yaml", std::ios::app)
        << "images: " << (daemon.root() / "images.yaml").string() << "\n";
  }
  daemon.restart();

  for (const auto& path : realJobFiles()) {
    SCOPED_TRACE(path.filename().string());
    const auto parsed = cli::parseJobFile(readFile(path), path.filename().string());
    ASSERT_TRUE(parsed);
    // A `wait: true` job that fails here (its command is not in this test's tool home) stops
    // the load, as `run --wait` does; loading again skips it (it is up to date) and goes on.
    const auto waits = std::count_if(parsed->jobs.begin(), parsed->jobs.end(),
                                     [](const cli::FileJob& j) { return j.wait_seconds.has_value(); });
    CommandResult r;
    for (int attempt = 0; attempt <= waits; ++attempt) {
      r = daemon.jobs({"load", path.string()});
      if (r.exit_code == 0 || r.err.find("failed:") == std::string::npos) break;
    }
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) {
      daemon.jobs({"flush"});
      continue;
    }

    const auto dump1 = daemon.jobs({"dump"});
    ASSERT_EQ(dump1.exit_code, 0) << dump1.err;
    auto dumped = cli::parseJobFile(dump1.out, "dump");
    ASSERT_TRUE(dumped) << dumped.error().message;
    EXPECT_TRUE(dumped->warnings.empty());
    ASSERT_EQ(dumped->jobs.size(), parsed->jobs.size());
    for (const auto& original : parsed->jobs) {
      const auto it = std::find_if(dumped->jobs.begin(), dumped->jobs.end(),
                                   [&](const cli::FileJob& j) { return j.name == original.name; });
      ASSERT_NE(it, dumped->jobs.end()) << original.name;
      auto a = model::jobSpecFromJson(original.body, nullptr);
      auto b = model::jobSpecFromJson(it->body, nullptr);
      ASSERT_TRUE(a && b) << original.name;
      EXPECT_EQ(*a, *b) << original.name << ": the dump means something else:\n"
                        << original.body.dump() << "\n"
                        << it->body.dump();
    }

    const std::string dump_file = (daemon.root() / "dump.yaml").string();
    std::ofstream(dump_file) << dump1.out;
    r = daemon.jobs({"load", dump_file});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    for (const auto& line : lines(r.out)) {
      EXPECT_THAT(line, HasSubstr(" is already up to date")) << r.out;
    }
    EXPECT_EQ(lines(r.out).size(), parsed->jobs.size());
    EXPECT_EQ(daemon.jobs({"dump"}).out, dump1.out);
    ASSERT_EQ(daemon.jobs({"flush"}).exit_code, 0);
  }
}

}  // namespace
}  // namespace tjf::testing
