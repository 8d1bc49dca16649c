// Job files: every key, YAML features that real Toolforge files use, errors, and the dump format.
// The 58 real job files themselves are loaded by tests/integration/load_test.cpp.
#include "cli/jobfile.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "model/job.hpp"

namespace tjf::cli {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

JobFile parseOk(const std::string& text) {
  auto parsed = parseJobFile(text, "jobs.yaml");
  EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().message);
  return parsed ? *parsed : JobFile{};
}

std::string parseError(const std::string& text) {
  auto parsed = parseJobFile(text, "jobs.yaml");
  EXPECT_FALSE(parsed) << "parsed without error: " << text;
  return parsed ? "" : parsed.error().message;
}

TEST(JobFile, EveryKeyMapsToItsApiField) {
  const auto file = parseOk(R"(
- name: cont
  command: ./serve --port 8000
  image: python3.11
  continuous: true
  mem: 2000Mi
  cpu: 0.5
  emails: onfailure
  mount: all
  filelog-stdout: logs/cont.out
  filelog-stderr: /dev/null
  health-check-http: /healthz
  port: 8000
  port-protocol: tcp
  replicas: 2
- name: cron
  command: ./daily.sh
  image: bookworm
  schedule: "0 3 * * *"
  timezone: Europe/Berlin
  concurrency-policy: Replace
  starting-deadline-seconds: 120
  retry: 2
  timeout: 3600
  no-filelog: true
- name: build
  command: ./build.sh
  image: node18
  wait: true
  filelog: true
  health-check-script: ./check.sh
)");
  ASSERT_EQ(file.jobs.size(), 3u);
  EXPECT_EQ(file.jobs[0].body, json::parse(R"({
    "name": "cont", "cmd": "./serve --port 8000", "imagename": "python3.11", "continuous": true,
    "memory": "2000Mi", "cpu": "0.5", "emails": "onfailure", "mount": "all",
    "filelog_stdout": "logs/cont.out", "filelog_stderr": "/dev/null",
    "health_check": {"type": "http", "path": "/healthz"}, "port": 8000, "port_protocol": "tcp",
    "replicas": 2})"));
  EXPECT_EQ(file.jobs[1].body, json::parse(R"({
    "name": "cron", "cmd": "./daily.sh", "imagename": "bookworm", "schedule": "0 3 * * *",
    "time_zone": "Europe/Berlin", "concurrency_policy": "Replace",
    "starting_deadline_seconds": 120, "retry": 2, "timeout": 3600, "filelog": false})"));
  EXPECT_EQ(file.jobs[2].body["filelog"], true);
  EXPECT_EQ(file.jobs[2].body["health_check"], json::parse(R"({"type":"script","script":"./check.sh"})"));
  EXPECT_EQ(file.jobs[2].wait_seconds, kDefaultWaitSeconds);
  EXPECT_FALSE(file.jobs[0].wait_seconds);
  EXPECT_EQ(file.jobs[1].number, 2);
  EXPECT_EQ(file.jobs[1].line, 16);
  EXPECT_TRUE(file.warnings.empty());
}

TEST(JobFile, QuantitiesKeepTheTextTheUserWrote) {
  const auto file = parseOk(R"(
- {name: a, command: x, image: bookworm, cpu: 1, mem: 0.5Gi}
- {name: b, command: x, image: bookworm, cpu: 0.1, mem: 2000Mi}
- {name: c, command: x, image: bookworm, cpu: "0.5", mem: '1.0Gi'}
- {name: d, command: x, image: bookworm, cpu: 4000m, mem: 1G}
- {name: e, command: x, image: bookworm, cpu: 1.0, mem: 100Mi}
)");
  std::vector<std::string> cpus, mems;
  for (const auto& job : file.jobs) {
    cpus.push_back(job.body.at("cpu"));
    mems.push_back(job.body.at("memory"));
  }
  EXPECT_THAT(cpus, ElementsAre("1", "0.1", "0.5", "4000m", "1.0"));
  EXPECT_THAT(mems, ElementsAre("0.5Gi", "2000Mi", "1.0Gi", "1G", "100Mi"));
}

