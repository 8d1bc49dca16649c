#include "runtime/oci.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

namespace tjf::runtime {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

BundleSpec sampleSpec() {
  BundleSpec s;
  s.rootfs = "/srv/rootfs/bookworm";
  s.command = "./run.sh --now";
  s.env = {"HOME=/data/project/mytool", "JOB_NAME=myjob"};
  s.home = "/data/project/mytool";
  s.mount = model::MountPolicy::kAll;
  s.uid = 52001;
  s.gid = 52001;
  s.groups = {52001, 50380};
  s.hostname = "myjob";
  s.init = "/usr/bin/tini-static";
  s.memory_bytes = 64 << 20;
  s.cpu_millis = 500;
  s.pids = 128;
  s.cgroups_path = "/tjf/0badcafe/run-7/container";
  return s;
}

const json* findMount(const json& config, const std::string& destination) {
  for (const auto& m : config.at("mounts")) {
    if (m.at("destination") == destination) return &m;
  }
  return nullptr;
}

std::vector<std::string> namespaces(const json& config) {
  std::vector<std::string> out;
  for (const auto& n : config.at("linux").at("namespaces")) out.push_back(n.at("type"));
  return out;
}

TEST(OciBundle, ProcessRunsTheCommandUnderTheInitAsTheTool) {
  const json c = bundleConfig(sampleSpec());
  const json& p = c.at("process");
  EXPECT_EQ(p.at("args"), json({"/.tjf-init", "-g", "--", "/bin/sh", "-c", "./run.sh --now"}));
  EXPECT_EQ(p.at("user").at("uid"), 52001);
  EXPECT_EQ(p.at("user").at("gid"), 52001);
  EXPECT_EQ(p.at("user").at("additionalGids"), json({52001, 50380}));
  EXPECT_EQ(p.at("cwd"), "/data/project/mytool");
  EXPECT_EQ(p.at("env"), json({"HOME=/data/project/mytool", "JOB_NAME=myjob"}));
  EXPECT_EQ(p.at("noNewPrivileges"), true);
  EXPECT_EQ(p.at("terminal"), false);
  EXPECT_FALSE(p.at("capabilities").contains("ambient"));
  // The init is the host's static binary, read-only.
  const json* init = findMount(c, "/.tjf-init");
  ASSERT_NE(init, nullptr);
  EXPECT_EQ(init->at("source"), "/usr/bin/tini-static");
  EXPECT_THAT(init->at("options").get<std::vector<std::string>>(), ::testing::Contains("ro"));
}

TEST(OciBundle, WithoutAnInitTheShellIsPid1) {
  BundleSpec s = sampleSpec();
  s.init.reset();
  const json c = bundleConfig(s);
  EXPECT_EQ(c.at("process").at("args"), json({"/bin/sh", "-c", "./run.sh --now"}));
  EXPECT_EQ(findMount(c, "/.tjf-init"), nullptr);
}

TEST(OciBundle, OwnNamespacesExceptTheNetwork) {
  const json c = bundleConfig(sampleSpec());
  EXPECT_THAT(namespaces(c), ::testing::UnorderedElementsAre("pid", "ipc", "uts", "mount"));
  EXPECT_EQ(c.at("hostname"), "myjob");
}

TEST(OciBundle, RootIsTheImageReadOnly) {
  const json c = bundleConfig(sampleSpec());
  EXPECT_EQ(c.at("root").at("path"), "/srv/rootfs/bookworm");
  EXPECT_EQ(c.at("root").at("readonly"), true);
}

TEST(OciBundle, MountAllBindsTheHomeReadWriteAtTheSamePath) {
  BundleSpec s = sampleSpec();
  s.shared_dirs = {"/data/scratch"};
  const json c = bundleConfig(s);
  const json* home = findMount(c, "/data/project/mytool");
  ASSERT_NE(home, nullptr);
  EXPECT_EQ(home->at("type"), "bind");
  EXPECT_EQ(home->at("source"), "/data/project/mytool");
  EXPECT_EQ(home->at("options"), json({"rbind", "rw"}));
  const json* shared = findMount(c, "/data/scratch");
  ASSERT_NE(shared, nullptr);
  EXPECT_EQ(shared->at("type"), "bind");
}

TEST(OciBundle, MountNoneTakesNothingFromTheHost) {
  BundleSpec s = sampleSpec();
  s.mount = model::MountPolicy::kNone;
  s.shared_dirs = {"/data/scratch"};
  const json c = bundleConfig(s);
  for (const auto& m : c.at("mounts")) {
    // Only kernel file systems and the init (a read-only binary, not data) come in.
    if (m.at("destination") == "/.tjf-init") continue;
    EXPECT_NE(m.at("type"), "bind") << m.dump();
  }
  const json* home = findMount(c, "/data/project/mytool");
  ASSERT_NE(home, nullptr);
  EXPECT_EQ(home->at("type"), "tmpfs");
  EXPECT_THAT(home->at("options").get<std::vector<std::string>>(),
              ::testing::IsSupersetOf({"uid=52001", "gid=52001"}));
  EXPECT_EQ(findMount(c, "/data/scratch"), nullptr);
}

TEST(OciBundle, TmpIsATmpfs) {
  const json c = bundleConfig(sampleSpec());
  const json* tmp = findMount(c, "/tmp");
  ASSERT_NE(tmp, nullptr);
  EXPECT_EQ(tmp->at("type"), "tmpfs");
}

TEST(OciBundle, LimitsBecomeResourcesAndTheCgroupPathIsKept) {
  const json c = bundleConfig(sampleSpec());
  const json& r = c.at("linux").at("resources");
  EXPECT_EQ(r.at("memory").at("limit"), 64 << 20);
  EXPECT_EQ(r.at("cpu").at("quota"), 50'000);
  EXPECT_EQ(r.at("cpu").at("period"), 100'000);
  EXPECT_EQ(r.at("pids").at("limit"), 128);
  EXPECT_EQ(r.at("devices"), json::parse(R"([{"allow": false, "access": "rwm"}])"));
  EXPECT_EQ(c.at("linux").at("cgroupsPath"), "/tjf/0badcafe/run-7/container");
}

TEST(OciBundle, NoLimitsNoResourceEntries) {
  BundleSpec s = sampleSpec();
  s.memory_bytes = s.cpu_millis = s.pids = 0;
  s.cgroups_path.clear();
  const json c = bundleConfig(s);
  EXPECT_FALSE(c.at("linux").at("resources").contains("memory"));
  EXPECT_FALSE(c.at("linux").at("resources").contains("cpu"));
  EXPECT_FALSE(c.at("linux").contains("cgroupsPath"));
}

TEST(OciBundle, IsDeterministic) {
  EXPECT_EQ(bundleConfig(sampleSpec()).dump(), bundleConfig(sampleSpec()).dump());
}

TEST(OciBundle, WriteBundleWritesConfigJson) {
  const fs::path dir = fs::temp_directory_path() / ("tjf-oci-" + std::to_string(::getpid())) / "bundle";
  ASSERT_TRUE(writeBundle(dir, sampleSpec()));
  std::ifstream in(dir / "config.json");
  EXPECT_EQ(json::parse(in), bundleConfig(sampleSpec()));
  fs::remove_all(dir.parent_path());
}

TEST(OciRun, CrunSkipsItsOwnCgroupsWhenTjfMadeThem) {
  const OciRuntime crun{OciRuntimeKind::kCrun, "/usr/bin/crun"};
  EXPECT_EQ(ociRunArgv(crun, "/s/runs/7/bundle", "tjf-x-7", true),
            (std::vector<std::string>{"/usr/bin/crun", "--cgroup-manager=disabled", "run",
                                      "--bundle", "/s/runs/7/bundle", "tjf-x-7"}));
  EXPECT_EQ(ociRunArgv(crun, "/b", "id", false),
            (std::vector<std::string>{"/usr/bin/crun", "run", "--bundle", "/b", "id"}));
  const OciRuntime runc{OciRuntimeKind::kRunc, "/usr/sbin/runc"};
  EXPECT_EQ(ociRunArgv(runc, "/b", "id", true),
            (std::vector<std::string>{"/usr/sbin/runc", "run", "--bundle", "/b", "id"}));
}

TEST(OciRun, ContainerIdsDifferBetweenDaemons) {
  EXPECT_EQ(containerId("tjf/0badcafe", 7), "tjf-0badcafe-7");
  EXPECT_NE(containerId("tjf/0badcafe", 7), containerId("tjf/12345678", 7));
}

TEST(OciImage, MissingRootFilesystemIsRefusedNamingThePath) {
  model::Image image;
  image.shortname = "bb";
  image.runner = model::ImageRunner::kOci;
  image.rootfs = "/nonexistent/rootfs";
  auto ok = checkImageRunnable(image, true);
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().message,
            "The root filesystem '/nonexistent/rootfs' of image 'bb' does not exist");
  EXPECT_EQ(ok.error().code, ErrorCode::kInvalidArgument);

  const fs::path root = fs::temp_directory_path() / ("tjf-oci-root-" + std::to_string(::getpid()));
  fs::create_directories(root / "bin");
  image.rootfs = root;
  ok = checkImageRunnable(image, true);
  ASSERT_FALSE(ok);
  EXPECT_THAT(ok.error().message, HasSubstr("has no '/bin/sh'"));
  std::ofstream(root / "bin" / "sh") << "";
  EXPECT_TRUE(checkImageRunnable(image, true));
  ok = checkImageRunnable(image, false);
  ASSERT_FALSE(ok);
  EXPECT_THAT(ok.error().message, HasSubstr("no OCI runtime"));
  fs::remove_all(root);

  model::Image host;
  host.runner = model::ImageRunner::kHost;
  EXPECT_TRUE(checkImageRunnable(host, false));
}

}  // namespace
}  // namespace tjf::runtime
