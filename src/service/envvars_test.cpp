#include "service/envvars.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "base/test_dir.hpp"
#include "base/time_format.hpp"

namespace tjf::service {
namespace {

TEST(EnvvarName, AcceptsShellStyleUpperCaseNames) {
  for (const char* name : {"A", "_", "API_TOKEN", "X1", "PATH", "LANG", "SHELL", "TOOL_X",
                           "TOOLFORGE_THING"}) {
    EXPECT_TRUE(validateEnvvarName(name)) << name;
  }
  EXPECT_TRUE(validateEnvvarName(std::string(kMaxEnvvarNameLength, 'A')));
}

TEST(EnvvarName, RefusesWithAReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "needs a name"},
      {"lower", "upper-case"},
      {"WITH-DASH", "upper-case"},
      {"WITH SPACE", "upper-case"},
      {"A=B", "upper-case"},
      {"1ABC", "start with a digit"},
      {"HOME", "set by the jobs framework"},
      {"TOOL_NAME", "set by the jobs framework"},
      {"TOOL_DATA_DIR", "set by the jobs framework"},
      {"JOB_NAME", "set by the jobs framework"},
      {"PORT", "set by the jobs framework"},
      {"TJF_RUN_ID", "reserved"},
      {std::string(kMaxEnvvarNameLength + 1, 'A'), "longer than"},
  };
  for (const auto& [name, why] : cases) {
    auto ok = validateEnvvarName(name);
    ASSERT_FALSE(ok) << name;
    EXPECT_EQ(ok.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(ok.error().message.find(why), std::string::npos) << name << ": "
                                                               << ok.error().message;
  }
}

TEST(EnvvarValue, RefusesNulAndOversizedValues) {
  EXPECT_TRUE(validateEnvvarValue("", 10));
  EXPECT_TRUE(validateEnvvarValue("multi\nline", 10));
  EXPECT_FALSE(validateEnvvarValue(std::string("a\0b", 3), 10));
  EXPECT_TRUE(validateEnvvarValue(std::string(10, 'x'), 10));
  EXPECT_FALSE(validateEnvvarValue(std::string(11, 'x'), 10));
}

class EnvvarServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = freshTestDir("envsvc-test");
    auto store = store::Store::open(dir_ / "db.sqlite");
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    service_ = std::make_unique<EnvvarService>(
        *store_, clock_, EnvvarLimits{.max_per_tool = 3, .max_value_bytes = 16});
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  ManualClock clock_{fromUnixMillis(1700000000000)};
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<EnvvarService> service_;
};

TEST_F(EnvvarServiceTest, CreateReplaceGetDelete) {
  auto created = service_->create("alpha", "TOKEN", "one");
  ASSERT_TRUE(created) << created.error().message;
  clock_.advance(std::chrono::seconds(10));
  auto replaced = service_->create("alpha", "TOKEN", "two");
  ASSERT_TRUE(replaced);
  EXPECT_EQ(replaced->value, "two");
  EXPECT_EQ(replaced->updated_at - replaced->created_at, std::chrono::seconds(10));
  auto got = service_->get("alpha", "TOKEN");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->value, "two");
  auto deleted = service_->remove("alpha", "TOKEN");
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->value, "two");
  auto missing = service_->get("alpha", "TOKEN");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message, "Environment variable 'TOKEN' does not exist");
  EXPECT_EQ(service_->remove("alpha", "TOKEN").error().code, ErrorCode::kNotFound);
}

TEST_F(EnvvarServiceTest, BadNamesAndValuesWriteNothing) {
  EXPECT_EQ(service_->create("alpha", "bad", "x").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->create("alpha", "OK", std::string(17, 'x')).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_TRUE(service_->list("alpha")->empty());
  // Looking up an invalid name is simply "does not exist".
  EXPECT_EQ(service_->get("alpha", "../x").error().code, ErrorCode::kNotFound);
}

TEST_F(EnvvarServiceTest, ACountLimitPerToolThatReplacingDoesNotHit) {
  for (const char* name : {"A", "B", "C"}) ASSERT_TRUE(service_->create("alpha", name, "v"));
  auto fourth = service_->create("alpha", "D", "v");
  ASSERT_FALSE(fourth);
  EXPECT_NE(fourth.error().message.find("already has 3"), std::string::npos);
  EXPECT_TRUE(service_->create("alpha", "A", "replaced")) << "replacing adds nothing";
  EXPECT_TRUE(service_->create("beta", "D", "v")) << "the limit is per tool";
  auto env = service_->environment("alpha");
  ASSERT_TRUE(env);
  ASSERT_EQ(env->size(), 3u);
  EXPECT_EQ(env->front(), (std::pair<std::string, std::string>{"A", "replaced"}));
}

}  // namespace
}  // namespace tjf::service