TEST(JobFile, MergeKeysExplicitKeysWinWhereverTheyAre) {
  // The patterns of the real files: an anchor on a real job, `<<` after or before explicit keys.
  const auto file = parseOk(R"(
- &defaults
  name: dummy-defaults-job
  command: echo defaults
  emails: onfailure
  image: python3.11
  no-filelog: true
  retry: 5
- name: early
  command: $HOME/early
  schedule: '7 0 1-28 * *'
  <<: *defaults
- name: late
  retry: 1
  <<: *defaults
  command: $HOME/late
  schedule: '53 23 28-31 * *'
)");
  ASSERT_EQ(file.jobs.size(), 3u);
  EXPECT_EQ(file.jobs[1].body, json::parse(R"({"name": "early", "cmd": "$HOME/early",
    "imagename": "python3.11", "schedule": "7 0 1-28 * *", "emails": "onfailure",
    "filelog": false, "retry": 5})"));
  EXPECT_EQ(file.jobs[2].body["retry"], 1);
  EXPECT_EQ(file.jobs[2].body["cmd"], "$HOME/late");
  EXPECT_TRUE(file.warnings.empty());
}

TEST(JobFile, MergeKeyListsNestedMergesAndQuotedKeys) {
  const auto file = parseOk(R"(
- &base {name: base, command: b, image: bookworm, mem: 1Gi, cpu: '1'}
- &small {name: small, command: s, image: bookworm, mem: 256Mi, <<: *base}
- name: both
  <<: [*small, *base]
- name: quoted
  command: q
  image: bookworm
  "<<": not a merge
)");
  ASSERT_EQ(file.jobs.size(), 4u);
  EXPECT_EQ(file.jobs[1].body["memory"], "256Mi");
  EXPECT_EQ(file.jobs[1].body["cpu"], "1");  // merged from base through small
  // Earlier mappings of a merge list win over later ones.
  EXPECT_EQ(file.jobs[2].body["cmd"], "s");
  EXPECT_EQ(file.jobs[2].body["memory"], "256Mi");
  EXPECT_THAT(file.warnings, ElementsAre("Unknown key '<<' in job 'quoted' definition"));
  EXPECT_THAT(parseError("- name: x\n  <<: 5\n"), HasSubstr("needs a mapping or a list of mappings"));
}

TEST(JobFile, FlowMappingsFoldedScalarsCommentsCrlfAndNoFinalNewline) {
  const auto file = parseOk(
      "# header comment\r\n---\r\n- {schedule: \"0 2 1,15 * *\", name: \"job-a\", \"filelog-stderr\": e.log,"
      " command: \"~/job a.js\", image: \"node18\"}  # trailing\r\n"
      "- name: folded   # comment after a value\r\n"
      "  # a comment inside the mapping\r\n"
      "  command: >-\r\n"
      "    python3 run.py\r\n"
      "    --all\r\n"
      "  image: python3.11\r\n"
      " \r\n"
      "- name: last\r\n  command: x\r\n  image: bookworm\r\n  schedule: 00 */6 * * *");
  ASSERT_EQ(file.jobs.size(), 3u);
  EXPECT_EQ(file.jobs[0].body["filelog_stderr"], "e.log");
  EXPECT_EQ(file.jobs[0].body["cmd"], "~/job a.js");
  EXPECT_EQ(file.jobs[1].body["cmd"], "python3 run.py --all");
  EXPECT_EQ(file.jobs[1].name, "folded");
  EXPECT_EQ(file.jobs[2].body["schedule"], "00 */6 * * *");
}

TEST(JobFile, ByteOrderMarkAndLiteralBlocks) {
  const auto file = parseOk("\xEF\xBB\xBF- name: a\n  command: |\n    echo 1\n    echo 2\n  image: b\n");
  ASSERT_EQ(file.jobs.size(), 1u);
  EXPECT_EQ(file.jobs[0].body["cmd"], "echo 1\necho 2\n");
}

