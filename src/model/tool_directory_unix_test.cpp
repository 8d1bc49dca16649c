#include "model/tool_directory_unix.hpp"

#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace tjf::model {
namespace {

TEST(ExpandHomeTemplate, ReplacesEveryPlaceholder) {
  EXPECT_EQ(expandHomeTemplate("/data/project/{tool}", "mytool"), "/data/project/mytool");
  EXPECT_EQ(expandHomeTemplate("/srv/{tool}/home/{tool}", "a"), "/srv/a/home/a");
  EXPECT_EQ(expandHomeTemplate("/plain", "a"), "/plain");
}

TEST(UnixToolDirectory, RefusesBadOptions) {
  EXPECT_FALSE(UnixToolDirectory::create({.prefix = "Tools"}));
  EXPECT_FALSE(UnixToolDirectory::create({.prefix = "tools.x"}));
  EXPECT_FALSE(UnixToolDirectory::create({.prefix = "tools", .home_template = "data/{tool}"}));
  auto shared = UnixToolDirectory::create({.prefix = "tools", .home_template = "/data/project"});
  ASSERT_FALSE(shared);
  EXPECT_NE(shared.error().message.find("{tool}"), std::string::npos);
  EXPECT_TRUE(UnixToolDirectory::create({.prefix = ""}));
  EXPECT_TRUE(UnixToolDirectory::create({.prefix = "toolsbeta", .home_template = "/d/{tool}"}));
}

TEST(UnixToolDirectory, AccountNames) {
  auto dir = UnixToolDirectory::create({.prefix = "tools"});
  ASSERT_TRUE(dir);
  EXPECT_EQ((*dir)->accountName("mybot"), "tools.mybot");
  auto bare = UnixToolDirectory::create({.prefix = ""});
  EXPECT_EQ((*bare)->accountName("mybot"), "mybot");
}

TEST(UnixToolDirectory, UnknownAndInvalidNamesAreNotFound) {
  auto dir = UnixToolDirectory::create({.prefix = "tjf-no-such-prefix"});
  ASSERT_TRUE(dir);
  for (const char* name : {"nobody-has-this", "..", "../root", "", "UPPER", "a/b"}) {
    auto tool = (*dir)->find(name);
    ASSERT_FALSE(tool) << name;
    EXPECT_EQ(tool.error().code, ErrorCode::kNotFound) << name;
  }
}

TEST(UnixToolDirectory, RootIsNeverATool) {
  // Without a prefix the account "root" would be the tool "root": refused for its uid.
  auto dir = UnixToolDirectory::create({.prefix = ""});
  ASSERT_TRUE(dir);
  auto tool = (*dir)->find("root");
  ASSERT_FALSE(tool);
  EXPECT_EQ(tool.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(tool.error().message.find("never runs as root"), std::string::npos);
  EXPECT_FALSE((*dir)->findByUid(0));
}

TEST(UnixToolDirectory, AUidOutsideThePrefixIsNoTool) {
  auto dir = UnixToolDirectory::create({.prefix = "tools"});
  ASSERT_TRUE(dir);
  auto root = (*dir)->findByUid(0);  // "root" does not start with "tools."
  ASSERT_FALSE(root);
  EXPECT_EQ(root.error().code, ErrorCode::kNotFound);
  EXPECT_NE(root.error().message.find("'root'"), std::string::npos);
  auto nobody = (*dir)->findByUid(4'000'000'000u);  // no account at all
  ASSERT_FALSE(nobody);
  EXPECT_EQ(nobody.error().code, ErrorCode::kNotFound);
}

// useradd and userdel refuse while another process holds the account databases' lock (a
// parallel test creating its own account): try again a few times.
int runLocked(const std::string& cmd) {
  int rc = 0;
  for (int i = 0; i < 50; ++i) {
    rc = std::system(cmd.c_str());
    if (rc == 0) return 0;
    ::usleep(100'000);
  }
  return rc;
}

// A real account, created and removed by the test: the lookup, the groups, the home template
// and the cache (an answer is kept for its time to live, then asked again).
class RealAccount : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "creating a Unix account needs root";
    if (::access("/usr/sbin/useradd", X_OK) != 0) GTEST_SKIP() << "useradd is not installed";
    char tmpl[] = "/tmp/tjf-tooldir-XXXXXX";
    ASSERT_TRUE(::mkdtemp(tmpl));
    root_ = tmpl;
    home_ = root_ / "home";
    // Unique per process, so parallel test runs do not collide.
    tool_ = "tdu" + std::to_string(::getpid());
    account_ = "tjfut." + tool_;
    remove();
    const std::string cmd = "useradd --no-create-home --home-dir " + home_.string() +
                            " --user-group " + account_ + " >/dev/null 2>&1";
    ASSERT_EQ(runLocked(cmd), 0) << cmd;
    created_ = true;
    std::filesystem::create_directories(home_);
  }
  void TearDown() override {
    if (created_) remove();
    std::error_code ec;
    if (!root_.empty()) std::filesystem::remove_all(root_, ec);
  }
  void remove() {
    if (::getpwnam(account_.c_str()) == nullptr) return;
    (void)runLocked("userdel " + account_ + " >/dev/null 2>&1");
  }

  std::filesystem::path root_, home_;
  std::string tool_, account_;
  bool created_ = false;
};

TEST_F(RealAccount, FindsTheToolByNameAndUid) {
  ManualClock clock;
  auto dir = UnixToolDirectory::create({.prefix = "tjfut", .clock = &clock});
  ASSERT_TRUE(dir);
  auto tool = (*dir)->find(tool_);
  ASSERT_TRUE(tool) << tool.error().message;
  const passwd* pw = ::getpwnam(account_.c_str());
  ASSERT_NE(pw, nullptr);
  EXPECT_EQ(tool->name, tool_);
  EXPECT_EQ(tool->uid, pw->pw_uid);
  EXPECT_EQ(tool->gid, pw->pw_gid);
  EXPECT_EQ(tool->home, home_);
  EXPECT_NE(std::find(tool->groups.begin(), tool->groups.end(), pw->pw_gid), tool->groups.end());
  auto by_uid = (*dir)->findByUid(pw->pw_uid);
  ASSERT_TRUE(by_uid) << by_uid.error().message;
  EXPECT_EQ(by_uid->name, tool_);
}

TEST_F(RealAccount, TheHomeTemplateWinsOverPasswd) {
  std::filesystem::create_directories(root_ / "project" / tool_);
  auto dir = UnixToolDirectory::create(
      {.prefix = "tjfut", .home_template = (root_ / "project" / "{tool}").string()});
  ASSERT_TRUE(dir);
  auto tool = (*dir)->find(tool_);
  ASSERT_TRUE(tool) << tool.error().message;
  EXPECT_EQ(tool->home, root_ / "project" / tool_);
}

TEST_F(RealAccount, AMissingHomeIsRefused) {
  auto dir = UnixToolDirectory::create(
      {.prefix = "tjfut", .home_template = (root_ / "missing" / "{tool}").string()});
  ASSERT_TRUE(dir);
  auto tool = (*dir)->find(tool_);
  ASSERT_FALSE(tool);
  EXPECT_EQ(tool.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(RealAccount, AnswersAreCachedForTheirTimeToLive) {
  ManualClock clock;
  auto dir = UnixToolDirectory::create({.prefix = "tjfut",
                                        .ttl = std::chrono::seconds(30),
                                        .negative_ttl = std::chrono::seconds(2),
                                        .clock = &clock});
  ASSERT_TRUE(dir);
  ASSERT_TRUE((*dir)->find(tool_));
  remove();
  created_ = false;
  EXPECT_TRUE((*dir)->find(tool_)) << "kept for its time to live";
  clock.advance(std::chrono::seconds(31));
  auto gone = (*dir)->find(tool_);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  // A tool that is not found is asked again after the short negative time to live.
  const std::string cmd = "useradd --no-create-home --home-dir " + home_.string() +
                          " --user-group " + account_ + " >/dev/null 2>&1";
  ASSERT_EQ(runLocked(cmd), 0);
  created_ = true;
  EXPECT_FALSE((*dir)->find(tool_));
  clock.advance(std::chrono::seconds(3));
  EXPECT_TRUE((*dir)->find(tool_));
}

}  // namespace
}  // namespace tjf::model
