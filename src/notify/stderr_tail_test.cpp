#include "notify/stderr_tail.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tjf::notify {
namespace {

class StderrTailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tjf-tail-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path write(const std::string& name, const std::string& content) {
    const auto p = dir_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  std::filesystem::path dir_;
};

TEST_F(StderrTailTest, CapturedOutputKeepsTheLastStderrRecordsOnly) {
  std::string log;
  for (int i = 1; i <= 30; ++i) {
    log += std::to_string(1'700'000'000'000'000LL + i) + " o out " + std::to_string(i) + "\n";
    log += std::to_string(1'700'000'000'000'000LL + i) + " e err " + std::to_string(i) + "\n";
  }
  const auto p = write("output.log", log);
  const auto tail = capturedStderrTail(p, 20);
  ASSERT_EQ(tail.size(), 20u);
  EXPECT_EQ(tail.front(), "err 11");
  EXPECT_EQ(tail.back(), "err 30");
  EXPECT_TRUE(capturedStderrTail(dir_ / "missing.log", 20).empty());
}

TEST_F(StderrTailTest, FileTailReadsTheLastLines) {
  std::string content;
  for (int i = 1; i <= 25; ++i) content += "line " + std::to_string(i) + "\n";
  const auto p = write("job.err", content);
  const auto tail = fileTail(p, 20, std::nullopt);
  ASSERT_TRUE(tail.readable);
  ASSERT_EQ(tail.lines.size(), 20u);
  EXPECT_EQ(tail.lines.front(), "line 6");
  EXPECT_EQ(tail.lines.back(), "line 25");

  // No final newline, an empty line inside, fewer lines than asked.
  const auto q = write("short.err", "a\n\nb");
  EXPECT_EQ(fileTail(q, 20, std::nullopt).lines, (std::vector<std::string>{"a", "", "b"}));
  const auto empty = write("empty.err", "");
  EXPECT_TRUE(fileTail(empty, 20, std::nullopt).readable);
  EXPECT_TRUE(fileTail(empty, 20, std::nullopt).lines.empty());
}

TEST_F(StderrTailTest, HugeFilesAreReadOnlyAtTheirEnd) {
  std::string content(kMaxTailBytes * 2, 'x');
  content += "\nlast\n";
  const auto p = write("big.err", content);
  const auto tail = fileTail(p, 20, std::nullopt);
  // The first line in the window is cut by it and dropped; the long line is not read whole.
  EXPECT_EQ(tail.lines, (std::vector<std::string>{"last"}));
}

TEST_F(StderrTailTest, SymlinksFifosAndOtherOwnersAreNotRead) {
  const auto target = write("secret", "do not mail me\n");
  std::filesystem::create_symlink(target, dir_ / "job.err");
  EXPECT_FALSE(fileTail(dir_ / "job.err", 20, std::nullopt).readable);

  // A FIFO would block a reader until a writer came; it is refused without waiting.
  ASSERT_EQ(::mkfifo((dir_ / "fifo.err").c_str(), 0600), 0);
  EXPECT_FALSE(fileTail(dir_ / "fifo.err", 20, std::nullopt).readable);

  EXPECT_TRUE(fileTail(target, 20, ::getuid()).readable);
  EXPECT_FALSE(fileTail(target, 20, ::getuid() + 1).readable);
  EXPECT_FALSE(fileTail(dir_ / "missing.err", 20, std::nullopt).readable);
}

TEST_F(StderrTailTest, LinesAreCleanedForMail) {
  EXPECT_EQ(cleanLine("plain\ttab\r"), "plain\ttab");
  EXPECT_EQ(cleanLine("caf\xC3\xA9"), "caf\xC3\xA9");               // valid UTF-8 stays
  EXPECT_EQ(cleanLine("bad\xFF!"), "bad\xEF\xBF\xBD!");              // invalid byte
  EXPECT_EQ(cleanLine("\x1B[31mred"), "\xEF\xBF\xBD[31mred");       // escape sequence
  EXPECT_EQ(cleanLine("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");      // overlong form
  const std::string long_line(1000, 'y');
  const auto cut = cleanLine(long_line);
  EXPECT_EQ(cut.size(), kMaxLineBytes + 3);
  EXPECT_EQ(cut.substr(cut.size() - 3), "...");
}

}  // namespace
}  // namespace tjf::notify