TEST(JobFile, UnknownKeysWarnAndAreIgnored) {
  const auto file = parseOk("- name: a\n  command: x\n  image: bookworm\n  email: onfailure\n");
  ASSERT_EQ(file.jobs.size(), 1u);
  EXPECT_FALSE(file.jobs[0].body.contains("email"));
  EXPECT_FALSE(file.jobs[0].body.contains("emails"));
  EXPECT_THAT(file.warnings, ElementsAre("Unknown key 'email' in job 'a' definition"));
}

TEST(JobFile, RetryOnAContinuousJobIsIgnoredWithAWarning) {
  const auto file =
      parseOk("- name: a\n  command: x\n  image: bookworm\n  continuous: true\n  retry: 3\n");
  EXPECT_FALSE(file.jobs.at(0).body.contains("retry"));
  ASSERT_EQ(file.warnings.size(), 1u);
  EXPECT_THAT(file.warnings[0], HasSubstr("retry policy of job 'a' is ignored"));
}

TEST(JobFile, WaitAppliesToOneOffJobsOnly) {
  const auto file = parseOk(R"(
- {name: a, command: x, image: bookworm, wait: true}
- {name: b, command: x, image: bookworm, wait: 900}
- {name: c, command: x, image: bookworm, wait: false}
- {name: d, command: x, image: bookworm, wait: yes, schedule: '@daily'}
)");
  EXPECT_EQ(file.jobs[0].wait_seconds, 600);
  EXPECT_EQ(file.jobs[1].wait_seconds, 900);
  EXPECT_FALSE(file.jobs[2].wait_seconds);
  EXPECT_FALSE(file.jobs[3].wait_seconds);
  EXPECT_THAT(file.warnings,
              ElementsAre("'wait' is ignored for job 'd': only one-off jobs can be waited for"));
  EXPECT_THAT(parseError("- {name: a, command: x, image: bookworm, wait: later}"),
              HasSubstr("'wait' must be true, false or a number of seconds, not 'later'"));
}

TEST(JobFile, PortWithProtocol) {
  const auto file = parseOk(R"(
- {name: a, command: x, image: bookworm, continuous: true, port: 3334/udp}
- {name: b, command: x, image: bookworm, continuous: true, port: "8080"}
)");
  EXPECT_EQ(file.jobs[0].body["port"], 3334);
  EXPECT_EQ(file.jobs[0].body["port_protocol"], "udp");
  EXPECT_EQ(file.jobs[1].body["port"], 8080);
  EXPECT_FALSE(file.jobs[1].body.contains("port_protocol"));
  EXPECT_THAT(parseError("- {name: a, command: x, image: b, port: 3334/udp, port-protocol: tcp}"),
              HasSubstr("'port' says 'udp' but 'port-protocol' says 'tcp'"));
  EXPECT_THAT(parseError("- {name: a, command: x, image: b, port: http}"),
              HasSubstr("'port' must be a port number"));
}

TEST(JobFile, EmptyValuesAreNotSet) {
  const auto file = parseOk("- name: a\n  command: x\n  image: bookworm\n  mem:\n  cpu: ~\n");
  EXPECT_EQ(file.jobs.at(0).body, json::parse(R"({"name":"a","cmd":"x","imagename":"bookworm"})"));
  EXPECT_EQ(parseError("- name: a\n  command:\n  image: bookworm\n"),
            "Unable to load job number 1: missing configuration parameter 'command'");
}

TEST(JobFile, EmptyFileHasNoJobs) {
  EXPECT_TRUE(parseOk("").jobs.empty());
  EXPECT_TRUE(parseOk("# only a comment\n---\n").jobs.empty());
}

TEST(JobFileErrors, InvalidYamlNamesTheFileAndLine) {
  const std::string error = parseError("- name: a\n  command: x\n  image: [bookworm\n- name: b\n");
  EXPECT_THAT(error, HasSubstr("Unable to parse yaml file 'jobs.yaml': line "));
  EXPECT_EQ(parseError("- name: a\n  command: x: y\n  image: bookworm\n"),
            "Unable to parse yaml file 'jobs.yaml': line 2, column 13: illegal map value");
}

