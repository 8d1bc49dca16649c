#include "runtime/cgroups.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace tjf::runtime {
namespace {

namespace fs = std::filesystem;

std::string readFile(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(Cgroups, CpuQuotaIsMillisOfA100msPeriodWithTheKernelMinimum) {
  EXPECT_EQ(cpuQuotaFor(500).quota_us, 50'000);
  EXPECT_EQ(cpuQuotaFor(500).period_us, 100'000);
  EXPECT_EQ(cpuQuotaFor(2000).quota_us, 200'000);
  EXPECT_EQ(cpuQuotaFor(1).quota_us, 1000);  // 0.1 ms would be refused by the kernel
}

TEST(Cgroups, ParentIsStablePerStateDirectoryAndDiffersBetweenThem) {
  EXPECT_EQ(cgroupParentFor("/var/lib/tjf"), cgroupParentFor("/var/lib/tjf/"));
  EXPECT_EQ(cgroupParentFor("/var/lib/tjf"), cgroupParentFor("/var/lib/./tjf"));
  EXPECT_NE(cgroupParentFor("/var/lib/tjf"), cgroupParentFor("/tmp/tjf"));
  EXPECT_EQ(cgroupParentFor("/var/lib/tjf").rfind("tjf/", 0), 0u);
  EXPECT_EQ(cgroupParentFor("/var/lib/tjf").size(), 12u);
}

TEST(Cgroups, NoHierarchySaysWhyLimitsAreNotEnforced) {
  const fs::path empty = fs::temp_directory_path() / ("tjf-cg-empty-" + std::to_string(::getpid()));
  fs::create_directories(empty);
  const CgroupSupport s = detectCgroups(empty, "tjf/x");
  EXPECT_FALSE(s.enforced());
  EXPECT_EQ(s.mode, CgroupMode::kNone);
  EXPECT_NE(s.reason.find(empty.string()), std::string::npos) << s.reason;
  EXPECT_EQ(s.describe(), "limits are not enforced: " + s.reason);
  fs::remove_all(empty);
}

TEST(Cgroups, AV1TreeWithoutTheCpuControllerIsNotEnforcedAndNamesIt) {
  // A fake hybrid tree: memory is there, cpu is not.
  const fs::path root = fs::temp_directory_path() / ("tjf-cg-fake-" + std::to_string(::getpid()));
  fs::create_directories(root / "memory");
  std::ofstream(root / "memory" / "cgroup.procs") << "";
  const CgroupSupport s = detectCgroups(root, "tjf/x");
  EXPECT_FALSE(s.enforced());
  EXPECT_NE(s.reason.find("'cpu'"), std::string::npos) << s.reason;
  fs::remove_all(root);
}

TEST(Cgroups, CreatingWithoutSupportFails) {
  CgroupSupport none;
  none.reason = "no cgroups here";
  auto cg = RunCgroup::create(none, 1, {});
  ASSERT_FALSE(cg);
  EXPECT_NE(cg.error().message.find("no cgroups here"), std::string::npos);
}

// ---- Privileged: real cgroups on this machine ----------------------------------------------

class RealCgroups : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
    parent_ = "tjf-test/" + std::to_string(::getpid());
    support_ = detectCgroups("/sys/fs/cgroup", parent_);
    if (!support_.enforced()) GTEST_SKIP() << "cgroups unusable here: " << support_.reason;
  }
  void TearDown() override {
    if (parent_.empty()) return;
    // Remove the test's parent in every hierarchy (run cgroups are gone by now).
    for (const char* h : {"memory", "cpu", "pids", "unified", ""}) {
      ::rmdir((fs::path("/sys/fs/cgroup") / h / parent_).c_str());
      ::rmdir((fs::path("/sys/fs/cgroup") / h / "tjf-test").c_str());  // fails while others run
    }
  }

  // Forks a child that joins the run's cgroups and then runs `argv`.
  pid_t spawnIn(const RunCgroup& cg, std::vector<std::string> argv) {
    const auto files = cg.procsFiles();
    const pid_t pid = ::fork();
    if (pid == 0) {
      for (const auto& f : files) std::ofstream(f) << ::getpid();
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    return pid;
  }

  std::string parent_;
  CgroupSupport support_;
};

TEST_F(RealCgroups, LimitsAreWrittenAndTheDirectoriesGoAwayWithTheObject) {
  std::vector<std::string> files;
  {
    auto cg = RunCgroup::create(support_, 7,
                                {.memory_bytes = 64 << 20, .cpu_millis = 500, .pids = 32});
    ASSERT_TRUE(cg) << cg.error().message;
    files = (*cg)->procsFiles();
    ASSERT_FALSE(files.empty());
    for (const auto& f : files) EXPECT_TRUE(fs::exists(f)) << f;
    EXPECT_NE((*cg)->relativePath().find("/run-7"), std::string::npos);
    if (support_.mode == CgroupMode::kHybrid) {
      const fs::path base = "/sys/fs/cgroup";
      const auto rel = (*cg)->relativePath();
      EXPECT_EQ(readFile(base / "memory" / rel / "memory.limit_in_bytes"), "67108864\n");
      EXPECT_EQ(readFile(base / "cpu" / rel / "cpu.cfs_quota_us"), "50000\n");
      EXPECT_EQ(readFile(base / "pids" / rel / "pids.max"), "32\n");
      EXPECT_NE((*cg)->oomCounter().find("memory.oom_control"), std::string::npos);
    } else {
      EXPECT_EQ(readFile(fs::path(files[0]).parent_path() / "cpu.max"), "50000 100000\n");
      EXPECT_NE((*cg)->oomCounter().find("memory.events"), std::string::npos);
    }
  }
  for (const auto& f : files) EXPECT_FALSE(fs::exists(fs::path(f).parent_path())) << f;
}

TEST_F(RealCgroups, KillAllReachesEveryProcessAndPopulatedFollows) {
  auto cg = RunCgroup::create(support_, 8, {});
  ASSERT_TRUE(cg) << cg.error().message;
  EXPECT_FALSE((*cg)->populated());
  // A shell that starts a background sleeper of its own: both must die.
  const pid_t pid = spawnIn(**cg, {"/bin/sh", "-c", "sleep 60 & sleep 60"});
  ASSERT_GT(pid, 0);
  bool populated = false;
  for (int i = 0; i < 2000 && !populated; ++i) {
    populated = (*cg)->populated();
    if (!populated) ::usleep(1000);
  }
  EXPECT_TRUE(populated);
  (*cg)->killAll();
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  bool empty = false;
  for (int i = 0; i < 2000 && !empty; ++i) {
    empty = !(*cg)->populated();
    if (!empty) ::usleep(1000);
  }
  EXPECT_TRUE(empty) << "the background sleeper survived killAll";
}

TEST_F(RealCgroups, AnAllocationPastTheMemoryLimitIsCountedAsAnOomKill) {
  auto cg = RunCgroup::create(support_, 9, {.memory_bytes = 32 << 20});
  ASSERT_TRUE(cg) << cg.error().message;
  // dd allocates its whole block and touches it: 200 MiB under a 32 MiB limit.
  const pid_t pid =
      spawnIn(**cg, {"/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"});
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  const std::string counter = readFile((*cg)->oomCounter());
  EXPECT_NE(counter.find("oom_kill 1"), std::string::npos) << counter;
}

TEST_F(RealCgroups, AttachTakesOverAnExistingRunForCleanup) {
  std::string dir;
  {
    auto cg = RunCgroup::create(support_, 10, {});
    ASSERT_TRUE(cg);
    dir = fs::path((*cg)->procsFiles()[0]).parent_path().string();
    // Simulate a daemon restart: the first owner forgets it without cleaning up.
    (*cg)->keep();
  }
  ASSERT_TRUE(fs::exists(dir));
  { auto adopted = RunCgroup::attach(support_, 10); }
  EXPECT_FALSE(fs::exists(dir));
}

}  // namespace
}  // namespace tjf::runtime
