#include "store/envvars.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "base/test_dir.hpp"
#include "base/time_format.hpp"

namespace tjf::store {
namespace {

class EnvvarStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = freshTestDir("envvars-test");
    auto store = Store::open(dir_ / "db.sqlite");
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    envvars_ = std::make_unique<EnvvarStore>(*store_);
  }
  void TearDown() override {
    envvars_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EnvvarStore> envvars_;
  TimePoint t0_ = fromUnixMillis(1700000000000);
};

TEST_F(EnvvarStoreTest, PutFindListRemove) {
  auto a = envvars_->put("alpha", "TOKEN", "s3cret", t0_);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->value, "s3cret");
  EXPECT_EQ(a->created_at, t0_);
  ASSERT_TRUE(envvars_->put("alpha", "API_URL", "https://x", t0_));
  auto list = envvars_->list("alpha");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "API_URL");  // sorted by name
  EXPECT_EQ((*list)[1].name, "TOKEN");
  auto found = envvars_->find("alpha", "TOKEN");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->value, "s3cret");
  auto removed = envvars_->remove("alpha", "TOKEN");
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed);
  auto again = envvars_->remove("alpha", "TOKEN");
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  auto gone = envvars_->find("alpha", "TOKEN");
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone);
}

TEST_F(EnvvarStoreTest, ReplacingKeepsTheCreationTime) {
  ASSERT_TRUE(envvars_->put("alpha", "TOKEN", "one", t0_));
  auto replaced = envvars_->put("alpha", "TOKEN", "two", t0_ + std::chrono::seconds(5));
  ASSERT_TRUE(replaced);
  EXPECT_EQ(replaced->value, "two");
  EXPECT_EQ(replaced->created_at, t0_);
  EXPECT_EQ(replaced->updated_at, t0_ + std::chrono::seconds(5));
  EXPECT_EQ(*envvars_->count("alpha"), 1u);
}

TEST_F(EnvvarStoreTest, ToolsAreSeparate) {
  ASSERT_TRUE(envvars_->put("alpha", "TOKEN", "alpha's", t0_));
  ASSERT_TRUE(envvars_->put("beta", "TOKEN", "beta's", t0_));
  ASSERT_TRUE(envvars_->put("beta", "OTHER", "x", t0_));
  auto alpha = envvars_->environment("alpha");
  ASSERT_TRUE(alpha);
  ASSERT_EQ(alpha->size(), 1u);
  EXPECT_EQ((*alpha)[0], (std::pair<std::string, std::string>{"TOKEN", "alpha's"}));
  EXPECT_EQ(*envvars_->count("beta"), 2u);
  ASSERT_TRUE(envvars_->remove("alpha", "OTHER"));
  EXPECT_EQ(*envvars_->count("beta"), 2u) << "a tool's delete never reaches another tool";
  auto beta = envvars_->find("beta", "TOKEN");
  ASSERT_TRUE(beta && *beta);
  EXPECT_EQ((*beta)->value, "beta's");
}

TEST_F(EnvvarStoreTest, ValuesKeepEveryByte) {
  const std::string value = "line one\nline two\t\"quoted\" 'single' $HOME \xc3\xa9";
  ASSERT_TRUE(envvars_->put("alpha", "MULTI", value, t0_));
  auto env = envvars_->environment("alpha");
  ASSERT_TRUE(env);
  EXPECT_EQ(env->at(0).second, value);
}

}  // namespace
}  // namespace tjf::store