TEST(JobFileErrors, TheFileMustBeOneListOfMappings) {
  EXPECT_THAT(parseError("name: a\ncommand: x\nimage: bookworm\n"),
              HasSubstr("expected a list of jobs (each starting with '- '), found a mapping"));
  EXPECT_EQ(parseError("- name: a\n  command: x\n  image: b\n- just text\n"),
            "Unable to load job number 2 (line 4): expected a mapping of keys to values, found "
            "the text 'just text'");
  EXPECT_THAT(parseError("- {name: a, command: x, image: b}\n---\n- {name: c, command: x, image: b}\n"),
              HasSubstr("line 3: a second YAML document starts here"));
}

TEST(JobFileErrors, MissingRequiredKeysUseUpstreamsMessage) {
  EXPECT_EQ(parseError("- name: a\n  command: x\n  image: b\n- command: x\n  image: b\n"),
            "Unable to load job number 2: missing configuration parameter 'name'");
  EXPECT_EQ(parseError("- name: a\n  command: x\n"),
            "Unable to load job number 1: missing configuration parameter 'image'");
}

TEST(JobFileErrors, WrongTypesNameTheJobAndKey) {
  EXPECT_EQ(parseError("- {name: a, command: x, image: b, retry: three}"),
            "Unable to load job number 1 ('a'): 'retry' must be a whole number, not 'three'");
  EXPECT_EQ(parseError("- {name: a, command: x, image: b, continuous: maybe}"),
            "Unable to load job number 1 ('a'): 'continuous' must be true or false, not 'maybe'");
  EXPECT_EQ(parseError("- {name: a, command: [x, y], image: b}"),
            "Unable to load job number 1 ('a'): 'command' must be a single value, not a list");
  EXPECT_THAT(parseError("- {name: a, command: x, image: b, schedule: '@daily', continuous: true}"),
              HasSubstr("'schedule' and 'continuous: true' cannot be combined"));
  EXPECT_THAT(parseError("- {name: a, command: x, image: b, filelog: true, no-filelog: true}"),
              HasSubstr("contradict each other"));
  EXPECT_THAT(parseError("- {name: a, command: x, image: b, health-check-script: s, "
                         "health-check-http: /h}"),
              HasSubstr("cannot both be set"));
}

TEST(JobFileErrors, DuplicateNamesAndKeys) {
  EXPECT_EQ(parseError("- {name: a, command: x, image: b}\n- {name: b, command: x, image: b}\n"
                       "- {name: a, command: y, image: b}\n"),
            "Unable to load job number 3 ('a'): the name is already used by job number 1");
  EXPECT_THAT(parseError("- name: a\n  command: x\n  image: b\n  command: y\n"),
              HasSubstr("Unable to load job number 1: key 'command' is given twice (line 4)"));
}

TEST(Dump, SortedKeysUserValuesAndQuoting) {
  const json jobs = json::parse(R"([
    {"name": "web", "cmd": "./serve", "imagename": "python3.11", "image": "python3.11",
     "job_type": "continuous", "continuous": true, "memory": "100Mi", "cpu": "0.5",
     "port": 3334, "port_protocol": "udp", "health_check": {"type": "script", "script": "./ok"},
     "replicas": 2, "filelog": false},
    {"name": "cron", "cmd": "true", "imagename": "bookworm", "image": "bookworm",
     "job_type": "scheduled", "schedule": "*/5 * * * *", "retry": 1, "timeout": 60,
     "filelog": true, "filelog_stdout": "logs/x.out", "time_zone": "Europe/Berlin"}
  ])");
  EXPECT_EQ(dumpJobs(jobs),
            "- command: ./serve\n"
            "  continuous: true\n"
            "  cpu: 0.5\n"
            "  health-check-script: ./ok\n"
            "  image: python3.11\n"
            "  mem: 100Mi\n"
            "  name: web\n"
            "  no-filelog: true\n"
            "  port: 3334/udp\n"
            "  replicas: 2\n"
            "- command: \"true\"\n"
            "  filelog: true\n"
            "  filelog-stdout: logs/x.out\n"
            "  image: bookworm\n"
            "  name: cron\n"
            "  retry: 1\n"
            "  schedule: \"*/5 * * * *\"\n"
            "  timeout: 60\n"
            "  timezone: Europe/Berlin\n");
  EXPECT_EQ(dumpJobs(json::array()), "[]\n");
}

