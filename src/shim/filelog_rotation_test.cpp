#include "shim/filelog_rotation.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tjf::shim {
namespace {

namespace fs = std::filesystem;

class RotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tjf-rotate-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "bot.out").string();
    // As the job's shell opens it: write-only, appending.
    fd_.reset(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
    ASSERT_TRUE(fd_.valid());
  }
  void TearDown() override { fs::remove_all(dir_); }

  void append(const std::string& text) {
    ASSERT_EQ(::write(fd_.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path dir_;
  std::string path_;
  UniqueFd fd_;
};

TEST_F(RotationTest, AFileOverTheLimitIsCopiedAndTruncatedAndTheWriterContinuesAtTheStart) {
  append(std::string(100, 'a') + "\n");
  auto rotated = rotateIfLarger(fd_.get(), path_, {.max_bytes = 50, .keep = 1});
  ASSERT_TRUE(rotated) << rotated.error().message;
  EXPECT_TRUE(*rotated);
  EXPECT_EQ(read(path_ + ".1"), std::string(100, 'a') + "\n");
  EXPECT_EQ(fs::file_size(path_), 0u);
  // O_APPEND: the job's next line lands at the new start, not after a hole of 101 bytes.
  append("next\n");
  EXPECT_EQ(read(path_), "next\n");
  EXPECT_EQ(fs::status(path_ + ".1").permissions(), fs::status(path_).permissions());
}

TEST_F(RotationTest, AFileAtOrUnderTheLimitOrWithRotationOffIsLeftAlone) {
  append(std::string(50, 'a'));
  EXPECT_FALSE(*rotateIfLarger(fd_.get(), path_, {.max_bytes = 50, .keep = 1}));
  EXPECT_FALSE(*rotateIfLarger(fd_.get(), path_, {.max_bytes = 0, .keep = 1}));
  EXPECT_EQ(fs::file_size(path_), 50u);
  EXPECT_FALSE(fs::exists(path_ + ".1"));
}

TEST_F(RotationTest, OnlyKeepCopiesAreKeptNewestFirst) {
  for (int i = 1; i <= 4; ++i) {
    append("generation " + std::to_string(i) + "\n");
    ASSERT_TRUE(*rotateIfLarger(fd_.get(), path_, {.max_bytes = 5, .keep = 2}));
  }
  EXPECT_EQ(read(path_ + ".1"), "generation 4\n");
  EXPECT_EQ(read(path_ + ".2"), "generation 3\n");
  EXPECT_FALSE(fs::exists(path_ + ".3"));
}

TEST_F(RotationTest, KeepZeroOnlyTruncates) {
  append("discard me\n");
  ASSERT_TRUE(*rotateIfLarger(fd_.get(), path_, {.max_bytes = 5, .keep = 0}));
  EXPECT_EQ(fs::file_size(path_), 0u);
  EXPECT_FALSE(fs::exists(path_ + ".1"));
}

TEST_F(RotationTest, AFileSomeoneElseMovedAwayIsNotRotatedUnderItsOldName) {
  append(std::string(100, 'a'));
  fs::rename(path_, path_ + ".moved");
  std::ofstream(path_) << "a new file by the same name\n";
  EXPECT_FALSE(*rotateIfLarger(fd_.get(), path_, {.max_bytes = 5, .keep = 1}));
  EXPECT_EQ(fs::file_size(path_ + ".moved"), 100u);
  EXPECT_FALSE(fs::exists(path_ + ".1"));
}

TEST_F(RotationTest, AWriterThatFindsTheFileLockedLeavesItToTheOtherOne) {
  append(std::string(100, 'a'));
  UniqueFd other(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  ASSERT_EQ(::flock(other.get(), LOCK_EX), 0);
  EXPECT_FALSE(*rotateIfLarger(fd_.get(), path_, {.max_bytes = 5, .keep = 1}));
  ::flock(other.get(), LOCK_UN);
  EXPECT_TRUE(*rotateIfLarger(fd_.get(), path_, {.max_bytes = 5, .keep = 1}));
  // The other writer comes second: the file is small now, so it does nothing.
  EXPECT_FALSE(*rotateIfLarger(other.get(), path_, {.max_bytes = 5, .keep = 1}));
}

TEST_F(RotationTest, TheRotatorWatchesEachFileOnceAndIgnoresDevNull) {
  FileLogRotator rotator({.max_bytes = 10, .keep = 1});
  UniqueFd devnull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  rotator.add("/dev/null", devnull.get());
  EXPECT_FALSE(rotator.enabled());
  rotator.add(path_, fd_.get());
  UniqueFd second(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  rotator.add(path_, second.get());  // stdout and stderr into one file
  EXPECT_TRUE(rotator.enabled());
  append(std::string(20, 'x'));
  static int reports = 0;
  rotator.check([](const std::string&) { ++reports; });
  EXPECT_EQ(reports, 0);
  EXPECT_EQ(fs::file_size(path_), 0u);
  EXPECT_EQ(read(path_ + ".1"), std::string(20, 'x'));
  EXPECT_FALSE(fs::exists(path_ + ".2"));
}

TEST_F(RotationTest, ARotatorWithRotationOffWatchesNothing) {
  FileLogRotator rotator({.max_bytes = 0, .keep = 1});
  rotator.add(path_, fd_.get());
  EXPECT_FALSE(rotator.enabled());
}

}  // namespace
}  // namespace tjf::shim
