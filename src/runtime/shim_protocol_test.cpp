#include <gtest/gtest.h>

#include <fstream>

#include "base/time_format.hpp"
#include "runtime/shim_protocol.hpp"

namespace tjf::runtime {
namespace {

TEST(ShimProtocol, SpecAndExitRecordRoundTrip) {
  const auto dir = std::filesystem::temp_directory_path() / "tjf-shim-protocol";
  std::filesystem::create_directories(dir);
  ShimSpec spec;
  spec.run_id = 42;
  spec.command = "./run.sh 'a b'";
  spec.workdir = "/home/tool";
  spec.env = {"HOME=/home/tool", "JOB_NAME=x"};
  spec.stdout_target = {OutputTarget::Kind::kFile, "/home/tool/x.out"};
  spec.stderr_target = {OutputTarget::Kind::kCapture, ""};
  spec.timeout_seconds = 30;
  spec.uid = 1000;
  ASSERT_TRUE(writeShimSpec(dir / "spec.json", spec));
  auto back = readShimSpec(dir / "spec.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->command, spec.command);
  EXPECT_EQ(back->env, spec.env);
  EXPECT_EQ(back->stderr_target.kind, OutputTarget::Kind::kCapture);
  EXPECT_EQ(back->uid, 1000u);
  EXPECT_FALSE(back->gid.has_value());

  ExitRecord record;
  record.started_at = fromUnixMillis(1000);
  record.finished_at = fromUnixMillis(2000);
  record.signal = 9;
  record.exit_code = 137;
  record.reason = "OOMKilled";
  ASSERT_TRUE(writeExitRecord(dir / "exit.json", record));
  auto exit = readExitRecord(dir / "exit.json");
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->signal, 9);
  EXPECT_EQ(exit->reason, "OOMKilled");
  EXPECT_EQ(exit->finished_at, fromUnixMillis(2000));
  EXPECT_FALSE(std::filesystem::exists(dir / "exit.json.tmp"));
  EXPECT_FALSE(readExitRecord(dir / "absent.json"));
  std::filesystem::remove_all(dir);
}

// Resources and images (cgroups.hpp, oci.hpp): the container argv and the kill file travel too,
// and a spec written before they existed still reads.
TEST(ShimProtocol, ContainerFieldsRoundTripAndMayBeAbsent) {
  const auto dir = std::filesystem::temp_directory_path() / "tjf-shim-protocol-oci";
  std::filesystem::create_directories(dir);
  ShimSpec spec;
  spec.run_id = 7;
  spec.cgroup_procs = {"/sys/fs/cgroup/memory/tjf/x/run-7/cgroup.procs"};
  spec.oom_counter = "/sys/fs/cgroup/memory/tjf/x/run-7/memory.oom_control";
  spec.kill_cgroup = "/sys/fs/cgroup/unified/tjf/x/run-7/cgroup.kill";
  spec.argv = {"/usr/bin/crun", "--cgroup-manager=disabled", "run", "--bundle", "/b", "tjf-x-7"};
  ASSERT_TRUE(writeShimSpec(dir / "spec.json", spec));
  auto back = readShimSpec(dir / "spec.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->cgroup_procs, spec.cgroup_procs);
  EXPECT_EQ(back->oom_counter, spec.oom_counter);
  EXPECT_EQ(back->kill_cgroup, spec.kill_cgroup);
  EXPECT_EQ(back->argv, spec.argv);

  std::ofstream(dir / "old.json")
      << R"({"run_id": 1, "command": "true", "workdir": "/", "env": [],)"
      << R"( "stdout": {"kind": "capture", "path": ""}, "stderr": {"kind": "capture", "path": ""},)"
      << R"( "capture_path": "/x", "timeout_seconds": 0, "stop_grace_seconds": 15, "groups": [],)"
      << R"( "cgroup_procs": [], "oom_counter": ""})";
  auto old = readShimSpec(dir / "old.json");
  ASSERT_TRUE(old) << old.error().message;
  EXPECT_TRUE(old->argv.empty());
  EXPECT_TRUE(old->kill_cgroup.empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tjf::runtime
