// Resources, quotas and images end to end (docs/resources-and-images.md): the real tjfd with real
// cgroups and a real OCI runtime, driven by the real CLI. Privileged: each test skips, saying why,
// when not root, when the daemon reports that limits are not enforced, or (containers) when no
// OCI runtime is installed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "harness.hpp"
#include "runtime/cgroups.hpp"

namespace tjf::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string readAll(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool haveProgram(const std::string& name) {
  for (const char* dir : {"/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin", "/sbin"}) {
    if (::access((std::string(dir) + "/" + name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

class ResourcesTest : public ::testing::Test {
 protected:
  // Starts a daemon with extra configuration; false (and the test skips) when limits cannot be
  // enforced here.
  bool startDaemon(const std::string& config_yaml = "") {
    if (::geteuid() != 0) {
      skip_reason_ = "needs root to create cgroups";
      return false;
    }
    daemon_ = std::make_unique<TestDaemon>(DaemonOptions{.config_yaml = config_yaml});
    const std::string log = readAll(daemon_->root() / "tjfd.log");
    if (const auto at = log.find("limits are not enforced"); at != std::string::npos) {
      skip_reason_ = "tjfd says: " + log.substr(at, log.find('\n', at) - at);
      return false;
    }
    return true;
  }
  std::string statusOf(const std::string& name) {
    const auto job = daemon_->showJson(name);
    return job.is_null() ? "" : job.value("status_short", "");
  }
  std::string hintsOf(const std::string& name) {
    const auto job = daemon_->showJson(name);
    return job.is_null() ? "" : job.value("status_long", "");
  }

  std::unique_ptr<TestDaemon> daemon_;
  std::string skip_reason_;
};

TEST_F(ResourcesTest, AJobPastItsMemoryLimitIsOomKilledAndShownSo) {
  if (!startDaemon()) GTEST_SKIP() << skip_reason_;
  // dd allocates and touches its whole 200 MiB block at once.
  auto r = daemon_->jobs({"run", "hog", "--command", "dd if=/dev/zero of=/dev/null bs=200M count=1",
                          "--image", "bookworm", "--mem", "64Mi", "--wait"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Reason 'OOMKilled'"));
  EXPECT_EQ(statusOf("hog"), "Failed");
  EXPECT_THAT(hintsOf("hog"), HasSubstr("killed for exceeding its memory limit (OOMKilled)"));
  // The same allocation under a limit it fits in completes.
  r = daemon_->jobs({"run", "fits", "--command", "dd if=/dev/zero of=/dev/null bs=20M count=1",
                     "--image", "bookworm", "--mem", "64Mi", "--wait"});
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
}

TEST_F(ResourcesTest, ACpuBoundJobUnderHalfACpuGetsAboutHalfACore) {
  if (!startDaemon()) GTEST_SKIP() << skip_reason_;
  if (!haveProgram("python3")) GTEST_SKIP() << "needs python3 for the CPU-bound job";
  // Spins for 3 s of wall time and prints the CPU time it got per second of wall time.
  daemon_->writeHomeFile("spin.py",
                         "import os, time\n"
                         "t0, c0 = time.monotonic(), os.times()\n"
                         "while time.monotonic() - t0 < 3: pass\n"
                         "c1 = os.times()\n"
                         "print((c1.user + c1.system - c0.user - c0.system) / "
                         "(time.monotonic() - t0))\n");
  auto r = daemon_->jobs({"run", "spin", "--command", "python3 spin.py", "--image", "python3.11",
                          "--cpu", "0.5", "--wait"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const double share = std::stod(daemon_->readHomeFile("spin.out"));
  RecordProperty("cpu_share", std::to_string(share));
  std::fprintf(stderr, "measured: CPU share under --cpu 0.5: %.3f\n", share);
  // The CFS quota gives 50 ms per 100 ms; other work on a shared 2-core machine can only lower
  // it, and a loop without a limit gets close to 1.0.
  EXPECT_GT(share, 0.30) << "CPU share " << share;
  EXPECT_LT(share, 0.62) << "CPU share " << share;
}

TEST_F(ResourcesTest, ARunOverTheRunningQuotaWaitsAndStartsWhenAnotherEnds) {
  // The per-tool key wins over the global one: 1 CPU for this tool.
  if (!startDaemon("quota:\n  cpu: \"4\"\ntool_quotas:\n  tf-test:\n    cpu: \"1\"\n")) {
    GTEST_SKIP() << skip_reason_;
  }
  daemon_->writeHomeFile("hold.sh", "#!/bin/sh\nwhile [ ! -e release ]; do sleep 0.05; done\n",
                         true);
  auto r = daemon_->jobs({"run", "big", "--command", "./hold.sh", "--image", "bookworm", "--cpu",
                          "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return statusOf("big").rfind("Running", 0) == 0; }));
  r = daemon_->jobs({"run", "small", "--command", "echo started", "--image", "bookworm", "--cpu",
                     "0.5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(eventually(
      [&] { return statusOf("small") == "Unable to start, out of quota for cpu"; }))
      << statusOf("small");
  EXPECT_THAT(hintsOf("small"), HasSubstr("Unable to start, out of quota for cpu"));
  EXPECT_FALSE(std::filesystem::exists(daemon_->home() / "small.out"));

  // The quota table shows the live use.
  r = daemon_->jobs({"quota"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("CPU                                           1.0     1.0"));
  const auto [status, body] = daemon_->http("GET", "/v1/tool/tf-test/quotas");
  EXPECT_EQ(status, 200);
  const auto quota = nlohmann::json::parse(body);
  EXPECT_EQ(quota.at("quota").at("categories").at(0).at("items").at(2),
            nlohmann::json::parse(R"({"name": "CPU", "limit": "1.0", "used": "1.0"})"));

  // Room frees up: the waiting run starts by itself.
  daemon_->writeHomeFile("release", "");
  ASSERT_TRUE(eventually([&] { return statusOf("small") == "Completed"; })) << statusOf("small");
  EXPECT_EQ(daemon_->readHomeFile("small.out"), "started\n");
  EXPECT_EQ(statusOf("big"), "Completed");
}

TEST_F(ResourcesTest, PerJobLimitsAreRefusedAtCreationWithUpstreamsMessages) {
  if (!startDaemon()) GTEST_SKIP() << skip_reason_;
  auto r = daemon_->jobs({"run", "huge", "--command", "true", "--image", "bookworm", "--mem",
                          "5Gi"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err,
              HasSubstr("Requested memory 5Gi is over maximum allowed per container (4Gi)"));
  r = daemon_->jobs({"run", "greedy", "--command", "true", "--image", "bookworm", "--cpu", "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Requested CPU 2 is over maximum allowed per container (1)"));
  const auto [status, body] = daemon_->http(
      "POST", "/v1/tool/tf-test/jobs",
      R"({"name": "tiny", "cmd": "true", "imagename": "bookworm", "memory": "500m"})");
  EXPECT_EQ(status, 400);
  EXPECT_THAT(body, HasSubstr("Requested memory 500m is less than minimum required per container"));
}

TEST_F(ResourcesTest, WithoutCgroupsTheDaemonSaysLimitsAreNotEnforced) {
  // Runs anywhere: the operator turned limits off, as a machine without cgroups would.
  daemon_ = std::make_unique<TestDaemon>(DaemonOptions{.config_yaml = "cgroups: false\n"});
  EXPECT_THAT(readAll(daemon_->root() / "tjfd.log"),
              HasSubstr("tjfd: limits are not enforced: turned off in the configuration"));
  auto r = daemon_->jobs({"run", "unlimited", "--command", "true", "--image", "bookworm", "--mem",
                          "1Gi", "--wait"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("WARNING: Memory and CPU limits are not enforced on this machine"));
  EXPECT_THAT(hintsOf("unlimited"), HasSubstr("limits are not enforced on this machine: turned off "
                                              "in the configuration ('cgroups: false')."));
}

// ---- Containers ----------------------------------------------------------------------------

class ContainerTest : public ResourcesTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run containers";
    if (!haveProgram("crun") && !haveProgram("runc")) GTEST_SKIP() << "no crun or runc installed";
    char tmpl[] = "/tmp/tjf-rootfs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    images_dir_ = tmpl;
    const std::string rootfs = (images_dir_ / "busybox").string();
    const std::string build = std::string(TJF_SCRIPTS_DIR) + "/build-rootfs.sh busybox " + rootfs +
                              " > " + (images_dir_ / "build.log").string() + " 2>&1";
    if (std::system(build.c_str()) != 0) {
      GTEST_SKIP() << "cannot build a busybox root filesystem: "
                   << readAll(images_dir_ / "build.log");
    }
    std::ofstream(images_dir_ / "images.yaml")
        << "bb:\n  image: example.org/toolforge/busybox:1\n  state: stable\n  rootfs: " << rootfs
        << "\nold-bb:\n  image: example.org/toolforge/busybox:0\n  state: deprecated\n  rootfs: "
        << rootfs << "\n";
    if (!startDaemon("images: " + (images_dir_ / "images.yaml").string() + "\n")) {
      GTEST_SKIP() << skip_reason_;
    }
  }
  void TearDown() override {
    daemon_.reset();
    std::error_code ec;
    if (!images_dir_.empty()) std::filesystem::remove_all(images_dir_, ec);
  }
  std::filesystem::path images_dir_;
};

TEST_F(ContainerTest, MountNoneSeesNothingOfTheHost) {
  daemon_->writeHomeFile("secret.txt", "host data\n");
  const std::string home = daemon_->home().string();
  auto r = daemon_->jobs(
      {"run", "isolated", "--image", "bb", "--mount", "none", "--no-filelog", "--wait",
       "--command",
       "cat " + home + "/secret.txt || echo no-secret; test -e /etc/debian_version && echo "
       "host-root; test -e /usr/bin/crun && echo host-bin; echo pid=$$; touch $HOME/scratch && "
       "echo home-writable"});
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  r = daemon_->jobs({"logs", "isolated"});
  EXPECT_THAT(r.out, HasSubstr("no-secret"));
  EXPECT_THAT(r.out, Not(HasSubstr("host data")));
  EXPECT_THAT(r.out, Not(HasSubstr("host-root")));
  EXPECT_THAT(r.out, Not(HasSubstr("host-bin")));
  // Its own PID namespace (the shell runs under the init, PID 1), and a private home.
  EXPECT_THAT(r.out, HasSubstr("pid=2"));
  EXPECT_THAT(r.out, HasSubstr("home-writable"));
  EXPECT_FALSE(std::filesystem::exists(daemon_->home() / "scratch"));
}

TEST_F(ContainerTest, MountAllWritesTheToolHomeAndFileLogsAndExitCodesWork) {
  auto r = daemon_->jobs({"run", "writer", "--image", "bb", "--wait", "--command",
                          "echo from-container > $HOME/written.txt; echo out; echo err >&2; "
                          "exit 3"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(daemon_->readHomeFile("written.txt"), "from-container\n");
  EXPECT_EQ(daemon_->readHomeFile("writer.out"), "out\n");
  EXPECT_EQ(daemon_->readHomeFile("writer.err"), "err\n");
  EXPECT_EQ(statusOf("writer"), "Failed");
  EXPECT_THAT(hintsOf("writer"), HasSubstr("Exit code '3'"));

  r = daemon_->jobs({"run", "ok", "--image", "bb", "--wait", "--command", "echo fine"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(statusOf("ok"), "Completed");
  EXPECT_EQ(daemon_->readHomeFile("ok.out"), "fine\n");
}

TEST_F(ContainerTest, LimitsTimeoutsAndStopsWorkInAContainer) {
  auto r = daemon_->jobs({"run", "hog", "--image", "bb", "--mem", "64Mi", "--wait", "--command",
                          "dd if=/dev/zero of=/dev/null bs=200M count=1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(hintsOf("hog"), HasSubstr("OOMKilled"));

  r = daemon_->jobs({"run", "slow", "--image", "bb", "--timeout", "1", "--wait", "--command",
                     "sleep 60"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(hintsOf("slow"), HasSubstr("DeadlineExceeded"));

  // SIGTERM reaches the job through the container's init (a shell as PID 1 would ignore it).
  r = daemon_->jobs({"run", "trapper", "--image", "bb", "--command",
                     "trap 'echo got-term; exit 0' TERM; echo ready; sleep 60 & wait"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return daemon_->readHomeFile("trapper.out") == "ready\n"; }));
  r = daemon_->jobs({"delete", "trapper"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(daemon_->readHomeFile("trapper.out"), "ready\ngot-term\n");
}

TEST_F(ContainerTest, AContainerRunOutlivesADaemonRestartAndItsCgroupsAreRemovedAfter) {
  daemon_->writeHomeFile("go", "");
  std::filesystem::remove(daemon_->home() / "go");
  auto r = daemon_->jobs({"run", "survivor", "--image", "bb", "--mem", "128Mi", "--command",
                          "echo up; while [ ! -e go ]; do sleep 0.05; done; echo done"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return daemon_->readHomeFile("survivor.out") == "up\n"; }));
  // The run's cgroup holds the container's processes, with the job's memory limit.
  // This daemon's run cgroups: <hierarchy>/tjf/<hash of its state directory>/run-<id>.
  const bool v1 = std::filesystem::exists("/sys/fs/cgroup/memory/cgroup.procs");
  const std::filesystem::path parent = std::filesystem::path(v1 ? "/sys/fs/cgroup/memory"
                                                                : "/sys/fs/cgroup") /
                                       runtime::cgroupParentFor(daemon_->stateDir());
  std::vector<std::filesystem::path> run_cgroups;
  for (const auto& e : std::filesystem::directory_iterator(parent)) {
    if (e.is_directory() && e.path().filename().string().rfind("run-", 0) == 0) {
      run_cgroups.push_back(e.path());
    }
  }
  ASSERT_EQ(run_cgroups.size(), 1u);
  EXPECT_FALSE(readAll(run_cgroups[0] / "cgroup.procs").empty());
  EXPECT_EQ(readAll(run_cgroups[0] / (v1 ? "memory.limit_in_bytes" : "memory.max")),
            std::to_string(128 << 20) + "\n");

  daemon_->restart();
  EXPECT_THAT(statusOf("survivor"), HasSubstr("Running"));
  daemon_->writeHomeFile("go", "");
  ASSERT_TRUE(eventually([&] { return statusOf("survivor") == "Completed"; }))
      << statusOf("survivor");
  EXPECT_EQ(daemon_->readHomeFile("survivor.out"), "up\ndone\n");
  EXPECT_TRUE(eventually([&] { return !std::filesystem::exists(run_cgroups[0]); }));
}

TEST_F(ContainerTest, ImagesListsStableContainerImagesAndAMissingRootfsIsRefused) {
  auto r = daemon_->jobs({"images"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("example.org/toolforge/busybox:1"));
  EXPECT_THAT(r.out, Not(HasSubstr("old-bb")));
  // A deprecated image still runs.
  r = daemon_->jobs({"run", "legacy", "--image", "old-bb", "--wait", "--command", "true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  std::filesystem::rename(images_dir_ / "busybox", images_dir_ / "moved");
  r = daemon_->jobs({"run", "gone", "--image", "bb", "--command", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("The root filesystem '" + (images_dir_ / "busybox").string() +
                               "' of image 'bb' does not exist"));
}

}  // namespace
}  // namespace tjf::testing