TEST(Dump, MessagesAndDiffsUseTheFileKeys) {
  EXPECT_EQ(fileKeyOf("memory"), "mem");
  EXPECT_EQ(fileKeyOf("cmd"), "command");
  EXPECT_EQ(fileKeyOf("starting_deadline_seconds"), "starting-deadline-seconds");
  EXPECT_EQ(inFileTerms("memory: Invalid number format: 1g"), "mem: Invalid number format: 1g");
  EXPECT_EQ(inFileTerms("No such image 'x'"), "No such image 'x'");
  EXPECT_THAT(describeDiff(json::parse(R"([
      {"field": "memory", "old": "1Gi", "new": "2Gi"},
      {"field": "schedule", "old": null, "new": "@daily"},
      {"field": "retry", "old": 2, "new": null},
      {"field": "health_check", "old": null, "new": {"type": "http", "path": "/h"}}])")),
              ElementsAre("mem: 1Gi -> 2Gi", "schedule: (not set) -> @daily",
                          "retry: 2 -> (not set)", "health check: (not set) -> http '/h'"));
}

// ---- Round trip: random definitions, dumped and loaded back, are the same jobs ---------------

std::string pick(std::mt19937& rng, const std::vector<std::string>& choices) {
  return choices[std::uniform_int_distribution<std::size_t>(0, choices.size() - 1)(rng)];
}

// Text that YAML likes to misread: quotes, colons, comment marks, indicators, numbers, booleans,
// non-ASCII, leading and trailing spaces.
std::string awkwardText(std::mt19937& rng) {
  static const std::vector<std::string> kParts = {
      "./run.sh", " --flag", "a: b", " #not a comment", "'single'", "\"double\"", "true", "123",
      "0.5", "null", "~", "- dash", "{brace}", "[list]", "&anchor", "*alias", "!tag", "%pct",
      "@at", "`tick`", "$HOME/x", "${VAR:-d}", "héllo wörld", "日本", "a|b", "x > y", "; ls",
      "&&", "\\back", "tab\tin", "trailing ", " leading", "?", ":", "-", "yes", "0x1F", "1e3",
      "line\nbreak", "{{ tool_dir }}"};
  std::string out;
  const int n = std::uniform_int_distribution<int>(1, 4)(rng);
  for (int i = 0; i < n; ++i) out += pick(rng, kParts);
  return out;
}

model::JobSpec randomSpec(std::mt19937& rng, int i) {
  auto coin = [&] { return std::uniform_int_distribution<int>(0, 1)(rng) == 1; };
  model::JobSpec s;
  s.name = "job-" + std::to_string(i);
  s.cmd = awkwardText(rng);
  s.imagename = pick(rng, {"bookworm", "python3.11", "tf-python39", "tool-x/y:latest", "1.0"});
  s.type = static_cast<model::JobType>(std::uniform_int_distribution<int>(0, 2)(rng));
  if (coin()) s.filelog = coin();
  if (coin()) s.filelog_stdout = pick(rng, {"x.out", "logs/a b.log", "/dev/null", "$HOME/l", "1"});
  if (coin()) s.filelog_stderr = awkwardText(rng);
  if (coin()) s.emails = static_cast<model::EmailPolicy>(std::uniform_int_distribution<int>(0, 3)(rng));
  if (coin()) s.mount = coin() ? model::MountPolicy::kAll : model::MountPolicy::kNone;
  if (coin()) s.memory = pick(rng, {"512Mi", "0.5Gi", "1G", "2000Mi", "1", "1.0Gi", "1e9"});
  if (coin()) s.cpu = pick(rng, {"1", "0.5", "1.0", "4000m", ".5", "2", "100m", "0.25"});
  if (s.type != model::JobType::kContinuous) {
    if (coin()) s.retry = std::uniform_int_distribution<int>(0, 5)(rng);
    if (coin()) s.timeout = std::uniform_int_distribution<int>(0, 86400)(rng);
  }
  if (s.type == model::JobType::kScheduled) {
    s.schedule = pick(rng, {"@daily", "*/5 * * * *", "0 0,12 * * *", "3/5 * * * *",
                            "0 0  *   *   *", "15 4 1 1,4,7,10 *", "@hourly"});
    if (coin()) s.time_zone = pick(rng, {"UTC", "Europe/Berlin", "America/New_York"});
    if (coin()) {
      s.concurrency_policy =
          static_cast<model::ConcurrencyPolicy>(std::uniform_int_distribution<int>(0, 2)(rng));
    }
    if (coin()) s.starting_deadline_seconds = std::uniform_int_distribution<int>(0, 600)(rng);
  }
  if (s.type == model::JobType::kContinuous) {
    if (coin()) s.replicas = std::uniform_int_distribution<int>(0, 5)(rng);
    if (coin()) s.port = std::uniform_int_distribution<int>(1, 65535)(rng);
    if (coin()) s.port_protocol = coin() ? model::PortProtocol::kTcp : model::PortProtocol::kUdp;
    if (coin()) {
      s.health_check = coin() ? model::HealthCheck{model::HealthCheckType::kScript, awkwardText(rng)}
                              : model::HealthCheck{model::HealthCheckType::kHttp, "/health z"};
    }
  }
  return s;
}

