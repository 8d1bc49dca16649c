// Golden-manifest tests: each case builds a job the way the API would (JobSpec -> resolveJob) and
// compares the generated objects with a JSON file under tests/kubernetes/golden/, which was checked
// by hand against upstream-behaviour.md §2.3, §6, §7.1 and §10. The same files are validated
// against the Kubernetes OpenAPI schemas by the `kubernetes_schema` test.
//
// After an intended change: TJF_UPDATE_GOLDEN=1 ./tjf_kubernetes_test rewrites the files; review
// the diff before committing it.
#include "kubernetes/manifests.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cron/schedule.hpp"

namespace tjf::kubernetes {
namespace {

namespace fs = std::filesystem;
using model::JobSpec;
using model::JobType;

model::Tool testTool() {
  return model::Tool{.name = "tf-test", .home = "/data/project/tf-test", .uid = 52503,
                     .gid = 52503};
}

model::Image prebuilt() {
  const auto catalogue = model::ImageCatalogue::defaults();
  return *catalogue.resolve("python3.11");
}

model::Image buildService() {
  return model::Image{.shortname = "tool-tf-test/mybot:latest",
                      .url = "tools-harbor.wmcloud.org/tool-tf-test/mybot:latest",
                      .runner = model::ImageRunner::kOci};
}

ManifestOptions withVolumes() {
  ManifestOptions o;
  o.volumes = {
      VolumeConfig{.name = "home", .mount_path = "/data/project",
                   .host_path = HostPathSource{.path = "/data/project"}},
      VolumeConfig{.name = "dumps", .mount_path = "/public/dumps", .read_only = true,
                   .nfs = NfsSource{.server = "dumps.example.org", .path = "/export/dumps"}},
  };
  return o;
}

// Builds every manifest of `spec` as the service would, after resolving defaults.
std::vector<json> build(const JobSpec& spec, const model::Image& image,
                        const ManifestOptions& options) {
  const auto tool = testTool();
  auto resolved = model::resolveJob(spec, tool, image, model::JobDefaults{});
  EXPECT_TRUE(resolved) << resolved.error().message;
  std::string effective;
  if (spec.schedule) {
    auto schedule = cron::parseSchedule(*spec.schedule, tool.name, spec.name,
                                        spec.time_zone.value_or("UTC"));
    EXPECT_TRUE(schedule) << schedule.error().message;
    effective = schedule->effective;
  }
  auto objects = manifestsFor(ManifestInput{spec, *resolved, tool, image, effective}, options);
  EXPECT_TRUE(objects) << objects.error().message;
  return objects.value_or(std::vector<json>{});
}

void expectGolden(const std::string& name, const json& actual) {
  const fs::path file = fs::path(TJF_K8S_GOLDEN_DIR) / (name + ".json");
  if (std::getenv("TJF_UPDATE_GOLDEN")) {
    std::ofstream(file) << actual.dump(2) << "\n";
    GTEST_SKIP() << "rewrote " << file << "; review the diff";
  }
  std::ifstream in(file);
  ASSERT_TRUE(in) << "missing golden file " << file << " (run with TJF_UPDATE_GOLDEN=1)";
  const json expected = json::parse(in);
  EXPECT_EQ(expected, actual) << "golden " << file << " differs; generated:\n" << actual.dump(2);
}

// Every golden document is a JSON array of the objects of one job, in creation order.
void expectGolden(const std::string& name, const std::vector<json>& objects) {
  expectGolden(name, json(objects));
}

TEST(ManifestGolden, OneOffDefaults) {
  const JobSpec spec{.name = "myjob", .cmd = "./myjob.sh --flag", .imagename = "python3.11"};
  expectGolden("oneoff-defaults", build(spec, prebuilt(), ManifestOptions{}));
}

TEST(ManifestGolden, OneOffOptions) {
  JobSpec spec{.name = "nightly-report", .cmd = "python3 report.py | gzip > out.gz && echo \"done $TOOL_DATA_DIR\"",
               .imagename = "python3.11"};
  spec.retry = 3;
  spec.timeout = 600;
  spec.memory = "2Gi";
  spec.cpu = "500m";
  spec.emails = model::EmailPolicy::kOnFailure;
  spec.filelog_stdout = "logs/my report.out";   // a space: quoted, unlike upstream
  spec.filelog_stderr = "/tmp/odd;name's.err";  // ';' and a quote
  expectGolden("oneoff-options", build(spec, prebuilt(), withVolumes()));
}

TEST(ManifestGolden, OneOffMergedLogsAndNormalisedQuantities) {
  JobSpec spec{.name = "merged", .cmd = "./run", .imagename = "python3.11"};
  spec.filelog_stdout = "merged.log";
  spec.filelog_stderr = "merged.log";
  spec.memory = "1G";   // over 512Mi: request is half, printed exactly (500M)
  spec.cpu = "1e0";     // not verbatim-safe: normalised to "1"
  expectGolden("oneoff-merged-logs", build(spec, prebuilt(), withVolumes()));
}

TEST(ManifestGolden, OneOffBuildServiceWithoutFileLogs) {
  JobSpec spec{.name = "bot", .cmd = "mybot --arg 'two words'", .imagename = "tool-tf-test/mybot:latest"};
  spec.filelog = false;
  spec.mount = model::MountPolicy::kNone;
  expectGolden("oneoff-buildservice", build(spec, buildService(), withVolumes()));
}

TEST(ManifestGolden, OneOffBuildServiceWithFileLogs) {
  JobSpec spec{.name = "bot-logged", .cmd = "launcher mybot", .imagename = "tool-tf-test/mybot:latest"};
  spec.filelog = true;
  spec.mount = model::MountPolicy::kAll;
  expectGolden("oneoff-buildservice-filelog", build(spec, buildService(), withVolumes()));
}

TEST(ManifestGolden, ScheduledMacro) {
  JobSpec spec{.name = "mycron", .cmd = "./daily.sh", .imagename = "python3.11",
               .type = JobType::kScheduled};
  spec.schedule = "@daily";
  expectGolden("scheduled-macro", build(spec, prebuilt(), withVolumes()));
}

TEST(ManifestGolden, ScheduledOptions) {
  JobSpec spec{.name = "every5", .cmd = "./poll.sh", .imagename = "python3.11",
               .type = JobType::kScheduled};
  spec.schedule = "*/5  *  * * *";  // extra spaces: the annotation keeps the text as typed
  spec.time_zone = "Europe/Berlin";
  spec.concurrency_policy = model::ConcurrencyPolicy::kReplace;
  spec.starting_deadline_seconds = 120;
  spec.retry = 2;
  spec.timeout = 300;
  spec.emails = model::EmailPolicy::kAll;
  spec.filelog = false;
  expectGolden("scheduled-options", build(spec, prebuilt(), ManifestOptions{}));
}

TEST(ManifestGolden, ContinuousBasic) {
  JobSpec spec{.name = "daemon", .cmd = "./serve.sh", .imagename = "python3.11",
               .type = JobType::kContinuous};
  spec.retry = 3;  // accepted and ignored for continuous jobs
  expectGolden("continuous-basic", build(spec, prebuilt(), withVolumes()));
}

TEST(ManifestGolden, ContinuousHttpCheckWithServiceAndReplicas) {
  JobSpec spec{.name = "web", .cmd = "gunicorn app:app", .imagename = "python3.11",
               .type = JobType::kContinuous};
  spec.port = 8000;
  spec.replicas = 2;
  spec.health_check = model::HealthCheck{model::HealthCheckType::kHttp, "/healthz"};
  spec.memory = "1Gi";
  spec.cpu = "2";
  expectGolden("continuous-http", build(spec, prebuilt(), withVolumes()));
}

TEST(ManifestGolden, ContinuousScriptCheckUdpPort) {
  JobSpec spec{.name = "udp-listener", .cmd = "./listen.sh", .imagename = "python3.11",
               .type = JobType::kContinuous};
  spec.port = 3334;
  spec.port_protocol = model::PortProtocol::kUdp;
  spec.health_check = model::HealthCheck{model::HealthCheckType::kScript, "pgrep -f listen.sh"};
  expectGolden("continuous-script-udp", build(spec, prebuilt(), withVolumes()));
}

TEST(ManifestGolden, ContinuousTcpPortImpliesTcpProbes) {
  JobSpec spec{.name = "tcp-server", .cmd = "./tcp.sh", .imagename = "python3.11",
               .type = JobType::kContinuous};
  spec.port = 8080;
  spec.replicas = 0;
  expectGolden("continuous-tcp", build(spec, prebuilt(), withVolumes()));
}

TEST(ManifestGolden, ContinuousBuildServiceScriptCheck) {
  JobSpec spec{.name = "bs-daemon", .cmd = "web", .imagename = "tool-tf-test/mybot:latest",
               .type = JobType::kContinuous};
  spec.filelog = false;
  spec.mount = model::MountPolicy::kNone;
  spec.health_check = model::HealthCheck{model::HealthCheckType::kScript, "check --fast \"a b\""};
  expectGolden("continuous-buildservice", build(spec, buildService(), withVolumes()));
}

TEST(ManifestGolden, ManualRunOfCronJob) {
  JobSpec spec{.name = "mycron", .cmd = "./daily.sh", .imagename = "python3.11",
               .type = JobType::kScheduled};
  spec.schedule = "@daily";
  auto objects = build(spec, prebuilt(), withVolumes());
  ASSERT_EQ(objects.size(), 1u);
  json cronjob = objects[0];
  cronjob["metadata"]["uid"] = "2f0c6e8e-5d0b-4d4c-9a57-8f1f6b1e0a11";
  auto job = manualJobFromCronJob(cronjob, TimePoint{} + std::chrono::seconds(1767225600));
  ASSERT_TRUE(job) << job.error().message;
  expectGolden("scheduled-manual-run", json::array({*job}));
}

// --- Properties that the goldens alone do not make obvious ---

TEST(Manifests, ScheduledEffectiveScheduleIsTheSpreadMacro) {
  JobSpec spec{.name = "mycron", .cmd = "x", .imagename = "python3.11", .type = JobType::kScheduled};
  spec.schedule = "@daily";
  const auto objects = build(spec, prebuilt(), ManifestOptions{});
  ASSERT_EQ(objects.size(), 1u);
  // upstream-behaviour.md §3's example: spreadMacro("@daily", "tf-test", "mycron") == "37 3 * * *".
  EXPECT_EQ(objects[0]["spec"]["schedule"], "37 3 * * *");
  EXPECT_EQ(objects[0]["metadata"]["annotations"][std::string(kAnnotationCronExpression)], "@daily");
}

TEST(Manifests, RootToolIsRefused) {
  JobSpec spec{.name = "x", .cmd = "true", .imagename = "python3.11"};
  auto tool = testTool();
  tool.uid = 0;
  const auto image = prebuilt();
  auto resolved = model::resolveJob(spec, tool, image, model::JobDefaults{});
  ASSERT_TRUE(resolved);
  auto job = jobManifest(ManifestInput{spec, *resolved, tool, image, ""}, ManifestOptions{});
  ASSERT_FALSE(job);
  EXPECT_EQ(job.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(job.error().message.find("uid is 0"), std::string::npos) << job.error().message;
}

TEST(Manifests, ScheduledWithoutEffectiveScheduleIsRefused) {
  JobSpec spec{.name = "c", .cmd = "true", .imagename = "python3.11", .type = JobType::kScheduled};
  spec.schedule = "@daily";
  const auto tool = testTool();
  const auto image = prebuilt();
  auto resolved = model::resolveJob(spec, tool, image, model::JobDefaults{});
  ASSERT_TRUE(resolved);
  EXPECT_FALSE(cronJobManifest(ManifestInput{spec, *resolved, tool, image, ""}, ManifestOptions{}));
}

TEST(Manifests, VolumeNeedsExactlyOneSource) {
  JobSpec spec{.name = "x", .cmd = "true", .imagename = "python3.11"};
  const auto tool = testTool();
  const auto image = prebuilt();
  auto resolved = model::resolveJob(spec, tool, image, model::JobDefaults{});
  ASSERT_TRUE(resolved);
  ManifestOptions options;
  options.volumes = {VolumeConfig{.name = "home", .mount_path = "/data/project"}};
  auto job = jobManifest(ManifestInput{spec, *resolved, tool, image, ""}, options);
  ASSERT_FALSE(job);
  EXPECT_EQ(job.error().message, "Kubernetes volume 'home' needs exactly one of 'host_path' and 'nfs'");
  options.volumes[0].host_path = HostPathSource{.path = "/data/project"};
  options.volumes[0].mount_path = "relative";
  job = jobManifest(ManifestInput{spec, *resolved, tool, image, ""}, options);
  ASSERT_FALSE(job);
  EXPECT_EQ(job.error().message, "Kubernetes volume 'home' needs an absolute mount path, not 'relative'");
}

TEST(Manifests, MountNoneGetsNoVolumesAndNoInjectedEnv) {
  JobSpec spec{.name = "bot", .cmd = "mybot", .imagename = "tool-tf-test/mybot:latest"};
  spec.filelog = false;
  spec.mount = model::MountPolicy::kNone;
  const auto objects = build(spec, buildService(), withVolumes());
  ASSERT_EQ(objects.size(), 1u);
  const auto& pod = objects[0]["spec"]["template"]["spec"];
  EXPECT_FALSE(pod.contains("volumes"));
  EXPECT_FALSE(pod["containers"][0].contains("volumeMounts"));
  EXPECT_EQ(pod["containers"][0]["env"].size(), 1u);  // NO_HOME only
}

TEST(Manifests, LabelSelectorIsSortedKeyValueList) {
  EXPECT_EQ(labelSelector(lookupLabels("tf-test", "myjob", JobType::kScheduled)),
            "app.kubernetes.io/component=cronjobs,app.kubernetes.io/created-by=tf-test,"
            "app.kubernetes.io/managed-by=toolforge-jobs-framework,app.kubernetes.io/name=myjob,"
            "toolforge=tool");
}

TEST(Manifests, ShellSplitFollowsShlex) {
  EXPECT_EQ(*shellSplit("a b  c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(*shellSplit("x 'two words' \"dq \\\"in\\\" $HOME\" back\\ slash"),
            (std::vector<std::string>{"x", "two words", "dq \"in\" $HOME", "back slash"}));
  EXPECT_EQ(*shellSplit("a''b \"\""), (std::vector<std::string>{"ab", ""}));
  EXPECT_EQ(*shellSplit("  "), std::vector<std::string>{});
  auto bad = shellSplit("echo 'unbalanced");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "No closing quotation in command 'echo 'unbalanced'");
}

TEST(Manifests, Quantities) {
  EXPECT_EQ(bytesQuantity(512LL << 20), "512Mi");
  EXPECT_EQ(bytesQuantity(1LL << 30), "1Gi");
  EXPECT_EQ(bytesQuantity(500'000'000), "500M");
  EXPECT_EQ(bytesQuantity(1536), "1536");  // 1.5Ki is not exact in an integer with a suffix
  EXPECT_EQ(bytesQuantity(1537), "1537");
  EXPECT_EQ(quantityAsTyped("0.5Gi", "x"), "0.5Gi");
  EXPECT_EQ(quantityAsTyped("2000Mi", "x"), "2000Mi");
  EXPECT_EQ(quantityAsTyped("1e3", "1k"), "1k");
  EXPECT_EQ(quantityAsTyped(".5", "500m"), "500m");
  EXPECT_EQ(quantityAsTyped("+2", "2"), "2");
}

TEST(Manifests, MemoryRequestRule) {
  JobSpec spec{.name = "x", .cmd = "true", .imagename = "python3.11"};
  model::ResolvedJob resolved;
  resolved.memory = "512Mi";
  resolved.memory_bytes = 512LL << 20;
  resolved.cpu = "0.5";
  resolved.cpu_millis = 500;
  auto r = containerResources(spec, resolved, ManifestOptions{});
  EXPECT_EQ(r["requests"]["memory"], "512Mi");  // at the threshold: request == limit
  EXPECT_EQ(r["limits"]["cpu"], "1");            // no --cpu: the operator's default limit
  EXPECT_EQ(r["requests"]["cpu"], "0.5");
  resolved.memory = "3G";
  resolved.memory_bytes = 3'000'000'000;
  spec.cpu = "0.5";
  r = containerResources(spec, resolved, ManifestOptions{});
  EXPECT_EQ(r["limits"]["memory"], "3G");
  EXPECT_EQ(r["requests"]["memory"], "1500M");
  EXPECT_EQ(r["limits"]["cpu"], "0.5");  // typed --cpu: limit == request
}

// The generated wrapper really works in /bin/sh: paths with spaces, ';' and quotes receive the
// streams (upstream's unquoted form would break on each of them), appending.
TEST(Manifests, FileLogWrapperRunsInShell) {
  char tmpl[] = "/tmp/tjf-k8s-wrap-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  model::Tool tool = testTool();
  tool.home = dir;
  JobSpec spec{.name = "w", .cmd = "echo out; echo err >&2", .imagename = "python3.11"};
  spec.filelog_stdout = "my logs/o;ut's.log";
  spec.filelog_stderr = "e r r.log";
  fs::create_directories(dir / "my logs");
  const auto image = prebuilt();
  auto resolved = model::resolveJob(spec, tool, image, model::JobDefaults{});
  ASSERT_TRUE(resolved);
  auto command = containerCommand(ManifestInput{spec, *resolved, tool, image, ""});
  ASSERT_TRUE(command);
  ASSERT_EQ(command->size(), 4u);
  for (int i = 0; i < 2; ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::execl("/bin/sh", "/bin/sh", "-c", "--", (*command)[3].c_str(), nullptr);
      ::_exit(127);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  EXPECT_EQ(slurp(dir / "my logs" / "o;ut's.log"), "out\nout\n");
  EXPECT_EQ(slurp(dir / "e r r.log"), "err\nerr\n");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tjf::kubernetes