TEST(RoundTrip, RandomDefinitionsDumpedAndLoadedAreUnchanged) {
  std::mt19937 rng(20240607);
  for (int round = 0; round < 200; ++round) {
    std::vector<model::JobSpec> specs;
    json api_jobs = json::array();
    const int n = std::uniform_int_distribution<int>(1, 6)(rng);
    for (int i = 0; i < n; ++i) {
      specs.push_back(randomSpec(rng, i));
      api_jobs.push_back(model::jobSpecToJson(specs.back()));  // the include_unset=false fields
    }
    const std::string text = dumpJobs(api_jobs);
    auto parsed = parseJobFile(text, "dump.yaml");
    ASSERT_TRUE(parsed) << parsed.error().message << "\n" << text;
    ASSERT_EQ(parsed->jobs.size(), specs.size()) << text;
    EXPECT_TRUE(parsed->warnings.empty()) << parsed->warnings.front();
    json reloaded = json::array();
    for (std::size_t i = 0; i < specs.size(); ++i) {
      std::vector<std::string> warnings;
      auto spec = model::jobSpecFromJson(parsed->jobs[i].body, &warnings);
      ASSERT_TRUE(spec) << spec.error().message << "\n" << text;
      EXPECT_EQ(*spec, specs[i]) << "job " << i << " of\n" << text << "\nbody "
                                 << parsed->jobs[i].body.dump();
      reloaded.push_back(model::jobSpecToJson(*spec));
    }
    EXPECT_EQ(dumpJobs(reloaded), text);  // a dump of a loaded dump is the same text
  }
}

}  // namespace
}  // namespace tjf::cli

namespace tjf::cli {
namespace {

// yaml-cpp 0.7 loops forever on these; the file must be refused with the line, quickly.
TEST(JobFileGuard, AStrayCommaAtTheStartOfALineIsRefusedWithItsLine) {
  for (const auto& [text, line] : std::vector<std::pair<std::string, int>>{
           {",\n", 1},
           {"# c\n, x\n", 2},
           {"- name: a\n  command: x\n  image: bookworm\n,\n", 4}}) {
    const auto r = parseJobFile(text, "jobs.yaml");
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().message, "Unable to parse yaml file 'jobs.yaml': line " +
                                     std::to_string(line) +
                                     ": unexpected ',' at the start of the line");
  }
  // Commas elsewhere are ordinary text, and a flow list may put them first on a line.
  EXPECT_TRUE(parseJobFile("- name: a\n  command: echo a,b\n  image: bookworm\n", "f"));
  EXPECT_TRUE(parseJobFile("[{name: a, command: x, image: bookworm}\n, {name: b, command: y, image: bookworm}]\n", "f"));
}

}  // namespace
}  // namespace tjf::cli
